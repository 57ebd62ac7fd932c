"""GPU check of the ablation trainer: correctness vs CPU, throughput, augmentation share, MFU.

Run by ``benchmarks/gpu_check.sh OUTDIR`` on a CUDA machine (under 8 minutes on one H100);
``python benchmarks/gpu_check.py --device cpu --quick --out DIR`` runs every section on a CPU
with tiny sizes (to shake out bugs).  Writes ``OUTDIR/gpu_check.md`` (results table) and
``OUTDIR/gpu_check.json``, updated after every section, so a timeout keeps what finished.

Sections:
1. a tiny study on the device and the same study on the CPU: a dataset whose label is which
   half holds a bright blob, arms flip=off (baseline) / flip=on (destroys the label: clearly
   harmful) / placebo (``data.order_key: 1``: another batch order, genuine noise); on every device
   flip=on must have a negative effect below the placebo's (full size: verdict ``worse``, and the
   placebo neither better nor worse);
2. one epoch of the fixed CNN on 100,000 random 64x64 uint8 images (the whole set on the
   device), ``final`` policy, batch 256, through the real trainer: epoch time and images/s;
   then an instrumented loop with CUDA events around the augmentation and the whole step;
3. model FLOPs utilisation: ``count_flops`` x 3 (fwd+bwd) x images/s / peak dense bf16;
4. if time remains and ``data/fashion-mnist`` (or /usr/share/datasets/fashion-mnist) exists: ``augstudy ablate flip --budget short``;
5. the loop's overhead against the measured Tiny ImageNet epoch (eval, store, TensorBoard, exports,
   checkpoint host copy and disk write), target under 5% (``gpu_check_loop.py``);
6. fp32 vs bf16 images/s, and torch.compile (compile time, compiled epoch) (``gpu_check_loop.py``).
Order: 1, 2, 5, 6, then 4 with the time left.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
import traceback
import types
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
#: peak dense bf16 tensor FLOP/s by device-name substring (vendor datasheets, SXM parts)
PEAK_BF16 = {"H200": 989e12, "H100": 989e12, "A100": 312e12, "L40S": 362e12, "A10G": 70e12, "L4": 121e12}


class Report:
    """Rows of (section, item, value, note) rewritten to Markdown + JSON after every add."""

    def __init__(self, out: Path, header: dict):
        self.out, self.header, self.rows = out, header, []
        out.mkdir(parents=True, exist_ok=True)

    def add(self, section: str, item: str, value, note: str = "") -> None:
        self.rows.append({"section": section, "item": item, "value": value, "note": note})
        print(f"[{section}] {item}: {value} {note}", flush=True)
        self.write()

    def write(self) -> None:
        lines = ["# augstudy GPU check", ""] + [f"- {k}: {v}" for k, v in self.header.items()]
        lines += ["", "| section | item | value | note |", "|---|---|---|---|"]
        for r in self.rows:
            value = f"{r['value']:.4g}" if isinstance(r["value"], float) else str(r["value"])
            lines.append(f"| {r['section']} | {r['item']} | {value} | {r['note']} |")
        (self.out / "gpu_check.md").write_text("\n".join(lines) + "\n")
        (self.out / "gpu_check.json").write_text(json.dumps({"header": self.header, "rows": self.rows}, indent=1,
                                                            default=str))


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ----------------------------------------------------------------------------- 1. study vs CPU
def blob_dataset(n_train: int, n_val: int, seed: int = 0):
    """2 classes: label = which half (left 0 / right 1) holds a bright 12x12 blob; uint8 [N,3,64,64]."""
    g = torch.Generator().manual_seed(seed)

    def make(n):
        images = torch.randint(0, 60, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
        labels = torch.arange(n) % 2
        rows = torch.randint(0, 52, (n,), generator=g)
        cols = torch.randint(2, 18, (n,), generator=g) + 32 * labels
        for i in range(n):
            images[i, :, rows[i]:rows[i] + 12, cols[i]:cols[i] + 12] = 250
        return images, labels

    tr, trl = make(n_train)
    va, val = make(n_val)
    return types.SimpleNamespace(name="blobs", root=Path("/tmp/blobs"), train_images=tr, train_labels=trl,
                                 val_images=va, val_labels=val, class_names=["left", "right"], num_classes=2)


def write_check_specs(folder: Path) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    baseline = yaml.safe_load((REPO / "ablations" / "baseline.yaml").read_text())
    baseline["augment"] = {"policy": "none"}
    baseline["optimizer"]["lr"] = 0.8
    baseline["budgets"] = {"check": {"data": {"train_subset": None, "val_subset": None},
                                     "schedule": {"warmup": 0.0}}}
    (folder / "baseline.yaml").write_text(yaml.safe_dump(baseline, sort_keys=False))
    factor = {"factor": "flipcheck", "baseline_level": "off", "levels": {
        "off": {}, "on": {"augment": {"policy": {"name": "flip", "ops": [{"op": "HorizontalFlip", "p": 0.5}]}}},
        "placebo": {"data": {"order_key": 1}}}}
    (folder / "flipcheck.yaml").write_text(yaml.safe_dump(factor, sort_keys=False))
    return folder


def section_study(report: Report, device: torch.device, out: Path, quick: bool) -> None:
    from augstudy.ablation.runner import run_study

    specs = write_check_specs(out / "check_specs")
    n_train, n_val, epochs, batch, seeds = (16, 16, 2, 2, 2) if quick else (256, 256, 4, 16, 3)
    ds = blob_dataset(n_train, n_val)
    override = {"train": {"epochs": epochs, "batch_size": batch, "eval_batch_size": 256}}
    checks = {}
    for dev in dict.fromkeys([str(device), "cpu"]):
        t0 = time.perf_counter()
        study_dir = out / f"study-{dev.replace(':', '')}"
        shutil.rmtree(study_dir, ignore_errors=True)
        result = run_study("flipcheck", seeds=seeds, budget="check", dataset=ds, device=dev, out=study_dir,
                           specs_dir=specs, report=False, metric="final", budget_override=override,
                           echo=lambda s: None)
        rows = {r.arm: r for r in result.effects.rows}     # EffectRow per non-baseline arm
        on, placebo = rows["flipcheck=on"], rows["flipcheck=placebo"]
        checks[dev] = (on.effect_mean < 0 and on.effect_mean < placebo.effect_mean,
                       on.verdict == "worse" and placebo.verdict not in ("better", "worse"))
        print(result.table, flush=True)
        report.add("1 study", f"{dev}: flip=on effect (pts)", on.effect_mean,
                   f"CI [{on.ci_low:.1f}, {on.ci_high:.1f}] at {on.ci_level:.4g}, rank {on.rank}/2, verdict {on.verdict}")
        report.add("1 study", f"{dev}: placebo effect (pts)", placebo.effect_mean,
                   f"expected ~0 (same recipe), verdict {placebo.verdict}")
        report.add("1 study", f"{dev}: wall time (s)", time.perf_counter() - t0,
                   f"{3 * seeds} runs x {epochs} epochs x {n_train} images")
    report.add("1 study", "harmful arm below the placebo on every device",
               "PASS" if all(c[0] for c in checks.values()) else "FAIL", str({d: c[0] for d, c in checks.items()}))
    report.add("1 study", "verdicts: flip=on worse, placebo neither", "PASS" if all(c[1] for c in checks.values())
               else ("not expected at --quick sizes" if quick else "FAIL"), str({d: c[1] for d, c in checks.items()}))


# ----------------------------------------------------------------------------- 2./3. throughput, MFU
def section_throughput(report: Report, device: torch.device, quick: bool) -> float | None:
    from augstudy.ablation.spec import study_spec as spec
    from augstudy.ablation.execution.train import (TrainData, build_optimizer, build_run_model, iter_train_batches, make_augmenter,
                                       train_run)
    from augstudy.data.stats import channel_stats
    from augstudy.models import count_flops

    n = 512 if quick else 100_000
    batch = 64 if quick else 256
    config = spec.resolve_study_arms("dropout", "full")[0].config
    config = spec.deep_merge(config, {"train": {"batch_size": batch, "epochs": 1, "eval_batch_size": 512}})
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
    data = TrainData(images, torch.randint(0, 200, (n,), generator=g), torch.arange(n), images[:512],
                     torch.randint(0, 200, (512,), generator=g), 200).to(device)
    report.add("2 throughput", "images on device", n, f"uint8 [N,3,64,64] on {device}, policy final, batch {batch}")

    # (a) the real trainer, one epoch (first steps include cudnn autotuning: timed from step 10)
    stamps = []
    t0 = time.perf_counter()
    train_run(config, data, seed=0, device=device, on_step=lambda k: stamps.append(time.perf_counter()))
    sync(device)
    total = time.perf_counter() - t0
    skip = min(10, len(stamps) // 4)
    steady = (len(stamps) - 1 - skip) * batch / (stamps[-1] - stamps[skip])
    report.add("2 throughput", "epoch wall time (s)", total, f"{len(stamps)} steps incl. warm-up, setup and eval")
    report.add("2 throughput", "train images/s (steady)", steady,
               "host timestamps per step (no sync: the queue may run ahead; see (b))")

    # (b) instrumented steps: events around augmentation and around the whole step
    model = build_run_model(config, 200, 0, device)
    optimizer = build_optimizer(config, model)
    augmenter = make_augmenter(config, 0, device)
    mean, std = (t.to(device).view(1, 3, 1, 1) for t in channel_stats(data.train_images))
    criterion = torch.nn.CrossEntropyLoss()
    use_events = device.type == "cuda"
    marks = []
    steps = 8 if quick else 60
    batches = iter_train_batches(data, augmenter, 0, 1, batch, device)
    wall0 = None
    for i in range(steps):
        if use_events:
            e = [torch.cuda.Event(enable_timing=True) for _ in range(3)]
            e[0].record()
        else:
            t_a = time.perf_counter()
        x, y, _ = next(batches)
        if use_events:
            e[1].record()
        else:
            t_b = time.perf_counter()
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=use_events):
            loss = criterion(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if use_events:
            e[2].record()
        if i >= 5:
            marks.append(e if use_events else (t_a, t_b, time.perf_counter()))
            if wall0 is None:
                sync(device)
                wall0 = time.perf_counter()
    sync(device)
    wall = time.perf_counter() - wall0
    if use_events:
        aug = sum(m[0].elapsed_time(m[1]) for m in marks) / 1e3
        step = sum(m[0].elapsed_time(m[2]) for m in marks) / 1e3
    else:
        aug = sum(b - a for a, b, _ in marks)
        step = sum(c - a for a, _, c in marks)
    share = aug / step
    report.add("2 throughput", "augmentation share of step", share,
               f"{'CUDA events' if use_events else 'host timers'}; target < 0.05 "
               f"({'PASS' if share < 0.05 else 'over target'})")
    instrumented = (len(marks) - 1) * batch / wall if len(marks) > 1 else float("nan")
    report.add("2 throughput", "instrumented images/s", instrumented, "synchronized wall clock over the loop")

    flops = count_flops(build_run_model(config, 200, 0, torch.device("cpu")), (3, 64, 64))
    rate = steady
    achieved = 3 * flops * rate
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    peak = next((v for k, v in PEAK_BF16.items() if k in name), None)
    report.add("3 MFU", "forward GFLOPs per image", flops / 1e9, "count_flops (2 x MACs of conv + linear)")
    report.add("3 MFU", "achieved TFLOP/s (3 x fwd x img/s)", achieved / 1e12, name)
    report.add("3 MFU", "model FLOPs utilisation", achieved / peak if peak else "n/a",
               f"peak dense bf16 {peak / 1e12:.0f} TFLOP/s" if peak else f"no peak known for {name}")
    return steady


# ----------------------------------------------------------------------------- 4. real data
def section_real(report: Report, device: torch.device, out: Path, deadline: float, quick: bool) -> None:
    candidates = [REPO / "data" / "fashion-mnist", Path("/usr/share/datasets/fashion-mnist")]
    data = next((c for c in candidates if c.is_dir()), None)
    if data is None:
        report.add("4 fashion-mnist", "ablate flip --budget short", "skipped",
                   f"no IDX files at {' or '.join(map(str, candidates))}")
        return
    left = deadline - time.time() - 20
    if left < 60:
        report.add("4 fashion-mnist", "ablate flip --budget short", "skipped", f"only {left:.0f} s left")
        return
    budget = ["--budget", "smoke", "--seeds", "1"] if quick else ["--budget", "short"]
    cmd = [sys.executable, "-m", "augstudy", "ablate", "flip", *budget, "--data", str(data),
           "--device", str(device), "--out", str(out / "flip-short"), "--no-report", "--prune-checkpoints"]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    try:
        done = subprocess.run(cmd, cwd=REPO, timeout=left, text=True, capture_output=True,
                              env={**os.environ, "AUGSTUDY_NO_PROGRESS": "1"})
        print(done.stdout[-6000:], done.stderr[-3000:], flush=True)
        status = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    except subprocess.TimeoutExpired:
        status = f"timed out after {left:.0f} s (partial results in flip-short/)"
    report.add("4 fashion-mnist", f"ablate flip {' '.join(budget)}", status, f"{time.perf_counter() - t0:.0f} s; "
               f"see {out / 'flip-short' / 'effects.md'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:K or cpu (default cuda)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for a CPU test run)")
    parser.add_argument("--out", default="gpu_check_out", help="results folder")
    parser.add_argument("--sections", default="1,2,5,6,4", help="comma-separated sections to run (default 1,2,5,6,4)")
    parser.add_argument("--budget-s", type=float, default=450, help="stop starting sections after this many seconds")
    args = parser.parse_args()
    start = time.time()
    deadline = start + args.budget_s
    os.environ.setdefault("AUGSTUDY_NO_PROGRESS", "1")
    from augstudy.ablation.execution.train import resolve_device

    device = resolve_device(args.device)
    header = {"date": time.strftime("%Y-%m-%d %H:%M"), "device": str(device),
              "device name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
              "torch": torch.__version__, "cuda": torch.version.cuda, "python": platform.python_version(),
              "cpu threads": torch.get_num_threads(), "quick": args.quick}
    report = Report(Path(args.out), header)
    failures = 0
    from gpu_check_loop import section_overhead, section_precision

    done: dict[str, object] = {}
    for name, run in (("1 study", lambda: section_study(report, device, Path(args.out), args.quick)),
                      ("2 throughput", lambda: section_throughput(report, device, args.quick)),
                      ("5 overhead", lambda: section_overhead(report, device, done.get("2 throughput"), args.quick)),
                      ("6 precision", lambda: section_precision(report, device, args.quick)),
                      ("4 fashion-mnist", lambda: section_real(report, device, Path(args.out), deadline, args.quick))):
        if name.split()[0] not in args.sections.split(","):
            continue
        if time.time() > deadline:
            report.add(name, "section", "skipped", "time budget spent")
            continue
        try:
            done[name] = run()
        except Exception as exc:  # noqa: BLE001 - report the failure, go on with the next section
            traceback.print_exc()
            report.add(name, "section", "ERROR", f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
            failures += 1
    report.add("total", "wall time (s)", time.time() - start)
    print((Path(args.out) / "gpu_check.md").read_text())
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
