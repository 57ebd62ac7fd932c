"""Per-class effects as the study stored them: ``class_effects.csv`` (:attr:`Study.class_effects`).

Decided once by :mod:`augstudy.ablation.analysis.class_effects` (paired sign-flip p-values and
intervals per class, Benjamini-Hochberg q-values over the classes of each arm); the report only
picks the rows to show.  Effects in accuracy points.
"""

from __future__ import annotations

import pandas as pd


def most_changed(per_class: pd.DataFrame, arm: str, k: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``k`` classes most hurt (most negative effect) and most helped for ``arm``."""
    sub = per_class[per_class["arm"] == arm].sort_values("effect_mean")
    hurt = sub[sub["effect_mean"] < 0].head(k)
    helped = sub[sub["effect_mean"] > 0].iloc[::-1].head(k)
    return hurt, helped
