"""The per-seed interval rule of per-class effects (stats/intervals.py): hand-computed cases and error rates."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from augstudy.ablation.analysis.stats import intervals

T_975_DF2 = 4.302652729749462    # t_{0.975, 2}


# ------------------------------------------------------------------ intervals


def test_t_interval_hand_computed_for_1_2_3():
    # mean 2, sample sd 1, n 3: 2 -/+ t_{0.975,2} * 1 / sqrt(3) = 2 -/+ 2.48413771...
    low, high = intervals.t_interval([1.0, 2.0, 3.0])
    assert float(low) == pytest.approx(-0.48413771175033027, abs=1e-9)
    assert float(high) == pytest.approx(4.48413771175033, abs=1e-9)
    assert float(low) == pytest.approx(2 - T_975_DF2 / math.sqrt(3), abs=1e-12)


def test_t_interval_is_vectorized_over_leading_axes():
    d = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    low, high = intervals.t_interval(d)
    assert low.shape == (2,)
    assert low[0] == pytest.approx(-0.48413771175033027)
    assert (low[1], high[1]) == (4.0, 4.0)          # zero spread: degenerate, no crash


def test_t_interval_below_two_seeds_is_unbounded():
    low, high = intervals.t_interval([0.7])
    assert (float(low), float(high)) == (-math.inf, math.inf)


def test_bca_matches_scipy_directly_on_12_seeds():
    d = np.array([0.3, -0.1, 0.8, 1.2, 0.05, 0.6, -0.4, 0.9, 0.2, 1.5, 0.7, 0.1])
    ours = intervals.paired_effect(d, n_boot=10_000, seed=7)
    ref = sps.bootstrap((d,), np.mean, n_resamples=10_000, method="BCa", vectorized=True,
                        rng=np.random.default_rng(7)).confidence_interval
    assert ours["ci_method"] == "BCa bootstrap (10000)"
    assert ours["ci_low"] == pytest.approx(ref.low, rel=1e-12)
    assert ours["ci_high"] == pytest.approx(ref.high, rel=1e-12)
    assert ours["ci_low"] < d.mean() < ours["ci_high"]
    assert intervals.paired_effect(d, seed=7) == ours           # seeded: same numbers, same interval


def test_ci_method_switches_from_t_to_bca_at_10_seeds():
    rng = np.random.default_rng(0)
    assert intervals.paired_effect(rng.normal(size=9))["ci_method"] == "paired-t"
    assert intervals.paired_effect(rng.normal(size=10), n_boot=2000)["ci_method"] == "BCa bootstrap (2000)"


@pytest.mark.parametrize("n", [2, 3, 5])
def test_tied_differences_at_few_seeds_are_never_significant(n):
    """Identical differences (a tie on a small val set) say nothing about seed noise: the
    zero-width t interval must not decide; the exact sign-flip test (2/2^n) does."""
    out = intervals.paired_effect([0.625] * n, n_boot=2000)
    assert out["ci_low"] == out["ci_high"] == pytest.approx(0.625)
    assert out["significant"] is False
    assert out["p_value"] == pytest.approx(2 / 2**n)
    assert "sign-flip" in out["note"]
    zero = intervals.paired_effect([0.0] * n, n_boot=2000)
    assert (zero["ci_low"], zero["ci_high"], zero["significant"]) == (0.0, 0.0, False)
    assert zero["p_value"] == 1.0


def test_tied_differences_at_12_seeds_are_significant_by_the_exact_sign_flip_test():
    out = intervals.paired_effect([0.5] * 12, n_boot=2000)
    assert out["p_value"] == pytest.approx(2 / 2**12)
    assert out["significant"] is True


def test_float_rounded_constant_differences_still_degenerate_under_bca():
    d = 100 * (np.array([0.6, 0.5, 0.7] * 4) - np.array([0.5, 0.4, 0.6] * 4))   # all ~10, not bit-equal
    out = intervals.paired_effect(d, n_boot=2000)
    assert out["ci_low"] == pytest.approx(10.0) and out["ci_high"] == pytest.approx(10.0)


def test_one_seed_has_unbounded_interval_and_a_note():
    out = intervals.paired_effect([1.3])
    assert (out["ci_low"], out["ci_high"]) == (-math.inf, math.inf)
    assert out["note"] == "needs >= 2 seeds"
    assert out["significant"] is False
    assert out["p_value"] == 1.0 and out["p_floor"] == 1.0


def test_no_paired_seeds_gives_nan_row():
    out = intervals.paired_effect([])
    assert out["n_seeds"] == 0 and math.isnan(out["effect_mean"]) and out["significant"] is False


# ------------------------------------------------------------------ p-values


def test_exact_sign_flip_p_for_1_2_3_is_2_of_8():
    # only +++ and --- reach |sum| >= 6 out of 8 sign patterns
    assert intervals.sign_flip_p_value([1.0, 2.0, 3.0]) == (0.25, 0.25)


def test_exact_sign_flip_p_hand_counted_for_mixed_signs():
    # |sum of +-1 +-2 +-3 +-4| >= |1-2+3+4| = 6: flipped subsets with sum <= 2 ({}, {1}, {2})
    # or >= 8 ({1,2,3,4}, {2,3,4}, {1,3,4}) -> 6 of 16
    p, floor = intervals.sign_flip_p_value([1.0, -2.0, 3.0, 4.0])
    assert p == 6 / 16
    assert floor == 2 / 16


def test_exact_sign_flip_matches_scipy_permutation_test():
    d = np.array([0.4, -0.3, 1.1, 0.9, 0.2, -0.05, 0.6])
    ref = sps.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), vectorized=True,
                               permutation_type="samples", n_resamples=np.inf).pvalue
    assert intervals.sign_flip_p_value(d)[0] == pytest.approx(ref, rel=1e-12)


def test_monte_carlo_sign_flip_above_16_seeds_is_seeded_and_close_to_exact():
    d = np.random.default_rng(3).normal(0.3, 1.0, size=17)
    exact = float(np.mean(np.abs(intervals._sign_patterns(17) @ d) >= abs(d.sum()) - 1e-9))
    p1, floor = intervals.sign_flip_p_value(d, n_permutations=20_000, seed=1)
    assert intervals.sign_flip_p_value(d, n_permutations=20_000, seed=1)[0] == p1
    assert p1 == pytest.approx(exact, abs=0.015)
    assert floor == pytest.approx(1 / 20_001)


def test_p_floor():
    assert intervals.p_floor_for(3) == 0.25
    assert intervals.p_floor_for(6) == pytest.approx(0.03125)


# ------------------------------------------------------------------ error rates


def _placebo_studies(n_studies, n_seeds, rng):
    """Two arms from the same distribution with shared per-seed noise, as fractions."""
    seed_effect = rng.normal(0.0, 0.01, size=(n_studies, n_seeds))   # shared by both arms of a seed
    base = 0.45 + seed_effect + rng.normal(0.0, 0.004, size=(n_studies, n_seeds))
    arm = 0.45 + seed_effect + rng.normal(0.0, 0.004, size=(n_studies, n_seeds))
    return base, arm


@pytest.mark.parametrize("n_seeds", [3, 5])
def test_placebo_arms_are_significant_about_5_percent_of_the_time(n_seeds):
    rng = np.random.default_rng(100 + n_seeds)
    base, arm = _placebo_studies(1000, n_seeds, rng)
    hits = 0
    for b, a in zip(base, arm):                          # the per-effect path, per study
        hits += intervals.paired_effect(100 * (a - b))["significant"]
    rate = hits / 1000
    assert 0.03 <= rate <= 0.07, rate                    # about 3 simulation SEs
    # the closed-form vectorized interval agrees with the per-study path
    low, high = intervals.t_interval(100 * (arm - base))
    assert int(np.sum(intervals.excludes_zero(low, high))) == hits


def test_percentile_bootstrap_would_be_far_too_liberal_at_3_seeds():
    """Why 3 seeds use paired-t: a percentile bootstrap excludes 0 whenever all 3 share a sign."""
    rng = np.random.default_rng(11)
    base, arm = _placebo_studies(2000, 3, rng)
    d = 100 * (arm - base)                                           # [studies, 3]
    idx = rng.integers(0, 3, size=(2000, 3))                         # resampled seed indices
    boot_means = d[:, idx].mean(axis=-1)                             # [studies, resamples]
    low, high = np.quantile(boot_means, [0.025, 0.975], axis=1)
    percentile_rate = float(np.mean(intervals.excludes_zero(low, high)))
    t_low, t_high = intervals.t_interval(d)
    t_rate = float(np.mean(intervals.excludes_zero(t_low, t_high)))
    assert percentile_rate > 0.15, percentile_rate                   # ~25%: 1 time in 4
    assert t_rate < 0.07, t_rate


def test_bca_path_error_rate_and_power():
    """BCa from 10 seeds: placebo rate stays bounded; a 3-sd effect is found > 90% of the time.

    BCa alone at 10-12 seeds is liberal (about 8-10% false positives); requiring the exact
    sign-flip test to agree brings the placebo rate back to about 5%.
    """
    rng = np.random.default_rng(21)
    effects = [intervals.paired_effect(rng.normal(0.0, 1.0, 12), n_boot=2000, seed=k) for k in range(400)]
    placebo = sum(e["significant"] for e in effects) / len(effects)
    bca_alone = sum(intervals.excludes_zero(e["ci_low"], e["ci_high"]) for e in effects) / len(effects)
    assert 0.02 <= placebo <= 0.07, placebo
    assert bca_alone >= placebo
    power = sum(intervals.paired_effect(rng.normal(3.0, 1.0, 10), n_boot=2000, seed=k)["significant"]
                for k in range(100)) / 100
    assert power > 0.90, power
