"""RandomCrop: pad every side by ``padding`` px, then cut a random ``size`` x ``size`` window.

Fields: ``size`` (output side, px, default 64), ``padding`` (px per side, 0), ``padding_mode``
(``constant`` fills with ``fill``; ``reflect`` mirrors without repeating the edge), ``fill``
(fraction of full scale).  Draw: ``top``, ``left`` (int64, in padded coordinates), uniform over
the ``side + 2*padding - size + 1`` positions per axis.

Strength ``s`` scales the translation: ``padding' = round(s*padding)`` and the crop's shrink
``side - size`` becomes ``round(s*(side - size))``.  Clamps: ``size'`` stays in [1, side + 2*padding'];
with reflect padding ``padding' <= side - 1``; ``padding' <= 1024``.  ``s = 0``: padding 0, size = side,
the identity.

Degenerate draws (:meth:`RandomCrop.warnings`): with constant padding much larger than the image,
most windows hold more fill than image.
"""

from __future__ import annotations

import bisect

from augstudy.policy.ops.albumentations_forms import BORDER_CONSTANT, BORDER_REFLECT_101, Unsupported, fill_fraction
from augstudy.policy.ops.base import FILL_DOC, PADDING_MODES, Choice, Fill, Int, Op, OpParams, field

#: a window "mostly fill" holds more padding than image; warn when more than this share of draws are
MOSTLY_FILL_SHARE = 0.5


class RandomCropParams(OpParams):
    size: Int(1, 4096) = field(64, "output side in px")
    padding: Int(0, 1024) = field(0, "px added on every side before cropping")
    padding_mode: Choice(*PADDING_MODES) = field("constant", "constant (fill) or reflect (mirror, no edge repeat)")
    fill: Fill() = field(0.0, FILL_DOC)


def _overlaps(side: int, padding: int, size: int) -> list[int]:
    """Image pixels (along one axis) inside the window, for every window position."""
    span = side + 2 * padding - size + 1
    return [max(0, min(t + size, padding + side) - max(t, padding)) for t in range(span)]


def mostly_fill_share(side: int, padding: int, size: int) -> float:
    """Share of (top, left) draws whose window holds more fill than image (constant padding)."""
    rows = _overlaps(side, padding, size)
    cols = sorted(_overlaps(side, padding, size))
    half = size * size / 2.0
    mostly_fill = 0
    for oy in rows:  # count columns with oy * ox <= half, i.e. at least half the window is fill
        if oy == 0:
            mostly_fill += len(cols)
        else:
            mostly_fill += bisect.bisect_right(cols, half / oy)
    return mostly_fill / (len(rows) * len(cols))


def padding_from_pad_if_needed(entry: dict, side: int) -> dict:
    """albumentations' PadIfNeeded(min_height, min_width, border_mode, fill, position center) before a
    RandomCrop -> RandomCrop's ``padding`` / ``padding_mode`` / ``fill``."""
    min_h, min_w = entry.get("min_height"), entry.get("min_width")
    if min_h is None or min_h != min_w or entry.get("position", "center") != "center":
        raise Unsupported("PadIfNeeded with unequal or missing min_height/min_width or a non-centre position")
    extra = max(0, int(min_h) - side)
    if extra % 2:
        raise Unsupported(f"PadIfNeeded to {min_h} from {side} (an odd total padding cannot be split evenly)")
    mode = entry.get("border_mode", BORDER_CONSTANT)
    if mode == BORDER_CONSTANT:
        return {"padding": extra // 2, "padding_mode": "constant", "fill": fill_fraction(entry.get("fill", 0), "fill")}
    if mode == BORDER_REFLECT_101:
        return {"padding": extra // 2, "padding_mode": "reflect"}
    raise Unsupported(f"PadIfNeeded border_mode={mode} (supported: 0 constant, 4 reflect_101)")


class RandomCrop(Op):
    name = "RandomCrop"
    doc = "pad every side by `padding` px, then cut a random size x size window"
    Params = RandomCropParams
    changes_size = True
    uint8_exact = True
    strength_rule = "padding -> round(s*padding); side - size -> round(s*(side - size))"

    def output_size(self, params: dict, side: int) -> int:
        return params["size"]

    def check_size(self, params: dict, side: int) -> str | None:
        padded = side + 2 * params["padding"]
        if params["size"] > padded:
            return (f"field 'size' = {params['size']} is larger than the padded image "
                    f"({side} + 2*{params['padding']} = {padded}); use size <= {padded} or more padding")
        if params["padding_mode"] == "reflect" and params["padding"] >= side:
            return f"field 'padding' = {params['padding']} must be < the image side {side} for padding_mode reflect"
        return None

    def is_identity(self, params: dict, side: int | None = None) -> bool:
        return side is not None and params["padding"] == 0 and params["size"] == side

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        out = dict(params)
        padding = min(int(round(strength * params["padding"])), 1024)
        if params["padding_mode"] == "reflect":
            padding = min(padding, side - 1)
        size = side - int(round(strength * (side - params["size"])))
        out["padding"], out["size"] = padding, min(max(size, 1), side + 2 * padding)
        return out, p

    def warnings(self, params: dict, side: int) -> list[str]:
        pad, size = params["padding"], params["size"]
        if params["padding_mode"] != "constant" or pad == 0:
            return []
        share = mostly_fill_share(side, pad, size)
        if share <= MOSTLY_FILL_SHARE:
            return []
        low, high = 0, pad  # the largest padding that keeps the share acceptable (the share grows with it)
        while high - low > 1:
            mid = (low + high) // 2
            if mostly_fill_share(side, mid, min(size, side + 2 * mid)) <= MOSTLY_FILL_SHARE:
                low = mid
            else:
                high = mid
        best = low
        return [f"padding {pad} around a {side}x{side} image: {100 * share:.0f}% of the {size}x{size} crops are "
                f"mostly fill (more padding than image); use padding <= {best}"]

    albumentations_names = ("RandomCrop",)

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        """RandomCrop, with the padding of a PadIfNeeded right before it (``ctx.pending_pad``)."""
        if entry.get("height") != entry.get("width"):
            raise Unsupported(f"a non-square crop {entry.get('height')}x{entry.get('width')}")
        if entry.get("pad_if_needed"):
            raise Unsupported("pad_if_needed=True (use PadIfNeeded before RandomCrop)")
        return {"size": int(entry["height"]), **(ctx.pending_pad or {})}

    def sample(self, spec, u, side: int) -> dict:
        span = side + 2 * spec.params["padding"] - spec.params["size"] + 1
        return {"top": u.integer(1, span), "left": u.integer(2, span)}

    def apply(self, x, spec, fields: dict):
        import torch
        import torch.nn.functional as F

        from augstudy.policy.kernels import crop_windows, pixel_value

        size, pad = spec.params["size"], spec.params["padding"]
        side = x.shape[-1]
        if pad:
            if spec.params["padding_mode"] == "reflect":
                x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
            else:
                x = F.pad(x, (pad, pad, pad, pad), value=pixel_value(spec.params["fill"], x.dtype))
        centre = pad + (side - size) // 2
        centre = min(max(centre, 0), side + 2 * pad - size)
        top = torch.where(fields["apply"], fields["top"], centre)
        left = torch.where(fields["apply"], fields["left"], centre)
        return crop_windows(x, top, left, size)
