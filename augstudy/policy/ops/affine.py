"""Rotation and Affine: random rotation (and for Affine translation and zoom) about the image centre,
bilinear, ``fill`` where no source pixel lands.

Fields: ``degrees`` (``d`` -> angle uniform in [-d, d], or a range; positive = counter-clockwise),
Affine also ``translate`` ``[a, b]`` (|dx| <= a*width, |dy| <= b*height) and ``scale`` (zoom range).
Draw: ``angle`` (deg), ``tx``, ``ty`` (px, rounded), ``scale`` (zoom), all float32.

Strength ``s``: degrees ``d`` -> ``min(s*d, 180)``, range ends -> ``s*end`` clamped to [-180, 180];
translate -> ``s*a``, ``s*b`` clamped to 1; zoom range ends -> ``1 + s*(end - 1)`` clamped to
[0.1, 10].  ``s = 0``: angle 0, no shift, zoom 1, the identity.

Degenerate draws: zooming out and shifting until less than half of the output shows the image
(estimated on a grid of zoom/shift quantiles, rotation ignored) in most draws.
"""

from __future__ import annotations

import math

from augstudy.policy.ops.base import FILL_DOC, Fill, Op, OpParams, Pair, Range, ScalarOrRange, clamp, field, \
    scale_about_one, scale_symmetric, symmetric_range

#: warn when more than this share of draws show the image on less than half of the output
MOSTLY_FILL_SHARE = 0.5
_GRID = 9


class RotationParams(OpParams):
    degrees: ScalarOrRange(-180.0, 180.0) = field(10.0, "d -> angle in [-d, d] degrees")
    fill: Fill() = field(0.0, FILL_DOC)


class AffineParams(OpParams):
    degrees: ScalarOrRange(-180.0, 180.0) = field(0.0, "d -> angle in [-d, d] degrees")
    translate: Pair(0.0, 1.0) = field([0.0, 0.0], "[a, b]: |dx| <= a*width, |dy| <= b*height")
    scale: Range(0.0, 10.0, positive=True) = field([1.0, 1.0], "zoom factor range")
    fill: Fill() = field(0.0, FILL_DOC)


def _covered(zoom: float, dx: float, dy: float) -> float:
    """Share of the output covered by the image zoomed by ``zoom`` and shifted by (dx, dy) sides."""
    def overlap(shift: float) -> float:
        low, high = max(-0.5, shift - zoom / 2), min(0.5, shift + zoom / 2)
        return max(0.0, high - low)
    return overlap(dx) * overlap(dy)


def mostly_fill_share(translate, zoom_range) -> float:
    """Share of draws (grid of shift and zoom quantiles) whose output is more fill than image."""
    points = [(k + 0.5) / _GRID for k in range(_GRID)]
    total = bad = 0
    for z in points:
        zoom = zoom_range[0] + (zoom_range[1] - zoom_range[0]) * z
        for a in points:
            for b in points:
                total += 1
                bad += _covered(zoom, translate[0] * (2 * a - 1), translate[1] * (2 * b - 1)) < 0.5
    return bad / total


