"""Generative fault test (issue 19): damage one file of a finished study folder at a time -- the
store, each exported CSV, study.json, a checkpoint, a TensorBoard events file -- then run
``load_study``, ``augstudy report`` and ``augstudy ablate`` (resume) on it.

The outcome of each must be a correct result (what the undamaged study gives) or one clear
``error:`` line with a non-zero exit; never a traceback, a changed finished run, or a report
stating something the store does not hold.

Damages, each drawn with its position from a seeded RNG (``AUGSTUDY_FAULT_SEED``, default 19):

- ``cut``: the file cut at a line end (text) or a 4 KiB boundary (binary): whole rows lost;
- ``truncate``: the file cut at a random byte (mid-row, mid-page);
- ``corrupt``: a random span overwritten with bytes that are no text (0x80-0xFF; in study.sqlite
  one whole page of random bytes).

Out of scope, and said so in ARCHITECTURE.md: an edit that keeps a file well-formed (a digit
changed in a CSV cell) -- the plain files carry no checksum, and ``augstudy ablate`` re-exports
them from the store.  One damage per file by default (seconds); ``AUGSTUDY_FAULT_ROUNDS=N`` runs
every file N times with fresh draws.
"""

from __future__ import annotations

import os
import random
import sqlite3
from pathlib import Path

import pandas as pd

from fault_helpers import link_study, one_error_line, replace_bytes

SEED = int(os.environ.get("AUGSTUDY_FAULT_SEED", "19"))
ROUNDS = int(os.environ.get("AUGSTUDY_FAULT_ROUNDS", "1"))
DAMAGES = ("cut", "truncate", "corrupt")
TEXT_FILES = ("runs.csv", "epochs.csv", "class_metrics.csv", "effects.csv", "arms.csv", "class_effects.csv",
              "study.json")
FRAMES = ("runs", "curves", "class_metrics", "effects", "arms", "class_effects")


def _targets(study: Path) -> list[str]:
    """Every file the test damages, relative to the study folder."""
    first = sorted((study / "checkpoints").glob("*.pt"))[0]
    events = sorted((study / "tb").rglob("events.out.tfevents.*"))[0]
    return ["study.sqlite", *TEXT_FILES, str(first.relative_to(study)), str(events.relative_to(study))]


def _damage(path: Path, how: str, rng: random.Random) -> None:
    data = path.read_bytes()
    text = path.suffix in (".csv", ".json")
    if how == "cut":
        ends = [i + 1 for i, b in enumerate(data) if b == 0x0A][:-1] if text else list(range(4096, len(data), 4096))
        keep = rng.choice(ends or [0])
        damaged = data[:keep]
    elif how == "truncate":
        damaged = data[:rng.randrange(0, len(data))]
    elif path.name == "study.sqlite":  # one whole page (4 KiB, the default page size) of random bytes
        page = rng.randrange(0, len(data) // 4096)
        damaged = data[:page * 4096] + rng.randbytes(4096) + data[(page + 1) * 4096:]
    else:
        start = rng.randrange(0, len(data))
        span = bytes(rng.randrange(0x80, 0x100) for _ in range(rng.randint(1, 64)))
        damaged = data[:start] + span + data[start + len(span):]
    assert damaged != data
    replace_bytes(path, damaged)


def _store_rows(study: Path) -> tuple[list, list]:
    with sqlite3.connect(f"file:{study / 'study.sqlite'}?mode=ro", uri=True) as db:
        runs = db.execute("SELECT run_id, status, epochs_done, metric, wall_s FROM runs ORDER BY run_id").fetchall()
        epochs = db.execute("SELECT * FROM epochs ORDER BY run_id, epoch").fetchall()
    return runs, epochs


def _loaded(study: Path) -> dict:
    from augstudy import load_study

    handle = load_study(study)
    return {"meta": handle.meta, "effect_rows": handle.effect_rows, **{k: getattr(handle, k) for k in FRAMES}}


def _same(got: dict, want: dict, where: str) -> None:
    drop = {"updated"}  # when study.json was last written: a resume rewrites it
    assert {k: v for k, v in got["meta"].items() if k not in drop} == \
        {k: v for k, v in want["meta"].items() if k not in drop}, where
    assert got["effect_rows"] == want["effect_rows"] or str(got["effect_rows"]) == str(want["effect_rows"]), where
    for name in FRAMES:
        pd.testing.assert_frame_equal(got[name], want[name], obj=f"{where}: {name}")


def _one_line(result, study: Path, where: str) -> None:
    assert result.exit_code not in (0, 1), (where, result.exit_code, result.stdout, result.stderr)
    line = one_error_line(result.stderr)
    assert str(study) in line, (where, line)


def _cases(study: Path) -> list[tuple[str, str, int]]:
    rng = random.Random(SEED)
    targets = _targets(study)
    cases = []
    for round_ in range(ROUNDS):
        order = list(DAMAGES) * (len(targets) // len(DAMAGES) + 1)
        rng.shuffle(order)
        cases += [(target, how, rng.randrange(2**32)) for target, how in zip(targets, order)]
    return cases


def test_damaged_study_files_give_the_right_result_or_one_clear_line(cli_runner, small_study, small_args, tmp_path):
    from augstudy.errors import UserError

    reference = link_study(small_study, tmp_path / "reference")
    want = _loaded(reference)
    want_store = _store_rows(reference)
    assert cli_runner("report", str(reference), "--format", "md").exit_code == 0
    want_report = (reference / "report.md").read_text().replace(str(reference), "<study>")
    seen = set()
    for i, (target, how, seed) in enumerate(_cases(small_study)):
        where = f"{target} {how} (case seed {seed})"
        study = link_study(small_study, tmp_path / f"case{i}")
        _damage(study / target, how, random.Random(seed))
        # 1. load_study: the undamaged study's content, or one UserError line naming the folder
        try:
            got = _loaded(study)
        except UserError as exc:
            assert "\n" not in str(exc) and str(study) in str(exc), (where, str(exc))
            seen.add("load refused")
        else:
            _same(got, want, where)
            seen.add("load same")
        # 2. report: the same report, or one line
        report = cli_runner("report", str(study), "--format", "md")
        if report.exit_code == 0:
            assert (study / "report.md").read_text().replace(str(study), "<study>") == want_report, where
            seen.add("report same")
        else:
            _one_line(report, study, where)
            seen.add("report refused")
        # 3. ablate (resume): nothing retrained, finished runs unchanged, files re-exported; or one line
        checkpoints = {p.name: p.stat().st_ino for p in (study / "checkpoints").glob("*.pt")}
        resumed = cli_runner(*small_args(study))
        if resumed.exit_code == 0:
            assert "0 to train" in resumed.stdout, (where, resumed.stdout)
            assert _store_rows(study) == want_store, where
            _same(_loaded(study), want, where + ", after the resume")
            seen.add("resume same")
        else:
            _one_line(resumed, study, where)
            assert {p.name: p.stat().st_ino for p in (study / "checkpoints").glob("*.pt")} == checkpoints, where
            seen.add("resume refused")
    # the draws reached both outcomes of every command (else the test would prove less than it says)
    assert seen >= {"load refused", "load same", "report refused", "report same", "resume same"}, seen
