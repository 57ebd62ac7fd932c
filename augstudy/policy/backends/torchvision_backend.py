"""Reference backend: torchvision's functional API (``transforms.v2.functional``), one image at a time.

Applies a given :class:`~augstudy.policy.PolicyDraw` (never samples).  This is the
yardstick the other backends are compared against (``augstudy.policy.equivalence``).

Shapes and units:
    images: ``[B, 3, H, W]`` uint8 (0..255) or float in ``[0, 1]``.
    returns: the same dtype, ``[B, 3, S, S]`` with ``S = policy.image_size`` (a crop op's
    ``size``).  uint8 images are processed as uint8 tensors, so every step quantizes
    exactly as torchvision does on uint8 (its colour ops truncate toward zero).

Per-op semantics follow ARCHITECTURE.md ("Per-op draw fields").  Units the draw does
not fix are fixed here, and every backend follows them:

- RandomCrop ``fill`` and RandomErasing ``value`` are intensities in ``[0, 1]`` (scaled
  by 255 for uint8 images), a number or a 3-list per channel;
- Affine and Rotation: positive ``angle`` degrees = counter-clockwise (``F.rotate``'s
  convention; ``F.affine``'s is clockwise, so its angle is negated), about the image
  centre, translate by (``tx``, ``ty``) pixels, scale by ``scale``; bilinear; pixels with no
  source take ``fill`` exactly (constant padding);
- GaussianBlur uses the op's ``kernel_size`` (odd, pixels) and the drawn ``sigma`` (pixels),
  reflect padding;
- Normalize needs float values, so a policy with Normalize returns float32 whatever the
  input dtype (the only exception to "same dtype").

Helpers shared with the other reference backends live here (``draw_ops``, ``op_size``...),
so the three backends read the draw the same way.
"""

from __future__ import annotations

from typing import Any

import torch
import torchvision.transforms.v2.functional as F
from torchvision.transforms import InterpolationMode

from augstudy.policy.backends.registry import implementation, register
from augstudy.policy.ops.base import IMAGENET_MEAN, IMAGENET_STD
from augstudy.policy.ops.color_jitter import ADJUSTMENTS, is_neutral_value

UINT8_MAX = 255.0
#: ColorJitter sub-op positions in a draw's ``order`` (torchvision's own order)
JITTER_FIELDS = ADJUSTMENTS
BACKEND = "torchvision"


# ----------------------------------------------------------------------------- shared helpers
def draw_ops(draw: Any) -> list[dict[str, torch.Tensor]]:
    """The per-op field dicts of a draw: a ``PolicyDraw`` (``.ops``) or a bare list of dicts."""
    ops = getattr(draw, "ops", draw)
    return list(ops)


def policy_ops(policy: Any) -> list[tuple[str, dict]]:
    """``[(op name, params dict), ...]`` from a ``Policy`` (``.ops`` of ``OpSpec``) or a list of them."""
    ops = getattr(policy, "ops", policy)
    return [(spec.op, dict(spec.params or {})) for spec in ops]


def policy_image_size(policy: Any, images: torch.Tensor) -> int:
    """Output side ``S`` in pixels: the policy's ``image_size`` (default: the input's height)."""
    return int(getattr(policy, "image_size", None) or images.shape[-2])


def op_size(params: dict, default: int) -> tuple[int, int]:
    """A crop op's output ``(height, width)`` in pixels from its ``size`` param (int or pair)."""
    size = params.get("size", default)
    if isinstance(size, (list, tuple)):
        return int(size[0]), int(size[-1])
    return int(size), int(size)


def check_draw_matches(policy_pairs: list, ops: list, backend: str) -> None:
    """Raise ``ValueError`` when the draw and the policy disagree on the number of ops."""
    if len(policy_pairs) != len(ops):
        raise ValueError(f"{backend} backend: draw has {len(ops)} ops but the policy has {len(policy_pairs)}")


