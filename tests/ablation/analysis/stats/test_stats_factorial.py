"""Two-factor contrasts and response curves: planted interactions found, absent ones not, best-level shares."""

import math

import numpy as np
import pytest

from augstudy.ablation.analysis.stats import factorial as sf
from augstudy.ablation.analysis.stats import verdicts as sv
from augstudy.ablation.terms import Verdict


def _two_by_two(rng, n_seeds, interaction, noise=1.0):
    """Cells [n, 2, 2] in points: A helps by ``interaction`` only at B's second level."""
    seed_effect = rng.normal(0, 2.0, size=(n_seeds, 1, 1))          # shared by every cell of a seed
    y = 50.0 + seed_effect + noise * rng.normal(size=(n_seeds, 2, 2))
    y[:, 1, 1] += interaction
    return y


def test_contrasts_are_the_documented_differences_per_seed():
    y = np.arange(2 * 3 * 3, dtype=float).reshape(2, 3, 3) ** 1.5
    r = sf.two_factor_effects(y, "wd", [0, 1e-4, 1e-3], "bs", [64, 128, 256])
    simple = {a.arm: a for a in r.simple.arms}
    assert simple["wd=0.001 at bs=128"].effect_mean == pytest.approx(np.mean(y[:, 2, 1] - y[:, 0, 1]))
    main = {a.arm: a for a in r.main.arms}
    assert main["wd=0.0001"].effect_mean == pytest.approx(np.mean((y[:, 1, :] - y[:, 0, :]).mean(axis=1)))
    inter = {a.arm: a for a in r.interaction.arms}
    expected = (y[:, 2, 2] - y[:, 0, 2]) - (y[:, 2, 0] - y[:, 0, 0])
    assert inter["wd=0.001 x bs=256"].effect_mean == pytest.approx(expected.mean())
    assert len(r.simple.arms) == 6 and len(r.main.arms) == 2 and len(r.interaction.arms) == 4
    np.testing.assert_allclose(r.cell_means, y.mean(axis=0))
    assert any("twice a main effect" in line for line in r.interaction.header_lines())


def test_planted_interaction_is_found_with_the_right_sign_and_absent_one_is_not():
    rng = np.random.default_rng(0)
    n_studies = 2000
    planted = np.stack([_two_by_two(rng, 10, 3.0) for _ in range(n_studies)])     # [S, n, 2, 2]
    null = np.stack([_two_by_two(rng, 10, 0.0) for _ in range(n_studies)])
    found = sv.decide(sf.all_contrasts(planted))[:, -1]        # one family: every contrast of the study
    absent = sv.decide(sf.all_contrasts(null))[:, -1]
    assert np.mean(found == Verdict.BETTER) > 0.9 and np.mean(found == Verdict.WORSE) == 0
    false_rate = np.mean((absent == Verdict.BETTER) | (absent == Verdict.WORSE))
    assert false_rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_studies)
    # the full two-factor analysis reaches the same verdicts as the vectorized rule
    for k in range(0, 40):
        for cells in (planted[k], null[k]):
            r = sf.two_factor_effects(cells, "a", [0, 1], "b", [0, 1])
            got = [a.decision for a in r.simple.arms + r.main.arms + r.interaction.arms]
            assert got == list(sv.decide(sf.all_contrasts(cells)))


def test_one_family_per_two_factor_study_keeps_any_false_claim_under_5_percent():
    """All 9 cells of a 3x3 equal: 12 contrasts (6 simple, 2 main, 4 interaction).  Three separate 5%
    families gave some false claim in 12-14% of studies; one family per study keeps it at most 5%."""
    rng = np.random.default_rng(9)
    n_studies, n_seeds = 2000, 5
    cells = 50.0 + rng.normal(0, 2.0, (n_studies, n_seeds, 1, 1)) + rng.normal(size=(n_studies, n_seeds, 3, 3))
    contrasts = sf.all_contrasts(cells)
    any_claim = np.any(np.isin(sv.decide(contrasts), (Verdict.BETTER, Verdict.WORSE)), axis=-1)
    assert float(np.mean(any_claim)) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_studies)
    separate = np.zeros(n_studies, bool)
    for part in (contrasts[:, :6], contrasts[:, 6:8], contrasts[:, 8:]):   # the old three families
        mom = sv.stats_core.paired_moments(part)
        separate |= np.any(sv.stats_core.holm(sv.stats_core.two_sided_p(mom)) < 0.05, axis=-1)
    assert float(np.mean(separate)) > 0.09


def test_interaction_contrast_with_negative_sign():
    rng = np.random.default_rng(1)
    r = sf.two_factor_effects(_two_by_two(rng, 12, -4.0, noise=0.5), "a", [0, 1], "b", [0, 1])
    assert r.interaction.arms[0].verdict == Verdict.WORSE
    simple = {a.arm: a.verdict for a in r.simple.arms}
    assert simple["a=1 at b=1"] == Verdict.WORSE and simple["a=1 at b=0"] != Verdict.WORSE


