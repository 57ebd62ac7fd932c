"""How big an effect a study can see at all: study.json's ``noise_floor`` (numpy + scipy, no torch).

Inputs are metrics as fractions in [0, 1]; every number returned is in **accuracy points**
(``scale`` = 100 x the fraction).  The minimum detectable effect is the exact noncentral-t one
of :func:`.power.minimum_detectable_effect` (one arm, two-sided, seed noise only).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from augstudy.ablation.analysis.stats import power as stats_power
from augstudy.ablation.terms import POINTS


def _finite(x) -> bool:
    return x is not None and math.isfinite(float(x))


def paired_differences(per_seed: Mapping[str, Mapping[int, float]], baseline_arm: str,
                       scale: float = POINTS) -> dict[str, np.ndarray]:
    """Per non-baseline arm: ``scale * (arm[s] - baseline[s])`` over the seeds with a finite value
    in both (missing or None values are left out), in seed order; ``{arm: array [n_paired]}``."""
    base = per_seed[baseline_arm]
    out = {}
    for arm, values in per_seed.items():
        if arm == baseline_arm:
            continue
        seeds = sorted(s for s in values if s in base and _finite(values[s]) and _finite(base[s]))
        out[arm] = scale * (np.array([values[s] for s in seeds], dtype=np.float64)
                            - np.array([base[s] for s in seeds], dtype=np.float64))
    return out


def noise_floor(per_seed: Mapping[str, Mapping[int, float]], baseline_arm: str, scale: float = POINTS,
                alpha: float = stats_power.ALPHA, power: float = stats_power.POWER) -> dict:
    """The study's noise floor, as study.json stores it.

    Args:
        per_seed: ``{arm: {seed: metric}}``, metrics as fractions in [0, 1]
            (missing / unfinished runs simply absent or None).
        baseline_arm: key of the baseline in ``per_seed``.
    Returns:
        dict (JSON-able, ``study.json["noise_floor"]``), accuracy points: ``n_seeds`` (finished
        baseline seeds), ``baseline_std`` (seed-to-seed std, ddof=1), ``sd_diff`` (pooled std of
        the paired differences over all arms with >= 2 pairs, else sqrt(2) x baseline std),
        ``sd_diff_source``, ``mde`` (at ``n_seeds``; nan when ``sd_diff`` is unknown), ``alpha``, ``power``, ``units``.
    """
    base = np.array([v for v in per_seed[baseline_arm].values() if _finite(v)], dtype=np.float64)
    n = int(base.size)
    baseline_std = float(scale * base.std(ddof=1)) if n >= 2 else math.nan
    dof, ss, n_arms = 0, 0.0, 0
    for d in paired_differences(per_seed, baseline_arm, scale).values():
        if d.size >= 2:
            dof += d.size - 1
            ss += float(np.sum((d - d.mean()) ** 2))
            n_arms += 1
    if dof > 0:
        sd_diff = math.sqrt(ss / dof)
        source = f"pooled std of paired differences over {n_arms} arm{'s' if n_arms != 1 else ''}"
    elif math.isfinite(baseline_std):
        sd_diff = math.sqrt(2.0) * baseline_std
        source = "sqrt(2) x baseline std (no arm has 2 paired seeds yet)"
    else:
        sd_diff, source = math.nan, "unknown (needs >= 2 seeds)"
    return {
        "n_seeds": n,
        "baseline_std": baseline_std,
        "sd_diff": sd_diff,
        "sd_diff_source": source,
        "mde": stats_power.minimum_detectable_effect(sd_diff, n, alpha, power) if math.isfinite(sd_diff) else math.nan,
        "alpha": alpha,
        "power": power,
        "units": "accuracy points (100 x fraction)",
    }


__all__ = ["paired_differences", "noise_floor"]
