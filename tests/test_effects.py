"""The effect table from runs, and the effects.csv / effects.md / arms.csv files."""

import csv
import math

import numpy as np
import pytest

from augstudy.ablate import effect_table, effects, schema, stats
from augstudy.errors import UserError

# The study-directory contract (ARCHITECTURE.md + the task spec), spelled out here on purpose.
CONTRACT_EFFECT_COLUMNS = [
    "factor", "arm", "level", "n_seeds", "effect_mean", "ci_low", "ci_high", "p_value", "p_improve",
    "significant", "rank", "ci_method", "p_floor", "metric_mean", "metric_std", "best_val_acc",
    "stability", "gen_gap", "n_diverged", "within_noise", "seeds_needed",
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
    with pytest.raises(UserError, match="--metric: unknown metric 'top5'; use one of last3, best, final"):
        effects.metric_from_epochs(_epochs([0.3]), "top5")
    with pytest.raises(ValueError, match="no epoch"):
        effects.metric_from_epochs([], "last3")


# ------------------------------------------------------------------ compute_effects


def test_compute_effects_ranks_labels_and_summaries():
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout", "last3", n_boot=2000)
    rows = {r.arm: r for r in res.rows}
    assert list(rows) == ["dropout=0.0", "dropout=0.5", "dropout=0.1"]
    assert [r.arm for r in res.ranked_rows()] == ["dropout=0.5", "dropout=0.1", "dropout=0.0"]
    assert rows["dropout=0.5"].rank == 1 and rows["dropout=0.5"].significant
    assert rows["dropout=0.0"].verdict == "worse"
    assert rows["dropout=0.0"].effect_mean == pytest.approx(-3.0, abs=0.3)        # accuracy points
    assert rows["dropout=0.1"].within_noise and rows["dropout=0.1"].verdict == "within noise"
    assert all(r.factor == "dropout" and r.n_seeds == 5 for r in res.rows)
    assert rows["dropout=0.5"].level == "0.5"
    assert [a["arm"] for a in res.arms][0] == "dropout=0.3" and res.arms[0]["is_baseline"] is True
    assert res.noise["n_seeds"] == 5 and res.noise["p_floor"] == 2 / 32


def test_effects_match_the_statistics_on_the_paired_metrics():
    runs = _study_runs()
    res = effects.compute_effects(runs, "dropout=0.3", "dropout", "final", n_boot=2000)
    per_seed = {}
    for r in runs:
        per_seed.setdefault(r["arm"], {})[r["seed"]] = r["epochs"][-1]["val_acc"]
    expected = stats.effect_table(per_seed, "dropout=0.3", n_boot=2000)
    for got, want in zip(res.rows, expected):
        for key in ("effect_mean", "ci_low", "ci_high", "p_value", "p_improve", "rank", "seeds_needed"):
            assert getattr(got, key) == want[key], key


def test_only_seeds_finished_in_both_arms_are_paired_and_diverged_are_counted():
    runs = [_run("b", s, 0.5) for s in range(4)] + [_run("b", 4, 0.5, status="running")]
    runs += [_run("a", 0, 0.52), _run("a", 1, 0.52), _run("a", 2, 0.01, status="diverged"),
             _run("a", 3, 0.52, status="failed"), _run("a", 4, 0.52)]
    res = effects.compute_effects(runs, "b", "f", n_boot=2000)
    row = res.rows[0]
    assert row.n_seeds == 2                            # seeds 0, 1 (4 is running in the baseline)
    assert row.n_diverged == 1
    assert row.effect_mean == pytest.approx(2.0)
    arms = {a["arm"]: a for a in res.arms}
    assert arms["a"]["n_seeds"] == 3 and arms["b"]["n_seeds"] == 4


def test_diverged_runs_can_be_included_with_the_callers_metric():
    runs = [_run("b", s, 0.5, metric=0.5) for s in range(3)]
    runs += [_run("a", 0, 0.5, metric=0.5), _run("a", 1, 0.5, metric=0.5),
             _run("a", 2, 0.5, status="diverged", metric=0.005)]
    res = effects.compute_effects(runs, "b", "f", diverged="include", n_boot=2000)
    assert res.rows[0].n_seeds == 3
    assert res.rows[0].effect_mean == pytest.approx(100 * (0.005 - 0.5) / 3)
    assert res.rows[0].n_diverged == 1
    with pytest.raises(UserError, match="--diverged: unknown policy 'drop'"):
        effects.compute_effects(runs, "b", "f", diverged="drop")


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
    with pytest.raises(UserError, match="--metric"):
        effects.compute_effects(runs, "b", "f", metric_name="top1")
    with pytest.raises(ValueError, match="not a fraction"):
        effects.compute_effects([_run("b", 0, 0.5, metric=47.0)], "b", "f")


# ------------------------------------------------------------------ files and tables


def _read_csv(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_write_effects_columns_order_and_contents(tmp_path):
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout", n_boot=2000)
    paths = effects.write_effects(res, tmp_path / "study")
    assert set(paths) == {"effects_csv", "effects_md", "arms_csv"}
    table = _read_csv(paths["effects_csv"])
    assert table[0][:len(CONTRACT_EFFECT_COLUMNS)] == CONTRACT_EFFECT_COLUMNS
    records = [dict(zip(table[0], r)) for r in table[1:]]
    assert [r["rank"] for r in records] == ["1", "2", "3"]
    assert [r["arm"] for r in records] == ["dropout=0.5", "dropout=0.1", "dropout=0.0"]
    assert records[0]["significant"] == "True" and records[1]["within_noise"] == "True"
    assert float(records[2]["effect_mean"]) == pytest.approx(res.ranked_rows()[2].effect_mean, rel=1e-5)
    assert records[0]["ci_method"] == "paired-t" and float(records[0]["p_floor"]) == 0.0625
    arms = _read_csv(paths["arms_csv"])
    assert arms[0] == CONTRACT_ARM_COLUMNS
    assert [r[0] for r in arms[1:]] == ["dropout=0.3", "dropout=0.0", "dropout=0.5", "dropout=0.1"]
    assert [p.name for p in (tmp_path / "study").iterdir() if p.name.startswith(".")] == []  # no temp left


def test_effects_markdown_header_and_table(tmp_path):
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout", n_boot=2000)
    md = effects.write_effects(res, tmp_path)["effects_md"].read_text()
    noise = res.noise
    assert "last3" in md and "paired-t" in md
    assert f"baseline seed-to-seed std {noise['baseline_std']:.2f} pts" in md
    assert f"minimum detectable effect {noise['mde']:.2f} pts at n=5 seeds" in md
    assert "floor 0.0625" in md
    table = [line for line in md.splitlines() if line.startswith("| ")]
    assert table[0].startswith("| rank | arm |")
    assert [line.split(" | ")[1] for line in table[1:]] == ["dropout=0.5", "dropout=0.1", "dropout=0.0"]
    assert "within noise" in table[2] and "+" in table[1] and "*" in table[1]


def test_unbounded_and_missing_values_in_csv(tmp_path):
    runs = [_run("b", 0, 0.5), _run("b", 1, 0.5), _run("a", 0, 0.52), _run("c", 5, 0.5)]
    res = effects.compute_effects(runs, "b", "f")
    paths = effects.write_effects(res, tmp_path)
    records = {r["arm"]: r for r in csv.DictReader(open(paths["effects_csv"]))}
    assert (records["a"]["ci_low"], records["a"]["ci_high"]) == ("-inf", "inf")
    assert records["a"]["note"] == "needs >= 2 seeds" and records["a"]["verdict"] == "needs >= 2 seeds"
    assert records["c"]["rank"] == "" and records["c"]["effect_mean"] == ""   # no paired seeds
    text = effect_table.format_effect_table(res.rows, res.noise)
    assert "+inf" in text and "no paired seeds" in text


def test_seeds_needed_beyond_the_search_limit_is_written_as_more_than_200(tmp_path):
    runs = [_run("b", s, 0.5 + 0.01 * (s % 2)) for s in range(4)]
    runs += [_run("a", s, 0.5 + 0.01 * (s % 2) + (0.0001 if s == 0 else 0.0)) for s in range(4)]
    runs += [_run("z", s, 0.5 + 0.01 * (s % 2) + 0.02 * (-1) ** s) for s in range(4)]   # noisy diffs
    res = effects.compute_effects(runs, "b", "f")
    row = next(r for r in res.rows if r.arm == "a")
    assert row.seeds_needed == stats.SEEDS_NEEDED_MAX + 1
    records = {r["arm"]: r for r in csv.DictReader(open(effects.write_effects(res, tmp_path)["effects_csv"]))}
    assert records["a"]["seeds_needed"] == ">200"


def test_format_effect_table_sorted_marked_and_empty():
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout", n_boot=2000)
    text = effect_table.format_effect_table(res.rows, res.noise, "last3")
    lines = text.splitlines()
    body = lines[lines.index(next(l for l in lines if l.startswith("----"))) + 1:]
    assert [l.split()[1] for l in body] == ["dropout=0.5", "dropout=0.1", "dropout=0.0"]
    assert "*" in body[0] and "better" in body[0]
    assert "within noise" in body[1] and "*" not in body[1]
    assert "Noise floor" in text and "p-value" in text
    assert "(no arms to compare yet)" in effect_table.format_effect_table([], res.noise)


def test_rewrite_replaces_files_atomically(tmp_path):
    res = effects.compute_effects(_study_runs(), "dropout=0.3", "dropout", n_boot=2000)
    effects.write_effects(res, tmp_path)
    res.rows = [r for r in res.rows if r.arm != "dropout=0.1"]
    effects.write_effects(res, tmp_path)
    assert len(_read_csv(tmp_path / "effects.csv")) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arms.csv", "effects.csv", "effects.md"]


def test_effects_csv_round_trips_through_the_schema(tmp_path):
    """What the report reads back (EffectRow.from_csv_row) is what ablate computed, cell for cell."""
    runs = [_run("b", s, 0.5 + 0.01 * (s % 2)) for s in range(4)]
    runs += [_run("a", s, 0.5 + 0.01 * (s % 2) + (0.0001 if s == 0 else 0.0)) for s in range(4)]
    runs += [_run("c", 9, 0.5)]                                       # no paired seeds: NaN, no rank
    res = effects.compute_effects(runs + _study_runs(), "b", "f", n_boot=2000)
    path = effects.write_effects(res, tmp_path)["effects_csv"]
    back = schema.read_effects_csv(path)
    assert [r.arm for r in back] == [r.arm for r in res.ranked_rows()]
    for got, want in zip(back, res.ranked_rows()):
        assert got.csv_cells() == want.csv_cells()
        assert got.verdict == want.verdict and got.significant == want.significant
    assert next(r for r in back if r.arm == "a").seeds_needed == schema.SEEDS_NEEDED_MAX + 1
    assert schema.SEEDS_NEEDED_MAX == stats.SEEDS_NEEDED_MAX
    text = path.read_text()
    bad = tmp_path / "bad.csv"
    lines = text.splitlines()
    cells = lines[1].split(",")
    cells[schema.EFFECT_COLUMNS.index("effect_mean")] = "lots"
    bad.write_text("\n".join([lines[0], ",".join(cells)]) + "\n")
    with pytest.raises(ValueError, match="row 2, column effect_mean"):
        schema.read_effects_csv(bad)
