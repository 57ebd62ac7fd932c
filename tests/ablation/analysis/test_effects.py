"""The effect table from runs, and the effects.csv / effects.md / arms.csv files."""

import csv
import math

import numpy as np
import pytest

from augstudy.ablation.analysis import effect_table
from augstudy.ablation.analysis import effects
from augstudy.ablation.storage import schema
from augstudy.ablation.analysis.stats import verdicts as stats_verdicts
from augstudy.errors import UserError

# The study-directory contract (ARCHITECTURE.md "Study directory"), spelled out here on purpose.
CONTRACT_EFFECT_COLUMNS = [
    "factor", "arm", "level", "n_seeds", "effect_mean", "ci_low", "ci_high", "ci_level", "p_value", "p_adjusted",
    "significant", "tost_p", "equivalent", "p_improve", "p_improve_low", "p_improve_high", "d_z", "d_z_low",
    "d_z_high", "verdict", "decision", "seeds_needed", "mde", "rank", "ci_method", "sd_seed", "val_se",
    "metric_mean", "metric_std", "best_val_acc", "stability", "gen_gap", "n_diverged", "note",
]
CONTRACT_ARM_COLUMNS = ["arm", "level", "is_baseline", "n_seeds", "metric_mean", "metric_std",
                        "best_val_acc", "stability", "gen_gap", "n_diverged"]


def _epochs(val_accs, train_accs=None):
    train_accs = train_accs or [v + 0.1 for v in val_accs]
    return [{"epoch": i + 1, "train_acc": t, "val_acc": v, "train_loss": 1.0, "val_loss": 1.0}
            for i, (t, v) in enumerate(zip(train_accs, val_accs))]


def _run(arm, seed, final, status="done", level=None, metric=None, n_epochs=4):
    curve = [final - 0.01 * (n_epochs - 1 - i) for i in range(n_epochs)]
    return {"arm": arm, "level": level if level is not None else arm.split("=")[-1], "seed": seed,
            "status": status, "metric": metric, "epochs": _epochs(curve)}


