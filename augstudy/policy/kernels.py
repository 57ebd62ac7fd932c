"""Torch helpers of the batched engine shared by several ops: dtype conversion, per-image subsets,
crop windows, affine warps, box resampling, grayscale and Gaussian kernels.

Every function takes and returns batches ``[B, C, H, W]`` (float32 in [0, 1] or uint8 0..255 where
stated); per-image parameters are ``[B]`` tensors on the batch's device.  Device-agnostic.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision rgb_to_grayscale (ITU-R 601-2 luma)


def mask4(apply: torch.Tensor) -> torch.Tensor:
    return apply.view(-1, 1, 1, 1)


def pixel_value(value: float, dtype: torch.dtype) -> float:
    """A fill value (fraction of full scale) in the units of ``dtype``."""
    return round(value * 255) if dtype == torch.uint8 else float(value)


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B,C,H,W] -> float32 in [0, 1] (float input is returned as float32 unchanged)."""
    if images.dtype == torch.uint8:
        return images.to(torch.float32).div_(255.0)  # exact, as torchvision's to_dtype(scale=True)
    return images.to(torch.float32)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float in [0, 1] -> uint8, rounding to nearest."""
    return images.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)


def on_subset(x: torch.Tensor, apply: torch.Tensor, fn, *per_image: torch.Tensor) -> torch.Tensor:
    """Run ``fn(x[sel], *per_image[sel])`` only on the applied images, writing into a copy of x.

    Cheaper than computing on the full batch and masking when p < 1; still no per-image Python.
    """
    if bool(apply.all()):
        return fn(x, *per_image)
    idx = apply.nonzero().squeeze(1)
    if idx.numel() == 0:
        return x
    out = x.clone()
    out.index_copy_(0, idx, fn(x.index_select(0, idx), *(t.index_select(0, idx) for t in per_image)))
    return out


def crop_windows(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int) -> torch.Tensor:
    """Per-image ``size`` x ``size`` windows at (top, left) of a contiguous [B,C,H,W] batch.

    Index arithmetic, no per-image Python: an overlapping view of the flat buffer whose row k is
    the ``size`` elements starting at k, and one ``index_select`` of the B*C*size window rows
    (each a contiguous run of memory).  About 10x faster than two ``gather`` calls on CPU.
    """
    x = x.contiguous()
    b, c, h, w = x.shape
    flat = x.reshape(-1)
    windows = flat.as_strided((flat.numel() - size + 1, size), (1, 1))
    dev = x.device
    plane = (torch.arange(b, device=dev)[:, None] * c + torch.arange(c, device=dev)[None, :]) * (h * w)  # [B, C]
    row = (top[:, None] + torch.arange(size, device=dev)[None, :]) * w + left[:, None]  # [B, S]
    start = plane[:, :, None] + row[:, None, :]
    return windows.index_select(0, start.reshape(-1)).view(b, c, size, size)



def affine_theta(angle, tx, ty, scale, side: int) -> torch.Tensor:
    """[B,2,3] matrices for ``F.affine_grid`` (align_corners=False) from torchvision's inverse affine.

    Positive ``angle`` (degrees) is counter-clockwise, as ``F.rotate`` (which passes ``-angle`` to
    ``_get_inverse_affine_matrix``).  No shear, centre = image centre: M = R/s, offset = -M @ (tx, ty)
    in pixels about the centre; normalized coordinates divide pixels by side/2.
    """
    rad = angle.to(torch.float32) * (-math.pi / 180.0)
    cos, sin = torch.cos(rad) / scale, torch.sin(rad) / scale
    m00, m01, m10, m11 = cos, sin, -sin, cos
    m02 = -(m00 * tx + m01 * ty)
    m12 = -(m10 * tx + m11 * ty)
    half = side / 2.0
    return torch.stack([torch.stack([m00, m01, m02 / half], 1), torch.stack([m10, m11, m12 / half], 1)], 1)


def grid_warp(x: torch.Tensor, theta: torch.Tensor, out_side: int, fill: float = 0.0) -> torch.Tensor:
    grid = F.affine_grid(theta.to(x.dtype), [x.shape[0], x.shape[1], out_side, out_side], align_corners=False)
    if fill == 0.0:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ones = torch.ones_like(x[:, :1])
    out = F.grid_sample(torch.cat([x, ones], 1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = out[:, -1:]
    return out[:, :-1] + (1.0 - inside) * fill



def box_sample_index(start: torch.Tensor, extent: torch.Tensor, size: int):
    """Bilinear source rows (or columns) of resizing per-image boxes to ``size`` pixels.

    Matches ``F.interpolate(mode="bilinear", align_corners=False)`` on the cropped box: the
    source coordinate ``(o + 0.5) * extent / size - 0.5`` is clamped to the box, so no pixel
    from outside the box bleeds in (a whole-image ``grid_sample`` would blend its neighbours).

    Args: ``start``, ``extent``: int64 ``[B]`` box offset and length in pixels.
    Returns: ``(i0, i1, w1)``: int64 ``[B, size]`` absolute indices and float32 ``[B, size]``
    weight of ``i1``.
    """
    out = torch.arange(size, device=start.device, dtype=torch.float32) + 0.5
    extent_f = extent.to(torch.float32)[:, None]
    src = (out[None, :] * (extent_f / size) - 0.5).clamp_min(0.0)
    i0 = src.floor()
    w1 = src - i0
    i0 = torch.minimum(i0.long(), extent[:, None] - 1)
    i1 = torch.minimum(i0 + 1, extent[:, None] - 1)
    return start[:, None] + i0, start[:, None] + i1, w1



_GRAY_CACHE: dict = {}


def _gray_weights(x: torch.Tensor) -> torch.Tensor:
    """torchvision's luma weights as a [1,3,1,1] tensor on x's device/dtype (cached: no per-call copy)."""
    key = (x.device, x.dtype)
    if key not in _GRAY_CACHE:
        _GRAY_CACHE[key] = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return _GRAY_CACHE[key]


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """float [B,3,H,W] -> [B,1,H,W] luma with torchvision's weights (0.2989, 0.587, 0.114)."""
    return (x * _gray_weights(x)).sum(1, keepdim=True)



def gaussian_kernels(sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """[B] sigmas (px) -> [B, kernel_size] normalized 1-D kernels (torchvision's _get_gaussian_kernel1d)."""
    half = (kernel_size - 1) * 0.5
    xs = torch.linspace(-half, half, kernel_size, device=sigma.device, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (xs[None, :] / sigma[:, None].to(torch.float32)) ** 2)
    return kernel / kernel.sum(1, keepdim=True)



__all__ = ["GRAY_WEIGHTS", "mask4", "pixel_value", "to_float", "to_uint8", "on_subset", "crop_windows", "affine_theta",
           "grid_warp", "box_sample_index", "grayscale", "gaussian_kernels"]
