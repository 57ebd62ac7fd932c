"""GPU check sections 5 and 6 (``benchmarks/gpu_check.py`` runs them): the loop around the step.

5. overhead: everything outside forward/backward/optimizer against the MEASURED epoch of
   Tiny ImageNet on this device (100,000 images / the steady images/s of section 2): the real
   evaluation of 10,000 val images, the driver's per-epoch work at Tiny ImageNet scale
   (``bench_loop_overhead.study_overheads``: store, TensorBoard, exports, run end), the host
   copy of a full checkpoint from the device (once per ``--checkpoint-every``) and its disk
   write (background); target under 5%.
6. precision and compile: one epoch of the real trainer in fp32, bf16 and bf16 + torch.compile
   (cold cache: the first epoch pays the compile, the second shows the compiled speed).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

TINY_TRAIN, TINY_VAL, CLASSES = 100_000, 10_000, 200


def _config(batch: int, epochs: int = 1) -> dict:
    from augstudy.ablation.spec import study_spec as spec

    config = spec.resolve_study_arms("dropout", "full")[0].config
    return spec.deep_merge(config, {"train": {"batch_size": batch, "epochs": epochs, "eval_batch_size": 512}})


def _data(n: int, n_val: int, device):
    from augstudy.ablation.execution.train import TrainData

    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
    val = torch.randint(0, 256, (n_val, 3, 64, 64), dtype=torch.uint8, generator=g)
    return TrainData(images, torch.randint(0, CLASSES, (n,), generator=g), torch.arange(n), val,
                     torch.randint(0, CLASSES, (n_val,), generator=g), CLASSES).to(device)


def _sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def section_overhead(report, device, steady_img_s: float | None, quick: bool) -> None:
    from bench_loop_overhead import study_overheads

    from augstudy.ablation.execution.checkpoint_schedule import DEFAULT_CHECKPOINT_EVERY_S
    from augstudy.ablation.execution.checkpoints import host_copy, save_checkpoint
    from augstudy.ablation.execution.train import build_optimizer, build_run_model, evaluate
    from augstudy.data.stats import channel_stats

    batch = 64 if quick else 256
    config = _config(batch)
    n_val = 512 if quick else TINY_VAL
    data = _data(1024, n_val, device)
    if not steady_img_s:
        report.add("5 overhead", "section", "skipped", "needs section 2's images/s")
        return
    epoch_s = TINY_TRAIN / steady_img_s
    report.add("5 overhead", "Tiny ImageNet epoch on this device (s)", epoch_s, f"100,000 / {steady_img_s:.0f} img/s")
    model = build_run_model(config, CLASSES, 0, device)
    optimizer = build_optimizer(config, model)
    model(torch.zeros(2, 3, 64, 64, device=device).contiguous(memory_format=torch.channels_last)).sum().backward()
    optimizer.step()
    mean, std = (t.to(device).view(1, 3, 1, 1) for t in channel_stats(data.train_images))
    evaluate(model, data, mean, std, 512, device, "bf16")            # warm-up (cudnn autotuning)
    _sync(device)
    t0 = time.perf_counter()
    evaluate(model, data, mean, std, 512, device, "bf16")
    _sync(device)
    eval_s = (time.perf_counter() - t0) * TINY_VAL / n_val
    live = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
    host_copy(live)
    t0 = time.perf_counter()
    state = host_copy(live)
    copy_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        save_checkpoint(Path(tmp) / "c.pt", state)
        write_s = time.perf_counter() - t0
        study = study_overheads(Path(tmp) / "study", 5 if quick else 30)
    every = DEFAULT_CHECKPOINT_EVERY_S
    from augstudy.ablation.execution.driver import EXPORT_EVERY_S

    parts = {"eval 10,000 val (measured, bf16)": eval_s, "store write": study["store"],
             "TensorBoard": study["tensorboard"],
             "exports (every 300 s)": study["exports"] * min(1, epoch_s / EXPORT_EVERY_S),
             "run end": study["run end (per run)"] * min(1 / 30, epoch_s / EXPORT_EVERY_S),
             f"checkpoint host copy (once per {every:g} s)": copy_s * min(1.0, epoch_s / every)}
    for name, seconds in parts.items():
        report.add("5 overhead", f"{name} (ms/epoch)", 1e3 * seconds, f"{seconds / epoch_s:.2%} of the epoch")
    share = sum(parts.values()) / epoch_s
    report.add("5 overhead", "overhead share of the epoch", share,
               f"target < 0.05 ({'PASS' if share < 0.05 else 'over'})")
    report.add("5 overhead", "checkpoint: host copy (s) / disk write (s)", f"{copy_s:.3f} / {write_s:.2f}",
               "copy on the critical path, write in a background thread")


def section_precision(report, device, quick: bool) -> None:
    from augstudy.ablation.execution.train import train_run

    n, batch = (512, 64) if quick else (25_000, 256)
    data = _data(n, 512, device)
    rates, epoch_wall = {}, {}
    for precision in ("fp32", "bf16"):
        stamps: list[float] = []
        train_run(_config(batch), data, 0, device, precision=precision,
                  on_step=lambda k: stamps.append(time.perf_counter()),
                  on_epoch=lambda r, s, p=precision: epoch_wall.__setitem__(p, r.wall_s))
        _sync(device)
        skip = min(10, len(stamps) // 4)
        rates[precision] = (len(stamps) - 1 - skip) * batch / (stamps[-1] - stamps[skip])
        report.add("6 precision", f"{precision} train images/s", rates[precision], f"{n} images, batch {batch}")
    report.add("6 precision", "bf16 speed-up over fp32", rates["bf16"] / rates["fp32"], "")
    with tempfile.TemporaryDirectory() as cache:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache
        epochs: list[float] = []
        warnings: list[str] = []
        train_run(_config(batch, 2), data, 0, device, precision="bf16", compile=True, warn=warnings.append,
                  on_epoch=lambda r, s: epochs.append(r.wall_s))
    eager_epoch = epoch_wall["bf16"]      # eager bf16 epoch, evaluation included like the compiled ones
    report.add("6 compile", "first epoch incl. compile (s)", epochs[0], warnings[0] if warnings else "compiled")
    report.add("6 compile", "second epoch compiled (s) vs eager (s)", f"{epochs[1]:.2f} / {eager_epoch:.2f}",
               f"speed-up {eager_epoch / epochs[1]:.2f}x; compile {epochs[0] - epochs[1]:.0f} s pays off after "
               f"{(epochs[0] - epochs[1]) / max(1e-9, eager_epoch - epochs[1]):.0f} epochs of {n} images"
               if eager_epoch > epochs[1] else "no gain")


__all__ = ["section_overhead", "section_precision"]
