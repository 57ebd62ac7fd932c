"""Albumentations backend: one image at a time on numpy HWC arrays (OpenCV underneath).

Applies a given draw (never samples) through albumentations 2.0.x's functional layer and
transforms' ``apply(img, **params)``, with the params taken from the draw.

Shapes and units:
    images: ``[B, 3, H, W]`` uint8 (0..255) or float in ``[0, 1]``; each image becomes an
    ``[H, W, 3]`` numpy array (uint8 stays uint8, float becomes float32).
    returns: the same dtype and device, ``[B, 3, S, S]`` (``S = policy.image_size``).

Mapping onto torchvision's semantics:
- ColorJitter uses albumentations' ``adjust_*_torchvision`` functions (torchvision's
  formulas) with the draw's factors and order.  Hue goes through OpenCV's uint8 HSV, whose
  hue channel has 180 levels (2 degrees each) and whose HSV quantization differs from
  torchvision's float HSV: hue is the op that differs most (albumentations' own tests
  allow 25.5/255 for it).  Measured on smooth colour fields: mean about 1-2, max up to
  about 10 in 0..255 units (see ``augstudy measure --equivalence``);
- RandomCrop ``reflect`` padding is OpenCV's ``BORDER_REFLECT_101`` (torch's "reflect");
- RandomResizedCrop crops then resizes with ``cv2.INTER_LINEAR`` (half-pixel centres like
  torch; uint8 fixed-point arithmetic: off by at most 1 from torchvision);
- Affine and Rotation (counter-clockwise angle, as cv2) build the forward matrix about
  ``((W-1)/2, (H-1)/2)`` for ``cv2.warpAffine``, constant ``fill`` border;
- GaussianBlur convolves with ``create_gaussian_kernel_1d(sigma, kernel_size)`` (the
  same kernel formula as torchvision), reflect-101 borders.
"""

from __future__ import annotations


import cv2
import numpy as np
import torch
from albumentations.augmentations.blur import functional as fblur
from albumentations.augmentations.crops import functional as fcrops
from albumentations.augmentations.geometric import functional as fgeometric
from albumentations.augmentations.geometric.flip import HorizontalFlip, VerticalFlip
from albumentations.augmentations.pixel import functional as fpixel

from augstudy.policy.backends.torchvision_backend import (
    JITTER_FIELDS,
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
from augstudy.policy.ops.color_jitter import is_neutral_value

BACKEND = "albumentations"

_HFLIP = HorizontalFlip(p=1.0)
_VFLIP = VerticalFlip(p=1.0)
_BORDER = {"constant": cv2.BORDER_CONSTANT, "reflect": cv2.BORDER_REFLECT_101}


def _fill(value, img):
    dtype = torch.uint8 if img.dtype == np.uint8 else torch.float32
    return tuple(intensity_value(value, dtype))


# ----------------------------------------------------------------------------- ops on one HWC array
@register(BACKEND, "HorizontalFlip")
def _hflip(img, params, f, size):
    return _HFLIP.apply(img)


@register(BACKEND, "VerticalFlip")
def _vflip(img, params, f, size):
    return _VFLIP.apply(img)


@register(BACKEND, "RandomGrayscale")
def _grayscale(img, params, f, size):
    return fpixel.to_gray(img, num_output_channels=3, method="weighted_average")


@register(BACKEND, "RandomCrop")
def _random_crop(img, params, f, size):
    pad = int(params.get("padding", 0) or 0)
    if pad:
        img = fgeometric.pad_with_params(img, pad, pad, pad, pad, border_mode=_BORDER[params.get("padding_mode", "constant")],
                                         value=_fill(params.get("fill", 0), img))
    height, width = op_size(params, size)
    top, left = int(f["top"]), int(f["left"])
    return fcrops.crop(img, x_min=left, y_min=top, x_max=left + width, y_max=top + height)


@register(BACKEND, "RandomResizedCrop")
def _random_resized_crop(img, params, f, size):
    top, left = int(f["top"]), int(f["left"])
    crop = fcrops.crop(img, x_min=left, y_min=top, x_max=left + int(f["width"]), y_max=top + int(f["height"]))
    return fgeometric.resize(crop, op_size(params, size), interpolation=cv2.INTER_LINEAR)


_JITTER_FUNCS = (fpixel.adjust_brightness_torchvision, fpixel.adjust_contrast_torchvision,
                 fpixel.adjust_saturation_torchvision, fpixel.adjust_hue_torchvision)


@register(BACKEND, "ColorJitter")
def _color_jitter(img, params, f, size):
    for index in f["order"]:
        index = int(index)
        value = float(f[JITTER_FIELDS[index]])
        if not is_neutral_value(JITTER_FIELDS[index], value):
            img = _JITTER_FUNCS[index](img, value)
    return img


@register(BACKEND, "RandomErasing")
def _random_erasing(img, params, f, size):
    top, left = int(f["top"]), int(f["left"])
    out = img.copy()
    h, w = int(f["height"]), int(f["width"])
    if params.get("mode", "constant") != "constant":   # the keyed normal fill (ops/random_erasing.py), HWC
        from augstudy.policy.ops.random_erasing import fill_values

        chw = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))[None]
        noise = fill_values(params, {"fill_key": torch.as_tensor(f["fill_key"]).reshape(1)}, chw)[0]
        out[top:top + h, left:left + w] = noise.permute(1, 2, 0).numpy()[top:top + h, left:left + w]
        return out
    out[top:top + h, left:left + w] = np.asarray(_fill(params.get("value", 0), img), dtype=img.dtype)
    return out