class _AffineLike(Op):
    def is_identity(self, params: dict, side: int | None = None) -> bool:
        return (symmetric_range(params["degrees"]) == (0.0, 0.0) and params.get("translate", [0.0, 0.0]) == [0.0, 0.0]
                and params.get("scale", [1.0, 1.0]) == [1.0, 1.0])

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        out = dict(params)
        out["degrees"] = scale_symmetric(params["degrees"], strength, 180.0)
        if "translate" in params:
            out["translate"] = [clamp(strength * v, 0.0, 1.0) for v in params["translate"]]
            out["scale"] = scale_about_one(params["scale"], strength, 0.1, 10.0)
        return out, p

    def warnings(self, params: dict, side: int) -> list[str]:
        share = mostly_fill_share(params.get("translate", [0.0, 0.0]), params.get("scale", [1.0, 1.0]))
        if share <= MOSTLY_FILL_SHARE:
            return []
        return [f"translate {params.get('translate')} and scale {params.get('scale')}: {100 * share:.0f}% of draws "
                f"show the image on less than half of the output (the rest is fill); use a smaller shift or zoom-out"]

    def sample(self, spec, u, side: int) -> dict:
        import torch

        translate, scale = spec.params.get("translate", (0.0, 0.0)), spec.params.get("scale", (1.0, 1.0))
        low, high = symmetric_range(spec.params["degrees"])
        angle = u.between(1, low, high)
        max_dx, max_dy = translate[0] * side, translate[1] * side
        tx = torch.round(u.between(2, -max_dx, max_dx))
        ty = torch.round(u.between(3, -max_dy, max_dy))
        zoom = u.between(4, scale[0], scale[1])
        return {"angle": angle.to(torch.float32), "tx": tx.to(torch.float32), "ty": ty.to(torch.float32),
                "scale": zoom.to(torch.float32)}

    def apply(self, x, spec, fields: dict):
        from augstudy.policy.kernels import affine_theta, grid_warp, on_subset

        side = x.shape[-1]
        fill = spec.params["fill"]

        def warp(sub, angle, tx, ty, scale):
            return grid_warp(sub, affine_theta(angle, tx, ty, scale, side), side, fill)

        return on_subset(x, fields["apply"], warp, fields["angle"], fields["tx"], fields["ty"], fields["scale"])


class Rotation(_AffineLike):
    name = "Rotation"
    doc = "rotate about the centre by a random angle (bilinear, `fill` outside)"
    Params = RotationParams
    strength_rule = "degrees -> s*degrees (clamped to 180)"
    albumentations_names = ("Rotate",)

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        from augstudy.policy.ops.albumentations_forms import Unsupported, constant_border_fill, symmetric_shorthand

        if entry.get("crop_border"):
            raise Unsupported("crop_border=True")
        return {"degrees": symmetric_shorthand(entry.get("limit", (-90, 90))), "fill": constant_border_fill(entry)}


class Affine(_AffineLike):
    name = "Affine"
    doc = "random rotation, translation and scale about the centre (bilinear, `fill` outside)"
    Params = AffineParams
    strength_rule = "degrees -> s*degrees; translate -> s*translate; zoom ends -> 1 + s*(end - 1)"
    albumentations_names = ("Affine",)

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        """Rotation, translation (percent or px, widened to a symmetric range) and one zoom for both axes."""
        from augstudy.policy.ops.albumentations_forms import Unsupported, constant_border_fill, \
            symmetric_shorthand, xy_pairs

        shear_x, shear_y = xy_pairs(entry.get("shear", 0.0))
        if any(v != 0 for v in shear_x + shear_y):
            raise Unsupported("a non-zero shear (augstudy's Affine has rotation, translation and scale only)")
        if entry.get("translate_px") is not None:
            tx, ty = xy_pairs(entry["translate_px"])
            tx, ty = [v / ctx.side for v in tx], [v / ctx.side for v in ty]
        else:
            tx, ty = xy_pairs(entry.get("translate_percent") or 0.0)
        sx, sy = xy_pairs(entry.get("scale", 1.0))
        if sx != sy:
            raise Unsupported(f"different x/y scale ranges {sx} and {sy} (augstudy scales both axes equally)")
        translate = [max(abs(tx[0]), abs(tx[1])), max(abs(ty[0]), abs(ty[1]))]
        if not (math.isclose(tx[0], -tx[1]) and math.isclose(ty[0], -ty[1])):
            ctx.notes.append(f"{ctx.where}: translate ranges x {tx}, y {ty} widened to the symmetric "
                             f"|dx| <= {translate[0]:g}, |dy| <= {translate[1]:g} (fractions of the side)")
        return {"degrees": symmetric_shorthand(entry.get("rotate", 0.0)), "translate": translate, "scale": sx,
                "fill": constant_border_fill(entry)}
