"""The automatic policies' op tables, as data: torchvision.transforms.v2 semantics, copied and cited.

Source: ``torchvision/transforms/v2/_auto_augment.py`` (torchvision 0.29), classes
``AutoAugment``, ``RandAugment``, ``TrivialAugmentWide`` and ``AugMix``: each declares
``_AUGMENTATION_SPACE = {name: (magnitudes_fn(num_bins, height, width), signed)}``; AutoAugment also
its 25 sub-policies per dataset (``_get_policies``).  The tables below are those, written as data
(``tests/policy/test_auto_augment.py`` checks them against the installed torchvision, bin by bin).

A magnitude spec is one of

- ``None``: the sub-op has no magnitude (Identity, AutoContrast, Equalize, Invert);
- ``("lin", high)``: ``torch.linspace(0.0, high, num_bins)``;
- ``("lin_side", fraction)``: ``torch.linspace(0.0, fraction * side, num_bins)`` (translations
  relative to the image width/height: 150/331 for RandAugment/AutoAugment, 1/3 for AugMix);
- ``("solarize",)``: ``torch.linspace(1.0, 0.0, num_bins)`` (threshold, fraction of full scale);
- ``("posterize", top, divisor)``: ``(top - arange(num_bins) / ((num_bins - 1) / divisor)).round().int()``
  (bits kept).

``signed``: the magnitude is negated with probability 1/2 (``torch.rand(()) <= 0.5``).

Sub-ops have one global id (:data:`SUB_OPS`): a draw's ``sub_op`` field holds these ids whatever
the policy, so every backend and the preview read a draw the same way.  Torch-free at import.
"""

from __future__ import annotations

import math

#: every sub-op of the four policies; a draw's ``sub_op`` is an index into this tuple
SUB_OPS = ("Identity", "ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate", "Brightness", "Color",
           "Contrast", "Sharpness", "Posterize", "Solarize", "AutoContrast", "Equalize", "Invert")
SUB_OP_ID = {name: i for i, name in enumerate(SUB_OPS)}
GEOMETRIC = ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")
#: the magnitude that leaves an image unchanged (policy strength scales the distance from it);
#: Solarize's 1.0 still inverts pixels at full scale (torchvision's ``image >= threshold``)
NEUTRAL_MAGNITUDE = {"Posterize": 8.0, "Solarize": 1.0}

_RA_AA = {  # RandAugment._AUGMENTATION_SPACE (AutoAugment's is the same plus Invert, minus Identity)
    "Identity": (None, False),
    "ShearX": (("lin", 0.3), True),
    "ShearY": (("lin", 0.3), True),
    "TranslateX": (("lin_side", 150.0 / 331.0), True),
    "TranslateY": (("lin_side", 150.0 / 331.0), True),
    "Rotate": (("lin", 30.0), True),
    "Brightness": (("lin", 0.9), True),
    "Color": (("lin", 0.9), True),
    "Contrast": (("lin", 0.9), True),
    "Sharpness": (("lin", 0.9), True),
    "Posterize": (("posterize", 8, 4), False),
    "Solarize": (("solarize",), False),
    "AutoContrast": (None, False),
    "Equalize": (None, False),
}

#: policy -> ordered {sub-op: (magnitude spec, signed)}; the order is torchvision's dict order,
#: which its ``_get_random_item`` indexes with ``torch.randint(len(keys))``
SPACES: dict[str, dict[str, tuple]] = {
    "RandAugment": dict(_RA_AA),
    "AutoAugment": {**{k: v for k, v in _RA_AA.items() if k != "Identity"}, "Invert": (None, False)},
    "TrivialAugmentWide": {
        "Identity": (None, False),
        "ShearX": (("lin", 0.99), True),
        "ShearY": (("lin", 0.99), True),
        "TranslateX": (("lin", 32.0), True),
        "TranslateY": (("lin", 32.0), True),
        "Rotate": (("lin", 135.0), True),
        "Brightness": (("lin", 0.99), True),
        "Color": (("lin", 0.99), True),
        "Contrast": (("lin", 0.99), True),
        "Sharpness": (("lin", 0.99), True),
        "Posterize": (("posterize", 8, 6), False),
        "Solarize": (("solarize",), False),
        "AutoContrast": (None, False),
        "Equalize": (None, False),
    },
    "AugMix": {  # _PARTIAL_AUGMENTATION_SPACE then the all_ops additions (all_ops=True, the default)
        "ShearX": (("lin", 0.3), True),
        "ShearY": (("lin", 0.3), True),
        "TranslateX": (("lin_side", 1.0 / 3.0), True),
        "TranslateY": (("lin_side", 1.0 / 3.0), True),
        "Rotate": (("lin", 30.0), True),
        "Posterize": (("posterize", 4, 4), False),
        "Solarize": (("solarize",), False),
        "AutoContrast": (None, False),
        "Equalize": (None, False),
        "Brightness": (("lin", 0.9), True),
        "Color": (("lin", 0.9), True),
        "Contrast": (("lin", 0.9), True),
        "Sharpness": (("lin", 0.9), True),
    },
}
#: AugMix without ``all_ops``: the first 9 sub-ops (no colour enhancements)
AUGMIX_PARTIAL = tuple(list(SPACES["AugMix"])[:9])

