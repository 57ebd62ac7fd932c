"""The study folder's contract (augstudy.ablation.storage.schema): one meaning of finished, one file-name rule,
one cell format, and effect rows that survive the CSV round trip."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from augstudy.ablation.storage import schema
from augstudy.ablation.storage.schema import EffectRow, RunStatus, StudyPaths, csv_cell, arm_path_name


def test_finished_means_done_diverged_or_failed_for_every_reader():
    assert {s.value for s in RunStatus if s.is_finished} == {"done", "diverged", "failed"}
    assert {s.value for s in RunStatus if s.has_result} == {"done", "diverged"}
    assert schema.FINISHED_STATUSES == ("done", "diverged", "failed")
    assert schema.is_finished("failed") and not schema.is_finished("running") and not schema.is_finished("odd")
    assert RunStatus.parse(" done ") is RunStatus.DONE and RunStatus.DONE == "done"
    with pytest.raises(ValueError, match="expected one of pending, running, done, diverged, failed"):
        RunStatus.parse("finished")


def test_file_names_of_the_study_folder(tmp_path):
    paths = StudyPaths(tmp_path)
    assert paths.checkpoint("ab12", 3) == tmp_path / "checkpoints" / "ab12-seed3.pt"
    assert paths.preview("flip=off") == tmp_path / "previews" / "flip=off.png"
    assert [p.name for p in (paths.study_json, paths.runs_csv, paths.epochs_csv, paths.class_metrics_csv,
                             paths.effects_csv, paths.effects_md, paths.arms_csv, paths.sqlite)] == [
        "study.json", "runs.csv", "epochs.csv", "class_metrics.csv", "effects.csv", "effects.md", "arms.csv",
        "study.sqlite"]
    assert paths.marker_files() == []
    paths.effects_csv.write_text("x")
    assert paths.marker_files() == [paths.effects_csv]


@pytest.mark.parametrize("arm, name", [
    ("dropout=0.3", "dropout=0.3"), ("augment=policies/my.yaml", "augment=policies_my.yaml"),
    ("a b\\c:d", "a_b_c_d"), (".hidden", "_hidden"), ("lr=1e-3", "lr=1e-3"), ("", "_")])
def test_arm_path_name_is_one_path_component(arm, name):
    assert arm_path_name(arm) == name
    assert Path(arm_path_name(arm)).name == arm_path_name(arm)


def test_csv_cells():
    assert [csv_cell("x", v) for v in (None, math.nan, math.inf, -math.inf, 0.1234567, True, 3, "a")] == [
        "", "", "inf", "-inf", "0.123457", "True", "3", "a"]
    assert csv_cell("seeds_needed", schema.SEEDS_NEEDED_MAX + 1) == f">{schema.SEEDS_NEEDED_MAX}"
    assert csv_cell("seeds_needed", 7) == "7"


def test_effect_row_from_csv_cells_blank_and_unbounded():
    cells = {c: "" for c in schema.EFFECT_COLUMNS}
    cells.update(factor="f", arm="a", level="1", n_seeds="1", ci_low="-inf", ci_high="inf", significant="False",
                 equivalent="False", verdict="needs >= 2 seeds", seeds_needed=">200", n_diverged="0")
    row = EffectRow.from_csv_row(cells)
    assert row.rank is None and math.isnan(row.effect_mean) and row.ci_low == -math.inf and row.ci_high == math.inf
    assert row.seeds_needed == schema.SEEDS_NEEDED_MAX + 1 and row.significant is False
    assert row.csv_cells() == [cells[c] for c in schema.EFFECT_COLUMNS]
    with pytest.raises(ValueError, match="column rank"):
        EffectRow.from_csv_row({**cells, "rank": "first"})
    with pytest.raises(ValueError, match="lacks"):
        EffectRow.from_dict({"arm": "a"})


def test_per_example_correctness_packs_to_bits():
    mask = [True, False, True] * 5 + [False]
    bits = schema.pack_correct(mask)
    assert len(bits) == 2 and schema.unpack_correct(bits, 16).tolist() == mask


def test_one_parse_bool_reads_every_flag_a_study_folder_holds():
    """One parser (storage/cells.py) for effects.csv's cells, pandas' values and study.json's flags."""
    import numpy as np
    import pandas as pd

    from augstudy.ablation.storage import cells

    assert schema.parse_bool is cells.parse_bool
    flags = pd.read_csv(__import__("io").StringIO("significant\nTrue\nFalse\n\n"), skip_blank_lines=False)
    assert [cells.parse_bool(v) for v in flags["significant"]] == [True, False, False]   # object column, NaN
    for value in (True, 1, 1.0, np.float64(2.0), "True", "true", " TRUE ", "1", "1.0", "yes", "y", "t", csv_cell(
            "significant", True)):
        assert cells.parse_bool(value) is True, value
    for value in (False, 0, 0.0, math.nan, None, "", "False", "0", "0.0", "no", "nan", "maybe",
                  csv_cell("significant", False)):
        assert cells.parse_bool(value) is False, value
