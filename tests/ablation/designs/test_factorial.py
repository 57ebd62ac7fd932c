"""Two-factor studies (`ablate A --by B`): design, cells, contrasts from runs, refusals, one tiny study.

The statistics themselves are simulated in test_stats_factorial.py; here the layer that turns
a study's runs into cells and contrasts is checked against planted effects, and one tiny
end-to-end study (4 cells x 2 seeds, 1 epoch on 16 noise images) produces every file and the
report section in seconds.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from augstudy.ablation.designs.factorial import (CELL_COLUMNS, CONTRAST_COLUMNS, check_factor_pair, factorial_effects,
                                       interaction_sentence, resolve_factorial_arms)
from augstudy.ablation.designs.factorial_table import format_interaction_table, interaction_markdown
from augstudy.ablation.spec.study_spec import Arm
from augstudy.ablation.execution.train import effective_lr
from augstudy.errors import UserError
from study_helpers import DROPOUT_FACTOR, noise_dataset, write_specs

WD_FACTOR = {"baseline_level": "5e-4", "levels": {"5e-4": {"optimizer": {"weight_decay": 0.0005}},
                                                  "0": {"optimizer": {"weight_decay": 0.0}}}}


def _cells_design(n_a: int = 2, n_b: int = 2) -> list[Arm]:
    arms = []
    for i in range(n_a):
        for j in range(n_b):
            arms.append(Arm(f"a={i},b={j}", "a-by-b", f"{i},{j}", i == 0 and j == 0, {}, f"h{i}{j}",
                            extra={"cell": ("a", str(i), "b", str(j))}))
    return arms


def _records(arms: list[Arm], cells: np.ndarray) -> list[dict]:
    """Runs of a simulated study: ``cells[seed, i, j]`` fractions, every run done."""
    n_b = cells.shape[2]
    return [{"arm": arm.name, "seed": s, "status": "done", "metric": float(cells[s, k // n_b, k % n_b])}
            for s in range(cells.shape[0]) for k, arm in enumerate(arms)]


def _simulate(rng, n_seeds: int, interaction: float, noise: float = 0.01) -> np.ndarray:
    """2 x 2 cells (fractions): a seed effect shared by every cell, A helps by ``interaction`` only at B=1."""
    seed_effect = rng.normal(0, 0.02, size=(n_seeds, 1, 1))
    cells = 0.5 + seed_effect + rng.normal(0, noise, size=(n_seeds, 2, 2))
    cells[:, 1, 1] += interaction
    return cells


def test_planted_interaction_comes_out_better_and_absent_one_does_not():
    """A factor that helps (+3 points) only at one level of the other: the interaction is `better`
    in most simulated studies (power), and with no interaction it is called better/worse in at most
    alpha of them (+ 3 binomial SEs)."""
    rng = np.random.default_rng(0)
    arms = _cells_design()
    n_studies, n_seeds = 120, 10
    planted = [factorial_effects(arms, _records(arms, _simulate(rng, n_seeds, 0.03)))["contrasts"][0]
               for _ in range(n_studies)]
    null = [factorial_effects(arms, _records(arms, _simulate(rng, n_seeds, 0.0)))["contrasts"][0]
            for _ in range(n_studies)]
    assert all(c["kind"] == "interaction" and c["contrast"] == "a=1 x b=1" for c in planted + null)
    power = np.mean([c["verdict"] == "better" for c in planted])
    false_positive = np.mean([c["verdict"] in ("better", "worse") for c in null])
    assert power > 0.9
    assert false_positive <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / n_studies)
    assert not any(c["verdict"] == "worse" for c in planted)   # never the wrong sign
    # the simple effect of A at B=0 is null, at B=1 it is the planted +3 points
    one = factorial_effects(arms, _records(arms, _simulate(rng, 20, 0.03)))
    simple = {c["b_level"]: c for c in one["contrasts"] if c["kind"] == "simple"}
    assert simple["1"]["effect_mean"] == pytest.approx(3.0, abs=1.0)
    assert abs(simple["0"]["effect_mean"]) < 1.0
    main = [c for c in one["contrasts"] if c["kind"] == "main"][0]
    assert main["effect_mean"] == pytest.approx((simple["0"]["effect_mean"] + simple["1"]["effect_mean"]) / 2)


def test_negative_interaction_is_worse_and_the_sentence_says_so():
    rng = np.random.default_rng(1)
    arms = _cells_design()
    analysis = factorial_effects(arms, _records(arms, _simulate(rng, 12, -0.04)))
    assert analysis["contrasts"][0]["verdict"] == "worse"
    assert analysis["sentence"].startswith("The a x b interaction is worse")
    assert "a=1 x b=1" in analysis["sentence"]


def test_contrasts_of_a_2x3_design_and_their_order():
    rng = np.random.default_rng(2)
    arms = _cells_design(2, 3)
    cells = 0.5 + rng.normal(0, 0.01, size=(6, 2, 3))
    analysis = factorial_effects(arms, _records(arms, cells))
    kinds = [(c["kind"], c["a_level"], c["b_level"]) for c in analysis["contrasts"]]
    assert kinds == [("interaction", "1", "1"), ("interaction", "1", "2"), ("main", "1", ""),
                     ("simple", "1", "0"), ("simple", "1", "1"), ("simple", "1", "2")]
    y = 100 * cells
    inter_12 = ((y[:, 1, 2] - y[:, 0, 2]) - (y[:, 1, 0] - y[:, 0, 0])).mean()
    assert analysis["contrasts"][1]["effect_mean"] == pytest.approx(inter_12)
    assert np.allclose(analysis["cell_means"], y.mean(axis=0))
    table = format_interaction_table({**analysis, "metric": "last3"})
    assert "a \\ b" in table and "a=1 x b=2" in table and analysis["sentence"] in table
    assert "| interaction | a=1 x b=1 |" in interaction_markdown(analysis)


def test_a_diverged_cell_counts_at_chance_and_makes_the_interaction_unstable():
    rng = np.random.default_rng(3)
    arms = _cells_design()
    records = _records(arms, _simulate(rng, 4, 0.0))
    records[3]["status"] = "diverged"   # seed 0, cell a=1,b=1
    analysis = factorial_effects(arms, records, chance=0.1)
    inter = analysis["contrasts"][0]
    assert inter["verdict"] == "unstable" and inter["n_diverged"] == 1 and inter["n_seeds"] == 4
    assert "unstable" in interaction_sentence(analysis)
    assert factorial_effects(arms, records[:4]) is None   # one complete seed: no analysis yet


def test_by_all_and_same_factor_are_refused_in_one_line(cli_runner):
    for args, needle in ((["dropout", "--by", "all"], "`all` is not one"),
                         (["all", "--by", "dropout"], "`all` is not one"),
                         (["dropout", "--by", "dropout"], "same factor as FACTOR")):
        result = cli_runner("ablate", *args)
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: --by") and needle in lines[0]
    with pytest.raises(UserError, match="needs a FACTOR"):
        check_factor_pair(None, "dropout")


def test_by_all_refused_by_the_console_script(run_console):
    done = run_console("ablate", "flip", "--by", "all", env={"AUGSTUDY_NO_PROGRESS": "1"})
    assert done.returncode == 2 and done.stderr.startswith("error: --by") and "Traceback" not in done.stderr


def test_factorial_design_keeps_the_batch_size_lr_rule_and_refuses_overlapping_factors():
    arms = resolve_factorial_arms("weight_decay", "batch_size", "smoke")
    assert len(arms) == 16 and arms[0].is_baseline and arms[0].name == "weight_decay=5e-4,batch_size=256"
    assert sum(a.is_baseline for a in arms) == 1 and len({a.config_hash for a in arms}) == 16
    for arm in arms:
        _, wd, _, bs = arm.extra["cell"]
        assert arm.config["train"]["batch_size"] == int(bs)                  # the factor's level, not the budget's
        assert arm.config["optimizer"]["weight_decay"] == pytest.approx(float(wd))
        assert arm.config["optimizer"]["lr"] == 0.05                          # per 256 examples in every cell
        assert effective_lr(arm.config) == pytest.approx(0.05 * int(bs) / 256)
    with pytest.raises(UserError, match="two different whole policies"):   # a true conflict (tests/test_compose.py)
        resolve_factorial_arms("policy", "flip", "smoke")


@pytest.mark.usefixtures("one_torch_thread")
def test_tiny_two_factor_study_writes_cells_interaction_and_the_report_section(tmp_path):
    from augstudy.ablation.runner import run_study

    specs = write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR, "wd": WD_FACTOR},
                        budgets={"tiny": {"train": {"epochs": 1, "batch_size": 8},
                                          "data": {"train_subset": None, "val_subset": None}}})
    out = tmp_path / "study"
    lines: list[str] = []
    result = run_study("drop", by="wd", seeds=2, budget="tiny", dataset=noise_dataset(16, 16), device="cpu",
                       out=out, specs_dir=specs, report=True, echo=lines.append)
    assert result.complete and result.counts["done"] == 8
    with open(out / "cells.csv", newline="") as fh:
        cells = list(csv.DictReader(fh))
    assert list(cells[0]) == list(CELL_COLUMNS) and len(cells) == 8
    assert {(c["a_level"], c["b_level"]) for c in cells} == {("0.3", "5e-4"), ("0.3", "0"), ("0", "5e-4"), ("0", "0")}
    assert {c["seed"] for c in cells} == {"0", "1"} and all(c["status"] == "done" for c in cells)
    with open(out / "interaction.csv", newline="") as fh:
        contrasts = list(csv.DictReader(fh))
    assert list(contrasts[0]) == list(CONTRAST_COLUMNS)
    assert [c["kind"] for c in contrasts] == ["interaction", "main", "simple", "simple"]
    assert contrasts[0]["contrast"] == "drop=0 x wd=0" and contrasts[0]["verdict"]
    study = json.loads((out / "study.json").read_text())
    assert study["factor"] == "drop-by-wd" and study["baseline_arm"] == "drop=0.3,wd=5e-4"
    text = "\n".join(lines)
    assert "drop x wd: cell means" in text and "The drop x wd interaction is" in text
    report = (out / "report.md").read_text()
    assert "## Interaction: drop x wd" in report and (out / "report_files" / "interaction.png").stat().st_size > 1000
    assert json.loads((out / "interaction.json").read_text())["sentence"] in report
    # the same command again resumes: nothing left to train, the same cells
    again = run_study("drop", by="wd", seeds=2, budget="tiny", dataset=noise_dataset(16, 16), device="cpu",
                      out=out, specs_dir=specs, report=False, echo=lines.append)
    assert again.counts == result.counts and any("0 to train" in line for line in lines)
    with open(out / "cells.csv", newline="") as fh:
        assert list(csv.DictReader(fh)) == cells
