"""AugMix(severity, mixture_width, chain_depth, alpha): ``mixture_width`` chains of 1-3 random
sub-ops (or exactly ``chain_depth``), each sub-op at a magnitude bin drawn in ``[0, severity)`` of
10, mixed with Dirichlet(alpha) weights, and the mix blended with the original image by a
Beta(alpha, alpha) weight; signed magnitudes negated with probability 1/2.

Source: ``torchvision.transforms.v2.AugMix`` (``torchvision/transforms/v2/_auto_augment.py``,
``_AUGMENTATION_SPACE`` / ``_PARTIAL_AUGMENTATION_SPACE`` and ``forward``):
``mix = m0 * image + sum_i w_i * chain_i(image)`` with ``m ~ Dirichlet([alpha, alpha])`` and
``w = Dirichlet([alpha] * width) * m1``, computed in float32 and cast back to the image dtype
(truncation for uint8).  Defaults as torchvision: ``severity=3, mixture_width=3, chain_depth=-1,
alpha=1.0, all_ops=True``, bilinear, ``fill=None``.

Draw: ``sub_op`` int64 [B, W, D] and ``magnitude`` float32 [B, W, D] (D = ``chain_depth``, or 3 when
random; steps past a chain's depth are ``Identity``), ``weights`` float32 [B, W + 1] (column 0 the
original image's weight ``m0``, then each chain's).  The Dirichlet draws are keyed too: normalized
Gamma(alpha) variates by Marsaglia-Tsang on keyed uniforms (:func:`~augstudy.policy.ops.auto_base.keyed_gamma`).
Strength: ``magnitude_scale`` (:mod:`~augstudy.policy.ops.auto_base`).
"""

from __future__ import annotations

from augstudy.policy.ops.auto_base import FILL_DOC, SCALE_DOC, AutoPolicyOp, Interpolation, MagnitudeScale, \
    OptionalFill, field_error, keyed_gamma
from augstudy.policy.ops.base import Int, Number, OpParams, field

#: torchvision's ``_PARAMETER_MAX``: magnitude tables have 10 bins, severity picks among the first ones
PARAMETER_MAX = 10
RANDOM_DEPTH = 3
_GAMMA_SLOT = 10_000
_GAMMA_SLOTS = 100


def _check_bool(value):
    from augstudy.policy.ops.base import FieldError

    if not isinstance(value, bool):
        raise FieldError(f"must be true or false, got {value!r}")
    return value


def Bool():  # noqa: N802
    from typing import Annotated, Any

    from pydantic import BeforeValidator

    return Annotated[Any, BeforeValidator(_check_bool)]


class AugMixParams(OpParams):
    severity: Int(1, PARAMETER_MAX) = field(3, "magnitude bins drawn from: [0, severity) of 10")
    mixture_width: Int(1, 10) = field(3, "number of augmentation chains mixed")
    chain_depth: Int(-1, 10) = field(-1, "sub-ops per chain; -1: random depth 1..3 per chain")
    alpha: Number(positive=True) = field(1.0, "Dirichlet / Beta concentration of the mixing weights (> 0)")
    all_ops: Bool() = field(True, "include Brightness, Color, Contrast and Sharpness")
    interpolation: Interpolation() = field("bilinear", "resampling of the geometric sub-ops")
    fill: OptionalFill() = field(None, FILL_DOC)
    magnitude_scale: MagnitudeScale() = field(1.0, SCALE_DOC)


