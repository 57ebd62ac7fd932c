"""Automatic policies' throughput: the batched engine vs torchvision v2's own RandAugment and
TrivialAugmentWide per image, and kornia's batch versions, in one run.

64x64 uint8 images (smooth random colour fields), batch 256, torch threads 2 (``--threads``) for
everyone, contenders interleaved round by round (machine load hits all alike), median round of
each, ratios to torchvision v2 in the same run.

- augstudy engine: ``BatchAugmenter`` with a one-op policy (RandAugment(2, 9, 31) or
  TrivialAugmentWide(31)), keyed sampling included, float32 [0, 1] output;
- torchvision v2: ``v2.RandAugment(num_ops=2, magnitude=9)`` / ``v2.TrivialAugmentWide()`` on each
  uint8 image (its own sampling), then ``v2.ToDtype(float32, scale=True)`` (the same float32 [0, 1]
  output as the engine, what training consumes);
- kornia: ``kornia.augmentation.auto.RandAugment(n=2, m=9)`` / ``TrivialAugment()`` on the float
  batch (one sub-op sequence per batch: kornia's semantics, not per image).

    .venv/bin/python benchmarks/bench_auto_augment.py [--batch 256] [--rounds 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import datetime
import platform
import statistics
import time

import torch


def _engine(op: dict, images: torch.Tensor):
    from augstudy.policy import BatchAugmenter

    aug = BatchAugmenter({"name": op["op"], "ops": [op]}, seed=0)
    indices = torch.arange(images.shape[0])
    epochs = iter(range(10 ** 9))
    return lambda: aug(images, indices, next(epochs))


def _torchvision(name: str, images: torch.Tensor):
    from torchvision.transforms import v2

    policy = v2.RandAugment(num_ops=2, magnitude=9) if name == "RandAugment" else v2.TrivialAugmentWide()
    transform = v2.Compose([policy, v2.ToDtype(torch.float32, scale=True)])  # float32 [0, 1], like the engine
    return lambda: [transform(img) for img in images]


def _kornia(name: str, images: torch.Tensor):
    from kornia.augmentation import auto

    transform = auto.RandAugment(n=2, m=9) if name == "RandAugment" else auto.TrivialAugment()
    floats = images.float() / 255.0
    return lambda: transform(floats)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from augstudy.policy.equivalence import colour_fields

    images = colour_fields(args.batch, size=64)
    ops = {"RandAugment": {"op": "RandAugment", "num_ops": 2, "magnitude": 9},
           "TrivialAugmentWide": {"op": "TrivialAugmentWide"}}
    contenders = {}
    for name, op in ops.items():
        contenders[(name, "augstudy engine (batch)")] = _engine(op, images)
        contenders[(name, "torchvision v2 (per image)")] = _torchvision(name, images)
        contenders[(name, "kornia (batch, float)")] = _kornia(name, images)
    for run in contenders.values():  # warm-up: lazy imports, caches
        run()
    times = {key: [] for key in contenders}
    for _ in range(args.rounds):
        for key, run in contenders.items():
            start = time.perf_counter()
            run()
            times[key].append(time.perf_counter() - start)
    print(f"# {datetime.date.today()}, {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"threads {args.threads}, batch {args.batch}, rounds {args.rounds}")
    print("| policy | contender | img/s | vs torchvision v2 |")
    print("| --- | --- | ---: | ---: |")
    for name in ops:
        rates = {c: args.batch / statistics.median(times[(n, c)]) for (n, c) in contenders if n == name}
        base = rates["torchvision v2 (per image)"]
        for contender, rate in rates.items():
            print(f"| {name} | {contender} | {rate:,.0f} | {rate / base:.2f}x |")


if __name__ == "__main__":
    main()