def _study_runs(n_seeds=5, seed=0):
    """dropout study: baseline 0.3, 0.0 clearly worse, 0.5 clearly better, 0.1 a tiny effect."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0, 0.01, n_seeds)
    true = {"dropout=0.3": 0.0, "dropout=0.0": -0.03, "dropout=0.5": 0.02, "dropout=0.1": 0.0005}
    return [_run(arm, s, 0.45 + eff + shared[s] + rng.normal(0, 0.001))
            for arm, eff in true.items() for s in range(n_seeds)]


# ------------------------------------------------------------------ metric_from_epochs


def test_metric_from_epochs_variants():
    ep = _epochs([0.30, 0.40, 0.50, 0.45, 0.47])
    assert effects.metric_from_epochs(ep, "last3") == pytest.approx((0.50 + 0.45 + 0.47) / 3)
    assert effects.metric_from_epochs(ep, "best") == 0.50
    assert effects.metric_from_epochs(ep, "final") == 0.47
    assert effects.metric_from_epochs(list(reversed(ep)), "final") == 0.47     # ordered by epoch
    assert effects.metric_from_epochs(_epochs([0.2, 0.4]), "last3") == pytest.approx(0.3)   # fewer than 3


def test_metric_from_epochs_rejects_unknown_metric_and_empty_runs():
    with pytest.raises(ValueError, match="metric 'top5' is not one of last3, best, final"):   # StudyOptions owns the user's message
        effects.metric_from_epochs(_epochs([0.3]), "top5")
    with pytest.raises(ValueError, match="no epoch"):
        effects.metric_from_epochs([], "last3")


# ------------------------------------------------------------------ compute_effects


def test_compute_effects_ranks_verdicts_and_summaries():
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout", "last3")
    rows = {r.arm: r for r in res.rows}
    assert list(rows) == ["dropout=0.0", "dropout=0.5", "dropout=0.1"]
    assert [r.arm for r in res.ranked_rows()] == ["dropout=0.5", "dropout=0.1", "dropout=0.0"]
    assert rows["dropout=0.5"].rank == 1 and rows["dropout=0.5"].verdict == "better"
    assert rows["dropout=0.0"].verdict == "worse"
    assert rows["dropout=0.0"].effect_mean == pytest.approx(-3.0, abs=0.3)        # accuracy points
    # 0.05 points with 0.1-point seed noise: inside +-1 point, shown as equivalent
    assert rows["dropout=0.1"].verdict == "equivalent" and rows["dropout=0.1"].equivalent
    assert all(r.factor == "dropout" and r.n_seeds == 5 for r in res.rows)
    assert rows["dropout=0.5"].level == "0.5"
    assert [a["arm"] for a in res.arms][0] == "dropout=0.3" and res.arms[0]["is_baseline"] is True
    assert res.noise["n_seeds"] == 5 and res.family == "this study"


def test_rows_are_the_verdict_layers_arm_effects():
    """effects.csv's statistics are analyze_family's (Holm over the study's arms), value for value."""
    runs = _study_runs()
    res = effects.compute_effects(runs, "dropout=0.3", "dropout", "final", sesoi=0.5)
    per_seed = {}
    for r in runs:
        per_seed.setdefault(r["arm"], {})[r["seed"]] = r["epochs"][-1]["val_acc"]
    paired = [stats_verdicts.pair_arm(a, per_seed[a], per_seed["dropout=0.3"])
              for a in ("dropout=0.0", "dropout=0.5", "dropout=0.1")]
    family = stats_verdicts.analyze_family(paired, sesoi=0.5)
    for got, want in zip(res.rows, family.arms):
        assert got.arm == want.arm
        for key, value in want.to_dict().items():
            if key in schema.EFFECT_COLUMNS and key != "tost_p_adjusted":
                mine = getattr(got, key)
                assert mine == value or (mine != mine and value != value), key   # NaN == NaN here
    assert res.header[1:] == family.header_lines()
    assert "SESOI +-0.5 pts" in res.header[1] and "Holm" in res.header[3] and "biased upward" in res.header[-1]


def test_holm_makes_significance_and_the_adjusted_p_agree():
    """With many arms the per-arm p is adjusted; significant <=> adjusted p < 0.05 <=> the interval excludes 0."""
    rng = np.random.default_rng(3)
    runs = []
    for k, eff in enumerate([0.0] * 6 + [0.012, 0.03]):
        arm = "b" if k == 0 else f"a{k}"
        runs += [_run(arm, s, 0.45 + eff + rng.normal(0, 0.006)) for s in range(4)]
    res = effects.compute_effects(runs, "b", "f")
    for row in res.rows:
        assert row.p_adjusted >= row.p_value
        assert row.significant == (row.p_adjusted < 0.05) == (row.ci_low > 0 or row.ci_high < 0), row
        assert row.ci_level >= 0.95


def test_only_seeds_with_results_are_paired_and_diverged_seeds_count_at_chance():
    runs = [_run("b", s, 0.5) for s in range(4)] + [_run("b", 4, 0.5, status="running")]
    runs += [_run("a", 0, 0.52), _run("a", 1, 0.52), _run("a", 2, 0.01, status="diverged"),
             _run("a", 3, 0.52, status="failed"), _run("a", 4, 0.52)]
    res = effects.compute_effects(runs, "b", "f", chance=0.1)
    row = res.rows[0]
    assert row.n_seeds == 3                            # seeds 0, 1 and the diverged 2 (4: baseline running)
    assert row.n_diverged == 1 and row.verdict == "unstable"
    # last3 of the baseline is 0.49: the diverged seed counts 10% (chance) - 49%
    assert row.effect_mean == pytest.approx((2.0 + 2.0 + 100 * (0.1 - 0.49)) / 3)
    arms = {a["arm"]: a for a in res.arms}
    assert arms["a"]["n_seeds"] == 3 and arms["a"]["n_diverged"] == 1 and arms["b"]["n_seeds"] == 4
    with pytest.raises(ValueError, match="chance"):
        effects.compute_effects(runs, "b", "f")


def test_a_diverged_arm_that_looked_better_is_unstable_and_worse_on_its_decision():
    """Dropping diverged seeds made a 2-of-5 diverging arm look better; counted at chance it is not."""
    runs = [_run("b", s, 0.50 + 0.002 * s) for s in range(5)]
    runs += [_run("a", s, 0.51 + 0.002 * s) for s in range(3)]
    runs += [_run("a", s, 0.0, status="diverged") for s in (3, 4)]
    row = effects.compute_effects(runs, "b", "f", chance=0.005).rows[0]
    assert row.verdict == "unstable" and row.decision != "better" and row.effect_mean < -10


def test_per_example_correctness_widens_a_tied_interval():
    """Every seed's difference equal (a tie on 160 images): without the val term the sign-flip floor decides;
    with per-example correctness the interval is finite and honest, never better/worse at 3 seeds."""
    rng = np.random.default_rng(0)
    base = rng.random((3, 160)) < 0.5
    runs = []
    for s in range(3):
        arm = base[s].copy()
        arm[np.flatnonzero(~arm)[:2]] = True         # 2 more right answers on every seed: +1.25 points
        runs.append({**_run("b", s, base[s].mean()), "metric": base[s].mean(), "correct": base[s].astype(float)})
        runs.append({**_run("a", s, arm.mean()), "metric": arm.mean(), "correct": arm.astype(float)})
    row = effects.compute_effects(runs, "b", "f").rows[0]
    assert row.effect_mean == pytest.approx(1.25)
    assert row.verdict not in ("better", "worse") and row.val_se > 0
    assert "val-set sampling variance" in row.ci_method


def test_metric_correctness_follows_the_metric():
    ep = _epochs([0.30, 0.50, 0.45, 0.47])
    c = {1: np.array([1, 0, 0, 0], bool), 2: np.array([1, 1, 0, 0], bool), 3: np.array([0, 1, 1, 0], bool),
         4: np.array([0, 0, 1, 1], bool)}
    assert effects.metric_correctness(c, ep, "final").tolist() == [0, 0, 1, 1]
    assert effects.metric_correctness(c, ep, "best").tolist() == [1, 1, 0, 0]
    assert effects.metric_correctness(c, ep, "last3") == pytest.approx([1 / 3, 2 / 3, 2 / 3, 1 / 3])
    assert effects.metric_correctness({4: c[4]}, ep, "last3") is None     # an epoch without stored correctness


def test_arm_summary_hand_computed():
    # seed 0: val .30 .40 .50 .46, train .50 .60 .70 .80; seed 1: val .32 .42 .48 .48, train .9 at end
    runs = [
        {"arm": "b", "level": "x", "seed": 0, "status": "done", "metric": None,
         "epochs": _epochs([0.30, 0.40, 0.50, 0.46], [0.50, 0.60, 0.70, 0.80])},
        {"arm": "b", "level": "x", "seed": 1, "status": "done", "metric": None,
         "epochs": _epochs([0.32, 0.42, 0.48, 0.48], [0.50, 0.60, 0.70, 0.90])},
    ]
    res = effects.compute_effects(runs, "b", "f", "final")
    arm = res.arms[0]
    assert arm["metric_mean"] == pytest.approx(47.0)                     # (46 + 48) / 2
    assert arm["metric_std"] == pytest.approx(math.sqrt(2.0))            # std of 46, 48 (ddof=1)
    assert arm["best_val_acc"] == pytest.approx(49.0)                    # mean of peaks 50, 48
    # second halves: [.50, .46] -> sd 2.828 pts; [.48, .48] -> 0; mean 1.414
    assert arm["stability"] == pytest.approx(math.sqrt(8.0) / 2)
    assert arm["gen_gap"] == pytest.approx((34.0 + 42.0) / 2)
    assert res.rows == []
    assert res.noise["baseline_std"] == pytest.approx(math.sqrt(2.0))


def test_the_callers_metric_wins_over_epochs():
    runs = [_run("b", s, 0.5, metric=0.40) for s in range(3)] + [_run("a", s, 0.5, metric=0.42) for s in range(3)]
    res = effects.compute_effects(runs, "b", "f")
    assert res.rows[0].effect_mean == pytest.approx(2.0)


def test_bad_inputs_fail_with_one_line_messages():
    runs = [_run("b", 0, 0.5), _run("a", 0, 0.5)]
    with pytest.raises(UserError, match="baseline arm 'base' has no runs; arms with runs: a, b"):
        effects.compute_effects(runs, "base", "f")
    with pytest.raises(ValueError, match="metric 'top1' is not one of"):     # a guard: StudyOptions tells the user
        effects.compute_effects(runs, "b", "f", metric_name="top1")
    with pytest.raises(ValueError, match="not a fraction"):
        effects.compute_effects([_run("b", 0, 0.5, metric=47.0)], "b", "f")


def test_ablate_all_is_one_family():
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "all")
    assert res.family == "every arm of ablate all" and "3 arms of every arm of ablate all" in " ".join(res.header)


