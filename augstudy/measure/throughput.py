"""Throughput of each backend applying the same draw to the same images, in images per second.

Sampling is excluded (every backend gets the one pre-sampled draw); the timed work is
``apply_draw`` alone.  Each measurement: one warm-up call, then timed calls until at
least ``min_seconds`` have passed (at least ``min_repeats`` calls).  On CUDA the clock
starts and stops after ``torch.cuda.synchronize``.
"""

from __future__ import annotations

import time

import torch

#: images per call: the training batch size where a backend batches
DEFAULT_BATCH = 256
#: per-image backends loop in Python, so their rate does not depend on the batch: time them on fewer
PER_IMAGE_BATCH = 64
PER_IMAGE_BACKENDS = ("torchvision", "albumentations", "torchvision-own")
WARMUP_IMAGES = 8


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_apply(apply, images: torch.Tensor, policy, draw, *, min_seconds: float = 0.25,
               min_repeats: int = 2, max_repeats: int = 50) -> float:
    """Images per second of ``apply(images, policy, draw)`` on ``images``' device.

    Args:
        apply: ``apply_draw(images, policy, draw) -> Tensor`` of one backend.
        images: uint8 ``[B, 3, H, W]`` on the device to measure.
        draw: the draw for these B images (already on the device).
    """
    device = images.device
    warm = images.shape[0] if device.type == "cuda" else min(WARMUP_IMAGES, images.shape[0])
    apply(images[:warm], policy, draw.select(slice(0, warm)))   # warm-up: lazy init, caches, cuDNN autotune
    _sync(device)
    repeats, start = 0, time.perf_counter()
    while True:
        apply(images, policy, draw)
        repeats += 1
        _sync(device)
        elapsed = time.perf_counter() - start
        if (elapsed >= min_seconds and repeats >= min_repeats) or repeats >= max_repeats:
            break
    return images.shape[0] * repeats / elapsed


def measure_backends(backends: dict, images: torch.Tensor, policy, draw, devices: list[str],
                     gpu_backends=("augstudy", "kornia"), min_seconds: float = 0.25) -> dict[str, float]:
    """``{backend: img/s}`` on the CPU for every backend, plus ``"<backend>@cuda"`` for the batched
    backends when a CUDA device is in ``devices``.  ``images`` and ``draw`` are on the CPU; the
    per-image backends are timed on the first :data:`PER_IMAGE_BATCH` of them."""
    out = {}
    for name, apply in backends.items():
        count = min(PER_IMAGE_BATCH, images.shape[0]) if name in PER_IMAGE_BACKENDS else images.shape[0]
        out[name] = time_apply(apply, images[:count], policy, draw.select(slice(0, count)), min_seconds=min_seconds)
    for device in devices:
        if device == "cpu":
            continue
        images_dev, draw_dev = images.to(device), draw.to(device)
        for name in gpu_backends:
            if name in backends:
                out[f"{name}@{device.split(':')[0]}"] = time_apply(backends[name], images_dev, policy, draw_dev,
                                                                   min_seconds=min_seconds)
    return out


def ratios_to(throughput: dict[str, float], reference: str = "torchvision") -> dict[str, float | None]:
    """Each backend's speed relative to ``reference`` (>1 = faster)."""
    base = throughput.get(reference)
    return {name: (value / base if base else None) for name, value in throughput.items()}


__all__ = ["time_apply", "measure_backends", "ratios_to", "DEFAULT_BATCH", "PER_IMAGE_BATCH"]
