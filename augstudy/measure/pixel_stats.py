"""How an augmentation shifts pixel statistics: channel means/stds, clipping, SSIM, PSNR, no-ops.

All functions take uint8 ``[B, 3, H, W]`` images (0..255) ``before`` and ``after`` of the same
shape and report in 0..255 units (means, stds), fractions in [0, 1] (clipping, no-op share),
SSIM in [-1, 1] (1 = identical) and PSNR in dB.  Vectorized over the batch, any device.
"""

from __future__ import annotations

import math

import torch

PIXEL_MAX = 255.0
#: SSIM's Gaussian window side in pixels (Wang et al. 2004; kornia fixes sigma at 1.5 px)
SSIM_WINDOW = 11
#: an image counts as unchanged when no value moved by more than this (0..255 units): one
#: rounding step, since uint8 colour maths may move a grayscale pixel by 1 while doing nothing
NOOP_TOLERANCE = 1.0
#: SSIM is averaged over the first this-many images (it costs ~100x more than the other statistics)
SSIM_MAX_IMAGES = 128


def channel_mean_std(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Per-channel mean and std over all images and pixels, 0..255 units (lists of 3 floats)."""
    x = images.double()
    return x.mean(dim=(0, 2, 3)).tolist(), x.std(dim=(0, 2, 3), unbiased=False).tolist()


def clipped_fraction(images: torch.Tensor) -> float:
    """Fraction of channel values at 0 or 255 (saturated), in [0, 1]."""
    return float(((images == 0) | (images == 255)).double().mean())


def ssim_per_image(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """Mean SSIM of each image pair over channels and valid window positions: float ``[B]``
    (``kornia.metrics.ssim``: 11x11 Gaussian window, sigma 1.5 px, K1=0.01, K2=0.03)."""
    from kornia.metrics import ssim

    ssim_map = ssim(before.float(), after.float(), SSIM_WINDOW, max_val=PIXEL_MAX, padding="valid")
    return ssim_map.mean(dim=(1, 2, 3))


def psnr_per_image(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """PSNR in dB of each image pair: float ``[B]``, ``inf`` for identical images
    (``kornia.metrics.psnr``, which averages over its whole input, mapped over the batch)."""
    from kornia.metrics import psnr

    return torch.vmap(lambda x, y: psnr(x, y, PIXEL_MAX))(before.float(), after.float())


def unchanged_mask(before: torch.Tensor, after: torch.Tensor, tolerance: float = NOOP_TOLERANCE) -> torch.Tensor:
    """bool ``[B]``: the image did not change by more than ``tolerance`` anywhere."""
    return (before.float() - after.float()).abs().amax(dim=(1, 2, 3)) <= tolerance


def pixel_shift(before: torch.Tensor, after: torch.Tensor, applied: torch.Tensor | None = None) -> dict:
    """Every statistic of one augmentation, as plain JSON-ready numbers.

    Args:
        before, after: uint8 ``[B, 3, H, W]`` (same shape).
        applied: bool ``[B]``: images the op was applied to (default: all); the no-op share is
            measured among them only (an op skipped by its ``p`` is not a no-op).

    Returns:
        ``{"mean_before", "mean_after", "std_before", "std_after"}`` (per channel, 0..255),
        ``"clip_before", "clip_after"`` (fractions), ``"ssim"`` (mean over the first
        :data:`SSIM_MAX_IMAGES` images), ``"psnr_db"`` (mean over the
        images that changed; None if none did), ``"noop_share"`` (fraction of applied images that
        did not change; None if none applied), ``"n_applied"``.
    """
    if before.shape != after.shape:
        raise ValueError(f"before {tuple(before.shape)} and after {tuple(after.shape)} must have the same shape")
    mean_before, std_before = channel_mean_std(before)
    mean_after, std_after = channel_mean_std(after)
    psnr = psnr_per_image(before, after)
    changed = torch.isfinite(psnr)
    applied = torch.ones(before.shape[0], dtype=torch.bool, device=before.device) if applied is None else applied.to(before.device)
    n_applied = int(applied.sum())
    unchanged = unchanged_mask(before, after)
    return {
        "mean_before": mean_before, "mean_after": mean_after,
        "std_before": std_before, "std_after": std_after,
        "clip_before": clipped_fraction(before), "clip_after": clipped_fraction(after),
        "ssim": float(ssim_per_image(before[:SSIM_MAX_IMAGES], after[:SSIM_MAX_IMAGES]).mean()),
        "psnr_db": float(psnr[changed].mean()) if bool(changed.any()) else None,
        "noop_share": float(unchanged[applied].double().mean()) if n_applied else None,
        "n_applied": n_applied,
    }


def finite_or_none(value: float | None) -> float | None:
    """JSON has no inf/nan: map them to None."""
    return None if value is None or not math.isfinite(value) else value


__all__ = ["pixel_shift", "channel_mean_std", "clipped_fraction", "ssim_per_image", "psnr_per_image",
           "unchanged_mask", "NOOP_TOLERANCE", "finite_or_none"]
