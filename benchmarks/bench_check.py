"""Time ``augstudy data check`` on a Tiny-ImageNet-size tree (target: < 60 s for 110,000 files, 2 cores).

    .venv/bin/python benchmarks/bench_check.py                 # 110,000 files (100k train + 10k val)
    .venv/bin/python benchmarks/bench_check.py --files 11000   # a tenth of it
    .venv/bin/python benchmarks/bench_check.py --no-baseline   # skip the serial baseline run

The tree is generated once under ``/tmp/augstudy-bench-check/tiny-<N>`` (written beside and
renamed into place, so a half-written tree is never reused): 200 classes, 10:1 train:val, smooth
random 64x64 JPEGs (unrelated images are far apart, like photos) with planted defects: 2% grayscale,
a few 32x32, one truncated JPEG, one train/val leak, one brightened near-duplicate.

Side by side in one run: the check with all CPUs (the shipped default) vs the same check with
one decode process (the baseline), each with per-stage times, and the ratio.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

N_CLASSES = 200
GRAYSCALE_EVERY = 50  # every 50th image single-channel (~2%, about Tiny ImageNet's share)
LOAD_BEFORE = "?"


def smooth_image(seed: int, size: int = 64) -> np.ndarray:
    """uint8 [size, size, 3]: 6x6 random colours, bicubic to size, plus N(0, 8) noise."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    return np.clip(np.asarray(base) + rng.normal(0, 8, (size, size, 3)), 0, 255).astype(np.uint8)


def _jpeg(pixels: np.ndarray, gray: bool) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).convert("L" if gray else "RGB").save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _write_class(args) -> None:
    root, c, wnid, per_class = args
    folder = Path(root) / "train" / wnid / "images"
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(per_class):
        size = 32 if (c == 7 and i < 3) else 64
        (folder / f"{wnid}_{i}.JPEG").write_bytes(_jpeg(smooth_image(c * 100_000 + i, size), i % GRAYSCALE_EVERY == 7))


def _write_val(args) -> None:
    root, start, stop = args
    for k in range(start, stop):
        (Path(root) / "val" / "images" / f"val_{k}.JPEG").write_bytes(
            _jpeg(smooth_image(50_000_000 + k), k % GRAYSCALE_EVERY == 7))


def generate_tree(target: Path, n_files: int, workers: int = 2) -> Path:
    """Write the benchmark tree at ``target`` (atomically: temp folder, then rename)."""
    per_class = max(1, round(n_files / N_CLASSES * 10 / 11))
    val_per_class = max(1, round(n_files / N_CLASSES / 11))
    tmp = target.with_name(target.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "val" / "images").mkdir(parents=True)
    wnids = [f"n{2_000_000 + c:08d}" for c in range(N_CLASSES)]
    (tmp / "wnids.txt").write_text("\n".join(wnids) + "\n")
    n_val = val_per_class * N_CLASSES
    with Pool(workers) as pool:
        pool.map(_write_class, [(str(tmp), c, w, per_class) for c, w in enumerate(wnids)])
        step = max(1, n_val // (workers * 8))
        pool.map(_write_val, [(str(tmp), s, min(s + step, n_val)) for s in range(0, n_val, step)])
    lines = [f"val_{k}.JPEG\t{wnids[k // val_per_class]}\t0\t0\t63\t63" for k in range(n_val)]
    # planted defects: a leak, a brightened near-duplicate, a truncated JPEG
    leak_src = tmp / "train" / wnids[3] / "images" / f"{wnids[3]}_0.JPEG"
    (tmp / "val" / "images" / "val_leak.JPEG").write_bytes(leak_src.read_bytes())
    near_src = Image.open(tmp / "train" / wnids[4] / "images" / f"{wnids[4]}_1.JPEG").convert("RGB")
    ImageEnhance.Brightness(near_src).enhance(1.1).save(tmp / "val" / "images" / "val_near.JPEG", quality=90)
    lines += [f"val_leak.JPEG\t{wnids[3]}\t0\t0\t63\t63", f"val_near.JPEG\t{wnids[4]}\t0\t0\t63\t63"]
    truncated = tmp / "train" / wnids[5] / "images" / f"{wnids[5]}_2.JPEG"
    truncated.write_bytes(truncated.read_bytes()[:600])
    (tmp / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    os.replace(tmp, target)
    return target


def _cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (the decode workers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def timed_check(root: Path, workers: int | None) -> tuple[float, float, object]:
    """(wall seconds, CPU seconds, report).  CPU time shows the work done even when other jobs
    share the cores (the wall time then depends on the machine's load)."""
    from augstudy.data.check import check_dataset

    c0, t0 = _cpu_seconds(), time.perf_counter()
    report = check_dataset(root, workers=workers, progress=sys.stderr.isatty())
    return time.perf_counter() - t0, _cpu_seconds() - c0, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=110_000, help="approximate image count (default 110,000)")
    parser.add_argument("--root", default="/tmp/augstudy-bench-check", help="where trees are kept (default /tmp/...)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the one-process baseline run")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds; odd rounds run the baseline first, to cancel order effects (default 1)")
    args = parser.parse_args()

    from augstudy.data.check.features import usable_cpus

    global LOAD_BEFORE
    LOAD_BEFORE = f"{os.getloadavg()[0]:.1f}"

    target = Path(args.root) / f"tiny-{args.files}"
    if not target.is_dir():
        t0 = time.perf_counter()
        generate_tree(target, args.files)
        print(f"generated {target} in {time.perf_counter() - t0:.1f} s")
    else:
        print(f"reusing {target}")

    runs = [("check, all CPUs (default)", None)]
    if not args.no_baseline:
        runs.append(("check, 1 decode process (baseline)", 1))
    import sklearn.neighbors  # noqa: F401 - import once up front so neither run pays it
    results = []
    for round_index in range(args.repeat):
        for label, workers in (runs if round_index % 2 == 0 else runs[::-1]):
            seconds, cpu, report = timed_check(target, workers)
            n = report.stats["n_train"] + report.stats["n_val"]
            results.append((label, seconds, cpu, n, report))
    cpus = usable_cpus()
    print(f"\nload average before/after: {LOAD_BEFORE} / {os.getloadavg()[0]:.1f} on {cpus} CPUs")
    print(f"{'run':<38} {'files':>8} {'wall s':>7} {'CPU s':>7} {'files/s':>8}  stages (wall s)")
    for label, seconds, cpu, n, report in results:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in report.stats["timings"].items())
        print(f"{label:<38} {n:>8,} {seconds:>7.1f} {cpu:>7.1f} {n / seconds:>8,.0f}  {stages}")
    if len(runs) == 2:
        median = {label: float(np.median([r[1] for r in results if r[0] == label])) for label, _ in runs}
        print(f"median wall-time ratio baseline / default: {median[runs[1][0]] / median[runs[0][0]]:.2f}x "
              f"over {args.repeat} round(s)")
    report = results[0][4]
    print(f"\nfindings: " + "; ".join(f"{f.severity} {f.kind} x{f.count}" for f in report.findings))
    print(f"target < 60 s for 110,000 files: {'met' if results[0][1] < 60 * results[0][3] / 110_000 else 'MISSED'} "
          f"(scaled to this size)")


if __name__ == "__main__":
    main()
