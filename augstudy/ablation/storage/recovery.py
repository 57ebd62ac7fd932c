"""A study folder whose ``study.sqlite`` is gone: recognize it, and rebuild the store from its CSVs.

A folder holding any of :data:`~augstudy.ablation.storage.schema.STUDY_MARKER_FILES` (study.json,
runs.csv, epochs.csv, effects.csv), :data:`~augstudy.ablation.storage.schema.DERIVED_FILES` (arms.csv,
report.md, ...) or a study design's files (``DESIGNS.file_names()``: interaction.json, ...) is a study's, or holds the user's own files of those names.  Without its store
it is never overwritten:

- it belongs to another study (factor, budget or dataset differ, or runs.csv, epochs.csv or
  effects.csv list an arm or run this study would not have, even when study.json is missing):
  :func:`refuse_foreign_study` raises one line saying whose files they are;
- it is this study: :func:`rebuild_store` fills the new, empty store from ``runs.csv``,
  ``epochs.csv`` and ``class_metrics.csv`` (and ``study.json``'s meta).  Finished runs
  (done, diverged) stay finished with their epochs; every other run goes back to pending
  and is trained again from its checkpoint when one exists, else from scratch.  Per-example
  val correctness is not in the CSVs: recovered runs have none.
- nothing to rebuild from (no ``runs.csv``, or an unreadable one): a UserError says how to
  go on (move the files away or pick another ``--out``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import time
from pathlib import Path

from augstudy.ablation.designs import DESIGNS
from augstudy.ablation.storage.schema import RunStatus, StudyPaths, parse_float, parse_int, read_csv_text
from augstudy.ablation.spec.study_spec import Arm
from augstudy.ablation.storage.store import StudyStore, run_id_for
from augstudy.errors import UserError

#: study.json / store meta keys that name a study
IDENTITY_KEYS = ("factor", "budget", "dataset")
#: study.json keys copied into the rebuilt store's meta
META_KEYS = ("factor", "budget", "dataset", "created", "dataset_path", "versions", "git_commit", "device", "metric")


def _fix(paths: StudyPaths) -> str:
    return f"move those files away or pass --out NEW_DIR for a new study (nothing in {paths.root} was changed)"


def _read_json(paths: StudyPaths) -> dict | None:
    if not paths.study_json.is_file():
        return None
    try:
        meta = json.loads(paths.study_json.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        return None
    return meta if isinstance(meta, dict) else None


def _read_csv(path: Path, paths: StudyPaths) -> list[dict]:
    try:
        return list(csv.DictReader(io.StringIO(read_csv_text(path))))
    except ValueError as exc:  # cut off mid-row, bytes that are not text: never rebuild from half a row
        raise UserError(f"{exc}; {paths.sqlite.name} is missing, so the study cannot be rebuilt from it; "
                        f"{_fix(paths)}") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({type(exc).__name__}) and {paths.sqlite.name} is missing, so the "
                        f"study cannot be rebuilt; {_fix(paths)}") from None


def refuse_foreign_study(paths: StudyPaths, identity: dict, arms: list[Arm]) -> None:
    """Raise a one-line UserError when the folder's study files belong to another study than
    ``identity`` (``factor``, ``budget``, ``dataset``) with ``arms``, or cannot be identified."""
    markers = paths.marker_files(DESIGNS.file_names())
    if not markers:
        return
    meta = _read_json(paths)
    if meta is not None:
        clash = {k: meta[k] for k in IDENTITY_KEYS if k in meta and meta[k] != identity[k]}
        if clash:
            held = ", ".join(f"{k}={v}" for k, v in clash.items())
            raise UserError(f"{paths.root}: holds the files of another study ({held}) but no {paths.sqlite.name}; "
                            f"{_fix(paths)}")
    if not paths.runs_csv.is_file():
        names = ", ".join(p.name for p in markers)
        raise UserError(f"{paths.root}: holds {names} but neither {paths.sqlite.name} nor {paths.runs_csv.name}, "
                        f"so the study cannot be rebuilt; {_fix(paths)}")
    ours = {a.config_hash for a in arms}
    run_rows = _read_csv(paths.runs_csv, paths)
    theirs = {row.get("config_hash", "") for row in run_rows}
    if theirs and not theirs & ours:
        raise UserError(f"{paths.root}: {paths.runs_csv.name} lists the runs of another study (none of its "
                        f"config hashes is one of this study's arms) and {paths.sqlite.name} is missing; "
                        f"{_fix(paths)}")
    # sharing the baseline run is not enough: any run or arm this study would not have means the
    # files are another study's (or a wider one's), and rebuilding would drop those rows
    names = {a.name for a in arms}
    for path, rows in ((paths.runs_csv, run_rows),
                       *((p, _read_csv(p, paths)) for p in (paths.epochs_csv, paths.effects_csv) if p.is_file())):
        for line, row in enumerate(rows, start=2):
            if (path == paths.runs_csv and row.get("config_hash", "") not in ours) or row.get("arm") not in names:
                raise UserError(f"{path}: line {line} is arm {row.get('arm')!r}, which this study does not have, "
                                f"and {paths.sqlite.name} is missing (the files are another study's); {_fix(paths)}")


def _cell(path: Path, line: int, column: str, text: str, parse=parse_float):
    try:
        value = parse(text)
    except (TypeError, ValueError):
        raise UserError(f"{path}: row {line}, column {column}: {text!r} is not a number; the study cannot be "
                        f"rebuilt from it. Fix the cell, or move the study files away / pass --out NEW_DIR") from None
    return None if isinstance(value, float) and not math.isfinite(value) else value


def rebuild_store(store: StudyStore, paths: StudyPaths, arms: list[Arm], echo) -> bool:
    """Fill ``store`` (empty) from the folder's CSVs; False when another process did it first.

    Rows of runs.csv that are not this study's runs (``config_hash`` of no arm) are skipped."""
    configs = {a.config_hash: a.config for a in arms}
    meta = _read_json(paths) or {}
    run_rows = _read_csv(paths.runs_csv, paths)
    epoch_rows = _read_csv(paths.epochs_csv, paths) if paths.epochs_csv.is_file() else []
    class_rows = _read_csv(paths.class_metrics_csv, paths) if paths.class_metrics_csv.is_file() else []
    runs: dict[str, dict] = {}
    arm_seed_run: dict[tuple[str, str], str] = {}
    for line, row in enumerate(run_rows, start=2):
        if row.get("config_hash") not in configs:
            continue
        seed = _cell(paths.runs_csv, line, "seed", row.get("seed", ""), parse_int)
        if seed is None:
            raise UserError(f"{paths.runs_csv}: row {line}, column seed is empty; {_fix(paths)}")
        try:
            status = RunStatus.parse(row.get("status", ""))
        except ValueError as exc:
            raise UserError(f"{paths.runs_csv}: row {line}, column status: {exc}; {_fix(paths)}") from None
        run_id = run_id_for(row["config_hash"], seed)
        arm_seed_run[(row.get("arm", ""), str(seed))] = run_id
        if run_id in runs:
            continue
        kept = status.has_result
        runs[run_id] = {
            "run_id": run_id, "arm": row.get("arm", ""), "level": row.get("level", ""), "seed": seed,
            "config_hash": row["config_hash"], "status": status.value if kept else RunStatus.PENDING.value,
            "epochs_done": (_cell(paths.runs_csv, line, "epochs_done", row.get("epochs_done", ""), parse_int) or 0)
            if kept else 0,
            "metric": _cell(paths.runs_csv, line, "metric", row.get("metric", "")) if kept else None,
            "wall_s": _cell(paths.runs_csv, line, "wall_s", row.get("wall_s", "")) if kept else None,
            "device": row.get("device") or None,
            "diverged_epoch": _cell(paths.runs_csv, line, "diverged_epoch", row.get("diverged_epoch", ""),
                                    parse_int) if kept else None,
        }
    finished = {rid for rid, r in runs.items() if RunStatus(r["status"]).has_result}
    epochs, seen = [], set()
    for line, row in enumerate(epoch_rows, start=2):
        rid = arm_seed_run.get((row.get("arm", ""), row.get("seed", "")))
        epoch = _cell(paths.epochs_csv, line, "epoch", row.get("epoch", ""), parse_int)
        if rid not in finished or (rid, epoch) in seen:
            continue
        seen.add((rid, epoch))
        epochs.append((rid, epoch, *(_cell(paths.epochs_csv, line, c, row.get(c, ""))
                                     for c in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "wall_s"))))
    classes, seen = [], set()
    for line, row in enumerate(class_rows, start=2):
        rid = arm_seed_run.get((row.get("arm", ""), row.get("seed", "")))
        key = (rid, row.get("epoch"), row.get("class_index"))
        if rid not in finished or key in seen:
            continue
        seen.add(key)
        acc = _cell(paths.class_metrics_csv, line, "val_acc", row.get("val_acc", ""))
        n_val = _cell(paths.class_metrics_csv, line, "n_val", row.get("n_val", ""), parse_int)
        correct = round(acc * n_val) if acc is not None and n_val is not None else None
        classes.append((rid, _cell(paths.class_metrics_csv, line, "epoch", row["epoch"], parse_int),
                        _cell(paths.class_metrics_csv, line, "class_index", row["class_index"], parse_int),
                        correct, n_val, acc))
    now = time.time()
    with store.transaction() as db:
        if db.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is not None:
            return False  # another process rebuilt (or registered) it meanwhile
        for r in runs.values():
            checkpoint = paths.checkpoint(r["config_hash"], r["seed"])
            db.execute(
                "INSERT INTO runs(run_id, arm, level, seed, config_hash, config_json, status, epochs_done, metric, "
                "wall_s, device, diverged_epoch, checkpoint, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r["run_id"], r["arm"], r["level"], r["seed"], r["config_hash"],
                 json.dumps(configs[r["config_hash"]], sort_keys=True), r["status"], r["epochs_done"], r["metric"],
                 r["wall_s"], r["device"], r["diverged_epoch"],
                 str(checkpoint.relative_to(paths.root)) if checkpoint.is_file() else None, now, now))
        db.executemany("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", epochs)
        db.executemany("INSERT OR REPLACE INTO class_metrics VALUES (?, ?, ?, ?, ?, ?)", classes)
        db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                       [(k, json.dumps(meta[k], default=str)) for k in META_KEYS if k in meta]
                       + [("rebuilt_from_csv", json.dumps(time.strftime("%Y-%m-%dT%H:%M:%S%z")))])
    echo(f"{paths.root}: {paths.sqlite.name} was missing; rebuilt it from {paths.runs_csv.name} and "
         f"{paths.epochs_csv.name} ({len(finished)} finished run(s) kept, {len(runs) - len(finished)} to train)")
    return True


def open_store(paths: StudyPaths, identity: dict, arms: list[Arm], echo) -> StudyStore:
    """The study's store, after checking the folder: refuses another study's files, rebuilds a
    missing store from this study's CSVs (see the module docstring)."""
    if paths.marker_files(DESIGNS.file_names()) and not paths.sqlite.exists():
        refuse_foreign_study(paths, identity, arms)
    store = StudyStore(paths.root)
    if paths.marker_files(DESIGNS.file_names()) and store.is_empty():
        refuse_foreign_study(paths, identity, arms)
        rebuild_store(store, paths, arms, echo)
    return store


__all__ = ["refuse_foreign_study", "rebuild_store", "open_store", "IDENTITY_KEYS"]
