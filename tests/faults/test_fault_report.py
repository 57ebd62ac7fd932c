"""Fault cases of a study folder the report or a rerun reads: missing/inconsistent runs.csv (issue 11
item 5), a non-numeric epochs.csv cell (7), a corrupt or truncated study.sqlite (8), read-only
places (9).  Each must end in one ``error: ...`` line naming the file and the fix, or a loud warning."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fault_helpers import ablate_args, augstudy_cmd, copy_study, one_error_line, readonly_run, run
from study_helpers import read_csv


def _report(cli_runner, study: Path):
    return cli_runner("report", str(study), "--format", "md")


def _rewrite_csv(path: Path, edit) -> None:
    with open(path, newline="") as fh:
        table = list(csv.reader(fh))
    table = edit(table)
    with open(path, "w", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(table)


@pytest.mark.parametrize("damage", ["missing", "row-dropped"])
def test_report_on_missing_or_inconsistent_runs_csv_is_loud(cli_runner, finished_study, tmp_path, damage):
    study = copy_study(finished_study, tmp_path / "study")
    if damage == "missing":
        (study / "runs.csv").unlink()
    else:
        _rewrite_csv(study / "runs.csv", lambda t: t[:2])  # header + the first of 2 runs
    result = _report(cli_runner, study)
    said = result.stdout + result.stderr
    assert "runs.csv" in said, said
    if result.exit_code == 0:  # a loud warning in the output and in the report itself
        assert "warning" in said.lower(), said
        assert "runs.csv" in (study / "report.md").read_text()
    else:
        assert "runs.csv" in one_error_line(result.stderr)


def test_report_names_file_row_and_column_of_a_non_numeric_epochs_cell(cli_runner, finished_study, tmp_path):
    study = copy_study(finished_study, tmp_path / "study")

    def spoil(table):
        column = table[0].index("val_acc")
        table[2][column] = "abc"  # file line 3: the second data row
        return table

    _rewrite_csv(study / "epochs.csv", spoil)
    result = _report(cli_runner, study)
    assert result.exit_code != 0
    line = one_error_line(result.stderr)
    assert "epochs.csv" in line and "val_acc" in line and "line 3" in line and "'abc'" in line, line
    assert "TypeError" not in line and "dtype" not in line, line


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_corrupt_study_sqlite_names_the_file_and_the_recovery(finished_study, tiny_data, specs, tmp_path, damage):
    study = copy_study(finished_study, tmp_path / "study")
    db = study / "study.sqlite"
    if damage == "garbage":
        db.write_bytes(b"this is not a database\n" * 400)
    else:
        db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])
    exported = {name: (study / name).read_bytes() for name in ("runs.csv", "epochs.csv", "study.json")}
    result = run(ablate_args(specs, tiny_data, study, budget="tiny1"))
    assert result.returncode not in (0, 1), result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert str(db) in line and "csv" in line.lower() and "intact" in line.lower(), line
    assert "DatabaseError" not in line, line
    assert {name: (study / name).read_bytes() for name in exported} == exported  # nothing overwritten
    if damage == "garbage":  # follow the advice: move the store aside, rerun -- finished runs are kept
        (study / "corrupt").mkdir()
        for part in study.glob("study.sqlite*"):
            part.rename(study / "corrupt" / part.name)
        again = run(ablate_args(specs, tiny_data, study, budget="tiny1"))
        assert again.returncode == 0, again.stdout + again.stderr
        assert "seed 0: last3" not in again.stdout, again.stdout  # nothing retrained
        assert {r["status"] for r in read_csv(study / "runs.csv")} == {"done"}


# ----------------------------------------------------------------------------- read-only places
def _is_read_only_failure(result, folder: Path) -> str:
    assert result.returncode != 97, "could not make the folder read-only (mount namespace): " + result.stderr
    assert result.returncode not in (0, 1), result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert str(folder) in line and "writable" in line, line
    assert ".tmp" not in line and "OperationalError" not in line and "PermissionError" not in line, line
    return line


def test_ablate_into_a_read_only_folder(tiny_data, specs, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    _is_read_only_failure(readonly_run(ablate_args(specs, tiny_data, ro, budget="tiny1"), ro), ro)
    assert not any(ro.iterdir())


def test_ablate_into_a_new_folder_under_a_read_only_one(tiny_data, specs, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    _is_read_only_failure(readonly_run(ablate_args(specs, tiny_data, ro / "study", budget="tiny1"), ro), ro)


def test_report_in_a_read_only_study_names_the_target_not_the_temporary(finished_study, tmp_path):
    study = copy_study(finished_study, tmp_path / "study")
    result = readonly_run(augstudy_cmd("report", str(study)), study)
    line = _is_read_only_failure(result, study)
    assert "report" in line, line  # a target of the report (report.html, report_files/...), not a temporary
    assert not list(study.glob(".*.tmp"))


def test_data_check_out_in_a_read_only_folder_is_not_a_finding(tiny_data, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    result = readonly_run(augstudy_cmd("data", "check", "--data", str(tiny_data), "--out", str(ro / "check.json"),
                                       "--workers", "1"), ro)
    _is_read_only_failure(result, ro)
