"""bf16 vs fp32 (and torch.compile) on the smoke study's runs: `make run`'s speed-up, measured as ratios in one run.

`make run` is ``augstudy ablate dropout --budget smoke``: 12 runs of the fixed CNN (10 classes),
each 4 epochs of 320 train images (batch 32) plus 160 val images, on the embedded
fashion-mnist-mini.  Training is nearly all of its wall time, so the ratio of one run's time
under two precisions is the ratio of the whole command's training time.  On the shared 2-core
CPU a full `make run` per precision takes tens of minutes, so by default this times REDUCED
runs: the smoke baseline recipe (dropout 0.3) for ``--epochs`` epochs (default 1), seed 0,
through the real trainer (``train_run``: augmentation, step, evaluation), precisions
interleaved over ``--rounds`` rounds (default 2: fp32, bf16, fp32, bf16) so load drifts hit both.

``--compile``: also a bf16 run with ``torch.compile`` from a cold inductor cache (a fresh cache
folder), reporting its first epoch (compile included) and a second epoch (compiled code only),
and whether compiling pays off for a smoke run (4 epochs) and for the whole smoke study (12 runs).

Usage: ``python benchmarks/bench_precision.py [--epochs 1] [--rounds 2] [--compile]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from augstudy.ablation.spec import study_spec as spec  # noqa: E402
from augstudy.ablation.execution.precision import cpu_has_native_bf16  # noqa: E402
from augstudy.ablation.execution.train import prepare_train_data, train_run  # noqa: E402


def smoke_config(epochs: int) -> dict:
    config = spec.resolve_study_arms("dropout", "smoke")[0].config     # the baseline arm of `make run`
    return spec.deep_merge(config, {"train": {"epochs": epochs}})


def timed_run(config: dict, data, precision: str, compile: bool = False) -> tuple[float, list[float]]:
    """(wall seconds of the whole run, each epoch's wall seconds)."""
    epochs: list[float] = []
    t0 = time.perf_counter()
    train_run(config, data, seed=0, device="cpu", precision=precision, compile=compile,
              on_epoch=lambda result, state: epochs.append(result.wall_s))
    return time.perf_counter() - t0, epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=1, help="epochs per timed run (smoke: 4; default 1)")
    parser.add_argument("--rounds", type=int, default=2, help="fp32/bf16 rounds, interleaved (default 2)")
    parser.add_argument("--compile", action="store_true", help="also time bf16 + torch.compile (cold cache)")
    args = parser.parse_args()
    from augstudy.data import load_dataset

    dataset = load_dataset(Path(__file__).resolve().parents[1] / "data" / "fashion-mnist-mini", progress=False)
    config = smoke_config(args.epochs)
    data = prepare_train_data(dataset, config)
    print(f"machine: {platform.processor() or platform.machine()}, native bf16: {cpu_has_native_bf16()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"smoke baseline run: {data.n_train} train / {data.n_val} val images, batch "
          f"{config['train']['batch_size']}, {args.epochs} epoch(s) per timed run (smoke: 4)")
    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for r in range(args.rounds):
        for precision in times:
            wall, _ = timed_run(config, data, precision)
            times[precision].append(wall)
            print(f"round {r + 1}: {precision} {wall:.1f} s", flush=True)
    fp32, bf16 = statistics.median(times["fp32"]), statistics.median(times["bf16"])
    print(f"median run: fp32 {fp32:.1f} s, bf16 {bf16:.1f} s; bf16 / fp32 = {bf16 / fp32:.2f} "
          f"(speed-up {fp32 / bf16:.2f}x; per-round ratios "
          f"{', '.join(f'{b / f:.2f}' for f, b in zip(times['fp32'], times['bf16']))})")
    if args.compile:
        with tempfile.TemporaryDirectory() as cache:
            os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache       # cold: the compile time is paid in full
            config2 = smoke_config(max(2, args.epochs))
            wall, epochs = timed_run(config2, data, "bf16", compile=True)
        eager_epoch = bf16 / args.epochs
        compile_s = epochs[0] - epochs[1]
        gain = eager_epoch - epochs[1]
        print(f"bf16 + compile: first epoch {epochs[0]:.1f} s (compile included), then {epochs[1]:.1f} s/epoch "
              f"vs eager {eager_epoch:.1f} s/epoch; compile costs about {compile_s:.0f} s")
        for name, n_epochs, n_compiles in (("one smoke run (4 epochs)", 4, 1), ("the smoke study (12 runs)", 48, 12)):
            net = n_epochs * gain - n_compiles * compile_s
            print(f"  {name}: compiling {'saves' if net > 0 else 'costs'} {abs(net):.0f} s "
                  f"(a process compiles once per run unless the cache is warm)")


if __name__ == "__main__":
    main()
