"""Augmentation throughput: the batched engine vs torchvision v2, albumentations and kornia, one run.

Policy ``light`` (RandomCrop 64 pad 4, HorizontalFlip 0.5, ColorJitter 0.2/0.2/0.2/0.05, hue
included) on 64x64 uint8 images.  Every contender runs in the same process, interleaved round by
round (so machine load hits all alike); the median round of each is reported, with ratios to the
engine.  Outputs: float32 [0, 1] tensors for the engine, torchvision and kornia; uint8 HWC arrays
for albumentations (its natural output; conversion would only slow it down).

    .venv/bin/python benchmarks/bench_augment.py [--batch 256] [--rounds 7] [--threads 1] [--compile]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch


def _engine(policy_name: str, images: torch.Tensor, indices: torch.Tensor, compiled: bool = False):
    from augstudy.policy import BatchAugmenter
    from augstudy.policy import engine

    aug = BatchAugmenter(policy_name, seed=0, device="cpu")
    epoch = iter(range(10 ** 9))

    def run():
        engine.use_compiled_kernels(compiled)  # process-wide switch: set it for this contender
        return aug(images, indices, next(epoch))

    return run


def _engine_no_hue(images: torch.Tensor, indices: torch.Tensor):
    from augstudy.policy import BatchAugmenter, load_policy

    policy = load_policy("light").to_dict()
    policy["ops"][2]["hue"] = 0.0
    aug = BatchAugmenter(policy, seed=0)
    return lambda: aug(images, indices, 0)


def _torchvision_v2(images: torch.Tensor):
    from torchvision.transforms import v2

    pipeline = v2.Compose([v2.RandomCrop(64, padding=4), v2.RandomHorizontalFlip(0.5),
                           v2.ColorJitter(0.2, 0.2, 0.2, 0.05), v2.ToDtype(torch.float32, scale=True)])
    return lambda: [pipeline(img) for img in images]


def _albumentations(images: torch.Tensor):
    import albumentations as A
    import cv2

    cv2.setNumThreads(1)
    pipeline = A.Compose([A.PadIfNeeded(72, 72, border_mode=0, fill=0), A.RandomCrop(64, 64), A.HorizontalFlip(p=0.5),
                          A.ColorJitter(0.2, 0.2, 0.2, 0.05, p=1.0)])
    arrays = [np.ascontiguousarray(img.permute(1, 2, 0).numpy()) for img in images]
    return lambda: [pipeline(image=a)["image"] for a in arrays]


def _kornia(images: torch.Tensor):
    import kornia.augmentation as K

    pipeline = K.AugmentationSequential(K.RandomCrop((64, 64), padding=4), K.RandomHorizontalFlip(p=0.5),
                                        K.ColorJitter(0.2, 0.2, 0.2, 0.05, p=1.0))
    return lambda: pipeline(images.float() / 255)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256, help="images per batch (default 256)")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per contender (default 7)")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for all (default 1)")
    parser.add_argument("--compile", action="store_true",
                        help="also time the engine with the torch.compile'd hue kernel (one-time compile)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = torch.randint(0, 256, (args.batch, 3, 64, 64), dtype=torch.uint8)
    indices = torch.arange(args.batch)
    contenders = {
        "augstudy engine (batch)": _engine("light", images, indices),
        "augstudy engine, no hue (batch)": _engine_no_hue(images, indices),
        **({"augstudy engine, compiled hue": _engine("light", images, indices, compiled=True)} if args.compile else {}),
        "torchvision v2 (per image)": _torchvision_v2(images),
        "albumentations (per image)": _albumentations(images),
        "kornia (batch, float)": _kornia(images),
    }
    times: dict[str, list[float]] = {name: [] for name in contenders}
    with torch.inference_mode():
        for name, fn in contenders.items():  # warm-up (and the one-time compile, if asked)
            start = time.perf_counter()
            fn()
            if "compiled" in name:
                print(f"compiling the hue kernel took {time.perf_counter() - start:.1f} s (once per process)")
        for _ in range(args.rounds):
            for name, fn in contenders.items():
                start = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - start)
    rate = {name: args.batch / statistics.median(t) for name, t in times.items()}
    engine = rate["augstudy engine (batch)"]
    print(f"policy light, 64x64 uint8, batch {args.batch}, torch threads {args.threads}, "
          f"median of {args.rounds} interleaved rounds")
    print(f"{'contender':34s} {'img/s':>9s} {'engine / this':>14s}")
    for name, r in rate.items():
        print(f"{name:34s} {r:9,.0f} {engine / r:13.2f}x")
    print(f"targets: engine >= 5x torchvision v2 -> {engine / rate['torchvision v2 (per image)']:.2f}x; "
          f"engine >= 1x albumentations -> {engine / rate['albumentations (per image)']:.2f}x")


if __name__ == "__main__":
    main()