def intensity_value(value: Any, dtype: torch.dtype, channels: int = 3) -> list[float]:
    """A fill/erase value given in ``[0, 1]`` units as a per-channel list in the image's units."""
    values = list(value) if isinstance(value, (list, tuple)) else [value if value is not None else 0.0] * channels
    if dtype == torch.uint8:   # round once here, so every backend fills with the same integer
        return [float(round(float(v) * UINT8_MAX)) for v in values]
    return [float(v) for v in values]


def float_if_normalizing(images: torch.Tensor, policy_pairs: list) -> torch.Tensor:
    """uint8 images as float32 in ``[0, 1]`` when the policy has Normalize (its output is not uint8)."""
    if images.dtype == torch.uint8 and any(name == "Normalize" for name, _ in policy_pairs):
        return images.float() / UINT8_MAX
    return images


def resolve_implementations(backend: str, policy_pairs: list) -> list:
    """The registered function of every op of the policy, in order (a clear error for a missing one)."""
    return [implementation(backend, name) for name, _ in policy_pairs]


# ----------------------------------------------------------------------------- per-op functions
# Each takes one image [3, H, W], the op's params, this image's draw fields (python scalars)
# and the output size S; returns the transformed image (same dtype unless Normalize).
@register(BACKEND, "HorizontalFlip")
def _hflip(img, params, f, size):
    return F.horizontal_flip(img)


@register(BACKEND, "VerticalFlip")
def _vflip(img, params, f, size):
    return F.vertical_flip(img)


@register(BACKEND, "RandomGrayscale")
def _grayscale(img, params, f, size):
    return F.rgb_to_grayscale(img, num_output_channels=3)


@register(BACKEND, "RandomCrop")
def _random_crop(img, params, f, size):
    pad = int(params.get("padding", 0) or 0)
    if pad:
        mode = params.get("padding_mode", "constant")
        fill = intensity_value(params.get("fill", 0), img.dtype)
        fill = (fill[0] if len(set(fill)) == 1 else fill) if mode == "constant" else None
        img = F.pad(img, [pad, pad, pad, pad], fill=fill, padding_mode=mode)
    height, width = op_size(params, size)
    return F.crop(img, int(f["top"]), int(f["left"]), height, width)


@register(BACKEND, "RandomResizedCrop")
def _random_resized_crop(img, params, f, size):
    height, width = op_size(params, size)
    return F.resized_crop(img, int(f["top"]), int(f["left"]), int(f["height"]), int(f["width"]),
                          [height, width], interpolation=InterpolationMode.BILINEAR, antialias=True)


_JITTER_FUNCS = (F.adjust_brightness, F.adjust_contrast, F.adjust_saturation, F.adjust_hue)


@register(BACKEND, "ColorJitter")
def _color_jitter(img, params, f, size):
    for index in f["order"]:
        index = int(index)
        value = float(f[JITTER_FIELDS[index]])
        if not is_neutral_value(JITTER_FIELDS[index], value):   # torchvision skips unset factors: keep identities exact
            img = _JITTER_FUNCS[index](img, value)
    return img


@register(BACKEND, "RandomErasing")
def _random_erasing(img, params, f, size):
    top, left, height, width = int(f["top"]), int(f["left"]), int(f["height"]), int(f["width"])
    if params.get("mode", "constant") != "constant":   # the keyed normal fill (ops/random_erasing.py), cut to the box
        from augstudy.policy.ops.random_erasing import fill_values

        noise = fill_values(params, {"fill_key": torch.as_tensor(f["fill_key"]).reshape(1)}, img[None])[0]
        return F.erase(img, top, left, height, width, noise[:, top:top + height, left:left + width])
    value = torch.tensor(intensity_value(params.get("value", 0), img.dtype), dtype=img.dtype, device=img.device).view(-1, 1, 1)
    return F.erase(img, top, left, height, width, value)