def test_a_diverged_cell_makes_every_contrast_using_it_unstable():
    rng = np.random.default_rng(5)
    y = _two_by_two(rng, 5, 0.0)
    diverged = np.zeros(y.shape, bool)
    diverged[2, 1, 1] = True
    y[2, 1, 1] = 0.5                                             # chance level of 200 classes, points
    r = sf.two_factor_effects(y, "a", [0, 1], "b", [0, 1], diverged=diverged)
    simple = {a.arm: a for a in r.simple.arms}
    assert simple["a=1 at b=1"].verdict == Verdict.UNSTABLE and simple["a=1 at b=1"].n_diverged == 1
    assert simple["a=1 at b=0"].n_diverged == 0 and simple["a=1 at b=0"].verdict != Verdict.UNSTABLE
    assert r.main.arms[0].verdict == Verdict.UNSTABLE and r.interaction.arms[0].verdict == Verdict.UNSTABLE


def test_two_factor_input_is_checked():
    with pytest.raises(ValueError, match="cells must be"):
        sf.two_factor_effects(np.zeros((3, 2, 2)), "a", [0, 1, 2], "b", [0, 1])
    with pytest.raises(ValueError, match="finite"):
        sf.two_factor_effects(np.full((3, 2, 2), np.nan), "a", [0, 1], "b", [0, 1])


# ------------------------------------------------------------------ response curves


def test_geometric_levels_get_a_log_axis():
    assert sf.is_geometric([1e-4, 3e-4, 1e-3, 3e-3])
    assert sf.is_geometric([32, 64, 128, 256])
    assert not sf.is_geometric([0.0, 0.1, 0.2, 0.3])
    assert not sf.is_geometric([0.1, 0.2, 0.3])
    assert not sf.is_geometric([1e-4, 1e-3])


def test_edge_warning_names_the_range_and_the_best_level():
    rng = np.random.default_rng(2)
    values = np.array([50.0, 51.0, 53.0]) + 0.3 * rng.normal(size=(5, 3))
    curve = sf.response_curve([1e-3, 1e-4, 3e-4], values[:, [2, 0, 1]])     # given out of order
    assert curve.levels == [1e-4, 3e-4, 1e-3] and curve.log_axis
    assert curve.best_level == 1e-3
    assert curve.edge_warning.startswith("extend the range above 1e-4..1e-3: 1e-3 is above its neighbour 3e-4")
    assert curve.best_share[2] > 0.95
    interior = sf.response_curve([0.0, 0.1, 0.2, 0.3], np.array([50.0, 53.0, 52.0, 49.0]) + rng.normal(size=(6, 4)))
    assert interior.edge_warning is None and interior.best_level == 0.1 and not interior.log_axis


def test_best_level_share_reflects_how_sure_the_best_is():
    """Shares are calibrated against the truth: a clear winner gets a high share, a near-tie splits."""
    rng = np.random.default_rng(3)
    clear_hits, tie_top = 0, []
    for _ in range(100):
        clear = sf.response_curve([1, 2, 3], np.array([50, 54, 50.0]) + rng.normal(size=(8, 3)), n_resamples=500,
                                  seed=1)
        clear_hits += clear.best_share[1] > 0.9
        tie = sf.response_curve([1, 2, 3], np.array([50, 52, 52.0]) + rng.normal(size=(8, 3)), n_resamples=500,
                                seed=1)
        tie_top.append(max(tie.best_share[1], tie.best_share[2]))
        assert tie.best_share.sum() == pytest.approx(1.0)
    assert clear_hits >= 95
    assert np.mean(tie_top) < 0.9                                 # a near-tie is never reported as sure
    assert np.mean(tie_top) > 0.5


def test_response_curve_intervals_cover_the_true_level_means():
    rng = np.random.default_rng(4)
    truth = np.array([50.0, 52.0, 51.0])
    covered = 0
    for _ in range(300):
        c = sf.response_curve([0.1, 0.2, 0.3], truth + 2.0 * rng.normal(size=(5, 3)), n_resamples=50)
        covered += np.sum((c.ci_low <= truth) & (truth <= c.ci_high))
    assert abs(covered / 900 - 0.95) < 3 * math.sqrt(0.05 * 0.95 / 900)


def test_format_level():
    assert [sf.format_level(x) for x in (1e-4, 3e-4, 2.5e-5, 0.1, 128, 0)] == ["1e-4", "3e-4", "2.5e-5", "0.1",
                                                                                "128", "0"]


def test_flat_truth_rarely_claims_a_best_level_or_a_wider_range():
    """3 equal levels, 10 seeds: the old rule said "extend the range" in 61-67% of studies (the highest
    mean sits at an edge 2 times in 3).  Claims now come from Holm-adjusted pairwise differences."""
    rng = np.random.default_rng(12)
    n_studies = 600
    edge = best = 0
    for _ in range(n_studies):
        values = 50.0 + rng.normal(0, 2.0, (10, 1)) + rng.normal(size=(10, 3))
        curve = sf.response_curve([0.0, 0.1, 0.3], values, n_resamples=200)
        edge += curve.edge_warning is not None
        best += curve.best_shown
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / n_studies)
    assert edge / n_studies <= bound and best / n_studies <= bound
    rising = sf.response_curve([0.0, 0.1, 0.3], np.array([50.0, 52.0, 54.0]) + rng.normal(size=(10, 3)))
    assert rising.best_shown and rising.edge_warning.startswith("extend the range above 0..0.3: 0.3 is above")
