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


def time_first_and_cached(root: Path, cache_dir: Path) -> tuple[float, float, float, int]:
    from augstudy.data import load_dataset

    shutil.rmtree(cache_dir, ignore_errors=True)
    t0 = time.perf_counter()
    ds = load_dataset(root, cache_dir=cache_dir)
    first = time.perf_counter() - t0
    n_total = ds.train_images.shape[0] + ds.val_images.shape[0]
    del ds
    t0 = time.perf_counter()
    ds = load_dataset(root, cache_dir=cache_dir)
    cached = time.perf_counter() - t0
    t0 = time.perf_counter()
    copy = ds.train_images.clone()  # read every pixel once, as moving the dataset to a GPU would
    touched = time.perf_counter() - t0 + cached
    assert copy.shape[0] == ds.train_images.shape[0]
    return first, cached, touched, n_total


def time_imagefolder_epoch(root: Path, workers: int) -> tuple[float, int]:
    import torch
    from torchvision import datasets, transforms

    ds = datasets.ImageFolder(root / "train", transform=transforms.PILToTensor())
    loader = torch.utils.data.DataLoader(ds, batch_size=256, num_workers=workers, shuffle=False)
    t0 = time.perf_counter()
    n = 0
    for images, _labels in loader:
        n += images.shape[0]
    return time.perf_counter() - t0, n


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
    per_img_base = baseline / n_base
    rows = [
        ("ImageFolder+DataLoader(2) epoch (train)", baseline, n_base, 1.0),
        ("augstudy first load (decode + cache)", first, n_ours, per_img_base / (first / n_ours)),
        ("augstudy cached load (mmap)", cached, n_ours, per_img_base * n_ours / cached),
        ("augstudy cached load + copy train pixels", touched, n_ours, per_img_base * n_ours / touched),
    ]
    print(f"\ntree: {root} ({n_ours:,} images: {n_base:,} train + {n_ours - n_base:,} val), "
          f"{os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}")
    print(f"{'what':<42} {'seconds':>9} {'images':>9} {'img/s':>10} {'speed vs ImageFolder':>21}")
    for name, sec, n, ratio in rows:
        print(f"{name:<42} {sec:>9.2f} {n:>9,} {n / sec:>10,.0f} {ratio:>20.1f}x")
    print("(speed ratio = ImageFolder seconds per image / augstudy seconds per image; cached-load target: < 2 s)")


if __name__ == "__main__":
    main()