# ------------------------------------------------------------------ files and tables


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_write_effects_columns_order_and_contents(tmp_path):
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout")
    paths = effects.write_effects(res, tmp_path / "study")
    assert set(paths) == {"effects_csv", "effects_md", "arms_csv"}
    table = _read_csv(paths["effects_csv"])
    assert table[0] == CONTRACT_EFFECT_COLUMNS
    records = [dict(zip(table[0], r)) for r in table[1:]]
    assert [r["rank"] for r in records] == ["1", "2", "3"]
    assert [r["arm"] for r in records] == ["dropout=0.5", "dropout=0.1", "dropout=0.0"]
    assert records[0]["significant"] == "True" and records[1]["verdict"] == "equivalent"
    assert float(records[2]["effect_mean"]) == pytest.approx(res.ranked_rows()[2].effect_mean, rel=1e-5)
    assert records[0]["ci_method"].startswith("paired t over seeds")
    arms = _read_csv(paths["arms_csv"])
    assert arms[0] == CONTRACT_ARM_COLUMNS
    assert [r[0] for r in arms[1:]] == ["dropout=0.3", "dropout=0.0", "dropout=0.5", "dropout=0.1"]
    assert [p.name for p in (tmp_path / "study").iterdir() if p.name.startswith(".")] == []  # no temp left


