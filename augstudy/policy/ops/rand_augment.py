"""RandAugment(num_ops, magnitude, num_magnitude_bins, magnitude_std): ``num_ops`` sub-ops in
sequence, each chosen uniformly among 14 (Identity, ShearX/Y, TranslateX/Y, Rotate, Brightness,
Color, Contrast, Sharpness, Posterize, Solarize, AutoContrast, Equalize), all at magnitude bin
``magnitude`` of ``num_magnitude_bins``; signed magnitudes negated with probability 1/2.

Source: ``torchvision.transforms.v2.RandAugment`` (``torchvision/transforms/v2/_auto_augment.py``,
``RandAugment._AUGMENTATION_SPACE`` and ``forward``); the table is
:data:`augstudy.policy.auto_spaces.SPACES` ``["RandAugment"]`` (shear 0..0.3, translate 0..150/331
of the side, rotate 0..30 degrees, colour factors 1 +- 0..0.9, Posterize 8..4 bits, Solarize 1..0).
Defaults as torchvision: ``num_ops=2, magnitude=9, num_magnitude_bins=31``, nearest, ``fill=None``.

``magnitude_std`` (default 0: torchvision, every sub-op exactly at bin ``magnitude``) adds timm's
per-application magnitude noise (``timm/data/auto_augment.py``, ``AugmentOp.__call__``, e.g.
``rand-m9-mstd0.5``): each step of each image gets its own continuous bin
``b ~ Normal(magnitude, magnitude_std)`` clipped to ``[0, num_magnitude_bins - 1]``, or with
``magnitude_std: inf`` ``b`` uniform in ``[0, magnitude]`` (timm's ``mstd`` > 100); the sub-op's
magnitude is torchvision's table formula at that continuous bin
(:func:`~augstudy.policy.auto_spaces.magnitude_at`: linear in ``b``, Posterize bits rounded).
Units are bins: bin ``b`` is the fraction ``b / (num_magnitude_bins - 1)`` of each sub-op's
maximum, and timm's level ``L`` on its 0..10 scale (``_LEVEL_DENOM = 10``, clip ``[0, 10]``) is
the fraction ``L / 10`` of its maximum, so timm's ``(m, mstd)`` is ``magnitude = m * (bins - 1) / 10``,
``magnitude_std = mstd * (bins - 1) / 10``: with ``num_magnitude_bins: 11`` timm's own numbers
(``rand-m9-mstd0.5`` = ``magnitude: 9, magnitude_std: 0.5``), with 31 bins three times them
(``magnitude: 27, magnitude_std: 1.5``).  Only the noise rule is timm's: the op set and tables stay
torchvision's (timm's RandAugment also applies each chosen op with probability 0.5 and has its own
Posterize/Solarize ranges; neither is modelled).  Only backend ``augstudy`` applies noisy
magnitudes; torchvision and kornia refuse (:mod:`augstudy.policy.backends.no_auto_equivalent`).

Draw: ``sub_op`` int64 [B, num_ops], ``magnitude`` float32 [B, num_ops]
(:mod:`augstudy.policy.ops.auto_base`); slots ``1 + 2k`` (choice) and ``2 + 2k`` (sign) of step k.
With ``magnitude_std > 0`` also ``bin`` float32 [B, num_ops] (the continuous bin of each step,
before sign and strength), from slot ``NOISE_SLOT + k`` (one keyed uniform through the inverse
normal CDF, :func:`~augstudy.policy.ops.auto_base.noisy_bins`); the sub-op choices and signs are
the same as without noise.  No-op: ``num_ops = 0``.  Strength: :mod:`~augstudy.policy.ops.auto_base`
(``magnitude_scale``, applied to the noisy magnitudes).
"""

from __future__ import annotations

from augstudy.policy.ops.auto_base import FILL_DOC, SCALE_DOC, AutoPolicyOp, Interpolation, MagnitudeScale, \
    MagnitudeStd, OptionalFill, field_error, noisy_bins
from augstudy.policy.ops.base import Int, OpParams, field

#: first slot of the noise draws (step k: NOISE_SLOT + k), clear of the choice/sign slots 1 .. 2 * num_ops <= 20
NOISE_SLOT = 100


class RandAugmentParams(OpParams):
    num_ops: Int(0, 10) = field(2, "sub-ops applied in sequence to each image")
    magnitude: Int(0, 1000) = field(9, "magnitude bin, 0 .. num_magnitude_bins - 1")
    num_magnitude_bins: Int(2, 1001) = field(31, "number of magnitude bins")
    magnitude_std: MagnitudeStd() = field(0.0, "timm's magnitude noise in bins: each step's bin ~ Normal(magnitude, "
                                               "this) clipped to the bins; inf: uniform in [0, magnitude]; "
                                               "0: torchvision (backend augstudy only when > 0)")
    interpolation: Interpolation() = field("nearest", "resampling of the geometric sub-ops")
    fill: OptionalFill() = field(None, FILL_DOC)
    magnitude_scale: MagnitudeScale() = field(1.0, SCALE_DOC)


class RandAugment(AutoPolicyOp):
    name = "RandAugment"
    doc = "torchvision's RandAugment: num_ops random sub-ops per image at one magnitude bin"
    Params = RandAugmentParams
    space = "RandAugment"
    # policies written before magnitude_std keep their OpSpec.to_dict, so their config hashes
    omitted_at_default = {"magnitude_std": 0.0}

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
        bins, std = params["num_magnitude_bins"], float(params.get("magnitude_std", 0.0))
        ids, mags, noisy = [], [], []
        for k in range(params["num_ops"]):
            step_bin = params["magnitude"]
            if std > 0:
                step_bin = noisy_bins(u, NOISE_SLOT + k, float(params["magnitude"]), std, bins)
                noisy.append(step_bin)
            sub, mag = self.draw_step(u, 1 + 2 * k, names, bins, step_bin, params, side)
            ids.append(sub)
            mags.append(mag)
        batch = u.keyed.per_index.shape[0]
        device = u.keyed.per_index.device
        if not ids:
            out = {"sub_op": torch.zeros(batch, 0, dtype=torch.int64, device=device),
                   "magnitude": torch.zeros(batch, 0, dtype=torch.float32, device=device)}
            if std > 0:
                out["bin"] = torch.zeros(batch, 0, dtype=torch.float32, device=device)
            return out
        out = {"sub_op": torch.stack(ids, 1), "magnitude": torch.stack(mags, 1).to(torch.float32)}
        if noisy:
            out["bin"] = torch.stack(noisy, 1).to(torch.float32)
        return out

    def describe_draw(self, fields: dict, i: int) -> str:
        """As the other policies' (``"Rotate +12deg, Posterize 6"``); with ``magnitude_std`` each
        step also names its noisy bin: ``"Rotate +26deg (bin 26.4), Equalize (bin 25.1)"``."""
        from augstudy.policy.auto_spaces import describe

        if "bin" not in fields:
            return super().describe_draw(fields, i)
        ids = fields["sub_op"][i].reshape(-1).tolist()
        mags = fields["magnitude"][i].reshape(-1).tolist()
        bins = fields["bin"][i].reshape(-1).tolist()
        steps = [f"{describe(s, m)} (bin {b:.1f})" for s, m, b in zip(ids, mags, bins)]
        return ", ".join(steps) if steps else "no sub-op"
