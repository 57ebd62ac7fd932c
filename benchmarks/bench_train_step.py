"""Training-step throughput: augstudy's trainer vs a plain PyTorch loop, side by side in one run.

- ``augstudy``: the real trainer (:func:`augstudy.ablation.execution.train.train_run`): the batched
  engine (``BatchAugmenter``) on whole batches + the fixed final CNN forward/backward +
  SGD, timed between its ``on_step`` callbacks (evaluation excluded).
- ``plain-w0`` / ``plain-w2``: the usual loop -- a ``DataLoader`` over the same uint8
  tensors, per-image torchvision v2 transforms of the same policy, ``num_workers`` 0 / 2,
  the same model, optimizer and batch.
- ``aug-only`` rows: the augmentation alone (engine on a batch vs v2 image by image),
  since on a CPU the CNN dominates the step.

Usage: ``python benchmarks/bench_train_step.py [--batch 64] [--steps 4] [--policy final]``.
Prints images/s and ratios vs the plain loop (numbers are machine- and load-dependent).
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from augstudy.ablation.spec import study_spec as spec
from augstudy.ablation.execution.train import TrainData, build_optimizer, build_run_model, train_run
from augstudy.data.stats import channel_stats


def v2_pipeline(policy: dict):
    """The policy as per-image torchvision v2 transforms (the ops of the shipped presets' subset)."""
    from torchvision.transforms import v2

    out = []
    for op in policy["ops"]:
        name, p = op["op"], op.get("p", 1.0)
        if name == "RandomCrop":
            t = v2.RandomCrop(op["size"], padding=op.get("padding", 0), padding_mode=op.get("padding_mode", "constant"))
        elif name == "HorizontalFlip":
            out.append(v2.RandomHorizontalFlip(p))
            continue
        elif name == "ColorJitter":
            t = v2.ColorJitter(op["brightness"], op["contrast"], op["saturation"], op["hue"])
        else:
            raise SystemExit(f"bench_train_step: op {name} has no v2 mapping here; use --policy final")
        out.append(t if p >= 1.0 else v2.RandomApply([t], p=p))
    return v2.Compose(out + [v2.ToDtype(torch.float32, scale=True)])


class PerImageDataset(torch.utils.data.Dataset):
    def __init__(self, images, labels, transform):
        self.images, self.labels, self.transform = images, labels, transform

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return self.transform(self.images[i]), self.labels[i]


def bench_augstudy(config, data: TrainData, warmup: int) -> float:
    stamps = []
    train_run(config, data, seed=0, device="cpu", on_step=lambda n: stamps.append(time.perf_counter()))
    steps = stamps[warmup:]
    return (len(steps) - 1) * config["train"]["batch_size"] / (steps[-1] - steps[0])


def bench_plain(config, data: TrainData, workers: int, warmup: int) -> float:
    torch.manual_seed(0)
    model = build_run_model(config, data.num_classes, 0, torch.device("cpu"))
    optimizer = build_optimizer(config, model)
    mean, std = (t.view(1, 3, 1, 1) for t in channel_stats(data.train_images))
    loader = torch.utils.data.DataLoader(PerImageDataset(data.train_images, data.train_labels,
                                                         v2_pipeline(config["augment"]["policy"])),
                                         batch_size=config["train"]["batch_size"], shuffle=True,
                                         num_workers=workers, drop_last=True,
                                         persistent_workers=False)
    criterion = torch.nn.CrossEntropyLoss()
    model.train()
    stamps = []
    for x, y in loader:
        x = ((x - mean) / std).contiguous(memory_format=torch.channels_last)
        loss = criterion(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        stamps.append(time.perf_counter())
    steps = stamps[warmup:]
    return (len(steps) - 1) * config["train"]["batch_size"] / (steps[-1] - steps[0])


def bench_aug_only(config, images, repeats: int = 3) -> tuple[float, float]:
    from augstudy.policy import BatchAugmenter

    engine = BatchAugmenter(config["augment"]["policy"], seed=0, device="cpu")
    per_image = v2_pipeline(config["augment"]["policy"])
    idx = torch.arange(images.shape[0])
    engine(images, idx, 1)
    t0 = time.perf_counter()
    for r in range(repeats):
        engine(images, idx, r + 2)
    engine_rate = repeats * images.shape[0] / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(repeats):
        torch.stack([per_image(im) for im in images])
    return engine_rate, repeats * images.shape[0] / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="train examples per step (default 64)")
    parser.add_argument("--steps", type=int, default=4, help="timed steps per variant (default 4; +1 warm-up)")
    parser.add_argument("--policy", default="final", help="augmentation preset (default final)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    warmup = 1
    n = args.batch * (args.steps + warmup + 1)
    config = spec.resolve_study_arms("dropout", "full")[0].config
    config = spec.deep_merge(config, {"train": {"batch_size": args.batch, "epochs": 1, "eval_batch_size": 64}})
    if args.policy != "final":
        config["augment"] = spec.resolve_augment({"policy": args.policy}, "--policy")
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
    data = TrainData(images, torch.randint(0, 200, (n,), generator=g), torch.arange(n), images[:8],
                     torch.arange(8), 200)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{args.threads} thread(s); batch {args.batch}, {args.steps} timed steps, policy {args.policy}, "
          f"model final (200 classes), fp32")
    results = {"augstudy": bench_augstudy(config, data, warmup)}
    for workers in (0, 2):
        results[f"plain-w{workers}"] = bench_plain(config, data, workers, warmup)
    engine_rate, v2_rate = bench_aug_only(config, images[:256])
    base = results["plain-w0"]
    print(f"{'variant':<34} {'img/s':>9} {'vs plain-w0':>12}")
    for name, rate in results.items():
        print(f"{'train step ' + name:<34} {rate:9.1f} {rate / base:11.2f}x")
    print(f"{'aug-only augstudy engine (b=256)':<34} {engine_rate:9.0f} {engine_rate / v2_rate:11.2f}x  (vs v2 per image)")
    print(f"{'aug-only torchvision v2 per image':<34} {v2_rate:9.0f} {1.0:11.2f}x")


if __name__ == "__main__":
    main()
