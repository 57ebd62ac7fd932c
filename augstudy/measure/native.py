"""torchvision's own automatic policies, timed per image with their own sampling: the yardstick
``measure`` reports the batched engine against for RandAugment, TrivialAugmentWide, AutoAugment and
AugMix (backend name ``torchvision-own``; the draw is ignored, torchvision draws its own choices)."""

from __future__ import annotations

import torch

NATIVE = "torchvision-own"


def native_transform(spec):
    """``torchvision.transforms.v2.<Policy>(...)`` with the op's parameters (same interpolation and
    fill; fill given in uint8 units), or None for an op that is not an automatic policy."""
    from torchvision.transforms import v2

    params = spec.params
    fill = None if params.get("fill") is None else float(params["fill"]) * 255.0
    common = {"interpolation": params.get("interpolation", "nearest"), "fill": fill}
    if spec.op == "RandAugment":
        return v2.RandAugment(num_ops=params["num_ops"], magnitude=params["magnitude"],
                              num_magnitude_bins=params["num_magnitude_bins"], **common)
    if spec.op == "TrivialAugmentWide":
        return v2.TrivialAugmentWide(num_magnitude_bins=params["num_magnitude_bins"], **common)
    if spec.op == "AutoAugment":
        return v2.AutoAugment(policy=v2.AutoAugmentPolicy(params["policy"]), **common)
    if spec.op == "AugMix":
        return v2.AugMix(severity=params["severity"], mixture_width=params["mixture_width"],
                         chain_depth=params["chain_depth"], alpha=params["alpha"], all_ops=params["all_ops"],
                         interpolation=params.get("interpolation", "bilinear"), fill=fill)
    return None


def native_apply(policy):
    """``apply(images, policy, draw)`` running torchvision's own transform image by image, for a
    policy made of exactly one automatic policy op; None otherwise."""
    if len(policy.ops) != 1:
        return None
    transform = native_transform(policy.ops[0])
    if transform is None:
        return None

    def apply(images, _policy, _draw):
        return torch.stack([transform(image) for image in images])
    return apply


__all__ = ["NATIVE", "native_transform", "native_apply"]
