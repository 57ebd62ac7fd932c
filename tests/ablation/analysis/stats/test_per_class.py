"""Per-class effects (stats/per_class.py) and the one Benjamini-Hochberg they use (stats/core.py)."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from augstudy.ablation.analysis import stats
from augstudy.ablation.analysis.stats import core


def test_benjamini_hochberg_hand_case():
    # sorted p: .01 .03 .04 .045 .5 -> p*m/rank: .05 .075 .0667 .05625 .5 -> running min from the top
    q = core.benjamini_hochberg([0.04, 0.01, 0.03, 0.045, 0.5])
    np.testing.assert_allclose(q, [0.05625, 0.05, 0.05625, 0.05625, 0.5])


def test_benjamini_hochberg_matches_scipy_and_keeps_nan():
    p = np.random.default_rng(1).uniform(size=30) ** 2
    np.testing.assert_allclose(core.benjamini_hochberg(p), sps.false_discovery_control(p))
    q = core.benjamini_hochberg([0.01, np.nan, 0.02])
    assert math.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], [0.02, 0.02])
    assert core.benjamini_hochberg([]).shape == (0,)


def test_per_class_effects_flags_only_the_class_that_really_moved():
    rng = np.random.default_rng(5)
    n_seeds, n_classes = 12, 6
    base = {s: rng.uniform(0.3, 0.7, n_classes) for s in range(n_seeds)}
    arm = {}
    for s in range(n_seeds):
        acc = base[s] + rng.normal(0, 0.005, n_classes)
        acc[2] -= 0.10                                          # class 2 loses 10 points
        arm[s] = acc
    names = [f"c{i}" for i in range(n_classes)]
    rows = stats.per_class_effects(arm, base, names, n_boot=2000)
    assert [r["class"] for r in rows] == names
    assert rows[2]["effect_mean"] == pytest.approx(-10.0, abs=0.5)
    assert rows[2]["significant"] and rows[2]["q_value"] < 0.05
    assert sum(r["significant"] for r in rows) == 1
    np.testing.assert_allclose([r["q_value"] for r in rows],
                               core.benjamini_hochberg([r["p_value"] for r in rows]))


def test_per_class_effects_at_3_seeds_cannot_be_significant():
    base = {s: np.array([0.5, 0.5]) for s in range(3)}
    arm = {s: np.array([0.3 + 0.01 * s, 0.5]) for s in range(3)}
    rows = stats.per_class_effects(arm, base, ["x", "y"])
    assert rows[0]["ci_high"] < 0                              # the t interval alone would flag it
    assert rows[0]["p_floor"] == 0.25 and not rows[0]["significant"]


def test_per_class_false_discoveries_stay_at_the_promised_rate():
    """Null arm, 8 classes, 12 seeds (BCa + sign-flip): the share of studies with any flagged class
    is at most alpha (BH controls the FDR, and under the complete null FDR = P(any flag))."""
    rng = np.random.default_rng(9)
    n_studies, n_seeds, n_classes = 120, 12, 8
    any_flag, any_raw = 0, 0
    for _ in range(n_studies):
        seed_noise = rng.normal(0, 0.01, (n_seeds, n_classes))          # shared by both arms of a seed
        base = 0.5 + seed_noise + rng.normal(0, 0.01, (n_seeds, n_classes))
        arm = 0.5 + seed_noise + rng.normal(0, 0.01, (n_seeds, n_classes))
        rows = stats.per_class_effects(dict(enumerate(arm)), dict(enumerate(base)),
                                       [str(c) for c in range(n_classes)], n_boot=500, seed=1)
        any_flag += any(r["significant"] for r in rows)
        any_raw += any(r["p_value"] < 0.05 for r in rows)
    assert any_flag / n_studies <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_studies)
    assert any_raw / n_studies > 0.2          # uncorrected, 8 classes flag about 1 - 0.95^8 = 34% of studies
