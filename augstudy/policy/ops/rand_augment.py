"""RandAugment(num_ops, magnitude, num_magnitude_bins): ``num_ops`` sub-ops in sequence, each chosen
uniformly among 14 (Identity, ShearX/Y, TranslateX/Y, Rotate, Brightness, Color, Contrast,
Sharpness, Posterize, Solarize, AutoContrast, Equalize), all at magnitude bin ``magnitude`` of
``num_magnitude_bins``; signed magnitudes negated with probability 1/2.

Source: ``torchvision.transforms.v2.RandAugment`` (``torchvision/transforms/v2/_auto_augment.py``,
``RandAugment._AUGMENTATION_SPACE`` and ``forward``); the table is
:data:`augstudy.policy.auto_spaces.SPACES` ``["RandAugment"]`` (shear 0..0.3, translate 0..150/331
of the side, rotate 0..30 degrees, colour factors 1 +- 0..0.9, Posterize 8..4 bits, Solarize 1..0).
Defaults as torchvision: ``num_ops=2, magnitude=9, num_magnitude_bins=31``, nearest, ``fill=None``.

Draw: ``sub_op`` int64 [B, num_ops], ``magnitude`` float32 [B, num_ops]
(:mod:`augstudy.policy.ops.auto_base`); slots ``1 + 2k`` (choice) and ``2 + 2k`` (sign) of step k.
No-op: ``num_ops = 0``.  Strength: :mod:`~augstudy.policy.ops.auto_base` (``magnitude_scale``).
"""

from __future__ import annotations

from augstudy.policy.ops.auto_base import FILL_DOC, SCALE_DOC, AutoPolicyOp, Interpolation, MagnitudeScale, \
    OptionalFill, field_error
from augstudy.policy.ops.base import Int, OpParams, field


class RandAugmentParams(OpParams):
    num_ops: Int(0, 10) = field(2, "sub-ops applied in sequence to each image")
    magnitude: Int(0, 1000) = field(9, "magnitude bin, 0 .. num_magnitude_bins - 1")
    num_magnitude_bins: Int(2, 1001) = field(31, "number of magnitude bins")
    interpolation: Interpolation() = field("nearest", "resampling of the geometric sub-ops")
    fill: OptionalFill() = field(None, FILL_DOC)
    magnitude_scale: MagnitudeScale() = field(1.0, SCALE_DOC)


class RandAugment(AutoPolicyOp):
    name = "RandAugment"
    doc = "torchvision's RandAugment: num_ops random sub-ops per image at one magnitude bin"
    Params = RandAugmentParams
    space = "RandAugment"

    def validate(self, item: dict) -> tuple[dict, float]:
        params, p = super().validate(item)
        if params["magnitude"] > params["num_magnitude_bins"] - 1:
            raise field_error(self.name, "magnitude", params["magnitude"],
                              f"must be in [0, {params['num_magnitude_bins'] - 1}] (num_magnitude_bins - 1), "
                              f"got {params['magnitude']}")
        return params, p

    def is_identity(self, params: dict, side: int | None = None) -> bool:
        return params["num_ops"] == 0

    def sample(self, spec, u, side: int) -> dict:
        import torch

        from augstudy.policy.auto_spaces import SPACES

        names = tuple(SPACES[self.space])
        params = spec.params
        ids, mags = [], []
        for k in range(params["num_ops"]):
            sub, mag = self.draw_step(u, 1 + 2 * k, names, params["num_magnitude_bins"], params["magnitude"],
                                      params, side)
            ids.append(sub)
            mags.append(mag)
        batch = u.keyed.per_index.shape[0]
        device = u.keyed.per_index.device
        if not ids:
            return {"sub_op": torch.zeros(batch, 0, dtype=torch.int64, device=device),
                    "magnitude": torch.zeros(batch, 0, dtype=torch.float32, device=device)}
        return {"sub_op": torch.stack(ids, 1), "magnitude": torch.stack(mags, 1).to(torch.float32)}
