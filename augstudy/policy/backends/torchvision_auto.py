"""The automatic policies in the torchvision reference backend: replay a draw's sub-op choices with
torchvision's OWN sub-op code, one image at a time.

Each step calls ``_AutoAugmentBase._apply_image_or_video_transform(image, name, magnitude,
interpolation, fill)`` of ``torchvision/transforms/v2/_auto_augment.py`` (the method every
torchvision auto-augment policy's ``forward`` calls after drawing its choices), so the only thing
that differs from ``torchvision.transforms.v2.RandAugment()(image)`` is who drew the choices.
AugMix's mix is ``AugMix.forward``'s: ``m0 * image + sum_i w_i * chain_i(image)`` in float32, cast
back to the image dtype.  ``fill`` (a fraction of full scale) is given to torchvision in the
image's units (x255 for uint8); ``None`` stays None (zero padding).
"""

from __future__ import annotations

import torch
from torchvision.transforms.v2 import TrivialAugmentWide as _TorchvisionTrivialAugment

from augstudy.policy.auto_spaces import SUB_OPS
from augstudy.policy.backends.engine_only import refuse_engine_only_fields
from augstudy.policy.backends.registry import register
from augstudy.policy.ops import OPS
from augstudy.policy.ops.augmix import augmix_blend

BACKEND = "torchvision"
_INSTANCES: dict = {}


def _transform(interpolation: str, fill, dtype: torch.dtype):
    """A torchvision auto-augment instance holding ``interpolation`` and ``fill`` (its sub-op code is shared)."""
    value = None if fill is None else float(fill) * (255.0 if dtype == torch.uint8 else 1.0)
    key = (interpolation, value)
    if key not in _INSTANCES:
        _INSTANCES[key] = _TorchvisionTrivialAugment(interpolation=interpolation, fill=value)
    return _INSTANCES[key]


def sub_op(image: torch.Tensor, sub_op_id: int, magnitude: float, interpolation: str, fill) -> torch.Tensor:
    """One sub-op on one image (or a [1, 3, H, W] batch) by torchvision's own code."""
    transform = _transform(interpolation, fill, image.dtype)
    return transform._apply_image_or_video_transform(image, SUB_OPS[int(sub_op_id)], float(magnitude),
                                                     interpolation=transform.interpolation, fill=transform._fill)


@register(BACKEND, "RandAugment", "TrivialAugmentWide", "AutoAugment")
def _chain(img, params, f, size, name=None):
    if "magnitude_std" in params:  # RandAugment's timm noise: not torchvision's RandAugment
        refuse_engine_only_fields(BACKEND, "RandAugment", params)
    mode = params.get("interpolation", "nearest")
    for sid, magnitude in zip(f["sub_op"], f["magnitude"]):
        img = sub_op(img, sid, magnitude, mode, params.get("fill"))
    return img


@register(BACKEND, "AugMix")
def _augmix(img, params, f, size):
    mode = params.get("interpolation", OPS["AugMix"].interpolation_default)

    def step(batch, ids, mags):
        return sub_op(batch, int(ids[0]), float(mags[0]), mode, params.get("fill"))

    batch = img[None]
    out = augmix_blend(batch, torch.tensor([f["sub_op"]]), torch.tensor([f["magnitude"]], dtype=torch.float64),
                       torch.tensor([f["weights"]], dtype=torch.float32), step)
    return out[0]