#: AutoAugment sub-policies ``((op, probability, magnitude bin), (op, probability, bin))``, bins of 10
AUTOAUGMENT_POLICIES: dict[str, tuple] = {
    "imagenet": (
        (("Posterize", 0.4, 8), ("Rotate", 0.6, 9)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)), (("Posterize", 0.6, 7), ("Posterize", 0.6, 6)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Equalize", 0.4, None), ("Rotate", 0.8, 8)),
        (("Solarize", 0.6, 3), ("Equalize", 0.6, None)), (("Posterize", 0.8, 5), ("Equalize", 1.0, None)),
        (("Rotate", 0.2, 3), ("Solarize", 0.6, 8)), (("Equalize", 0.6, None), ("Posterize", 0.4, 6)),
        (("Rotate", 0.8, 8), ("Color", 0.4, 0)), (("Rotate", 0.4, 9), ("Equalize", 0.6, None)),
        (("Equalize", 0.0, None), ("Equalize", 0.8, None)), (("Invert", 0.6, None), ("Equalize", 1.0, None)),
        (("Color", 0.6, 4), ("Contrast", 1.0, 8)), (("Rotate", 0.8, 8), ("Color", 1.0, 2)),
        (("Color", 0.8, 8), ("Solarize", 0.8, 7)), (("Sharpness", 0.4, 7), ("Invert", 0.6, None)),
        (("ShearX", 0.6, 5), ("Equalize", 1.0, None)), (("Color", 0.4, 0), ("Equalize", 0.6, None)),
        (("Equalize", 0.4, None), ("Solarize", 0.2, 4)), (("Solarize", 0.6, 5), ("AutoContrast", 0.6, None)),
        (("Invert", 0.6, None), ("Equalize", 1.0, None)), (("Color", 0.6, 4), ("Contrast", 1.0, 8)),
        (("Equalize", 0.8, None), ("Equalize", 0.6, None)),
    ),
    "cifar10": (
        (("Invert", 0.1, None), ("Contrast", 0.2, 6)), (("Rotate", 0.7, 2), ("TranslateX", 0.3, 9)),
        (("Sharpness", 0.8, 1), ("Sharpness", 0.9, 3)), (("ShearY", 0.5, 8), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.5, None), ("Equalize", 0.9, None)), (("ShearY", 0.2, 7), ("Posterize", 0.3, 7)),
        (("Color", 0.4, 3), ("Brightness", 0.6, 7)), (("Sharpness", 0.3, 9), ("Brightness", 0.7, 9)),
        (("Equalize", 0.6, None), ("Equalize", 0.5, None)), (("Contrast", 0.6, 7), ("Sharpness", 0.6, 5)),
        (("Color", 0.7, 7), ("TranslateX", 0.5, 8)), (("Equalize", 0.3, None), ("AutoContrast", 0.4, None)),
        (("TranslateY", 0.4, 3), ("Sharpness", 0.2, 6)), (("Brightness", 0.9, 6), ("Color", 0.2, 8)),
        (("Solarize", 0.5, 2), ("Invert", 0.0, None)), (("Equalize", 0.2, None), ("AutoContrast", 0.6, None)),
        (("Equalize", 0.2, None), ("Equalize", 0.6, None)), (("Color", 0.9, 9), ("Equalize", 0.6, None)),
        (("AutoContrast", 0.8, None), ("Solarize", 0.2, 8)), (("Brightness", 0.1, 3), ("Color", 0.7, 0)),
        (("Solarize", 0.4, 5), ("AutoContrast", 0.9, None)), (("TranslateY", 0.9, 9), ("TranslateY", 0.7, 9)),
        (("AutoContrast", 0.9, None), ("Solarize", 0.8, 3)), (("Equalize", 0.8, None), ("Invert", 0.1, None)),
        (("TranslateY", 0.7, 9), ("AutoContrast", 0.9, None)),
    ),
    "svhn": (
        (("ShearX", 0.9, 4), ("Invert", 0.2, None)), (("ShearY", 0.9, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.6, None), ("Solarize", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Equalize", 0.6, None), ("Rotate", 0.9, 3)), (("ShearX", 0.9, 4), ("AutoContrast", 0.8, None)),
        (("ShearY", 0.9, 8), ("Invert", 0.4, None)), (("ShearY", 0.9, 5), ("Solarize", 0.2, 6)),
        (("Invert", 0.9, None), ("AutoContrast", 0.8, None)), (("Equalize", 0.6, None), ("Rotate", 0.9, 3)),
        (("ShearX", 0.9, 4), ("Solarize", 0.3, 3)), (("ShearY", 0.8, 8), ("Invert", 0.7, None)),
        (("Equalize", 0.9, None), ("TranslateY", 0.6, 6)), (("Invert", 0.9, None), ("Equalize", 0.6, None)),
        (("Contrast", 0.3, 3), ("Rotate", 0.8, 4)), (("Invert", 0.8, None), ("TranslateY", 0.0, 2)),
        (("ShearY", 0.7, 6), ("Solarize", 0.4, 8)), (("Invert", 0.6, None), ("Rotate", 0.8, 4)),
        (("ShearY", 0.3, 7), ("TranslateX", 0.9, 3)), (("ShearX", 0.1, 6), ("Invert", 0.6, None)),
        (("Solarize", 0.7, 2), ("TranslateY", 0.6, 7)), (("ShearY", 0.8, 4), ("Invert", 0.8, None)),
        (("ShearX", 0.7, 9), ("TranslateY", 0.8, 3)), (("ShearY", 0.8, 5), ("AutoContrast", 0.7, None)),
        (("ShearX", 0.7, 2), ("Invert", 0.1, None)),
    ),
}


def magnitude_table(spec, num_bins: int, side: int):
    """float64 [num_bins] magnitudes of one sub-op exactly as torchvision computes them (float32
    ``linspace`` / int ``round``), or None for a sub-op without magnitude."""
    import torch

    if spec is None:
        return None
    kind = spec[0]
    if kind == "lin":
        values = torch.linspace(0.0, spec[1], num_bins)
    elif kind == "lin_side":
        values = torch.linspace(0.0, spec[1] * side, num_bins)
    elif kind == "solarize":
        values = torch.linspace(1.0, 0.0, num_bins)
    elif kind == "posterize":
        values = (spec[1] - (torch.arange(num_bins) / ((num_bins - 1) / spec[2]))).round().int()
    else:  # pragma: no cover - the tables above are the only specs
        raise ValueError(f"unknown magnitude spec {spec!r}")
    return values.to(torch.float64)


def magnitude_at(spec, bins, num_bins: int, side: int):
    """float64 [B] magnitudes of one sub-op at CONTINUOUS bins ``bins`` (float64 [B] in
    ``[0, num_bins - 1]``; RandAugment's ``magnitude_std``), or None for a sub-op without magnitude.

    The formulas of :func:`magnitude_table` with the bin index continuous: ``high * b / (num_bins - 1)``
    for the linear specs (``1 - b / (num_bins - 1)`` for Solarize), and Posterize's bits
    ``round(top - b / ((num_bins - 1) / divisor))`` (an integer, as torchvision's).  At an integer
    bin this equals the table up to the float32 rounding of torchvision's ``linspace`` (< 1e-6
    relative; Posterize exactly)."""
    import torch

    if spec is None:
        return None
    kind, top = spec[0], float(num_bins - 1)
    bins = bins.to(torch.float64)
    if kind == "lin":
        return spec[1] * bins / top
    if kind == "lin_side":
        return spec[1] * side * bins / top
    if kind == "solarize":
        return 1.0 - bins / top
    if kind == "posterize":
        return torch.round(spec[1] - bins / (top / spec[2]))
    raise ValueError(f"unknown magnitude spec {spec!r}")  # pragma: no cover - the tables are the only specs


def scale_magnitude(name: str, magnitude, strength: float, side: int):
    """Policy strength on drawn magnitudes (float64 tensor [B]): each one's distance from the
    sub-op's neutral value times ``strength``, kept in the sub-op's valid range (Posterize bits:
    an integer in [0, 8]; Solarize threshold in [0, 1]; factors 1 + m >= 0; |translate| <= side)."""
    import torch

    neutral = NEUTRAL_MAGNITUDE.get(name, 0.0)
    out = neutral + strength * (magnitude - neutral)
    if name == "Posterize":
        return torch.round(out).clamp(0.0, 8.0)
    if name == "Solarize":
        return out.clamp(0.0, 1.0)
    if name in ("Brightness", "Color", "Contrast", "Sharpness"):
        return out.clamp_min(-1.0)
    if name in ("TranslateX", "TranslateY"):
        return out.clamp(-float(side), float(side))
    return out


def describe(sub_op: int, magnitude: float) -> str:
    """``"Rotate -12.0"``, ``"Posterize 5"``, ``"Equalize"``: one drawn sub-op as a preview note."""
    name = SUB_OPS[int(sub_op)]
    if name in ("Identity", "AutoContrast", "Equalize", "Invert"):
        return name
    if name == "Posterize":
        return f"{name} {int(magnitude)}"
    if name in ("ShearX", "ShearY"):
        return f"{name} {math.degrees(math.atan(magnitude)):+.0f}deg"
    if name in ("TranslateX", "TranslateY"):
        return f"{name} {int(magnitude):+d}px"
    if name == "Rotate":
        return f"{name} {magnitude:+.0f}deg"
    return f"{name} {magnitude:+.2f}" if name != "Solarize" else f"{name} {magnitude:.2f}"


__all__ = ["SUB_OPS", "SUB_OP_ID", "GEOMETRIC", "SPACES", "AUTOAUGMENT_POLICIES", "AUGMIX_PARTIAL",
           "NEUTRAL_MAGNITUDE", "magnitude_table", "magnitude_at", "scale_magnitude", "describe"]