def _warp(img, params, f, use_rotate: bool):
    """Rotate by ``angle`` degrees counter-clockwise about the centre, translate, scale; bilinear.

    Outside pixels take ``fill`` as if the image were padded with it: ``warp(img) +
    (1 - warp(ones)) * fill``.  (torchvision's own ``fill=`` also multiplies the result by the
    resampled validity mask, darkening border pixels a second time, so it is not used.)
    """
    angle, tx, ty, scale = (float(f.get(k, d)) for k, d in (("angle", 0.0), ("tx", 0.0), ("ty", 0.0), ("scale", 1.0)))

    def warp(x):
        if use_rotate and tx == 0.0 and ty == 0.0 and scale == 1.0:
            return F.rotate(x, angle, interpolation=InterpolationMode.BILINEAR, fill=None)   # counter-clockwise
        # F.affine's angle is clockwise-positive: negate to keep the policy's counter-clockwise convention
        return F.affine(x, angle=-angle, translate=[tx, ty], scale=scale, shear=[0.0, 0.0],
                        interpolation=InterpolationMode.BILINEAR, fill=None)

    fill = intensity_value(params.get("fill", 0.0), img.dtype)
    if not any(fill):
        return warp(img)
    x = img.float()
    coverage = warp(torch.ones_like(x[:1]))
    out = warp(x) + (1.0 - coverage) * torch.tensor(fill, dtype=x.dtype, device=x.device).view(-1, 1, 1)
    return out.round().clamp(0, UINT8_MAX).to(torch.uint8) if img.dtype == torch.uint8 else out.to(img.dtype)


@register(BACKEND, "Affine")
def _affine(img, params, f, size):
    return _warp(img, params, f, use_rotate=False)


@register(BACKEND, "Rotation")
def _rotation(img, params, f, size):
    return _warp(img, params, f, use_rotate=True)


@register(BACKEND, "GaussianBlur")
def _gaussian_blur(img, params, f, size):
    kernel = int(params.get("kernel_size", 3) if not isinstance(params.get("kernel_size"), (list, tuple))
                 else params["kernel_size"][0])
    sigma = float(f["sigma"])
    return F.gaussian_blur(img, [kernel, kernel], [sigma, sigma])


@register(BACKEND, "Normalize")
def _normalize(img, params, f, size):
    return F.normalize(img, list(params.get("mean", IMAGENET_MEAN)), list(params.get("std", IMAGENET_STD)))


def _fields_of(fields: dict[str, torch.Tensor], i: int) -> dict[str, Any]:
    return {k: (v[i].tolist() if v.dim() > 1 else v[i].item()) for k, v in fields.items()}


def apply_draw(images: torch.Tensor, policy, draw) -> torch.Tensor:
    """Apply ``draw`` to ``images`` with torchvision's functional ops, image by image.

    Args:
        images: ``[B, 3, H, W]`` uint8 or float in ``[0, 1]``, any device.
        policy: a ``Policy`` (its ``ops`` and ``image_size``).
        draw: a ``PolicyDraw`` (or list of per-op dicts of ``[B]`` tensors) for these images.

    Returns:
        ``[B, 3, S, S]``, the input dtype (float32 if the policy has Normalize), same device.
    """
    pairs = policy_ops(policy)
    ops = draw_ops(draw)
    check_draw_matches(pairs, ops, "torchvision")
    size = policy_image_size(policy, images)
    functions = resolve_implementations(BACKEND, pairs)
    images = float_if_normalizing(images, pairs)
    cpu_fields = [{k: v.detach().cpu() for k, v in fields.items()} for fields in ops]
    outputs = []
    for i in range(images.shape[0]):
        img = images[i]
        for fn, (name, params), fields in zip(functions, pairs, cpu_fields):
            f = _fields_of(fields, i)
            if f.get("apply", True):
                img = fn(img, params, f, size)
        if img.shape[-2:] != (size, size):   # ops that keep the input size (no crop) still output S x S
            img = F.resize(img, [size, size], interpolation=InterpolationMode.BILINEAR, antialias=True)
        outputs.append(img)
    return torch.stack(outputs)


# the automatic policies (RandAugment, TrivialAugmentWide, AutoAugment, AugMix) register themselves
from augstudy.policy.backends import torchvision_auto  # noqa: E402,F401
