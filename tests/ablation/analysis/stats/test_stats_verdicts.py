"""Error rates of the effect table's verdicts, measured by numpy simulation against the promised rates.

Every rate is checked with a tolerance of about 3 simulation standard errors.  The
vectorized ``decide`` is the same rule as ``analyze_family`` (checked below), so the
simulations measure the rule the table prints.
"""

import math

import numpy as np
import pytest
from scipy import stats as sps

from augstudy.ablation.analysis.stats import core as stats_core, power as stats_power
from augstudy.ablation.analysis.stats import verdicts as sv
from augstudy.ablation.terms import Verdict

N_STUDIES = 4000
SE_5PCT = math.sqrt(0.05 * 0.95 / N_STUDIES)      # about 0.0034


def _noise(rng, shape, dist):
    if dist == "normal":
        return rng.normal(size=shape)
    return rng.standard_t(3, size=shape) / math.sqrt(3.0)   # t(3) scaled to unit variance


def _false_positive(verdicts):
    return (verdicts == Verdict.BETTER) | (verdicts == Verdict.WORSE)


# ------------------------------------------------------------------ one rule, two implementations


def test_vectorized_decide_matches_analyze_family():
    rng = np.random.default_rng(0)
    for k in range(25):
        n = int(rng.integers(2, 12))
        d = rng.normal(rng.normal(0, 1.5, size=(5, 1)), rng.uniform(0.2, 2.0), size=(5, n))
        if k % 7 == 0:
            d[1] = 0.625                                  # a tie
        family = sv.analyze_family([sv.PairedArm(f"a{i}", row) for i, row in enumerate(d)])
        assert [a.decision for a in family.arms] == list(sv.decide(d))


def test_significant_adjusted_p_and_interval_never_disagree():
    rng = np.random.default_rng(1)
    for _ in range(30):
        m, n = int(rng.integers(1, 9)), int(rng.integers(2, 15))
        arms = [sv.PairedArm(f"a{i}", rng.normal(rng.normal(0, 1.0), 1.0, size=n)) for i in range(m)]
        for correction in ("holm", "bh"):
            for a in sv.analyze_family(arms, correction=correction).arms:
                excludes = a.ci_low > 0 or a.ci_high < 0
                assert a.significant == (a.p_adjusted < 0.05) == excludes
                assert a.p_adjusted >= a.p_value - 1e-12
                assert a.verdict in (Verdict.BETTER, Verdict.WORSE) if a.significant else a.verdict in (
                    Verdict.EQUIVALENT, Verdict.INCONCLUSIVE)


def test_holm_matches_the_hand_computed_step_down_and_bh_is_scipys():
    p = np.array([0.01, 0.04, 0.03, 0.005, np.nan])
    # sorted .005 .01 .03 .04 -> x4 x3 x2 x1 = .02 .03 .06 .04 -> running max .02 .03 .06 .06
    np.testing.assert_allclose(stats_core.holm(p)[:4], [0.03, 0.06, 0.06, 0.02])
    assert math.isnan(stats_core.holm(p)[4])
    np.testing.assert_allclose(stats_core.benjamini_hochberg(p)[:4], sps.false_discovery_control(p[:4]))


# ------------------------------------------------------------------ false positives, one arm and many


@pytest.mark.parametrize("dist", ["normal", "t3"])
@pytest.mark.parametrize("n_seeds", [3, 5, 10])
def test_per_arm_false_positives_are_5_percent(n_seeds, dist):
    rng = np.random.default_rng(10 + n_seeds + (dist == "t3"))
    d = _noise(rng, (N_STUDIES, 1, n_seeds), dist)
    rate = float(np.mean(_false_positive(sv.decide(d))))
    upper = 0.05 + 3 * SE_5PCT
    lower = 0.05 - 3 * SE_5PCT if dist == "normal" else 0.02    # the t-test is conservative for t(3)
    assert lower <= rate <= upper, rate


