"""Kornia backend: the whole batch at once, per-sample parameter tensors, any device.

Applies a given draw (never samples) with kornia's functional ops, so the same draw
gives what torchvision's functional API gives (measured in ``augstudy.policy.equivalence``).

Shapes and units:
    images: ``[B, 3, H, W]`` uint8 (0..255) or float in ``[0, 1]``, CPU or CUDA.
    returns: the same dtype and device, ``[B, 3, S, S]`` (``S = policy.image_size``).
    Work happens in float32 ``[0, 1]``; uint8 output is rounded to nearest once at the end
    (torchvision on uint8 quantizes after every colour step, truncating: the main source
    of the <= 1/255 differences in brightness/contrast/saturation).

Semantics mapped onto torchvision's (kornia's defaults differ):
- brightness: torchvision multiplies (``img * f``); kornia's ``adjust_brightness`` ADDS its
  factor, so we use ``kornia.enhance.adjust_brightness_accumulative`` (multiplicative);
- contrast: ``adjust_contrast_with_mean_subtraction`` (blend with the grayscale mean, as
  torchvision); kornia's plain ``adjust_contrast`` only multiplies;
- saturation: ``adjust_saturation_with_gray_subtraction`` (blend with grayscale, as
  torchvision); kornia's plain ``adjust_saturation`` scales HSV saturation instead;
- hue: kornia's ``adjust_hue`` takes radians, so the draw's shift (fraction of a turn,
  torchvision's unit) is multiplied by ``2*pi``;
- Affine and Rotation: positive angle = counter-clockwise (the policy's convention; kornia's
  ``get_affine_matrix2d`` is clockwise-positive, so the angle is negated), about the pixel-grid
  centre ``((W-1)/2, (H-1)/2)``, bilinear, exact ``fill`` outside;
- RandomResizedCrop samples the source box at half-pixel centres (torch's
  ``align_corners=False`` resize) clamped to the box, via ``kornia.geometry.transform.remap``;
  exact bilinear for the upscaling crops a policy makes, no antialias when downscaling.

Measured against torchvision on smooth colour fields (64x64, 0..255 units,
``augstudy measure --equivalence``): flips, RandomCrop, grayscale, erasing exact; resized
crop max 1 (rounding); brightness/contrast/saturation mean <= 0.5; hue mean about 0.5,
max 1-2 (float HSV round trip, the same formulas as torchvision).
"""

from __future__ import annotations

import math

import kornia
import torch
import torch.nn.functional as TF

from augstudy.policy.backends.torchvision_backend import (
    JITTER_FIELDS,
    UINT8_MAX,
    check_draw_matches,
    draw_ops,
    float_if_normalizing,
    intensity_value,
    op_size,
    policy_image_size,
    policy_ops,
    resolve_implementations,
)
from augstudy.policy.backends.registry import register
from augstudy.policy.ops.base import IMAGENET_MEAN, IMAGENET_STD
from augstudy.policy.ops.color_jitter import NEUTRAL

BACKEND = "kornia"


def _mask(fields: dict, x: torch.Tensor) -> torch.Tensor:
    """The op's ``apply`` flags as a ``[B, 1, 1, 1]`` bool tensor on ``x``'s device."""
    apply = fields.get("apply")
    if apply is None:
        return torch.ones(x.shape[0], 1, 1, 1, dtype=torch.bool, device=x.device)
    return apply.to(device=x.device, dtype=torch.bool).view(-1, 1, 1, 1)


def _where(fields, transformed, x):
    """Per-sample select: ``transformed`` where the op applies, else ``x`` (same shapes)."""
    return torch.where(_mask(fields, x), transformed, x)


def _per_sample(fields, name, x, default=0.0):
    """A ``[B]`` float32 param tensor on ``x``'s device (``default`` when the draw lacks it)."""
    value = fields.get(name)
    if value is None:
        return torch.full((x.shape[0],), float(default), device=x.device)
    return value.to(device=x.device, dtype=torch.float32)


def _fill_tensor(value, x):
    return torch.tensor(intensity_value(value, torch.float32), device=x.device, dtype=x.dtype).view(1, -1, 1, 1)


# ----------------------------------------------------------------------------- ops on float [B,3,H,W]
@register(BACKEND, "HorizontalFlip")
def _hflip(x, params, fields, size):
    return _where(fields, kornia.geometry.transform.hflip(x), x)


@register(BACKEND, "VerticalFlip")
def _vflip(x, params, fields, size):
    return _where(fields, kornia.geometry.transform.vflip(x), x)


@register(BACKEND, "RandomGrayscale")
def _grayscale(x, params, fields, size):
    gray = kornia.color.rgb_to_grayscale(x).expand_as(x)
    return _where(fields, gray, x)


