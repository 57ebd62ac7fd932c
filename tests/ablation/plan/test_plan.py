"""``augstudy plan``: the data model, seeds found by simulating the study's rule, a real pilot folder, bad input.

Simulations are sized to seconds: small val sets, few arms, 100-400 simulated studies.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from augstudy.ablation.analysis import stats
from augstudy.ablation.plan import plan
from augstudy.ablation.plan.model import NoiseEstimate, calibrate, simulate_correct
from augstudy.ablation.plan.simulate import Scenario, Simulator
from augstudy.errors import UserError


def _simulate(noise, n_val, effects, n_seeds, n_studies, seed=0):
    model = calibrate(noise, n_val)
    shifts = np.array([model.shift_for(e) for e in effects])
    rng = np.random.default_rng(seed)
    seed_rngs = [np.random.default_rng([seed, k]) for k in range(n_seeds)]
    return model, simulate_correct(model, shifts, n_seeds, rng, seed_rngs, n_studies)


# ------------------------------------------------------------------ the data model


@pytest.mark.parametrize("val_sd", [0.0, 0.6])
def test_data_model_reproduces_the_noise_it_was_calibrated_to(val_sd):
    noise = NoiseEstimate(accuracy=0.6, churn=0.12, seed_sd=1.5, val_sd=val_sd, ref_val=1000)
    model, correct = _simulate(noise, 1000, [0.0, 2.0], n_seeds=6, n_studies=300)
    acc = 100 * correct.mean(axis=-1)                                    # [S, 3 runs, n] points
    diffs = acc[:, 1:] - acc[:, :1]                                      # [S, 2 arms, n]
    assert abs(acc[:, 0].mean() - 60.0) < 0.3
    assert abs(diffs[:, 1].mean() - 2.0) < 0.15                          # the true effect, in points
    assert abs(diffs[:, 0].mean()) < 0.15
    seed_sd = np.sqrt(diffs.var(axis=-1, ddof=1).mean())
    assert abs(seed_sd - 1.5) < 0.08, seed_sd
    churn = np.mean(correct[:, 0, 0] != correct[:, 0, 1])                # same arm, two seeds
    assert abs(churn - 0.12) < 0.01, churn
    # the val set's own noise: the spread over studies of the seed-averaged effect
    spread = diffs[:, 0].mean(axis=-1).std(ddof=1)
    expected = math.sqrt(1.5**2 / 6 + val_sd**2)
    assert abs(spread - expected) < 0.12 * expected, (spread, expected)


def test_data_model_rescales_the_churn_share_of_the_seed_sd_with_the_val_size():
    noise = NoiseEstimate(accuracy=0.5, churn=0.2, seed_sd=1.2, val_sd=0.0, ref_val=2000)
    small, large = calibrate(noise, 500), calibrate(noise, 8000)
    assert small.s_h == pytest.approx(large.s_h)                         # the run shift does not depend on n_val
    assert small.seed_floor == pytest.approx(2 * calibrate(noise, 2000).seed_floor)
    assert small.seed_sd > 1.2 > large.seed_sd


def test_contradicting_numbers_are_one_line_errors():
    with pytest.raises(UserError, match="--seed-sd 0.5: below"):
        calibrate(NoiseEstimate(accuracy=0.5, churn=0.2, seed_sd=0.5, val_sd=0.0, ref_val=2000), 2000)
    with pytest.raises(UserError, match="--churn 0.6"):
        calibrate(NoiseEstimate(accuracy=0.8, churn=0.6, seed_sd=3.0, val_sd=0.0, ref_val=2000), 2000)


def test_pilot_estimators_recover_the_churn_and_val_sd_of_simulated_runs():
    from augstudy.ablation.plan.pilot import persistent_variance, same_arm_churn

    noise = NoiseEstimate(accuracy=0.55, churn=0.18, seed_sd=2.0, val_sd=0.8, ref_val=2000)
    _, correct = _simulate(noise, 2000, [0.0], n_seeds=5, n_studies=40, seed=3)
    c = correct.astype(np.float64)
    churn = np.mean([np.mean(same_arm_churn(list(c[j, 0]))) for j in range(40)])
    assert abs(churn - 0.18) < 0.006, churn
    val_sd = 100 * np.sqrt(np.mean([persistent_variance(c[j, 1] - c[j, 0]) for j in range(40)]) / 2000)
    assert abs(val_sd - 0.8) < 0.1, val_sd
    null = NoiseEstimate(accuracy=0.55, churn=0.18, seed_sd=2.0, val_sd=0.0, ref_val=2000)
    _, correct = _simulate(null, 2000, [0.0], n_seeds=5, n_studies=40, seed=4)
    c = correct.astype(np.float64)
    assert 100 * np.sqrt(np.mean([persistent_variance(c[j, 1] - c[j, 0]) for j in range(40)]) / 2000) < 0.25


# ------------------------------------------------------------------ plans on numbers

NUMBERS = dict(val_size=500, arms=2, accuracy=0.6, churn=0.15, sesoi=2.0, auto=False, progress=False, sims=200)


def _seeds(result, question_start):
    """Seeds of the question; more than ``max_seeds`` (None) counts as infinitely many."""
    n = next(r.seeds for r in result.rows if r.question.startswith(question_start))
    return math.inf if n is None else n


def test_more_seeds_for_smaller_effects_and_for_larger_noise():
    quiet = plan(seed_sd=2.0, effects=(1.5, 3.0), **NUMBERS)
    noisy = plan(seed_sd=3.5, effects=(1.5, 3.0), **NUMBERS)
    assert _seeds(quiet, "better at +1.5") > _seeds(quiet, "better at +3") >= 2
    assert _seeds(noisy, "better at +3") > _seeds(quiet, "better at +3")
    assert _seeds(noisy, "equivalent") > _seeds(quiet, "equivalent") and _seeds(quiet, "equivalent") < math.inf
    assert all(0 <= r.false_any <= 1 for r in quiet.rows)               # every question has an arm at 0
    for r in quiet.rows:                   # the reported rate is the one at the recommended count
        assert r.power >= 0.8 and r.curve[r.seeds] == pytest.approx(r.power)
        assert all(v < 0.8 for n, v in r.curve.items() if n < r.seeds)
        assert r.runs == (quiet.arms + 1) * r.seeds


def test_the_recommended_seeds_reach_the_power_in_a_fresh_simulation():
    result = plan(seed_sd=2.0, effects=(2.0,), **NUMBERS)
    model = calibrate(NoiseEstimate(accuracy=0.6, churn=0.15, seed_sd=2.0, val_sd=0.0, ref_val=500), 500)
    fresh = Simulator(model, 2, 2.0, 0.05, seed=12345)
    for row, effects, target in ((result.rows[0], (2.0, 0.0), "better"), (result.rows[1], (0.0, 0.0), "equivalent")):
        k, t = fresh.fixed_rate(Scenario("again", effects, target, key=7), row.seeds, 400)
        rate = k / t
        se = math.sqrt(0.8 * 0.2 / t) + row.power_se                     # both simulations' Monte-Carlo error
        assert rate >= 0.8 - 2.5 * se, (row.question, row.seeds, rate)


def test_the_plan_is_decided_by_the_public_rule(monkeypatch):
    calls = []
    real = stats.decide

    def spy(*args, **kwargs):
        calls.append(kwargs.get("example_diffs") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(stats, "decide", spy)
    plan(seed_sd=2.0, effects=(3.0,), **{**NUMBERS, "sims": 50})
    assert calls and all(calls)                                          # always with the per-example data

    # a rule that never says better: no seed count reaches the power
    monkeypatch.setattr(stats, "decide", lambda diffs, **kw: np.full(np.shape(diffs)[:-1], "inconclusive"))
    blocked = plan(seed_sd=2.0, effects=(3.0,), max_seeds=6, **{**NUMBERS, "sims": 50})
    assert all(r.seeds is None and r.power == 0 for r in blocked.rows)


def test_same_seed_same_plan_and_auto_runs_are_counted():
    a = plan(seed_sd=2.0, effects=(3.0,), **{**NUMBERS, "auto": True, "sims": 100})
    b = plan(seed_sd=2.0, effects=(3.0,), **{**NUMBERS, "auto": True, "sims": 100})
    assert [r.curve for r in a.rows] == [r.curve for r in b.rows]
    assert [r.auto_runs for r in a.rows] == [r.auto_runs for r in b.rows]
    for r in a.rows:
        # at least the first look (3 seeds per arm and the baseline), at most every look
        assert (a.arms + 1) * 3 <= r.auto_runs <= (a.arms + 1) * 20
        assert 0 <= r.auto_power <= 1


# ------------------------------------------------------------------ a real pilot study folder


@pytest.fixture(scope="module")
def pilot_study(tmp_path_factory, one_torch_thread):
    """A real tiny study: 2 arms x 3 seeds of a tiny CNN (tests/user_models.py) on 48 noise images, trained,
    stored and exported by the study runner (seconds)."""
    from augstudy.ablation.runner import run_study
    from study_helpers import noise_dataset, write_specs

    tmp = tmp_path_factory.mktemp("pilot")
    specs = write_specs(tmp / "specs", {"drop": {"baseline_level": 0.3, "levels": {
        0.3: {"model": {"dropout": 0.3}}, 0.0: {"model": {"dropout": 0.0}}}}},
        baseline_changes={"model": {"name": "user_models:tiny_cnn"}})
    out = tmp / "study"
    run_study("drop", seeds=3, budget="tiny", dataset=noise_dataset(24, 24, classes=4), device="cpu", out=out,
              specs_dir=specs, report=False, echo=lambda s: None, budget_override={"train": {"batch_size": 8}})
    return out


def _digest(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_plan_from_a_real_pilot_study_reads_its_noise_and_run_times(pilot_study, tmp_path):
    from augstudy.ablation.analysis.effects import metric_correctness
    from augstudy.ablation.plan.pilot import read_pilot
    from augstudy.ablation.storage.store import StudyStore

    before = _digest(pilot_study)
    pilot = read_pilot(pilot_study)
    assert _digest(pilot_study) == before                                # read-only
    with open(pilot_study / "runs.csv", newline="") as fh:
        runs = [r for r in csv.DictReader(fh) if r["status"] == "done"]
    metric = {(r["arm"], int(r["seed"])): float(r["metric"]) for r in runs}
    base = [metric[("drop=0.3", s)] for s in range(3)]
    diffs = np.array([100 * (metric[("drop=0.0", s)] - metric[("drop=0.3", s)]) for s in range(3)])
    assert pilot.noise.accuracy == pytest.approx(np.mean(base))
    assert pilot.noise.seed_sd == pytest.approx(diffs.std(ddof=1))
    assert pilot.n_val == 24 and pilot.n_arms == 1 and pilot.n_seeds == 3
    assert pilot.seconds_per_run == pytest.approx(np.mean([float(r["wall_s"]) for r in runs]))
    # churn: the per-example correctness the study stored, matched to the study's metric, every
    # pair of seeds of each arm (the store is opened by its own class here, after the pilot was read)
    hashes = {r["arm"]: r["config_hash"] for r in runs}
    store = StudyStore(pilot_study)
    pairs = []
    for arm in ("drop=0.3", "drop=0.0"):
        rids = [f"{hashes[arm]}-seed{s}" for s in range(3)]
        epochs = store.epochs(rids)
        rows = [metric_correctness(store.val_correct_epochs(rid), [e for e in epochs if e["run_id"] == rid])
                for rid in rids]
        pairs += [np.mean((rows[i] - rows[j]) ** 2) for i in range(3) for j in range(i + 1, 3)]
    store.close()
    assert pilot.noise.churn == pytest.approx(np.mean(pairs)) and pilot.noise.churn > 0

    result = plan(pilot_study, val_size=1000, arms=3, effects=(3.0,), sims=100, out=tmp_path / "plan",
                  progress=False)
    assert result.val_size == 1000 and result.arms == 3 and result.noise["ref_val"] == 24
    assert result.seconds_per_run == pytest.approx(pilot.seconds_per_run) and result.device == "cpu"
    for r in result.rows:
        if r.runs is not None:
            assert r.hours == pytest.approx(r.runs * pilot.seconds_per_run / 3600)
        assert r.auto_hours == pytest.approx(r.auto_runs * pilot.seconds_per_run / 3600)
    saved = json.loads((tmp_path / "plan" / "plan.json").read_text())
    assert [row["seeds"] for row in saved["rows"]] == [r.seeds for r in result.rows]
    with open(tmp_path / "plan" / "plan.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [row["question"] for row in rows] == [r.question for r in result.rows]
    assert "CPU h" in result.table() and str(pilot_study) in result.table()


def test_plan_command_on_a_pilot_prints_the_table_and_the_paths(pilot_study, tmp_path, cli_runner):
    res = cli_runner("plan", "--from", str(pilot_study), "--val-size", "500", "--effect", "4", "--sims", "50",
                     "--no-auto", "--out", str(tmp_path / "p"))
    assert res.exit_code == 0, res.output
    assert "better at +4 pts" in res.output and "equivalent inside +-" in res.output
    assert f"wrote {tmp_path / 'p' / 'plan.json'}" in res.output and (tmp_path / "p" / "plan.csv").is_file()


# ------------------------------------------------------------------ bad input through the CLI


@pytest.mark.parametrize("args,names", [
    (["--val-size", "2000", "--arms", "4", "--seed-sd", "1", "--sesoi", "-1"], "--sesoi -1"),
    (["--val-size", "0", "--arms", "4", "--seed-sd", "1"], "--val-size 0"),
    (["--val-size", "2000", "--arms", "0", "--seed-sd", "1"], "--arms 0"),
    (["--val-size", "2000", "--arms", "2"], "missing --seed-sd"),
    (["--val-size", "2000", "--arms", "2", "--seed-sd", "1", "--effect", "0,1"], "--effect 0"),
])
def test_bad_numbers_are_one_line_and_exit_2(cli_runner, args, names):
    res = cli_runner("plan", *args)
    assert res.exit_code == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], res.stderr


def test_a_folder_that_is_not_a_study_is_one_line(run_console, tmp_path):
    (tmp_path / "notes.txt").write_text("not a study")
    res = run_console("plan", "--from", str(tmp_path), env={"AUGSTUDY_NO_PROGRESS": "1"})
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a study directory (no study.json)" in lines[0], res.stderr
    assert "Traceback" not in res.stderr and str(tmp_path) in lines[0]


def test_seed_search_finds_the_smallest_count_and_checks_the_bracket_on_all_studies():
    from augstudy.ablation.plan.simulate import seeds_needed

    calls = []

    def rate_at(n, sims):                  # true power n / 20; a quarter of the studies is luckier by 0.1
        calls.append((n, sims))
        return round(min(1.0, n / 20 + (0.1 if sims < 400 else 0.0)) * sims), sims

    n, curve = seeds_needed(rate_at, 400, power=0.8, max_seeds=64)
    assert n == 16 and curve[16] >= 0.8 and curve[15] < 0.8
    assert {(15, 400), (16, 400)} <= set(calls)                 # the answer is judged on every study
    none, _ = seeds_needed(lambda n, s: (0, s), 400, power=0.8, max_seeds=10)
    assert none is None


def test_top_level_api_is_the_same_plan():
    import augstudy

    args = dict(val_size=300, arms=1, seed_sd=4.0, accuracy=0.7, churn=0.1, effects=(5.0,), sims=50, auto=False)
    via_api = augstudy.plan(**args)
    direct = plan(progress=False, **args)
    assert isinstance(via_api, augstudy.PlanResult)
    assert [r.curve for r in via_api.rows] == [r.curve for r in direct.rows]
    assert via_api.table().splitlines()[4:] == direct.table().splitlines()[4:]


def test_false_claims_count_only_arms_whose_truth_is_zero(monkeypatch):
    """A rule that calls arm 0 'worse' in every study: a false claim where arm 0 is truly 0 (the
    equivalence question), none where arm 0 is the +X arm; the table prints the rate."""
    def arm0_worse(diffs, **kw):
        out = np.full(np.shape(diffs)[:-1], "inconclusive", dtype=object)
        out[..., 0] = "worse"
        return out

    monkeypatch.setattr(stats, "decide", arm0_worse)
    result = plan(seed_sd=2.0, effects=(3.0,), max_seeds=4, **{**NUMBERS, "sims": 50})
    better, equivalent = result.rows
    assert better.false_any == 0.0 and equivalent.false_any == 1.0
    assert "a better/worse in 100.0% of the simulated studies at 4 seeds" in result.table()