def test_terminal_markdown_and_report_share_header_and_cells(tmp_path):
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout")
    md = effects.write_effects(res, tmp_path)["effects_md"].read_text()
    text = effect_table.format_effect_table(res.rows, res.header)
    for line in res.header:
        assert f"- {line}" in md and line in text
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| rank | arm |")
    assert [line.split(" | ")[1] for line in table[1:]] == ["dropout=0.5", "dropout=0.1", "dropout=0.0"]
    for row in res.ranked_rows():
        cells = effect_table.display_cells(row)
        assert "| " + " | ".join(cells[c] for c in effect_table.DISPLAY_COLUMNS) + " |" in md
    assert "equivalent" in table[2] and "*" in table[1]


def test_unbounded_and_missing_values_in_csv(tmp_path):
    runs = [_run("b", 0, 0.5), _run("b", 1, 0.5), _run("a", 0, 0.52), _run("c", 5, 0.5)]
    res = effects.compute_effects(runs, "b", "f")
    paths = effects.write_effects(res, tmp_path)
    records = {r["arm"]: r for r in csv.DictReader(open(paths["effects_csv"]))}
    assert (records["a"]["ci_low"], records["a"]["ci_high"]) == ("-inf", "inf")
    assert "needs >= 2 seeds" in records["a"]["note"] and records["a"]["verdict"] == "inconclusive"
    assert records["c"]["rank"] == "" and records["c"]["effect_mean"] == ""   # no paired seeds
    text = effect_table.format_effect_table(res.rows, res.header)
    assert "+inf" in text and "c: no paired seeds" in text


def test_format_effect_table_sorted_marked_and_empty():
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout")
    text = effect_table.format_effect_table(res.rows, res.header)
    lines = text.splitlines()
    body = lines[lines.index(next(l for l in lines if l.startswith("----"))) + 1:]
    assert [l.split()[1] for l in body] == ["dropout=0.5", "dropout=0.1", "dropout=0.0"]
    assert "*" in body[0] and "better" in body[0]
    assert "equivalent" in body[1] and "*" not in body[1]
    assert "(no arms to compare yet)" in effect_table.format_effect_table([], res.header)
    assert effect_table.LEGACY_HEADER in effect_table.format_effect_table(res.rows, None)


def test_rewrite_replaces_files_atomically(tmp_path):
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout")
    effects.write_effects(res, tmp_path)
    res.rows = [r for r in res.rows if r.arm != "dropout=0.1"]
    effects.write_effects(res, tmp_path)
    assert len(_read_csv(tmp_path / "effects.csv")) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arms.csv", "effects.csv", "effects.md"]


def test_effects_csv_round_trips_through_the_schema(tmp_path):
    """What the report reads back (EffectRow.from_csv_row) is what ablate computed, cell for cell."""
    runs = [_run("b", s, 0.5 + 0.01 * (s % 2)) for s in range(4)]
    runs += [_run("a", s, 0.5 + 0.01 * (s % 2) + 0.02 * (-1) ** s) for s in range(4)]
    runs += [_run("c", 9, 0.5)]                                       # no paired seeds: NaN, no rank
    res = effects.compute_effects(runs + _study_runs(), "b", "f")
    path = effects.write_effects(res, tmp_path)["effects_csv"]
    back = schema.read_effects_csv(path)
    assert [r.arm for r in back] == [r.arm for r in res.ranked_rows()]
    for got, want in zip(back, res.ranked_rows()):
        assert got.csv_cells() == want.csv_cells()
        assert got.verdict == want.verdict and got.significant == want.significant
    text = path.read_text()
    bad = tmp_path / "bad.csv"
    lines = text.splitlines()
    cells = lines[1].split(",")
    cells[schema.EFFECT_COLUMNS.index("effect_mean")] = "lots"
    bad.write_text("\n".join([lines[0], ",".join(cells)]) + "\n")
    with pytest.raises(ValueError, match="row 2, column effect_mean"):
        schema.read_effects_csv(bad)
