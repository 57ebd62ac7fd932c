"""Effect table v3 (issue 17): divergence attributed to the right side, no pair dropped silently,
verdicts coherent with the printed interval, and ``decide()`` equal to a study's stored verdicts."""

import math

import numpy as np
import pytest

from augstudy.ablation.analysis import effects
from augstudy.ablation.analysis.stats import simulate as sim, verdicts as sv
from augstudy.ablation.terms import Verdict


def _run(arm, seed, metric, status="done", correct=None):
    run = {"arm": arm, "level": arm, "seed": seed, "status": status, "metric": metric,
           "epochs": [{"epoch": 1, "val_acc": metric, "train_acc": metric}]}
    if correct is not None:
        run["correct"] = correct
    return run


def _sim_runs(rng, arms=4, seeds=5, n_val=500, effects_pts=None, example_effect_sd=0.0):
    """A study's runs from the per-example data model, with per-example correctness stored."""
    c = sim.simulate_correct(rng, 1, arms, seeds, n_val, sim.val_sd(n_val), effects_pts,
                             example_effect_sd=example_effect_sd)[0]
    names = ["base"] + [f"arm{a}" for a in range(arms)]
    runs = [_run(names[k], s, float(c[k, s].mean()), correct=c[k, s]) for k in range(arms + 1) for s in range(seeds)]
    e = 100.0 * (c[1:] - c[:1])
    return runs, e.mean(axis=-1), e


def test_decide_equals_the_verdicts_a_study_stores_on_the_same_data():
    rng = np.random.default_rng(11)
    for k in range(6):
        effects_pts = np.array([0.0, 1.5, -1.5, 4.0]) * (k % 3)
        runs, d, e = _sim_runs(rng, effects_pts=effects_pts, seeds=3 + k % 3, n_val=400)
        res = effects.compute_effects(runs, "base", "f")
        stored = [r.decision for r in res.rows]
        assert stored == list(sv.decide(d, example_diffs=e)), k
        assert all("val-set sampling variance" in r.ci_method for r in res.rows)


def test_a_diverged_baseline_seed_warns_once_and_makes_no_arm_unstable():
    rng = np.random.default_rng(1)
    runs = []
    for s in range(5):
        base = 0.50 + rng.normal(0, 0.002)
        runs.append(_run("base", s, 0.005 if s == 2 else base, status="diverged" if s == 2 else "done"))
        runs += [_run(f"arm{a}", s, base + 0.001 * a + rng.normal(0, 0.002)) for a in range(3)]
    res = effects.compute_effects(runs, "base", "f", chance=0.005)
    assert [r.verdict for r in res.rows if r.verdict == "unstable"] == []
    assert all(r.n_seeds == 4 and r.n_diverged == 0 and "seed 2 left out: the baseline diverged" in r.note
               for r in res.rows)
    assert all(abs(r.effect_mean) < 2 for r in res.rows)          # not +50 points from a chance-level baseline
    assert sum("baseline diverged on seed 2" in line for line in res.header) == 1


def test_a_diverged_arm_seed_whose_baseline_run_failed_is_counted_not_dropped():
    runs = [_run("base", s, 0.50 + 0.001 * s) for s in range(4)] + [_run("base", 4, 0.5, status="failed")]
    runs += [_run("a", s, 0.52 + 0.001 * s) for s in range(4)] + [_run("a", 4, 0.0, status="diverged")]
    row = effects.compute_effects(runs, "base", "f", chance=0.005).rows[0]
    assert row.n_diverged == 1 and row.verdict == "unstable"
    assert "diverged on seed 4 where the baseline run has no result" in row.note
    assert row.n_seeds == 4


def test_seeds_auto_with_one_diverged_arm_decides_every_arm_on_the_printed_variance():
    rng = np.random.default_rng(5)
    runs, _, _ = _sim_runs(rng, arms=3, seeds=3, n_val=300, effects_pts=np.array([6.0, 0.0, 0.0]),
                           example_effect_sd=30.0)     # arms differ by image: a val term to lose
    runs = [dict(r, status="diverged", metric=None, correct=None) if (r["arm"] == "arm2" and r["seed"] == 1) else r
            for r in runs]
    res = effects.compute_effects(runs, "base", "f", chance=0.005, sequential=effects.SequentialPlan(3, 2, 7))
    rows = {r.arm: r for r in res.rows}
    assert rows["arm2"].verdict == "unstable"
    for r in res.rows:
        assert "val-set sampling variance" in r.ci_method and r.val_se > 0      # the val term kept for all
        if r.decision in ("better", "worse"):
            assert r.ci_low > 0 or r.ci_high < 0
        else:
            assert r.ci_low <= 0 <= r.ci_high or r.decision == "equivalent"


def test_equivalent_never_beside_an_unbounded_interval():
    """5 identical differences without per-example data: the exact sign-flip floor 2/32 > 5% leaves the
    interval unbounded, so the one-sided floor 1/32 must not make the arm equivalent."""
    a = sv.analyze_family([sv.PairedArm("tie", np.full(5, 0.2))]).arms[0]
    assert math.isinf(a.ci_low) and a.decision != Verdict.EQUIVALENT
    assert sv.decide(np.full((1, 5), 0.2))[0] != Verdict.EQUIVALENT


@pytest.mark.parametrize("seed", range(3))
def test_verdicts_never_contradict_the_printed_interval(seed):
    rng = np.random.default_rng(seed)
    arms = [sv.PairedArm(f"a{i}", rng.normal(rng.normal(0, 2), rng.uniform(0.1, 3), size=int(rng.integers(2, 8))))
            for i in range(6)]
    for a in sv.analyze_family(arms).arms:
        if a.decision in (Verdict.BETTER, Verdict.WORSE):
            assert (a.ci_low > 0 or a.ci_high < 0) and (a.decision == Verdict.BETTER) == (a.effect_mean > 0)
        else:
            assert a.ci_low <= 0 <= a.ci_high
        if a.decision == Verdict.EQUIVALENT:
            assert math.isfinite(a.ci_low) and math.isfinite(a.ci_high)
