"""Normalize: ``(x - mean) / std`` per channel; its output leaves [0, 1], so it must be the last op.

Defaults are ImageNet's mean and std (:data:`~augstudy.policy.ops.base.IMAGENET_MEAN` / ``_STD``),
the one default every backend uses.  Strength: Normalize is preprocessing, not augmentation, so
it is kept unchanged at every strength (a policy of only Normalize is the identity policy plus
normalization).
"""

from __future__ import annotations

from augstudy.policy.ops.base import IMAGENET_MEAN, IMAGENET_STD, Op, OpParams, Triple, field


class NormalizeParams(OpParams):
    mean: Triple() = field(list(IMAGENET_MEAN), "per-channel mean, fraction of full scale")
    std: Triple(positive=True) = field(list(IMAGENET_STD), "per-channel std, fraction of full scale")


class Normalize(Op):
    name = "Normalize"
    doc = "(x - mean) / std per channel; output leaves [0, 1], so it must be the last op"
    Params = NormalizeParams
    must_be_last = True
    strength_rule = "unchanged (preprocessing, not augmentation)"

    albumentations_names = ("Normalize",)

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        """albumentations' mean/std are in units of ``max_pixel_value``; augstudy's in fractions of 255."""
        from augstudy.policy.ops.albumentations_forms import Unsupported

        if entry.get("normalization", "standard") != "standard":
            raise Unsupported(f"normalization={entry.get('normalization')!r} (only 'standard' is supported)")
        scale = float(entry.get("max_pixel_value", 255.0)) / 255.0
        mean = entry.get("mean", IMAGENET_MEAN)
        std = entry.get("std", IMAGENET_STD)
        mean = [float(m) * scale for m in (mean if isinstance(mean, (list, tuple)) else [mean] * 3)]
        std = [float(s) * scale for s in (std if isinstance(std, (list, tuple)) else [std] * 3)]
        return {"mean": mean, "std": std}

    def apply(self, x, spec, fields: dict):
        import torch

        from augstudy.policy.kernels import mask4

        mean = torch.tensor(spec.params["mean"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(spec.params["std"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return torch.where(mask4(fields["apply"]), (x - mean) / std, x)
