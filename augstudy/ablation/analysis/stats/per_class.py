"""Per-class effects of one arm against the baseline, corrected for testing every class.

Numpy + scipy, no torch.  Inputs are per-class val accuracies as fractions in [0, 1];
every number returned is in **accuracy points** (``scale`` = 100 x the fraction).  Each
class's effect is the per-seed rule of :mod:`.intervals` (paired t / BCa interval,
sign-flip p); Benjamini-Hochberg (:func:`.core.benjamini_hochberg`) corrects over the
classes of the arm.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from augstudy.ablation.analysis.stats.core import benjamini_hochberg
from augstudy.ablation.analysis.stats.intervals import DEFAULT_N_BOOT, paired_effect
from augstudy.ablation.analysis.stats.power import ALPHA
from augstudy.ablation.terms import POINTS


def per_class_effects(per_seed_class_acc_arm: Mapping[int, Sequence[float]],
                      per_seed_class_acc_base: Mapping[int, Sequence[float]],
                      class_names: Sequence[str], scale: float = POINTS,
                      n_boot: int = DEFAULT_N_BOOT, seed: int = 0,
                      alpha: float = ALPHA) -> list[dict]:
    """Per-class paired effects of one arm vs the baseline, corrected for testing C classes.

    Args:
        per_seed_class_acc_arm / _base: ``{seed: array [C]}`` per-class val accuracy
            (fractions in [0, 1]; NaN for a class with no val images).
        class_names: C names.
    Returns:
        C rows ``{class, n_seeds, effect_mean, ci_low, ci_high, ci_method, p_value,
        p_floor, q_value, significant}`` in accuracy points.  ``q_value`` is the
        Benjamini-Hochberg adjustment of the sign-flip p-values over the classes;
        ``significant`` needs both q < alpha and an interval excluding 0 (so a
        class is never flagged on the uncorrected interval alone; with few seeds
        the p-value floor makes this impossible, which is the honest answer).
    """
    seeds = sorted(s for s in per_seed_class_acc_arm if s in per_seed_class_acc_base)
    n_classes = len(class_names)
    arm = np.array([np.asarray(per_seed_class_acc_arm[s], dtype=np.float64) for s in seeds]).reshape(
        len(seeds), n_classes)
    base = np.array([np.asarray(per_seed_class_acc_base[s], dtype=np.float64) for s in seeds]).reshape(
        len(seeds), n_classes)
    diffs = scale * (arm - base)                        # [n_seeds, C]
    rows = []
    for c, name in enumerate(class_names):
        d = diffs[:, c]
        eff = paired_effect(d[np.isfinite(d)], n_boot=n_boot, seed=seed)
        rows.append({"class": name, "n_seeds": eff["n_seeds"], "effect_mean": eff["effect_mean"],
                     "ci_low": eff["ci_low"], "ci_high": eff["ci_high"], "ci_method": eff["ci_method"],
                     "p_value": eff["p_value"], "p_floor": eff["p_floor"],
                     "interval_excludes_zero": eff["significant"]})
    q = benjamini_hochberg([r["p_value"] for r in rows])
    for row, qv in zip(rows, q):
        row["q_value"] = float(qv)
        row["significant"] = bool(row.pop("interval_excludes_zero") and qv < alpha)
    return rows


__all__ = ["per_class_effects"]
