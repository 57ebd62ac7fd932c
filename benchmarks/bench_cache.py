"""Dataset cache benchmark: first load (decode + write cache) and cached load (memory-map) of a
Tiny-ImageNet-layout tree, against torchvision ImageFolder + DataLoader(num_workers=2) decoding
the same training images for one epoch.

    .venv/bin/python benchmarks/bench_cache.py [--images 100000] [--workers 2]

The synthetic tree (200 classes, ``--images`` train images + 10% val, 2% grayscale JPEGs) is
generated once under /tmp/augstudy-bench/ and reused by later runs.  Files were just written
or read, so both sides read from the OS page cache: this measures decoding, not disk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import time
from pathlib import Path

BENCH_ROOT = Path("/tmp/augstudy-bench")
N_CLASSES = 200


def ensure_tree(n_images: int, workers: int) -> Path:
    from augstudy.data.synthetic import make_tiny_imagenet_tree

    per_class = max(1, n_images // N_CLASSES)
    root = BENCH_ROOT / f"tiny-{per_class * N_CLASSES}"
    marker = root / ".complete"
    if not marker.is_file():
        shutil.rmtree(root, ignore_errors=True)
        t0 = time.perf_counter()
        make_tiny_imagenet_tree(root, N_CLASSES, per_class, max(1, per_class // 10), seed=0,
                                grayscale_every=50, workers=workers)
        marker.write_text("ok\n")
        print(f"generated {root} in {time.perf_counter() - t0:.1f} s")
    return root


class Clock:
    """Wall seconds and CPU seconds (this process + reaped children: decode / DataLoader workers)."""

    def __enter__(self):
        self.wall, self.cpu = time.perf_counter(), _cpu()
        return self

    def __exit__(self, *exc):
        self.wall, self.cpu = time.perf_counter() - self.wall, _cpu() - self.cpu


def _cpu() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def time_first_and_cached(root: Path, cache_dir: Path):
    from augstudy.data import load_dataset

    shutil.rmtree(cache_dir, ignore_errors=True)
    with Clock() as first:
        ds = load_dataset(root, cache_dir=cache_dir)
    n_total = ds.train_images.shape[0] + ds.val_images.shape[0]
    del ds
    with Clock() as cached:
        ds = load_dataset(root, cache_dir=cache_dir)
    with Clock() as touched:
        ds = load_dataset(root, cache_dir=cache_dir)
        copy = ds.train_images.clone()  # read every pixel once, as moving the dataset to a GPU would
    assert copy.shape[0] == ds.train_images.shape[0]
    return first, cached, touched, n_total


def time_imagefolder_epoch(root: Path, workers: int):
    import gc

    import torch
    from torchvision import datasets, transforms

    n = 0
    with Clock() as clock:  # includes ImageFolder's directory scan, as our load includes its fingerprint
        ds = datasets.ImageFolder(root / "train", transform=transforms.PILToTensor())
        loader = torch.utils.data.DataLoader(ds, batch_size=256, num_workers=workers, shuffle=False)
        it = iter(loader)
        for images, _labels in it:
            n += images.shape[0]
        del it  # joins the workers, so their CPU time is counted
        gc.collect()
    return clock, n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=100_000, help="train images (default 100000; +10%% val)")
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers and generator processes (default 2)")
    args = parser.parse_args()
    os.environ.setdefault("AUGSTUDY_NO_PROGRESS", "1")
    import torch

    torch.set_num_threads(2)
    root = ensure_tree(args.images, args.workers)
    first, cached, touched, n_ours = time_first_and_cached(root, BENCH_ROOT / f"cache-{root.name}")
    baseline, n_base = time_imagefolder_epoch(root, args.workers)
    rows = [
        ("ImageFolder+DataLoader(2) epoch (train)", baseline, n_base),
        ("augstudy first load (decode + cache)", first, n_ours),
        ("augstudy cached load (mmap)", cached, n_ours),
        ("augstudy cached load + copy train pixels", touched, n_ours),
    ]
    base_wall, base_cpu = baseline.wall / n_base, baseline.cpu / n_base  # seconds per image
    print(f"\ntree: {root} ({n_ours:,} images: {n_base:,} train + {n_ours - n_base:,} val), "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, torch threads {torch.get_num_threads()}")
    print(f"{'what':<42} {'wall s':>8} {'cpu s':>8} {'images':>9} {'img/s':>9} {'speedup wall':>13} {'speedup cpu':>12}")
    for name, clock, n in rows:
        print(f"{name:<42} {clock.wall:>8.2f} {clock.cpu:>8.2f} {n:>9,} {n / clock.wall:>9,.0f} "
              f"{base_wall * n / clock.wall:>12.1f}x {base_cpu * n / max(clock.cpu, 1e-9):>11.1f}x")
    print("(speedup = ImageFolder seconds per image / augstudy seconds per image, same image count; "
          "cached-load target: < 2 s wall)")


if __name__ == "__main__":
    main()