@pytest.mark.parametrize("dist", ["normal", "t3"])
@pytest.mark.parametrize("n_seeds", [3, 5, 10])
@pytest.mark.parametrize("n_arms", [4, 8])
def test_family_wise_false_positives_stay_under_5_percent(n_arms, n_seeds, dist):
    rng = np.random.default_rng(100 * n_arms + n_seeds + (dist == "t3"))
    d = _noise(rng, (N_STUDIES, n_arms, n_seeds), dist)
    any_fp = np.any(_false_positive(sv.decide(d)), axis=1)
    assert float(np.mean(any_fp)) <= 0.05 + 3 * SE_5PCT
    # each arm's own paired t unadjusted (what the table did before Holm): 12-30 %
    unadjusted = np.any(stats_core.two_sided_p(stats_core.paired_moments(d)) < 0.05, axis=1)
    assert float(np.mean(unadjusted)) > 0.12


def test_winners_curse_is_what_the_header_warns_about():
    rng = np.random.default_rng(3)
    d = rng.normal(size=(N_STUDIES, 8, 5))
    top = d.mean(axis=2).max(axis=1)
    assert top.mean() > 0.35                                # the top placebo arm looks +0.4 sd better


# ------------------------------------------------------------------ ties on a small val set


def _tied_study(rng, n_seeds, k_extra, n_val=160):
    """Per-seed correctness where the arm gets exactly ``k_extra`` more images right at every seed."""
    base = rng.random((n_seeds, n_val)) < 0.5
    arm = base.copy()
    for s in range(n_seeds):
        wrong = np.flatnonzero(~base[s])
        arm[s, rng.choice(wrong, size=abs(k_extra), replace=False)] = True
    if k_extra < 0:
        base, arm = arm, base
    return arm, base


@pytest.mark.parametrize("n_seeds", [2, 3])
def test_tied_differences_at_2_3_seeds_with_160_images_are_never_better_or_worse(n_seeds):
    rng = np.random.default_rng(n_seeds)
    for k in (-12, -5, -1, 1, 2, 5, 12, 30):
        for same_images in (False, True):
            arm, base = _tied_study(rng, n_seeds, k)
            if same_images:
                arm[:] = arm[0]
                base[:] = base[0]
            diffs = 100.0 * (arm.mean(axis=1) - base.mean(axis=1))
            assert np.ptp(diffs) < 1e-9 and abs(diffs[0]) == pytest.approx(abs(k) * 100 / 160)
            for example in (None, 100.0 * (arm.astype(float) - base)):
                a = sv.analyze_family([sv.PairedArm("tie", diffs, example)]).arms[0]
                assert a.verdict not in (Verdict.BETTER, Verdict.WORSE), (k, n_seeds, a)
                assert a.p_value >= 2 / 2**n_seeds - 1e-12


def test_val_term_gives_a_zero_variance_arm_an_honest_width():
    rng = np.random.default_rng(4)
    arm, base = _tied_study(rng, 8, 2)
    arm[:], base[:] = arm[0], base[0]                        # the same two images flip at every seed
    diffs = 100.0 * (arm.mean(axis=1) - base.mean(axis=1))
    with_val = sv.analyze_family([sv.PairedArm("tie", diffs, 100.0 * (arm.astype(float) - base))])
    a = with_val.arms[0]
    assert a.val_se > 0.3 and a.ci_high - a.ci_low > 1.0    # two images of 160: about +-1.3 pts
    assert not a.significant                                 # 2 images on a fixed val set prove nothing
    assert "per-example" in with_val.ci_method
    seed_only = sv.analyze_family([sv.PairedArm("tie", diffs)])
    assert "seeds only" in seed_only.ci_method


# ------------------------------------------------------------------ the finite val set


def _val_set_placebo(rng, n_studies, n_seeds, n_val=160, item_sd=3.0):
    """Arm and baseline of equal accuracy on the task, but the arm is better on some images and
    worse on others; the fixed val set is one sample of images, so its items' effects don't
    average out over seeds.  Returns ``(diffs [S, n], example_diffs [S, n, n_val])`` in points."""
    b = rng.normal(0, 6.0, size=(n_studies, 1, n_val))            # item difficulty (logit): most images
    #                                                               are always right or always wrong
    u = rng.normal(0, item_sd, size=(n_studies, 1, n_val))        # arm's item-specific effect, mean 0
    g_base = rng.normal(0, 0.3, size=(n_studies, n_seeds, 1))
    g_arm = rng.normal(0, 0.3, size=(n_studies, n_seeds, 1))
    sig = lambda x: 1.0 / (1.0 + np.exp(-x))
    base = rng.random((n_studies, n_seeds, n_val)) < sig(b + g_base)
    arm = rng.random((n_studies, n_seeds, n_val)) < sig(b + u + g_arm)
    example = 100.0 * (arm.astype(np.float64) - base)
    return example.mean(axis=2), example


