"""RandomErasing: fill a random box (area fraction ``scale``, aspect h/w ``ratio``) with ``value``.

Draw: ``top``, ``left``, ``height``, ``width`` (int64) by torchvision's rejection sampling: the first
of :data:`~augstudy.policy.ops.box_draws.ATTEMPTS` candidates strictly smaller than the image; none fits:
nothing is erased (a 0x0 box).

Strength ``s`` scales the erased area: ``scale`` ends -> ``s*end`` clamped to [0, 1]; ``ratio`` is
kept.  ``s = 0``: zero-area boxes, the identity.

Degenerate draws: areas so small that boxes round to zero pixels, or so large that no candidate fits,
erase nothing in most draws.
"""

from __future__ import annotations

import math

from augstudy.policy.ops.base import Number, Op, OpParams, Range, clamp, field
from augstudy.policy.ops.box_draws import ATTEMPTS, candidate_outcomes

#: warn when more than this share of draws erase nothing
EMPTY_SHARE = 0.5


class RandomErasingParams(OpParams):
    scale: Range(0.0, 1.0) = field([0.02, 0.33], "box area as a fraction of the image")
    ratio: Range(0.0, None, positive=True) = field([0.3, 3.3], "box aspect ratio height/width")
    value: Number(0.0, 1.0) = field(0.0, "fill value, fraction of full scale")


def empty_share(params: dict, side: int) -> float:
    """Share of draws that erase nothing (first fitting candidate empty, or none fits)."""
    invalid, empty, _ = candidate_outcomes(params["scale"], params["ratio"], side, width_over_height=False,
                                           valid=lambda h, w: h < side and w < side)
    # P(first fitting candidate is empty) + P(no candidate fits)
    tries = sum(invalid ** k for k in range(ATTEMPTS))
    return empty * tries + invalid ** ATTEMPTS


class RandomErasing(Op):
    name = "RandomErasing"
    doc = "fill a random box (area fraction `scale`, aspect h/w `ratio`) with `value`"
    Params = RandomErasingParams
    p_default = 0.5
    uint8_exact = True
    strength_rule = "scale ends -> s*end (clamped to [0, 1])"

    def is_identity(self, params: dict, side: int | None = None) -> bool:
        return params["scale"][1] == 0.0

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        out = dict(params)
        out["scale"] = [clamp(strength * v, 0.0, 1.0) for v in params["scale"]]
        return out, p

    def warnings(self, params: dict, side: int) -> list[str]:
        if self.is_identity(params, side):
            return []
        share = empty_share(params, side)
        if share <= EMPTY_SHARE:
            return []
        return [f"scale {params['scale']} at {side}x{side}: {100 * share:.0f}% of draws erase nothing (boxes round to "
                f"0 px or never fit inside the image); use a scale range inside (1/{side * side}, 1)"]

    def sample(self, spec, u, side: int) -> dict:
        import torch

        from augstudy.policy.sampling import candidate_boxes, first_valid

        scale, ratio = spec.params["scale"], spec.params["ratio"]
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        height, width = candidate_boxes(u, side, scale, log_ratio, ratio_is_w_over_h=False)
        valid = (height < side) & (width < side)
        pick, any_valid = first_valid(valid)
        h = torch.where(any_valid, height.gather(1, pick[:, None])[:, 0].to(torch.int64), 0)
        w = torch.where(any_valid, width.gather(1, pick[:, None])[:, 0].to(torch.int64), 0)
        top = torch.floor(u(4 * ATTEMPTS + 1) * (side - h + 1)).to(torch.int64)
        left = torch.floor(u(4 * ATTEMPTS + 2) * (side - w + 1)).to(torch.int64)
        return {"top": torch.where(any_valid, top, 0), "left": torch.where(any_valid, left, 0), "height": h, "width": w}

    def apply(self, x, spec, fields: dict):
        import torch

        from augstudy.policy.kernels import mask4, pixel_value

        side = x.shape[-1]
        steps = torch.arange(side, device=x.device)
        top, left = fields["top"][:, None], fields["left"][:, None]
        rows = (steps >= top) & (steps < top + fields["height"][:, None])  # [B, H]
        cols = (steps >= left) & (steps < left + fields["width"][:, None])  # [B, W]
        mask = rows[:, None, :, None] & cols[:, None, None, :] & mask4(fields["apply"])
        value = torch.tensor(pixel_value(spec.params["value"], x.dtype), dtype=x.dtype, device=x.device)
        return torch.where(mask, value, x)
