"""Statistics of the effect table: hand-computed cases and error rates over simulated studies."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from augstudy.ablation.analysis import stats

T_975_DF2 = 4.302652729749462    # t_{0.975, 2}


# ------------------------------------------------------------------ intervals


def test_t_interval_hand_computed_for_1_2_3():
    # mean 2, sample sd 1, n 3: 2 -/+ t_{0.975,2} * 1 / sqrt(3) = 2 -/+ 2.48413771...
    low, high = stats.t_interval([1.0, 2.0, 3.0])
    assert float(low) == pytest.approx(-0.48413771175033027, abs=1e-9)
    assert float(high) == pytest.approx(4.48413771175033, abs=1e-9)
    assert float(low) == pytest.approx(2 - T_975_DF2 / math.sqrt(3), abs=1e-12)


def test_t_interval_is_vectorized_over_leading_axes():
    d = np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 4.0]])
    low, high = stats.t_interval(d)
    assert low.shape == (2,)
    assert low[0] == pytest.approx(-0.48413771175033027)
    assert (low[1], high[1]) == (4.0, 4.0)          # zero spread: degenerate, no crash


def test_t_interval_below_two_seeds_is_unbounded():
    low, high = stats.t_interval([0.7])
    assert (float(low), float(high)) == (-math.inf, math.inf)


def test_bca_matches_scipy_directly_on_12_seeds():
    d = np.array([0.3, -0.1, 0.8, 1.2, 0.05, 0.6, -0.4, 0.9, 0.2, 1.5, 0.7, 0.1])
    ours = stats.paired_effect(d, n_boot=10_000, seed=7)
    ref = sps.bootstrap((d,), np.mean, n_resamples=10_000, method="BCa", vectorized=True,
                        rng=np.random.default_rng(7)).confidence_interval
    assert ours["ci_method"] == "BCa bootstrap (10000)"
    assert ours["ci_low"] == pytest.approx(ref.low, rel=1e-12)
    assert ours["ci_high"] == pytest.approx(ref.high, rel=1e-12)
    assert ours["ci_low"] < d.mean() < ours["ci_high"]
    assert stats.paired_effect(d, seed=7) == ours           # seeded: same numbers, same interval


def test_ci_method_switches_from_t_to_bca_at_10_seeds():
    rng = np.random.default_rng(0)
    assert stats.paired_effect(rng.normal(size=9))["ci_method"] == "paired-t"
    assert stats.paired_effect(rng.normal(size=10), n_boot=2000)["ci_method"] == "BCa bootstrap (2000)"


@pytest.mark.parametrize("n", [2, 3, 5])
def test_tied_differences_at_few_seeds_are_never_significant(n):
    """Identical differences (a tie on a small val set) say nothing about seed noise: the
    zero-width t interval must not decide; the exact sign-flip test (2/2^n) does."""
    out = stats.paired_effect([0.625] * n, n_boot=2000)
    assert out["ci_low"] == out["ci_high"] == pytest.approx(0.625)
    assert out["significant"] is False
    assert out["p_value"] == pytest.approx(2 / 2**n)
    assert "sign-flip" in out["note"]
    zero = stats.paired_effect([0.0] * n, n_boot=2000)
    assert (zero["ci_low"], zero["ci_high"], zero["significant"]) == (0.0, 0.0, False)
    assert zero["p_value"] == 1.0


def test_tied_differences_at_12_seeds_are_significant_by_the_exact_sign_flip_test():
    out = stats.paired_effect([0.5] * 12, n_boot=2000)
    assert out["p_value"] == pytest.approx(2 / 2**12)
    assert out["significant"] is True


def test_float_rounded_constant_differences_still_degenerate_under_bca():
    d = 100 * (np.array([0.6, 0.5, 0.7] * 4) - np.array([0.5, 0.4, 0.6] * 4))   # all ~10, not bit-equal
    out = stats.paired_effect(d, n_boot=2000)
    assert out["ci_low"] == pytest.approx(10.0) and out["ci_high"] == pytest.approx(10.0)


def test_one_seed_has_unbounded_interval_and_a_note():
    out = stats.paired_effect([1.3])
    assert (out["ci_low"], out["ci_high"]) == (-math.inf, math.inf)
    assert out["note"] == "needs >= 2 seeds"
    assert out["significant"] is False
    assert out["p_value"] == 1.0 and out["p_floor"] == 1.0


def test_no_paired_seeds_gives_nan_row():
    out = stats.paired_effect([])
    assert out["n_seeds"] == 0 and math.isnan(out["effect_mean"]) and out["significant"] is False


# ------------------------------------------------------------------ p-values


def test_exact_sign_flip_p_for_1_2_3_is_2_of_8():
    # only +++ and --- reach |sum| >= 6 out of 8 sign patterns
    assert stats.sign_flip_p_value([1.0, 2.0, 3.0]) == (0.25, 0.25)


def test_exact_sign_flip_p_hand_counted_for_mixed_signs():
    # |sum of +-1 +-2 +-3 +-4| >= |1-2+3+4| = 6: flipped subsets with sum <= 2 ({}, {1}, {2})
    # or >= 8 ({1,2,3,4}, {2,3,4}, {1,3,4}) -> 6 of 16
    p, floor = stats.sign_flip_p_value([1.0, -2.0, 3.0, 4.0])
    assert p == 6 / 16
    assert floor == 2 / 16


def test_exact_sign_flip_matches_scipy_permutation_test():
    d = np.array([0.4, -0.3, 1.1, 0.9, 0.2, -0.05, 0.6])
    ref = sps.permutation_test((d,), lambda x, axis: np.mean(x, axis=axis), vectorized=True,
                               permutation_type="samples", n_resamples=np.inf).pvalue
    assert stats.sign_flip_p_value(d)[0] == pytest.approx(ref, rel=1e-12)


def test_monte_carlo_sign_flip_above_16_seeds_is_seeded_and_close_to_exact():
    d = np.random.default_rng(3).normal(0.3, 1.0, size=17)
    exact = float(np.mean(np.abs(stats.paired._sign_patterns(17) @ d) >= abs(d.sum()) - 1e-9))
    p1, floor = stats.sign_flip_p_value(d, n_permutations=20_000, seed=1)
    assert stats.sign_flip_p_value(d, n_permutations=20_000, seed=1)[0] == p1
    assert p1 == pytest.approx(exact, abs=0.015)
    assert floor == pytest.approx(1 / 20_001)


def test_p_improve_counts_ties_as_half():
    assert stats.improvement_probability([1.0, 0.0, -1.0, 2.0]) == pytest.approx(2.5 / 4)


def test_p_floor():
    assert stats.p_floor_for(3) == 0.25
    assert stats.p_floor_for(6) == pytest.approx(0.03125)


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
    for b, a in zip(base, arm):                          # the full table path, per study
        rows = stats.effect_table({"base": dict(enumerate(b)), "arm": dict(enumerate(a))}, "base")
        hits += rows[0]["significant"]
    rate = hits / 1000
    assert 0.03 <= rate <= 0.07, rate                    # about 3 simulation SEs
    # the closed-form vectorized interval agrees with the per-study path
    low, high = stats.t_interval(100 * (arm - base))
    assert int(np.sum(stats.excludes_zero(low, high))) == hits


def test_percentile_bootstrap_would_be_far_too_liberal_at_3_seeds():
    """Why 3 seeds use paired-t: a percentile bootstrap excludes 0 whenever all 3 share a sign."""
    rng = np.random.default_rng(11)
    base, arm = _placebo_studies(2000, 3, rng)
    d = 100 * (arm - base)                                           # [studies, 3]
    idx = rng.integers(0, 3, size=(2000, 3))                         # resampled seed indices
    boot_means = d[:, idx].mean(axis=-1)                             # [studies, resamples]
    low, high = np.quantile(boot_means, [0.025, 0.975], axis=1)
    percentile_rate = float(np.mean(stats.excludes_zero(low, high)))
    t_low, t_high = stats.t_interval(d)
    t_rate = float(np.mean(stats.excludes_zero(t_low, t_high)))
    assert percentile_rate > 0.15, percentile_rate                   # ~25%: 1 time in 4
    assert t_rate < 0.07, t_rate


def test_bca_path_error_rate_and_power():
    """BCa from 10 seeds: placebo rate stays bounded; a 3-sd effect is found > 90% of the time.

    BCa alone at 10-12 seeds is liberal (about 8-10% false positives); requiring the exact
    sign-flip test to agree brings the placebo rate back to about 5%.
    """
    rng = np.random.default_rng(21)
    effects = [stats.paired_effect(rng.normal(0.0, 1.0, 12), n_boot=2000, seed=k) for k in range(400)]
    placebo = sum(e["significant"] for e in effects) / len(effects)
    bca_alone = sum(stats.excludes_zero(e["ci_low"], e["ci_high"]) for e in effects) / len(effects)
    assert 0.02 <= placebo <= 0.07, placebo
    assert bca_alone >= placebo
    power = sum(stats.paired_effect(rng.normal(3.0, 1.0, 10), n_boot=2000, seed=k)["significant"]
                for k in range(100)) / 100
    assert power > 0.90, power


# ------------------------------------------------------------------ noise floor, MDE, seeds needed


def test_minimum_detectable_effect_has_exactly_the_promised_noncentral_t_power():
    for sd, n in [(1.0, 2), (1.0, 3), (2.0, 5), (0.7, 10)]:
        mde = stats.minimum_detectable_effect(sd, n)
        crit = sps.t.ppf(0.975, n - 1)
        ncp = mde * math.sqrt(n) / sd
        lower_tail = np.nan_to_num(sps.nct.cdf(-crit, n - 1, ncp), nan=0.0)   # scipy: NaN for a ~1e-15 tail
        assert sps.nct.sf(crit, n - 1, ncp) + lower_tail == pytest.approx(0.80, abs=1e-6)
        # the old shifted-central-t formula understates the MDE at few seeds
        assert mde > (sps.t.ppf(0.975, n - 1) + sps.t.ppf(0.80, n - 1)) * sd / math.sqrt(n) - 1e-9
    assert stats.minimum_detectable_effect(1.0, 1) == math.inf


def test_seeds_needed_is_the_first_n_whose_mde_reaches_the_effect_and_is_monotone():
    effects = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0]
    needed = [stats.seeds_needed(e, 1.0) for e in effects]
    assert all(a >= b for a, b in zip(needed, needed[1:]))           # bigger effect, fewer seeds
    assert needed[0] > needed[-1]
    for e, n in zip(effects, needed):
        assert stats.minimum_detectable_effect(1.0, n) <= e
        if n > 2:
            assert stats.minimum_detectable_effect(1.0, n - 1) > e
    assert stats.seeds_needed(-1.0, 1.0) == stats.seeds_needed(1.0, 1.0)
    assert stats.seeds_needed(0.0, 1.0) is None
    assert stats.seeds_needed(0.01, 1.0) == stats.SEEDS_NEEDED_MAX + 1  # not reachable by 200


def test_noise_floor_pools_paired_differences_across_arms():
    per_seed = {
        "base": {0: 0.50, 1: 0.52, 2: 0.48},
        "a": {0: 0.51, 1: 0.54, 2: 0.49},      # diffs 1, 2, 1 pts: ss = 2/3
        "b": {0: 0.50, 1: 0.53, 2: 0.51},      # diffs 0, 1, 3 pts: ss = 14/3
    }
    noise = stats.noise_floor(per_seed, "base")
    assert noise["n_seeds"] == 3
    assert noise["baseline_std"] == pytest.approx(2.0)
    assert noise["sd_diff"] == pytest.approx(math.sqrt((2 / 3 + 14 / 3) / 4))
    assert noise["mde"] == pytest.approx(stats.minimum_detectable_effect(noise["sd_diff"], 3))
    assert noise["p_floor"] == 0.25 and noise["ci_method"] == "paired-t"


def test_noise_floor_falls_back_to_sqrt2_baseline_std():
    per_seed = {"base": {0: 0.50, 1: 0.52, 2: 0.48}, "a": {0: 0.55}}
    noise = stats.noise_floor(per_seed, "base")
    assert noise["sd_diff"] == pytest.approx(math.sqrt(2) * 2.0)
    assert "sqrt(2)" in noise["sd_diff_source"]


# ------------------------------------------------------------------ table: ranks and labels


def _study(effects_pts, noise_pts, n_seeds=5, seed=0):
    rng = np.random.default_rng(seed)
    base = 0.45 + rng.normal(0, 0.01, n_seeds)
    per_seed = {"base": dict(enumerate(base))}
    for arm, eff in effects_pts.items():
        per_seed[arm] = dict(enumerate(base + eff / 100 + rng.normal(0, noise_pts / 100, n_seeds)))
    return per_seed


def test_ranks_follow_effect_mean_best_first():
    rows = stats.effect_table(_study({"a": -2.0, "b": 3.0, "c": 0.5}, noise_pts=0.2), "base")
    by_arm = {r["arm"]: r for r in rows}
    assert [r["arm"] for r in rows] == ["a", "b", "c"]                # input order kept
    assert (by_arm["b"]["rank"], by_arm["c"]["rank"], by_arm["a"]["rank"]) == (1, 2, 3)
    assert by_arm["b"]["verdict"] == "better" and by_arm["a"]["verdict"] == "worse"


def test_within_noise_label_and_never_a_finding():
    rows = stats.effect_table(_study({"big": 4.0, "tiny": 0.05, "tiny2": -0.05}, noise_pts=0.5,
                                     n_seeds=4, seed=2), "base")
    by_arm = {r["arm"]: r for r in rows}
    assert by_arm["big"]["significant"] and not by_arm["big"]["within_noise"]
    for arm in ("tiny", "tiny2"):
        row = by_arm[arm]
        assert not row["significant"] and row["within_noise"]
        assert abs(row["effect_mean"]) < row["mde"]
        assert row["verdict"] == "within noise"


def test_noisy_arm_larger_than_mde_is_inconclusive_not_within_noise():
    # fifteen quiet arms fix a small pooled sd; the loud arm's own differences swing widely
    per_seed = _study({f"q{i}": 0.0 for i in range(15)}, noise_pts=0.1, n_seeds=3, seed=4)
    base = per_seed["base"]
    per_seed["loud"] = {0: base[0] + 0.01, 1: base[1] + 0.02, 2: base[2] + 0.09}   # diffs 1, 2, 9
    row = next(r for r in stats.effect_table(per_seed, "base") if r["arm"] == "loud")
    assert row["effect_mean"] == pytest.approx(4.0)
    assert not row["significant"] and abs(row["effect_mean"]) >= row["mde"]
    assert row["within_noise"] is False and row["verdict"] == "inconclusive"


def test_only_seeds_finished_in_both_are_paired():
    per_seed = {"base": {0: 0.5, 1: 0.5, 2: 0.5, 3: None}, "a": {1: 0.52, 2: 0.53, 3: 0.9, 4: 0.9}}
    row = stats.effect_table(per_seed, "base")[0]
    assert row["n_seeds"] == 2 and row["effect_mean"] == pytest.approx(2.5)


def test_arm_without_pairs_is_unranked():
    rows = stats.effect_table({"base": {0: 0.5, 1: 0.6}, "a": {5: 0.7}, "b": {0: 0.55, 1: 0.61}}, "base")
    by_arm = {r["arm"]: r for r in rows}
    assert by_arm["a"]["rank"] is None and by_arm["a"]["verdict"] == "no paired seeds"
    assert by_arm["b"]["rank"] == 1


# ------------------------------------------------------------------ multiple testing


def test_benjamini_hochberg_hand_case():
    # sorted p: .01 .03 .04 .045 .5 -> p*m/rank: .05 .075 .0667 .05625 .5 -> running min from the top
    q = stats.benjamini_hochberg([0.04, 0.01, 0.03, 0.045, 0.5])
    np.testing.assert_allclose(q, [0.05625, 0.05, 0.05625, 0.05625, 0.5])


def test_benjamini_hochberg_matches_scipy_and_keeps_nan():
    p = np.random.default_rng(1).uniform(size=30) ** 2
    np.testing.assert_allclose(stats.benjamini_hochberg(p), sps.false_discovery_control(p))
    q = stats.benjamini_hochberg([0.01, np.nan, 0.02])
    assert math.isnan(q[1])
    np.testing.assert_allclose(q[[0, 2]], [0.02, 0.02])


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
                               stats.benjamini_hochberg([r["p_value"] for r in rows]))


def test_per_class_effects_at_3_seeds_cannot_be_significant():
    base = {s: np.array([0.5, 0.5]) for s in range(3)}
    arm = {s: np.array([0.3 + 0.01 * s, 0.5]) for s in range(3)}
    rows = stats.per_class_effects(arm, base, ["x", "y"])
    assert rows[0]["ci_high"] < 0                              # the t interval alone would flag it
    assert rows[0]["p_floor"] == 0.25 and not rows[0]["significant"]
