"""ColorJitter: brightness, contrast, saturation and hue in a random order per image (torchvision).

Fields: ``brightness``, ``contrast``, ``saturation``: ``x`` -> factor uniform in
``[max(0, 1-x), 1+x]`` or an explicit ``[low, high]`` factor range; ``hue``: ``h`` -> shift uniform
in ``[-h, h]`` (fraction of the colour circle, |h| <= 0.5) or an explicit range.
Draw: ``brightness``, ``contrast``, ``saturation`` (factors), ``hue`` (shift), ``order`` (int64
[B, 4], a permutation of 0..3: 0=brightness 1=contrast 2=saturation 3=hue, torchvision's order).

Neutral values (the one place that decides "this adjustment does nothing"): a factor of 1 (``x = 0``
or the range ``[1, 1]``) and a hue shift of 0 (``h = 0`` or ``[0, 0]``); an adjustment whose whole
range is neutral is skipped by every backend, so an unset adjustment changes no pixel.

Strength ``s``: factor shorthand ``x`` -> ``s*x``, factor range ends -> ``1 + s*(end - 1)`` clamped
to >= 0; hue ``h`` -> ``min(s*h, 0.5)``, hue range ends -> ``s*end`` clamped to [-0.5, 0.5].
``s = 0``: every adjustment neutral, the identity.
"""

from __future__ import annotations

from augstudy.policy.ops.base import Op, OpParams, ScalarOrRange, factor_range, field, scale_about_one, \
    scale_symmetric, symmetric_range

#: the adjustments in torchvision's numbering (a draw's ``order`` values 0..3)
ADJUSTMENTS = ("brightness", "contrast", "saturation", "hue")
#: the sampled value that leaves an image unchanged, per adjustment
NEUTRAL = {"brightness": 1.0, "contrast": 1.0, "saturation": 1.0, "hue": 0.0}
FACTOR_DOC = "x -> factor in [max(0, 1-x), 1+x]"


class ColorJitterParams(OpParams):
    brightness: ScalarOrRange(0.0, None) = field(0.0, FACTOR_DOC)
    contrast: ScalarOrRange(0.0, None) = field(0.0, FACTOR_DOC)
    saturation: ScalarOrRange(0.0, None) = field(0.0, FACTOR_DOC)
    hue: ScalarOrRange(-0.5, 0.5) = field(0.0, "h -> hue shift in [-h, h] (fraction of the colour circle)")


def value_range(name: str, value) -> tuple[float, float]:
    """The sampled range of adjustment ``name`` for its field value (shorthand or range)."""
    return symmetric_range(value) if name == "hue" else factor_range(value)


def is_neutral_setting(name: str, value) -> bool:
    """True when the field value of adjustment ``name`` can only draw its neutral value.

    Accepts augstudy's form (shorthand ``x`` or ``[low, high]``) as stored in a policy dict.
    """
    if isinstance(value, (list, tuple)):
        return all(v == NEUTRAL[name] for v in value)
    return value == 0.0


def is_neutral_value(name: str, value: float) -> bool:
    """True when a sampled value of adjustment ``name`` leaves the image unchanged."""
    return value == NEUTRAL[name]


def active_adjustments(params: dict) -> list[str]:
    """The adjustments of a ColorJitter's params that can change an image, in torchvision's order."""
    return [name for name in ADJUSTMENTS if not is_neutral_setting(name, params.get(name, 0.0))]


class ColorJitter(Op):
    name = "ColorJitter"
    doc = "brightness, contrast, saturation, hue in a random order per image (torchvision semantics)"
    Params = ColorJitterParams
    converts_itself = True
    strength_rule = "factor x -> s*x, factor range ends -> 1 + s*(end - 1); hue -> s*hue (clamped to 0.5)"

    def is_identity(self, params: dict, side: int | None = None) -> bool:
        return not active_adjustments(params)

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        out = dict(params)
        for name in ("brightness", "contrast", "saturation"):
            value = params[name]
            out[name] = scale_about_one(value, strength, 0.0) if isinstance(value, list) else strength * value
        out["hue"] = scale_symmetric(params["hue"], strength, 0.5)
        return out, p

    albumentations_names = ("ColorJitter",)

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        """albumentations stores explicit ranges (brightness ``(0.8, 1.2)``, hue ``(-0.5, 0.5)``); a range
        symmetric about 1 (hue: about 0) becomes torchvision's shorthand ``x``, any other is kept."""
        from augstudy.policy.ops.albumentations_forms import factor_shorthand, symmetric_shorthand

        ctx.notes.append(f"{ctx.where}: albumentations ColorJitter uses OpenCV's HSV for hue; augstudy uses "
                         f"torchvision's")
        return {"brightness": factor_shorthand(entry.get("brightness", (0.8, 1.2))),
                "contrast": factor_shorthand(entry.get("contrast", (0.8, 1.2))),
                "saturation": factor_shorthand(entry.get("saturation", (0.8, 1.2))),
                "hue": symmetric_shorthand(entry.get("hue", (-0.5, 0.5)))}

    def sample(self, spec, u, side: int) -> dict:
        import torch

        out = {}
        for slot, name in enumerate(("brightness", "contrast", "saturation"), start=1):
            low, high = factor_range(spec.params[name])
            out[name] = u.between(slot, low, high).to(torch.float32)
        low, high = symmetric_range(spec.params["hue"])
        out["hue"] = u.between(4, low, high).to(torch.float32)
        # a per-image random permutation of the four adjustments: argsort of four keyed uniforms
        out["order"] = torch.argsort(torch.stack([u(5 + k) for k in range(4)], 1), dim=1)
        return out

    def apply(self, x, spec, fields: dict):
        from augstudy.policy.colour_kernels import apply_color_jitter

        active = {j for j, name in enumerate(ADJUSTMENTS) if not is_neutral_setting(name, spec.params[name])}
        return apply_color_jitter(x, fields, active)
