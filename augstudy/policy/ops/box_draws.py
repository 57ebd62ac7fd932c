"""Torch-free estimate of how torchvision-style box draws (RandomResizedCrop, RandomErasing) turn out.

A candidate box has area ``u * side**2`` (u uniform in ``scale``) and aspect ``exp(v)`` (v uniform in
the log of ``ratio``); its sides are rounded to pixels.  :func:`candidate_outcomes` evaluates a
regular grid of (u, v) quantiles, so ``policy check`` can warn without sampling (or importing torch).
"""

from __future__ import annotations

import math
from typing import Callable

#: torchvision's number of rejection-sampling attempts for RandomResizedCrop / RandomErasing
ATTEMPTS = 10
#: quantiles per axis of the (area, log-aspect) grid
GRID = 64


def candidate_outcomes(scale, ratio, side: int, width_over_height: bool,
                       valid: Callable[[int, int], bool]) -> tuple[float, float, float]:
    """Shares of one candidate box that are (invalid, valid and empty, valid and non-empty).

    ``valid(height, width)`` is the op's acceptance test; empty = zero height or width.
    """
    area = side * side
    lo, hi = math.log(ratio[0]), math.log(ratio[1])
    counts = [0, 0, 0]
    for i in range(GRID):
        target = (scale[0] + (scale[1] - scale[0]) * (i + 0.5) / GRID) * area
        for j in range(GRID):
            aspect = math.exp(lo + (hi - lo) * (j + 0.5) / GRID)
            first, second = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
            width, height = (first, second) if width_over_height else (second, first)
            if not valid(height, width):
                counts[0] += 1
            elif height == 0 or width == 0:
                counts[1] += 1
            else:
                counts[2] += 1
    total = GRID * GRID
    return counts[0] / total, counts[1] / total, counts[2] / total


__all__ = ["candidate_outcomes", "ATTEMPTS", "GRID"]
