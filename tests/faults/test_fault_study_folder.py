"""A study folder whose ``study.sqlite`` is gone (issue 11 item 1): never overwritten.  Another
factor is refused in one line; the same study is rebuilt from its CSVs (finished runs stay
finished, nothing retrained) or refused with a way forward -- either way no file is lost."""

from __future__ import annotations

import shutil
from pathlib import Path

from fault_helpers import ablate_args, copy_study, one_error_line, run
from study_helpers import read_csv

KEPT_FILES = ("study.json", "runs.csv", "epochs.csv", "class_metrics.csv", "effects.csv")


def _without_store(finished_study: Path, dst: Path) -> Path:
    return copy_study(finished_study, dst, ignore=shutil.ignore_patterns("study.sqlite*", "checkpoints"))


def _contents(study: Path) -> dict[str, bytes]:
    return {name: (study / name).read_bytes() for name in KEPT_FILES}


def test_folder_of_another_study_is_refused_not_overwritten(finished_study, tiny_data, specs, tmp_path):
    study = _without_store(finished_study, tmp_path / "copy")
    before = _contents(study)
    result = run(ablate_args(specs, tiny_data, study, factor="drop2", budget="tiny1"))
    assert result.returncode not in (0, 1), result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert str(study) in line and "drop" in line, line
    assert _contents(study) == before


def test_folder_of_the_same_study_keeps_its_finished_runs(finished_study, tiny_data, specs, tmp_path):
    study = _without_store(finished_study, tmp_path / "copy")
    before = _contents(study)
    runs_before = {(r["arm"], r["seed"]): (r["status"], r["metric"]) for r in read_csv(study / "runs.csv")}
    epochs_before = {(e["arm"], e["seed"], e["epoch"]): e["val_acc"] for e in read_csv(study / "epochs.csv")}
    assert {s for s, _ in runs_before.values()} == {"done"}
    result = run(ablate_args(specs, tiny_data, study, budget="tiny1"))
    if result.returncode != 0:  # refused: it must say how to go on, and change nothing
        line = one_error_line(result.stderr)
        assert str(study) in line, line
        assert _contents(study) == before
        return
    assert "seed 0: last3" not in result.stdout, result.stdout  # no run trained again
    runs_after = {(r["arm"], r["seed"]): (r["status"], r["metric"]) for r in read_csv(study / "runs.csv")}
    assert runs_after == runs_before
    epochs_after = {(e["arm"], e["seed"], e["epoch"]): e["val_acc"] for e in read_csv(study / "epochs.csv")}
    assert epochs_after == epochs_before