@register(BACKEND, "Affine", "Rotation")
def _affine(img, params, f, size):
    """Affine and Rotation: ``angle`` degrees counter-clockwise (cv2's convention too), about
    ``((W-1)/2, (H-1)/2)``, then (``tx``, ``ty``) pixels; ``fill`` outside (cv2 constant border)."""
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), float(f.get("angle", 0.0)), float(f.get("scale", 1.0)))
    matrix[:, 2] += (float(f.get("tx", 0.0)), float(f.get("ty", 0.0)))
    matrix = np.vstack([matrix, [0.0, 0.0, 1.0]])     # albumentations takes the 3x3 homogeneous form
    return fgeometric.warp_affine(img, matrix, interpolation=cv2.INTER_LINEAR, fill=_fill(params.get("fill", 0.0), img),
                                  border_mode=cv2.BORDER_CONSTANT, output_shape=(h, w))


@register(BACKEND, "GaussianBlur")
def _gaussian_blur(img, params, f, size):
    kernel = params.get("kernel_size", 3)
    kernel = int(kernel[0] if isinstance(kernel, (list, tuple)) else kernel)
    return fpixel.separable_convolve(img, kernel=fblur.create_gaussian_kernel_1d(max(float(f["sigma"]), 1e-6), kernel))


@register(BACKEND, "Normalize")
def _normalize(img, params, f, size):
    mean = np.asarray(params.get("mean", IMAGENET_MEAN), dtype=np.float32)
    std = np.asarray(params.get("std", IMAGENET_STD), dtype=np.float32)
    return (img.astype(np.float32) - mean) / std



def _fields_of(fields: dict[str, torch.Tensor], i: int) -> dict:
    return {k: (v[i].tolist() if v.dim() > 1 else v[i].item()) for k, v in fields.items()}


def apply_draw(images: torch.Tensor, policy, draw) -> torch.Tensor:
    """Apply ``draw`` to ``images`` with albumentations, image by image on the CPU.

    Args:
        images: ``[B, 3, H, W]`` uint8 or float in ``[0, 1]``, any device (copied to the CPU).
        policy: a ``Policy`` (its ``ops`` and ``image_size``).
        draw: a ``PolicyDraw`` (or list of per-op dicts of ``[B]`` tensors).

    Returns:
        ``[B, 3, S, S]`` in the input dtype (float32 if the policy has Normalize), on the input's device.
    """
    pairs = policy_ops(policy)
    ops = draw_ops(draw)
    check_draw_matches(pairs, ops, "albumentations")
    functions = resolve_implementations(BACKEND, pairs)
    size = policy_image_size(policy, images)
    device = images.device
    images = float_if_normalizing(images, pairs)
    is_uint8 = images.dtype == torch.uint8
    arrays = images.detach().cpu().permute(0, 2, 3, 1)
    arrays = arrays.numpy() if is_uint8 else arrays.float().numpy()
    cpu_fields = [{k: v.detach().cpu() for k, v in fields.items()} for fields in ops]
    outputs = []
    for i in range(arrays.shape[0]):
        img = np.ascontiguousarray(arrays[i])
        for fn, (name, params), fields in zip(functions, pairs, cpu_fields):
            f = _fields_of(fields, i)
            if f.get("apply", True):
                img = fn(img, params, f, size)
        if img.shape[:2] != (size, size):
            img = fgeometric.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)
        outputs.append(np.ascontiguousarray(img))
    out = torch.from_numpy(np.stack(outputs)).permute(0, 3, 1, 2).contiguous()
    return out.to(device=device, dtype=torch.uint8 if is_uint8 else images.dtype)


# the automatic policies have no equivalent here: one clear error (see the module)
from augstudy.policy.backends import no_auto_equivalent  # noqa: E402,F401
