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

    def apply(self, x, spec, fields: dict):
        import torch

        from augstudy.policy.kernels import mask4

        mean = torch.tensor(spec.params["mean"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        std = torch.tensor(spec.params["std"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        return torch.where(mask4(fields["apply"]), (x - mean) / std, x)
