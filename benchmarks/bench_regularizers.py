"""What MixUp/CutMix, weight EMA and flip TTA add to a training step of the fixed CNN, in one run.

Times (median of ``--repeats``), on the same batch of ``--batch`` 64x64 images and 200 classes:

- ``train step``: the final CNN's forward + backward + SGD step (the reference, ratio 1);
- ``augment``: the batched engine (``BatchAugmenter``, policy ``final``) on the batch;
- ``mix``: :func:`augstudy.ablation.execution.mixing.make_mix_step`'s batch mixer (keyed draw, the partners' own
  augmentation, CutMix/MixUp, soft targets) at mixup 0.8 + cutmix 1.0;
- ``ema update``: :class:`augstudy.ablation.execution.ema.WeightEma.update` over the CNN's 25.9 M parameters and buffers;
- ``eval`` / ``eval flip tta``: eval-mode forward of the batch without / with flip TTA.

Usage: ``python benchmarks/bench_regularizers.py [--batch 64] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch


def _median_s(fn, repeats: int) -> float:
    fn()                                   # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from augstudy.ablation.spec import study_spec as spec
    from augstudy.ablation.execution.ema import WeightEma
    from augstudy.ablation.execution.mixing import make_mix_step
    from augstudy.ablation.execution.train import TrainData, build_optimizer, build_run_model, make_augmenter
    from augstudy.ablation.execution.tta import predict

    torch.manual_seed(0)
    b, n = args.batch, 4 * args.batch
    config = spec.resolve_study_arms("dropout", "full")[0].config
    config["mix"] = {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "prob": 1.0, "switch_prob": 0.5}
    data = TrainData(torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8), torch.arange(n) % 200,
                     torch.arange(n), torch.zeros(2, 3, 64, 64, dtype=torch.uint8), torch.zeros(2, dtype=torch.long),
                     200)
    device = torch.device("cpu")
    model = build_run_model(config, 200, 0, device)
    optimizer = build_optimizer(config, model)
    augmenter = make_augmenter(config, 0, device)
    mix = make_mix_step(config, data, augmenter, seed=1)
    ema = WeightEma(model, 0.999)
    indices = torch.arange(b)
    images = augmenter(data.train_images[:b], indices, 1)
    x = images.contiguous(memory_format=torch.channels_last)
    labels = data.train_labels[:b]

    def step():
        model.train()
        loss = torch.nn.functional.cross_entropy(model(x), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def evaluate(mode):
        model.eval()
        with torch.no_grad():
            predict(model, x, mode)

    rows = [("train step", _median_s(step, args.repeats)),
            ("augment", _median_s(lambda: augmenter(data.train_images[:b], indices, 1), args.repeats)),
            ("mix", _median_s(lambda: mix(images, labels, indices, 1), args.repeats)),
            ("ema update", _median_s(lambda: ema.update(model), args.repeats)),
            ("eval", _median_s(lambda: evaluate("none"), args.repeats)),
            ("eval flip tta", _median_s(lambda: evaluate("flip"), args.repeats))]
    print(f"# {platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}, batch {b}, "
          f"median of {args.repeats}")
    print("| measurement | ms per batch | ratio to train step |")
    print("| --- | ---: | ---: |")
    for name, seconds in rows:
        print(f"| {name} | {1000 * seconds:.1f} | {seconds / rows[0][1]:.3f} |")


if __name__ == "__main__":
    main()
