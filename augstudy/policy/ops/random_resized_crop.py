"""RandomResizedCrop: cut a random box (area fraction ``scale``, aspect w/h ``ratio``) and resize it
to ``size`` x ``size`` (bilinear, clamped to the box, as torchvision).

Draw: ``top``, ``left``, ``height``, ``width`` (int64 source box), by torchvision's rejection
sampling (:data:`~augstudy.policy.ops.box_draws.ATTEMPTS` candidates, the first that fits; none fits:
the whole image cut to the nearest allowed aspect ratio, centred).

Strength ``s``: the boxes' deviation from the whole image scales.  ``scale`` ends ->
``1 - s*(1 - end)`` clamped to [0.001, 1]; ``ratio`` ends -> ``ratio**s`` (log-aspect times s),
clamped to [1/100, 100];
``side - size`` -> ``round(s*(side - size))`` (size clamped to [1, 4096]).  ``s = 0``: the whole
image at its own size, the identity.

Degenerate draws: boxes under one pixel (tiny ``scale``) or over the image make every attempt
fail, and the op then always takes the same centre crop.
"""

from __future__ import annotations

import math

from augstudy.policy.ops.base import Int, Op, OpParams, Range, clamp, field
from augstudy.policy.ops.box_draws import ATTEMPTS, candidate_outcomes

#: scaled aspect ratios are clamped to [1/RATIO_LIMIT, RATIO_LIMIT]
RATIO_LIMIT = 100.0
#: warn when more than this share of draws fall back to the fixed centre crop
FALLBACK_SHARE = 0.5


class RandomResizedCropParams(OpParams):
    size: Int(1, 4096) = field(64, "output side in px")
    scale: Range(0.0, 1.0, positive=True) = field([0.08, 1.0], "box area as a fraction of the image")
    ratio: Range(0.0, None, positive=True) = field([3 / 4, 4 / 3], "box aspect ratio width/height")


class RandomResizedCrop(Op):
    name = "RandomResizedCrop"
    doc = "cut a random box (area fraction `scale`, aspect w/h `ratio`) and resize it to size x size"
    Params = RandomResizedCropParams
    changes_size = True
    strength_rule = "scale ends -> 1 - s*(1 - end); ratio ends -> ratio**s; side - size -> round(s*(side - size))"

    def output_size(self, params: dict, side: int) -> int:
        return params["size"]

    def is_identity(self, params: dict, side: int | None = None) -> bool:
        return side is not None and params["size"] == side and params["scale"] == [1.0, 1.0] and \
            params["ratio"] == [1.0, 1.0]

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        out = dict(params)
        out["scale"] = [clamp(1.0 - strength * (1.0 - v), 0.001, 1.0) for v in params["scale"]]
        limit = math.log(RATIO_LIMIT)
        out["ratio"] = [math.exp(clamp(strength * math.log(v), -limit, limit)) for v in params["ratio"]]
        out["size"] = min(max(side - int(round(strength * (side - params["size"]))), 1), 4096)
        return out, p

    def warnings(self, params: dict, side: int) -> list[str]:
        invalid, _, _ = candidate_outcomes(params["scale"], params["ratio"], side, width_over_height=True,
                                           valid=lambda h, w: 0 < w <= side and 0 < h <= side)
        share = invalid ** ATTEMPTS
        if share <= FALLBACK_SHARE:
            return []
        return [f"scale {params['scale']} and ratio {[round(r, 3) for r in params['ratio']]} give boxes that do not fit "
                f"a {side}x{side} image (under 1 px or wider than it): {100 * share:.0f}% of draws fall back to the "
                f"same centre crop; widen scale"]

    albumentations_names = ("RandomResizedCrop",)

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        from augstudy.policy.ops.albumentations_forms import Unsupported, pair

        size = pair(entry.get("size", [entry.get("height"), entry.get("width")]))
        if size[0] != size[1]:
            raise Unsupported(f"a non-square size {size}")
        return {"size": int(size[0]), "scale": pair(entry.get("scale", (0.08, 1.0))),
                "ratio": pair(entry.get("ratio", (0.75, 4 / 3)))}

    def sample(self, spec, u, side: int) -> dict:
        import torch

        from augstudy.policy.sampling import candidate_boxes, first_valid

        scale, ratio = spec.params["scale"], spec.params["ratio"]
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        height, width = candidate_boxes(u, side, scale, log_ratio, ratio_is_w_over_h=True)
        valid = (width > 0) & (width <= side) & (height > 0) & (height <= side)
        pick, any_valid = first_valid(valid)
        h = height.gather(1, pick[:, None])[:, 0].to(torch.int64)
        w = width.gather(1, pick[:, None])[:, 0].to(torch.int64)
        # torchvision's fallback: the whole image, cut to the nearest allowed aspect ratio
        if ratio[0] > 1.0:
            fb_w, fb_h = side, int(round(side / ratio[0]))
        elif ratio[1] < 1.0:
            fb_h, fb_w = side, int(round(side * ratio[1]))
        else:
            fb_h = fb_w = side
        h = torch.where(any_valid, h, fb_h)
        w = torch.where(any_valid, w, fb_w)
        top = torch.floor(u(4 * ATTEMPTS + 1) * (side - h + 1)).to(torch.int64)
        left = torch.floor(u(4 * ATTEMPTS + 2) * (side - w + 1)).to(torch.int64)
        top = torch.where(any_valid, top, (side - h) // 2)
        left = torch.where(any_valid, left, (side - w) // 2)
        return {"top": top, "left": left, "height": h, "width": w}

    def apply(self, x, spec, fields: dict):
        import torch

        from augstudy.policy.kernels import box_sample_index, mask4

        size, side = spec.params["size"], x.shape[-1]
        apply = fields["apply"]
        top = torch.where(apply, fields["top"], 0)
        left = torch.where(apply, fields["left"], 0)
        height = torch.where(apply, fields["height"], side)
        width = torch.where(apply, fields["width"], side)
        y0, y1, wy = box_sample_index(top, height, size)       # [B, S]
        x0, x1, wx = box_sample_index(left, width, size)       # [B, S]
        # separable bilinear by gathers: rows first ([B, C, S, W]), then columns ([B, C, S, S])
        c, w = x.shape[1], x.shape[-1]
        rows0 = torch.gather(x, 2, y0[:, None, :, None].expand(-1, c, -1, w))
        rows1 = torch.gather(x, 2, y1[:, None, :, None].expand(-1, c, -1, w))
        rows = torch.lerp(rows0, rows1, wy[:, None, :, None].to(x.dtype))
        cols0 = torch.gather(rows, 3, x0[:, None, None, :].expand(-1, c, size, -1))
        cols1 = torch.gather(rows, 3, x1[:, None, None, :].expand(-1, c, size, -1))
        out = torch.lerp(cols0, cols1, wx[:, None, None, :].to(x.dtype))
        if size == side:  # unapplied images stay bit-identical
            out = torch.where(mask4(apply), out, x)
        return out
