"""``--seeds auto``: the group-sequential rule's error rates under optional stopping, by simulation."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from augstudy.ablation.analysis.stats import sequential as sq
from augstudy.ablation.analysis.stats import verdicts as sv
from augstudy.ablation.terms import Verdict

N_STUDIES = 2500


def test_look_schedule_ends_exactly_at_max_seeds():
    assert sq.look_schedule(3, 2, 20) == (3, 5, 7, 9, 11, 13, 15, 17, 19, 20)
    assert sq.look_schedule(3, 3, 9) == (3, 6, 9)
    with pytest.raises(ValueError):
        sq.look_schedule(1, 2, 20)


@pytest.mark.parametrize("kind", ["obf", "pocock"])
def test_boundaries_spend_exactly_alpha_over_the_looks(kind):
    """Monte Carlo of the normal look statistics: crossing probability = alpha, per look as spent."""
    fractions = (0.25, 0.5, 0.75, 1.0)
    c = np.array(sq.boundaries(fractions, 0.05, kind))
    rng = np.random.default_rng(1)
    inc = rng.normal(size=(400_000, 4)) * np.sqrt(np.diff((0.0,) + fractions))
    z = np.cumsum(inc, axis=1) / np.sqrt(fractions)
    crossed = np.abs(z) >= c
    first = np.where(crossed.any(axis=1), crossed.argmax(axis=1), -1)
    se = math.sqrt(0.05 * 0.95 / 400_000)
    assert float(np.mean(first >= 0)) == pytest.approx(0.05, abs=4 * se)
    spent = np.array([np.mean((first >= 0) & (first <= k)) for k in range(4)])
    np.testing.assert_allclose(spent, sq.spent(np.array(fractions), 0.05, kind), atol=4 * se + 1e-4)
    if kind == "obf":
        assert c[0] > 3.5 and c[-1] < 2.1            # nearly nothing early, nearly alpha at the end


@pytest.mark.parametrize("kind", ["pocock", "obf"])
@pytest.mark.parametrize("dist", ["normal", "t3"])
def test_null_family_wise_false_positives_at_most_5_percent(dist, kind):
    rng = np.random.default_rng(7 + (dist == "t3") + 2 * (kind == "obf"))
    shape = (N_STUDIES, 4, 20)
    d = rng.normal(size=shape) if dist == "normal" else rng.standard_t(3, size=shape)
    schedule = sq.look_schedule(3, 2, 20)
    res = sq.replay(d, schedule, kind=kind)
    fp = np.any((res["code"] == sq.CODE_BETTER) | (res["code"] == sq.CODE_WORSE), axis=1)
    assert float(np.mean(fp)) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / N_STUDIES)
    # the naive rule (add seeds, stop at the first unadjusted p < 0.05) is what this prevents
    naive = np.zeros(shape[:2], dtype=bool)
    for n in schedule:
        m = d[:, :, :n]
        t = m.mean(axis=2) / (m.std(axis=2, ddof=1) / math.sqrt(n))
        naive |= 2 * sps.t.sf(np.abs(t), n - 1) < 0.05
    assert float(np.mean(naive.any(axis=1))) > 0.3


@pytest.mark.parametrize("effect_sd", [1.0, 2.0])
def test_true_effects_reach_the_right_verdict(effect_sd):
    """Four arms with a true effect of 1 or 2 noise SDs (SESOI = 0.5 SD: the effect is not negligible)."""
    rng = np.random.default_rng(int(effect_sd * 10))
    d = effect_sd + rng.normal(size=(N_STUDIES, 4, 20))
    schedule = sq.look_schedule(3, 2, 20)
    res = sq.replay(d, schedule, sesoi=0.5)
    right = float(np.mean(res["code"] == sq.CODE_BETTER))
    wrong = float(np.mean((res["code"] == sq.CODE_WORSE) | (res["code"] == sq.CODE_EQUIVALENT)))
    assert right >= (0.93 if effect_sd == 1.0 else 0.999), right
    assert wrong <= 0.01, wrong
    used = sq.seeds_used(res, schedule)
    assert used.mean() < (15 if effect_sd == 1.0 else 8)    # stops early when it is clear


def test_sequential_equivalence_error_at_sesoi_at_most_alpha():
    rng = np.random.default_rng(3)
    d = 1.0 + 0.5 * rng.normal(size=(N_STUDIES, 1, 20))     # effect exactly SESOI
    res = sq.replay(d, sq.look_schedule(3, 2, 20), sesoi=1.0)
    assert float(np.mean(res["code"] == sq.CODE_EQUIVALENT)) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / N_STUDIES)


def _arms(rng, effects, n_seeds):
    return [sv.PairedArm(f"arm{i}", e + rng.normal(size=n)) for i, (e, n) in enumerate(zip(effects, n_seeds))]


def test_sequential_step_asks_for_the_next_batch_only_where_undecided():
    rng = np.random.default_rng(13)    # (seed 11 draws a null arm whose first 9 seeds average -1 sd: a 5% event)
    full = [e + s * rng.normal(size=20) for e, s in ((5.0, 0.1), (0.0, 1.0), (0.3, 1.0))]
    arms = [sv.PairedArm(f"a{i}", d[:3]) for i, d in enumerate(full)]
    step = sq.sequential_step(arms, start_seeds=3, batch=2, max_seeds=20)
    assert step.look == 0 and not step.done
    by = {a.effect.arm: a for a in step.arms}
    assert by["a0"].final and by["a0"].effect.verdict == Verdict.BETTER and by["a0"].more_seeds == 0
    for name in ("a1", "a2"):
        assert not by[name].final and by[name].more_seeds == 2 and by[name].target_seeds == 5
        assert by[name].effect.verdict == Verdict.INCONCLUSIVE and "needs 2 more seeds" in by[name].effect.note
    assert step.baseline_seeds == 5 and step.runs_needed(baseline_has=3) == 2 + 2 + 2
    assert step.plan_text(baseline_has=3, seconds_per_run=30.0) == (
        "seeds auto: 2 of 3 arms undecided; next look at 5 seeds costs 6 runs (4 arm, 2 baseline), about 3.0 min.")
    # drive it to the end, feeding each arm exactly what it asked for
    have = {a.effect.arm: 3 for a in step.arms}
    for _ in range(20):
        if step.done:
            break
        for a in step.arms:
            have[a.effect.arm] = a.target_seeds
        step = sq.sequential_step([sv.PairedArm(f"a{i}", d[:have[f"a{i}"]]) for i, d in enumerate(full)],
                                  start_seeds=3, batch=2, max_seeds=20)
    assert step.done
    verdicts = {a.effect.arm: a.effect.verdict for a in step.arms}
    assert verdicts["a0"] == Verdict.BETTER
    assert verdicts["a1"] in (Verdict.EQUIVALENT, Verdict.INCONCLUSIVE)
    # stateless: the final data with extra seeds beyond each arm's stop replays the same decisions
    again = sq.sequential_step([sv.PairedArm(f"a{i}", d) for i, d in enumerate(full)],
                               start_seeds=3, batch=2, max_seeds=20)
    assert {a.effect.arm: a.effect.verdict for a in again.arms} == verdicts


def test_sequential_effect_rows_are_coherent():
    rng = np.random.default_rng(12)
    arms = _arms(rng, (3.0, 0.0, -2.5, 0.5), (20, 20, 20, 20))
    step = sq.sequential_step(arms)
    assert step.done
    for a in step.arms:
        e = a.effect
        assert e.significant == (e.p_adjusted < 0.05) == (e.ci_low > 0 or e.ci_high < 0)
        assert (e.verdict in (Verdict.BETTER, Verdict.WORSE)) == e.significant
    assert any("alpha spending" in line for line in step.header)


def test_sequential_step_uses_the_val_set_term_when_per_example_data_is_given():
    rng = np.random.default_rng(14)
    base = rng.random((9, 160)) < 0.6
    arm = base.copy()
    arm[:, :6] = True                                            # the same six images, every seed
    example = 100.0 * (arm.astype(float) - base)
    with_val = sq.sequential_step([sv.PairedArm("a", example.mean(axis=1), example)])
    seed_only = sq.sequential_step([sv.PairedArm("a", example.mean(axis=1) + 0.01 * rng.normal(size=9))])
    assert "per-example" in with_val.arms[0].effect.ci_method and with_val.arms[0].effect.val_se > 0.5
    assert with_val.arms[0].effect.verdict != Verdict.BETTER       # six images of one fixed val set
    assert seed_only.arms[0].effect.verdict == Verdict.BETTER      # the seed-only view is fooled


def test_futility_only_removes_claims_and_keeps_both_error_rates():
    """Futility stops turn undecided arms into inconclusive: every claim made with it is made without it."""
    rng = np.random.default_rng(21)
    effects = np.array([0.0, 0.0, 0.5, 1.0])                 # SESOI 1: two nulls, one half-SESOI, one at SESOI
    d = effects[None, :, None] + rng.normal(size=(N_STUDIES, 4, 20))
    schedule = sq.look_schedule(3, 2, 20)
    free = sq.replay(d, schedule, futility=0.0)
    strict = sq.replay(d, schedule, futility=0.3)
    claimed = strict["code"] != sq.CODE_INCONCLUSIVE
    assert np.all(strict["code"][claimed] == free["code"][claimed])
    assert np.all(strict["stop_look"][claimed] == free["stop_look"][claimed])
    used_free, used_strict = sq.seeds_used(free, schedule), sq.seeds_used(strict, schedule)
    assert np.all(used_strict <= used_free) and used_strict[:, 2].mean() < used_free[:, 2].mean() - 1.0
    tol = 3 * math.sqrt(0.05 * 0.95 / N_STUDIES)
    null_fp = (strict["code"][:, :2] == sq.CODE_BETTER) | (strict["code"][:, :2] == sq.CODE_WORSE)
    assert float(np.mean(null_fp.any(axis=1))) <= 0.05 + tol
    assert float(np.mean(strict["code"][:, 3] == sq.CODE_EQUIVALENT)) <= 0.05 + tol


def test_predictive_verdict_chance_matches_simulated_continuations():
    """The normal predictive model of the final mean: its chance matches continuing the data by simulation."""
    rng = np.random.default_rng(22)
    n, n_max, sd, sesoi = 9, 20, 1.0, 1.0
    first = rng.normal(0.5, sd, size=(400, n))               # a half-SESOI arm after 9 seeds
    mom = sv.stats_core.paired_moments(first)
    eff_level, eq_level = 0.01, 0.03
    chance = sq.predictive_verdict_chance(mom, n_max, eff_level, eq_level, sesoi)
    assert np.all((chance >= 0) & (chance <= 1))
    # continue each study many times from its own posterior draw of the effect (flat prior, sd taken as known)
    reps = 2000
    theta = mom["mean"][:, None] + mom["sd"][:, None] / math.sqrt(n) * rng.normal(size=(400, reps))
    rest = theta + mom["sd"][:, None] / math.sqrt(n_max - n) * rng.normal(size=(400, reps))
    final = (n * mom["mean"][:, None] + (n_max - n) * rest) / n_max
    se = mom["sd"][:, None] / math.sqrt(n_max)
    hit = (np.abs(final) > sps.norm.isf(eff_level / 2) * se) | (np.abs(final) < sesoi - sps.norm.isf(eq_level) * se)
    np.testing.assert_allclose(chance, hit.mean(axis=1), atol=0.04)


def test_sequential_step_reports_a_futility_stop_as_final_inconclusive():
    rng = np.random.default_rng(23)
    z = rng.normal(size=17)
    z = (z - z.mean()) / z.std(ddof=1)
    stuck = sv.PairedArm("stuck", 0.5 + 2.0 * z)   # half SESOI, seed sd 2 SESOI: 20 seeds settle neither way
    step = sq.sequential_step([stuck], futility=0.05)
    arm = step.arms[0]
    assert step.done and arm.final and arm.more_seeds == 0 and arm.effect.n_seeds < 17
    assert arm.effect.verdict == Verdict.INCONCLUSIVE and "chance of any verdict by 20" in arm.effect.note
    assert any("chance of any verdict" in line for line in step.header)
    again = sq.sequential_step([stuck], futility=0.0)
    assert not again.done and again.arms[0].more_seeds > 0
