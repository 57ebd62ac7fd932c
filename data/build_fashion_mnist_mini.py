"""Build data/fashion-mnist-mini/: the embedded default dataset.

A stratified subset of Fashion-MNIST (Zalando Research, MIT license) taken from the
IDX files of Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist):
200 training images per class from the training set and 50 validation images per class
from the test set ("t10k"), chosen with a fixed seed, written back as gzipped IDX files
(byte-for-byte reproducible: gzip mtime 0) with classes.txt and meta.json.

    .venv/bin/python data/build_fashion_mnist_mini.py [--source DIR] [--out DIR] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from augstudy.data.sources.idx import FASHION_MNIST_CLASSES, read_idx
from augstudy.data.synthetic import write_idx

SOURCE = Path("/usr/share/datasets/fashion-mnist")
OUT = Path(__file__).resolve().parent / "fashion-mnist-mini"
TRAIN_PER_CLASS = 200   # images per class taken from the 60,000 training images
VAL_PER_CLASS = 50      # images per class taken from the 10,000 test images
MAX_BYTES = 5 * 1024 * 1024


def stratified_indices(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """``per_class`` indices of each class drawn without replacement, then shuffled together."""
    picks = [rng.choice(np.flatnonzero(labels == c), per_class, replace=False)
             for c in range(len(FASHION_MNIST_CLASSES))]
    return rng.permutation(np.concatenate(picks))


def build(source: Path, out: Path, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for prefix, per_class in (("train", TRAIN_PER_CLASS), ("t10k", VAL_PER_CLASS)):
        images = read_idx(source / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(source / f"{prefix}-labels-idx1-ubyte.gz")
        keep = stratified_indices(labels, per_class, rng)
        write_idx(out / f"{prefix}-images-idx3-ubyte.gz", images[keep])
        write_idx(out / f"{prefix}-labels-idx1-ubyte.gz", labels[keep])
        counts[prefix] = {"images": int(len(keep)), "per_class": per_class}
    (out / "classes.txt").write_text("\n".join(FASHION_MNIST_CLASSES) + "\n")
    meta = {
        "name": "fashion-mnist-mini",
        "classes": FASHION_MNIST_CLASSES,
        "source": "Fashion-MNIST (Zalando Research), IDX files of Debian's dataset-fashion-mnist package",
        "license": "MIT",
        "subset": f"stratified: {TRAIN_PER_CLASS} train (from train) and {VAL_PER_CLASS} val (from t10k) "
                  f"images per class, numpy default_rng({seed})",
        "train_images": counts["train"]["images"],
        "val_images": counts["t10k"]["images"],
        "built_by": "data/build_fashion_mnist_mini.py",
    }
    (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    if total > MAX_BYTES:
        raise SystemExit(f"{out}: {total} bytes, over the {MAX_BYTES} byte budget")
    return {"out": str(out), "bytes": total, **meta}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help=f"Fashion-MNIST IDX folder (default {SOURCE})")
    parser.add_argument("--out", type=Path, default=OUT, help=f"output folder (default {OUT})")
    parser.add_argument("--seed", type=int, default=0, help="subset seed (default 0)")
    args = parser.parse_args()
    if not (args.source / "train-images-idx3-ubyte.gz").is_file():
        raise SystemExit(f"{args.source}: Fashion-MNIST IDX files not found; "
                         f"install Debian's dataset-fashion-mnist or pass --source")
    info = build(args.source, args.out, args.seed)
    print(f"wrote {info['out']}: {info['train_images']} train + {info['val_images']} val images, "
          f"{info['bytes'] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
