"""Reading albumentations 2.0.x's serialized transforms (``A.save``): shared helpers for the ops'
``from_albumentations`` converters.  Plain data, no albumentations import.

albumentations stores ranges as pairs, fills as pixel values 0..255 and OpenCV border codes;
augstudy uses torchvision's shorthands, fractions of full scale and named padding modes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

# OpenCV border modes as albumentations stores them
BORDER_CONSTANT, BORDER_REFLECT_101 = 0, 4


class Unsupported(Exception):
    """An albumentations option augstudy cannot express; the message names it (None: no counterpart)."""


@dataclass
class ImportContext:
    """Where a transform sits: image side (px) at its input, the pending PadIfNeeded (RandomCrop
    padding fields) and the notes collected for ``Policy.notes``."""

    side: int
    where: str
    pending_pad: dict | None = None
    notes: list[str] = field(default_factory=list)


def pair(value: Any) -> list[float]:
    """A number or a pair -> ``[low, high]`` floats."""
    if isinstance(value, (list, tuple)):
        return [float(value[0]), float(value[-1])]
    return [float(value), float(value)]


def fill_fraction(value: Any, what: str) -> float:
    """A pixel value 0..255 (one for all channels) -> a fraction of full scale."""
    if isinstance(value, (list, tuple)):
        if len(set(float(v) for v in value)) != 1:
            raise Unsupported(f"a per-channel {what} {list(value)} (augstudy uses one value for all channels)")
        value = value[0]
    if not isinstance(value, (int, float)):
        raise Unsupported(f"{what}={value!r} (only numeric fills are supported)")
    return float(value) / 255.0


def factor_shorthand(value: Any) -> float | list[float]:
    """A brightness/contrast/saturation range -> torchvision's ``x`` when symmetric about 1."""
    low, high = pair(value)
    x = high - 1.0
    if x >= 0 and math.isclose(low, max(0.0, 1.0 - x), abs_tol=1e-9):
        return round(x, 12)
    return [low, high]


def symmetric_shorthand(value: Any) -> float | list[float]:
    """A hue/angle range -> ``x`` when it is ``[-x, x]``."""
    low, high = pair(value)
    if math.isclose(low, -high, abs_tol=1e-9) and high >= 0:
        return high
    return [low, high]


def xy_pairs(value: Any) -> tuple[list[float], list[float]]:
    """``{"x": ..., "y": ...}`` or one value for both -> ``([x low, x high], [y low, y high])``."""
    if isinstance(value, dict):
        return pair(value.get("x", 0.0)), pair(value.get("y", 0.0))
    both = pair(value)
    return both, both


def constant_border_fill(entry: dict) -> float:
    """The fill of a transform that must use a constant border."""
    if entry.get("border_mode", BORDER_CONSTANT) != BORDER_CONSTANT:
        raise Unsupported(f"border_mode={entry.get('border_mode')} (only constant borders, 0, are supported)")
    return fill_fraction(entry.get("fill", 0), "fill")


__all__ = ["Unsupported", "ImportContext", "pair", "fill_fraction", "factor_shorthand", "symmetric_shorthand",
           "xy_pairs", "constant_border_fill", "BORDER_CONSTANT", "BORDER_REFLECT_101"]
