"""TrivialAugmentWide(num_magnitude_bins): one sub-op per image, chosen uniformly among 14, at a
magnitude bin drawn uniformly in ``[0, num_magnitude_bins)``; signed magnitudes negated with
probability 1/2.

Source: ``torchvision.transforms.v2.TrivialAugmentWide`` (``torchvision/transforms/v2/_auto_augment.py``,
``TrivialAugmentWide._AUGMENTATION_SPACE`` and ``forward``): the "wide" ranges (shear 0..0.99,
translate 0..32 px whatever the image size, rotate 0..135 degrees, colour factors 1 +- 0..0.99,
Posterize 8..2 bits, Solarize 1..0); :data:`augstudy.policy.auto_spaces.SPACES` ``["TrivialAugmentWide"]``.
Defaults as torchvision: ``num_magnitude_bins=31``, nearest, ``fill=None``.

Draw: ``sub_op`` int64 [B, 1], ``magnitude`` float32 [B, 1]; slots 1 (choice), 2 (sign), 3 (bin).
Never a no-op (AutoContrast and Equalize have no magnitude).  Strength: ``magnitude_scale``
(:mod:`~augstudy.policy.ops.auto_base`).
"""

from __future__ import annotations

from augstudy.policy.ops.auto_base import FILL_DOC, SCALE_DOC, AutoPolicyOp, Interpolation, MagnitudeScale, \
    OptionalFill
from augstudy.policy.ops.base import Int, OpParams, field


class TrivialAugmentWideParams(OpParams):
    num_magnitude_bins: Int(2, 1001) = field(31, "number of magnitude bins (one drawn per image)")
    interpolation: Interpolation() = field("nearest", "resampling of the geometric sub-ops")
    fill: OptionalFill() = field(None, FILL_DOC)
    magnitude_scale: MagnitudeScale() = field(1.0, SCALE_DOC)


class TrivialAugmentWide(AutoPolicyOp):
    name = "TrivialAugmentWide"
    doc = "torchvision's TrivialAugmentWide: one random sub-op per image at a random magnitude bin"
    Params = TrivialAugmentWideParams
    space = "TrivialAugmentWide"

    def sample(self, spec, u, side: int) -> dict:
        import torch

        from augstudy.policy.auto_spaces import SPACES

        bins = spec.params["num_magnitude_bins"]
        sub, mag = self.draw_step(u, 1, tuple(SPACES[self.space]), bins, u.integer(3, bins), spec.params, side)
        return {"sub_op": sub[:, None], "magnitude": mag[:, None].to(torch.float32)}
