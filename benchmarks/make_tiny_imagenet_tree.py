"""Write a synthetic Tiny-ImageNet-layout tree (for benchmarks and manual tests).

    .venv/bin/python benchmarks/make_tiny_imagenet_tree.py /tmp/tiny --classes 200 --train-per-class 500

The generator itself is :func:`augstudy.data.synthetic.make_tiny_imagenet_tree` (importable by tests).
"""

from __future__ import annotations

import argparse
import time

from augstudy.data.synthetic import make_tiny_imagenet_tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="output folder")
    parser.add_argument("--classes", type=int, default=200, help="number of classes (default 200)")
    parser.add_argument("--train-per-class", type=int, default=500, help="train images per class (default 500)")
    parser.add_argument("--val-per-class", type=int, default=50, help="val images per class (default 50)")
    parser.add_argument("--grayscale-every", type=int, default=50,
                        help="every k-th image is a 1-channel JPEG (default 50, i.e. 2%%; 0: none)")
    parser.add_argument("--size", type=int, default=64, help="image side in pixels (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--workers", type=int, default=2, help="writer processes (default 2)")
    args = parser.parse_args()
    t0 = time.perf_counter()
    root = make_tiny_imagenet_tree(args.out, args.classes, args.train_per_class, args.val_per_class, args.seed,
                                   args.grayscale_every, args.size, workers=args.workers)
    n = args.classes * (args.train_per_class + args.val_per_class)
    print(f"wrote {n:,} images to {root} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