def test_val_set_sampling_noise_is_in_the_interval():
    rng = np.random.default_rng(5)
    diffs, example = _val_set_placebo(rng, 2000, 10)
    seed_only = np.mean(_false_positive(sv.decide(diffs[:, None, :])))
    both = np.mean(_false_positive(sv.decide(diffs[:, None, :], example_diffs=example[:, None])))
    assert seed_only > 0.15, seed_only                       # intervals about these 160 images only
    assert both <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 2000), both


# ------------------------------------------------------------------ equivalence


@pytest.mark.parametrize("n_seeds,sd", [(3, 1.0), (5, 1.0), (10, 1.0), (10, 0.3), (20, 0.2)])
def test_equivalence_error_at_an_effect_equal_to_sesoi_is_at_most_alpha(n_seeds, sd):
    rng = np.random.default_rng(int(n_seeds * 10 + sd * 10))
    for sign in (1.0, -1.0):
        d = sign * sv.SESOI + sd * rng.normal(size=(N_STUDIES, 1, n_seeds))
        verdict_rate = float(np.mean(sv.decide(d) == Verdict.EQUIVALENT))
        # the TOST rule itself (a significant arm is printed better/worse even when also equivalent)
        rate = float(np.mean(stats_core.tost_p(stats_core.paired_moments(d[:, 0]), sv.SESOI) < 0.05))
        assert verdict_rate <= rate <= 0.05 + 3 * SE_5PCT, rate
        if sd <= 0.3:
            assert rate >= 0.03, rate                        # and not vacuously: close to alpha


def test_equivalence_is_reached_for_a_null_arm_with_enough_precision():
    rng = np.random.default_rng(6)
    d = 0.3 * rng.normal(size=(2000, 1, 10))
    assert np.mean(sv.decide(d) == Verdict.EQUIVALENT) > 0.9


# ------------------------------------------------------------------ power, MDE, effect sizes


@pytest.mark.parametrize("n_seeds", [2, 3, 5, 10])
def test_power_at_the_reported_mde_matches_the_noncentral_t_reference(n_seeds):
    rng = np.random.default_rng(20 + n_seeds)
    mde = stats_power.minimum_detectable_effect(1.0, n_seeds)
    d = mde + rng.normal(size=(20_000, 1, n_seeds))
    power = float(np.mean(sv.decide(d) == Verdict.BETTER))
    assert power == pytest.approx(0.80, abs=3 * math.sqrt(0.8 * 0.2 / 20_000) + 0.002)
    if n_seeds <= 3:      # the shifted-central-t formula the table used to print falls short
        old = (sps.t.ppf(0.975, n_seeds - 1) + sps.t.ppf(0.8, n_seeds - 1)) / math.sqrt(n_seeds)
        assert float(np.mean(sv.decide(old + rng.normal(size=(20_000, 1, n_seeds))) == Verdict.BETTER)) < 0.78


def test_seeds_needed_reaches_the_promised_power():
    n = stats_power.seeds_needed(0.8, 1.0)
    assert stats_power.paired_power(0.8, 1.0, n) >= 0.8 > stats_power.paired_power(0.8, 1.0, n - 1)
    # the val set's noise does not shrink with seeds: beyond it no seed count helps
    assert stats_power.seeds_needed(0.5, 1.0, val_var=1.0, n_val=160) == stats_power.SEEDS_NEEDED_MAX + 1


def test_p_improve_interval_is_clopper_pearson():
    est, low, high = stats_power.improvement_interval([1.0, 2.0, 0.5])
    assert (est, high) == (1.0, 1.0)
    assert low == pytest.approx(0.025 ** (1 / 3))            # 3/3 is compatible with 0.29
    est, low, high = stats_power.improvement_interval([1.0, 0.0, -1.0, 2.0])
    assert est == pytest.approx(2.5 / 4) and 0 < low < est < high < 1