class AugMix(AutoPolicyOp):
    name = "AugMix"
    doc = "torchvision's AugMix: Dirichlet-weighted mix of random sub-op chains, blended with the image"
    Params = AugMixParams
    space = "AugMix"
    interpolation_default = "bilinear"

    def validate(self, item: dict) -> tuple[dict, float]:
        params, p = super().validate(item)
        if params["chain_depth"] == 0:
            raise field_error(self.name, "chain_depth", 0, "must be -1 (random depth 1..3) or in [1, 10], got 0")
        return params, p

    def depth(self, params: dict) -> int:
        return params["chain_depth"] if params["chain_depth"] > 0 else RANDOM_DEPTH

    def sample(self, spec, u, side: int) -> dict:
        import torch

        from augstudy.policy.auto_spaces import AUGMIX_PARTIAL, SPACES, SUB_OP_ID

        params = spec.params
        names = tuple(SPACES[self.space]) if params["all_ops"] else AUGMIX_PARTIAL
        width, max_depth = params["mixture_width"], self.depth(params)
        chains_ids, chains_mags = [], []
        for i in range(width):
            base = 1 + i * (1 + 3 * max_depth)
            depth = (torch.full_like(u(base), params["chain_depth"], dtype=torch.int64) if params["chain_depth"] > 0
                     else 1 + u.integer(base, RANDOM_DEPTH))  # torchvision: randint(1, 4)
            ids, mags = [], []
            for d in range(max_depth):
                slot = base + 1 + 3 * d
                sub, mag = self.draw_step(u, slot, names, PARAMETER_MAX, u.integer(slot + 2, params["severity"]),
                                          params, side)
                active = d < depth
                ids.append(torch.where(active, sub, SUB_OP_ID["Identity"]))
                mags.append(torch.where(active, mag, torch.zeros_like(mag)))
            chains_ids.append(torch.stack(ids, 1))
            chains_mags.append(torch.stack(mags, 1))
        gammas = [keyed_gamma(u, _GAMMA_SLOT + k * _GAMMA_SLOTS, params["alpha"]) for k in range(2 + width)]
        beta = torch.stack(gammas[:2], 1)
        beta = (beta / beta.sum(1, keepdim=True)).to(torch.float32)
        mixing = torch.stack(gammas[2:], 1)
        mixing = (mixing / mixing.sum(1, keepdim=True)).to(torch.float32) * beta[:, 1:2]  # float32, as torchvision
        return {"sub_op": torch.stack(chains_ids, 1), "magnitude": torch.stack(chains_mags, 1).to(torch.float32),
                "weights": torch.cat([beta[:, :1], mixing], 1)}

    def apply(self, x, spec, fields: dict):
        from augstudy.policy.auto_kernels import apply_sub_ops
        from augstudy.policy.kernels import on_subset

        mode, fill = self.interpolation(spec.params), spec.params.get("fill")

        def mix(images, sub_op, magnitude, weights):
            return augmix_blend(images, sub_op, magnitude, weights,
                                lambda img, ids, mags: apply_sub_ops(img, ids, mags, interpolation=mode, fill=fill))

        return on_subset(x, fields["apply"], mix, fields["sub_op"], fields["magnitude"], fields["weights"])

    def describe_draw(self, fields: dict, i: int) -> str:
        from augstudy.policy.auto_spaces import SUB_OP_ID, describe

        chains = []
        for ids, mags in zip(fields["sub_op"][i].tolist(), fields["magnitude"][i].tolist()):
            steps = [describe(s, m) for s, m in zip(ids, mags) if s != SUB_OP_ID["Identity"]]
            chains.append(">".join(steps) or "Identity")
        weights = fields["weights"][i].tolist()
        # the original image's weight first, then each chain with its weight
        return f"x{weights[0]:.2f}; " + "; ".join(f"{w:.2f} {c}" for w, c in zip(weights[1:], chains))


def augmix_blend(images, sub_op, magnitude, weights, step):
    """torchvision's AugMix mix on a batch: ``m0 * x + sum_i w_i * chain_i(x)`` in float32, cast back
    to x's dtype; ``step(x, ids [N], mags [N])`` applies one sub-op per image (engine or reference)."""
    import torch

    mix = images.mul(weights[:, 0].view(-1, 1, 1, 1))
    for i in range(sub_op.shape[1]):
        aug = images
        for d in range(sub_op.shape[2]):
            aug = step(aug, sub_op[:, i, d], magnitude[:, i, d])
        mix.add_(weights[:, i + 1].view(-1, 1, 1, 1) * aug)
    if images.dtype == torch.uint8:
        return mix.clamp_(0, 255).to(torch.uint8)
    return mix.to(images.dtype)
