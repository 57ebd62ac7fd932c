"""Per-channel statistics of a uint8 image tensor, used to normalize training inputs."""

from __future__ import annotations

import torch


def channel_stats(images_uint8: torch.Tensor, chunk: int = 4096) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and std (float32 ``[3]``, in [0, 1] units) of uint8 ``[N, 3, H, W]``,
    accumulated in float64 chunks so no full float copy of the dataset is made."""
    total = torch.zeros(3, dtype=torch.float64, device=images_uint8.device)
    total_sq = torch.zeros_like(total)
    count = 0
    for start in range(0, images_uint8.shape[0], chunk):
        x = images_uint8[start:start + chunk].to(torch.float64) / 255.0
        total += x.sum(dim=(0, 2, 3))
        total_sq += (x * x).sum(dim=(0, 2, 3))
        count += x.shape[0] * x.shape[2] * x.shape[3]
    mean = total / count
    std = (total_sq / count - mean * mean).clamp_min(1e-12).sqrt()
    return mean.float(), std.clamp_min(1e-3).float()