def _gather_crop(x, top, left, height, width):
    """Same-size per-sample crops by indexing: ``[B,C,H,W]`` -> ``[B,C,height,width]``, exact."""
    rows = top.view(-1, 1) + torch.arange(height, device=x.device)          # [B, h]
    cols = left.view(-1, 1) + torch.arange(width, device=x.device)          # [B, w]
    batch = torch.arange(x.shape[0], device=x.device).view(-1, 1, 1)
    return x[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)   # [B,h,w,C] -> [B,C,h,w]


def _check_all_applied(fields, x, name, out_hw):
    if tuple(x.shape[-2:]) != out_hw and not bool(_mask(fields, x).all()):
        raise ValueError(f"kornia backend: {name} changes the image size, so it must apply to every image (p=1)")


@register(BACKEND, "RandomCrop")
def _random_crop(x, params, fields, size):
    out_hw = op_size(params, size)
    _check_all_applied(fields, x, "RandomCrop", out_hw)
    pad = int(params.get("padding", 0) or 0)
    padded = x
    if pad:
        mode = params.get("padding_mode", "constant")
        if mode == "reflect":
            padded = TF.pad(x, [pad] * 4, mode="reflect")
        else:
            inside = TF.pad(torch.ones_like(x[:, :1]), [pad] * 4, value=0.0)      # 1 inside, 0 on the border
            padded = TF.pad(x, [pad] * 4, value=0.0) + (1 - inside) * _fill_tensor(params.get("fill", 0), x)
    top = fields["top"].to(device=x.device, dtype=torch.long)
    left = fields["left"].to(device=x.device, dtype=torch.long)
    cropped = _gather_crop(padded, top, left, *out_hw)
    return _where(fields, cropped, x) if cropped.shape == x.shape else cropped


@register(BACKEND, "RandomResizedCrop")
def _random_resized_crop(x, params, fields, size):
    out_h, out_w = op_size(params, size)
    _check_all_applied(fields, x, "RandomResizedCrop", (out_h, out_w))
    top, left, height, width = (_per_sample(fields, k, x).view(-1, 1, 1) for k in ("top", "left", "height", "width"))
    i = torch.arange(out_h, device=x.device, dtype=torch.float32).view(1, -1, 1)
    j = torch.arange(out_w, device=x.device, dtype=torch.float32).view(1, 1, -1)
    # torch's align_corners=False mapping of output pixel centres into the box, clamped to the box
    ys = (top + (i + 0.5) * height / out_h - 0.5).clamp(min=top, max=top + height - 1).expand(-1, out_h, out_w)
    xs = (left + (j + 0.5) * width / out_w - 0.5).clamp(min=left, max=left + width - 1).expand(-1, out_h, out_w)
    resized = kornia.geometry.transform.remap(x, xs.contiguous(), ys.contiguous(), mode="bilinear",
                                              padding_mode="border", align_corners=True)
    return _where(fields, resized, x) if resized.shape == x.shape else resized


def _jitter_step(index, x, factor):
    if index == 0:
        return kornia.enhance.adjust_brightness_accumulative(x, factor)
    if index == 1:
        return kornia.enhance.adjust_contrast_with_mean_subtraction(x, factor)
    if index == 2:
        return kornia.enhance.adjust_saturation_with_gray_subtraction(x, factor)
    return kornia.enhance.adjust_hue(x, factor * (2 * math.pi))   # kornia's hue is in radians


@register(BACKEND, "ColorJitter")
def _color_jitter(x, params, fields, size):
    """Each sample runs the four steps in its own ``order``: at step k, sub-op j runs on the
    samples whose ``order[:, k] == j`` only (neutral factors skipped), so every sample pays for
    one pass of each sub-op."""
    factors = [_per_sample(fields, name, x, NEUTRAL[name]) for name in JITTER_FIELDS]
    order = fields.get("order")
    order = (torch.arange(4).expand(x.shape[0], 4) if order is None else order).to(x.device)
    applied = _mask(fields, x).view(-1)
    out = x.clone()
    for position in range(4):
        for index in range(4):
            chosen = applied & (order[:, position] == index) & (factors[index] != NEUTRAL[JITTER_FIELDS[index]])
            rows = chosen.nonzero().view(-1)
            if rows.numel():
                out.index_copy_(0, rows, _jitter_step(index, out.index_select(0, rows), factors[index][rows]))
    return out