def test_dz_interval_covers_the_true_standardized_effect_95_percent():
    rng = np.random.default_rng(7)
    hits = 0
    for _ in range(400):
        d = 0.8 + rng.normal(size=6)
        _, low, high = stats_power.dz_interval(d.mean(), d.std(ddof=1), 6)
        hits += low <= 0.8 <= high
    assert abs(hits / 400 - 0.95) < 3 * math.sqrt(0.05 * 0.95 / 400)


# ------------------------------------------------------------------ divergence, rank, table fields


def test_diverged_seeds_count_at_chance_and_make_the_arm_unstable():
    base = {0: 0.50, 1: 0.52, 2: 0.48, 3: 0.51, 4: 0.49}
    arm = {0: 0.53, 1: 0.55, 2: None, 3: 0.54, 4: None}
    paired = sv.pair_arm("lr=1", arm, base, diverged_arm=[2, 4], chance=0.005)
    assert paired.n_diverged == 2 and paired.diffs.size == 5
    assert paired.diffs[2] == pytest.approx(100 * (0.005 - 0.48))
    a = sv.analyze_family([paired], chance=0.5).arms[0]
    assert a.verdict == Verdict.UNSTABLE and a.effect_mean < -15
    assert any("chance level (0.5 pts)" in line for line in sv.analyze_family([paired], chance=0.5).header_lines())
    with pytest.raises(ValueError, match="chance"):
        sv.pair_arm("lr=1", arm, base, diverged_arm=[2])


def test_rank_follows_the_mean_with_single_seed_arms_last():
    """Rank answers "which is best": by the mean (the old rule, each arm's Holm-level lower bound,
    put a noisy arm below a tight one with a smaller mean); one run has no interval and ranks last."""
    rng = np.random.default_rng(8)
    tight = sv.PairedArm("tight", 2.0 + 0.1 * rng.normal(size=6))
    lucky = sv.PairedArm("one seed", np.array([5.0]))
    noisy = sv.PairedArm("noisy", np.array([9.0, -3.0, 6.0]))
    family = sv.analyze_family([lucky, noisy, tight])
    ranks = {a.arm: a.rank for a in family.arms}
    assert ranks == {"noisy": 1, "tight": 2, "one seed": 3}
    assert any("Rank: by the mean effect" in line and "biased upward" in line for line in family.header_lines())


def test_the_truly_best_arm_with_the_smallest_p_ranks_first():
    """The old rule ranked by each arm's lower bound at its own Holm level: the most significant arm
    was held to the strictest level (alpha / m), so here the best arm -- largest mean, smallest p --
    ranked last of four."""
    d = np.array([[2.0, 0.9, 2.7], [1.6, 0.3, 0.8], [-0.1, -0.9, -0.1], [0.1, 0.0, -0.5]])
    family = sv.analyze_family([sv.PairedArm(f"arm{i}", d[i]) for i in range(4)])
    p = [a.p_value for a in family.arms]
    assert int(np.argmin(p)) == 0 and family.ranked()[0].arm == "arm0"
    ranked = family.ranked()                                   # no perverse pair
    assert all(a.effect_mean >= b.effect_mean for a, b in zip(ranked, ranked[1:]))
    # the old rule's order on the same data: arm0 last
    mom = stats_core.paired_moments(d)
    p_own = stats_core.two_sided_p(mom)
    low, _ = stats_core.interval(mom, stats_core.effective_level(p_own, stats_core.holm(p_own), 0.05))
    assert int(np.argmin(low)) == 0


def test_arm_effect_to_dict_has_every_table_column():
    a = sv.analyze_family([sv.PairedArm("a", np.array([0.5, 1.0, 1.5]))]).arms[0]
    row = a.to_dict()
    for key in ("n_seeds", "n_diverged", "effect_mean", "ci_low", "ci_high", "ci_method", "p_value",
                "p_adjusted", "significant", "verdict", "seeds_needed", "p_improve", "p_improve_low",
                "p_improve_high", "d_z", "d_z_low", "d_z_high", "rank", "mde"):
        assert key in row
    assert row["verdict"] == Verdict.INCONCLUSIVE and row["seeds_needed"] > 3