@register(BACKEND, "RandomErasing")
def _random_erasing(x, params, fields, size):
    rows = torch.arange(x.shape[-2], device=x.device).view(1, -1, 1)
    cols = torch.arange(x.shape[-1], device=x.device).view(1, 1, -1)
    top, left, height, width = (fields[k].to(device=x.device, dtype=torch.long).view(-1, 1, 1)
                                for k in ("top", "left", "height", "width"))
    box = (rows >= top) & (rows < top + height) & (cols >= left) & (cols < left + width)   # [B,H,W]
    if params.get("mode", "constant") != "constant":   # the keyed normal fill (ops/random_erasing.py)
        from augstudy.policy.ops.random_erasing import fill_noise

        fill = fill_noise(fields["fill_key"], params["mode"], x.shape[1], x.shape[-1], x.device).to(x.dtype)
    else:
        fill = _fill_tensor(params.get("value", 0), x).expand_as(x)
    erased = torch.where(box[:, None], fill, x)
    return _where(fields, erased, x)


def _affine_matrix(fields, x):
    """``[B, 2, 3]`` forward matrices: counter-clockwise ``angle`` about the pixel-grid centre,
    then ``scale`` and (``tx``, ``ty``) pixels."""
    b, _, h, w = x.shape
    angle = -_per_sample(fields, "angle", x)   # kornia's get_affine_matrix2d is clockwise-positive
    translation = torch.stack([_per_sample(fields, "tx", x), _per_sample(fields, "ty", x)], dim=1)
    scale = _per_sample(fields, "scale", x, 1.0).view(-1, 1).expand(b, 2)
    center = torch.tensor([(w - 1) / 2, (h - 1) / 2], device=x.device).expand(b, 2)
    return kornia.geometry.transform.get_affine_matrix2d(translation, center, scale, angle)[:, :2]


@register(BACKEND, "Affine", "Rotation")
def _affine(x, params, fields, size):
    """Affine and Rotation; outside pixels take ``fill`` exactly: ``warp(x) + (1 - warp(ones)) * fill``."""
    matrix = _affine_matrix(fields, x)

    def warp(t):
        return kornia.geometry.transform.warp_affine(t, matrix, dsize=tuple(x.shape[-2:]), mode="bilinear",
                                                     padding_mode="zeros", align_corners=True)

    out = warp(x)
    fill = _fill_tensor(params.get("fill", 0.0), x)
    if bool(fill.any()):
        out = out + (1.0 - warp(torch.ones_like(x[:, :1]))) * fill
    return _where(fields, out, x)


@register(BACKEND, "GaussianBlur")
def _gaussian_blur(x, params, fields, size):
    kernel = params.get("kernel_size", 3)
    kernel = int(kernel[0] if isinstance(kernel, (list, tuple)) else kernel)
    sigma = _per_sample(fields, "sigma", x).clamp(min=1e-6).view(-1, 1).expand(-1, 2)
    blurred = kornia.filters.gaussian_blur2d(x, (kernel, kernel), sigma, border_type="reflect")
    return _where(fields, blurred, x)


@register(BACKEND, "Normalize")
def _normalize(x, params, fields, size):
    mean = torch.tensor(list(params.get("mean", IMAGENET_MEAN)), device=x.device)
    std = torch.tensor(list(params.get("std", IMAGENET_STD)), device=x.device)
    return _where(fields, kornia.enhance.normalize(x, mean, std), x)



def apply_draw(images: torch.Tensor, policy, draw) -> torch.Tensor:
    """Apply ``draw`` to the batch ``images`` with kornia, on the images' device.

    Args:
        images: ``[B, 3, H, W]`` uint8 or float in ``[0, 1]``.
        policy: a ``Policy`` (its ``ops`` and ``image_size``).
        draw: a ``PolicyDraw`` (or list of per-op dicts of ``[B]`` tensors), moved to the images' device.

    Returns:
        ``[B, 3, S, S]`` in the input dtype (float32 if the policy has Normalize).
    """
    pairs = policy_ops(policy)
    ops = draw_ops(draw)
    check_draw_matches(pairs, ops, "kornia")
    functions = resolve_implementations(BACKEND, pairs)
    size = policy_image_size(policy, images)
    images = float_if_normalizing(images, pairs)
    is_uint8 = images.dtype == torch.uint8
    x = images.float() / UINT8_MAX if is_uint8 else images.float()
    for fn, (name, params), fields in zip(functions, pairs, ops):
        x = fn(x, params, fields, size)
    if tuple(x.shape[-2:]) != (size, size):
        x = kornia.geometry.transform.resize(x, (size, size), interpolation="bilinear", antialias=True)
    if is_uint8:
        return (x * UINT8_MAX).round_().clamp_(0, UINT8_MAX).to(torch.uint8)
    return x.to(images.dtype)


# the automatic policies, replayed with kornia's functional sub-ops
from augstudy.policy.backends import kornia_auto  # noqa: E402,F401
