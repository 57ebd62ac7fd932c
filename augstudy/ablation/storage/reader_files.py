"""The study folder's plain files as checked pandas frames: what :mod:`.reader` builds a ``Study`` from.

Every file is read whole and checked before anything is shown: its shape
(:func:`~augstudy.ablation.storage.cells.read_csv_text`), its required columns, the cells that must
be numbers, and that the files of one export agree row for row (a file cut at a line end loses
rows but stays well-formed).  Any failure is one :class:`~augstudy.errors.UserError` line naming the
file (and line, column) and the fix; a file that is not there yet (a study still running) is not
an error.  Accuracies are fractions in [0, 1]; effects are accuracy points.
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from augstudy.ablation.storage.cells import parse_bool, read_csv_text
from augstudy.ablation.storage.schema import (CLASS_EFFECT_COLUMNS, EFFECTS_CSV, STUDY_JSON, EffectRow, RunStatus,
                                              StudyPaths)
from augstudy.atomic import read_json_file
from augstudy.errors import UserError

#: the CSV files of a study directory read into frames, and the columns a reader relies on
CSV_FILES: dict[str, tuple[str, ...]] = {
    "runs": ("arm", "seed", "status"),
    "epochs": ("arm", "seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc"),
    "class_metrics": ("arm", "seed", "epoch", "class_index", "val_acc"),
    "effects": ("arm", "effect_mean", "ci_low", "ci_high", "p_value"),
    "arms": ("arm",),
}

#: columns that must hold numbers (blank, nan and inf allowed) where a file has them
NUMERIC_COLUMNS: dict[str, tuple[str, ...]] = {
    "runs": ("seed", "epochs_done", "metric", "wall_s"),
    "epochs": ("seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "wall_s"),
    "class_metrics": ("seed", "epoch", "class_index", "val_acc", "n_val"),
    "effects": ("effect_mean", "ci_low", "ci_high", "p_value"),
    "arms": (),
    "class_effects": ("class_index", "n_seeds", "effect_mean", "ci_low", "ci_high", "p_value", "q_value"),
}

#: the fix every damaged exported file gets
REEXPORT = "rerun 'augstudy ablate' with the study's options to re-export it from study.sqlite"


def read_meta(path: Path) -> dict:
    """study.json of the study folder ``path``; UserError when the folder or the file is missing or unreadable."""
    if not path.exists():
        raise UserError(f"{path}: no such study directory; run 'augstudy ablate FACTOR --out {path}' first")
    if not path.is_dir():
        raise UserError(f"{path}: not a directory; pass a study directory written by 'augstudy ablate'")
    meta_path = path / STUDY_JSON
    if not meta_path.is_file():
        raise UserError(f"{path}: not a study directory (no study.json); run 'augstudy ablate FACTOR --out {path}' "
                        f"first")
    meta = read_json_file(meta_path, invalid_fix="rerun 'augstudy ablate' to rewrite it")
    if not isinstance(meta, dict):
        raise UserError(f"{meta_path}: expected a JSON object at the top level; rerun 'augstudy ablate' to rewrite it")
    return meta


def check_numeric(frame: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
    """Convert ``columns`` of ``frame`` to numbers in place; a cell that is not a number (nor blank,
    nan or inf) raises a UserError naming the file, its line (the header is line 1) and the column."""
    for column in columns:
        if column not in frame.columns or pd.api.types.is_numeric_dtype(frame[column]):
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        text = frame[column].astype(str).str.strip()
        bad = values.isna() & frame[column].notna() & (text != "")
        if bad.any():
            row = int(bad.to_numpy().argmax())
            raise UserError(
                f"{path} line {row + 2}, column '{column}': {frame[column].iloc[row]!r} is not a number; "
                f"correct that cell, or rerun 'augstudy ablate' with the study's options to re-export the file")
        frame[column] = values


def read_frame(path: Path, required: tuple[str, ...], numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read one contract CSV; a missing file gives an empty frame (no columns), a malformed one a UserError."""
    if not path.is_file():
        return pd.DataFrame()
    fix = "rerun 'augstudy ablate' with the study's options to re-export it"
    try:  # the shape first (cut-off rows, bytes that are not text): pandas would read them as blanks
        text = read_csv_text(path)
    except ValueError as exc:
        raise UserError(f"{exc}; {fix}") from None
    try:
        frame = pd.read_csv(io.StringIO(text))
    except ValueError as exc:  # pandas' ParserError is a ValueError; its text may span lines
        raise UserError(f"{path}: not a readable CSV ({' '.join(str(exc).split())}); {fix}") from None
    absent = [c for c in required if c not in frame.columns]
    if absent:
        raise UserError(
            f"{path}: missing column(s) {', '.join(absent)}; it was written by an incompatible "
            f"augstudy version, rerun 'augstudy ablate' to re-export it"
        )
    check_numeric(frame, path, numeric)
    if "arm" in frame.columns:
        frame["arm"] = frame["arm"].astype(str)
    return frame


def read_frames(path: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every file of :data:`CSV_FILES` as a frame (empty when missing), and the missing file names."""
    frames: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    for name, required in CSV_FILES.items():
        csv_path = path / f"{name}.csv"
        frames[name] = read_frame(csv_path, required, NUMERIC_COLUMNS.get(name, ()))
        if not csv_path.is_file():
            missing.append(csv_path.name)
    return frames, missing


def check_runs_consistent(path: Path, meta: dict, runs: pd.DataFrame, missing: list[str]) -> None:
    """runs.csv must exist (``augstudy ablate`` writes it together with study.json) and list every
    (arm, seed) study.json expects; otherwise the folder is damaged or a partial copy."""
    fix = (f"rerun 'augstudy ablate {meta.get('factor', 'FACTOR')} --out {path}' with the study's options "
           f"to re-export it from study.sqlite")
    if "runs.csv" in missing:
        raise UserError(f"{path / 'runs.csv'}: missing, but study.json is there (the study folder is incomplete); {fix}")
    seeds_of = meta.get("seeds_of")  # per-arm seeds (``--seeds auto`` gives arms different ones)
    if isinstance(seeds_of, dict):
        expected = [(str(a), int(s)) for a, seeds in seeds_of.items() for s in seeds or []]
    else:
        arms = [str(a["arm"]) for a in meta.get("arms") or [] if isinstance(a, dict) and "arm" in a]
        expected = [(a, int(s)) for s in meta.get("seeds") or [] for a in arms]
    pairs = zip(runs["arm"], runs["seed"]) if {"arm", "seed"} <= set(runs.columns) else ()
    listed = {(str(a), int(s)) for a, s in pairs if s == s}
    absent = [f"{a} seed {s}" for a, s in expected if (a, s) not in listed]
    if absent:
        raise UserError(f"{path / 'runs.csv'}: lists {len(listed)} of the {len(expected)} runs study.json "
                        f"expects (missing: {', '.join(absent[:3])}{', ...' if len(absent) > 3 else ''}); {fix}")


def check_rows_complete(path: Path, meta: dict, frames: dict[str, pd.DataFrame], effect_rows: list[EffectRow]) -> None:
    """The exported files of one export agree row for row: every finished run of runs.csv has its
    ``epochs_done`` rows in epochs.csv and one class_metrics.csv row per class for each of them; a
    complete study has an effects.csv row for every non-baseline arm and an arms.csv row for every
    arm.  A file cut at a line end (rows missing, the rest well-formed) fails here, in one line."""
    runs, epochs, classes = frames["runs"], frames["epochs"], frames["class_metrics"]
    if len(runs) and "epochs_done" in runs.columns and len(epochs.columns):
        per_run = epochs.groupby(["arm", "seed"]).size().to_dict() if len(epochs) else {}
        for arm, seed, status, done in zip(runs["arm"], runs["seed"], runs["status"], runs["epochs_done"]):
            if status in (RunStatus.DONE.value, RunStatus.DIVERGED.value) and done == done:
                if per_run.get((arm, seed), 0) != int(done):
                    raise UserError(f"{path / 'epochs.csv'}: holds {per_run.get((arm, seed), 0)} epoch rows of "
                                    f"{arm} seed {int(seed)}, runs.csv says {int(done)} (rows are missing); "
                                    f"{REEXPORT}")
    n_classes = len(meta.get("class_names") or [])
    if n_classes and len(classes.columns) and len(epochs):
        counts = classes.groupby(["arm", "seed", "epoch"]).size().to_dict() if len(classes) else {}
        finished = {(a, s) for a, s, st in zip(runs["arm"], runs["seed"], runs["status"])
                    if st in (RunStatus.DONE.value, RunStatus.DIVERGED.value)}
        for arm, seed, epoch in zip(epochs["arm"], epochs["seed"], epochs["epoch"]):
            if (arm, seed) in finished and counts.get((arm, seed, epoch), 0) != n_classes:
                raise UserError(f"{path / 'class_metrics.csv'}: holds {counts.get((arm, seed, epoch), 0)} of the "
                                f"{n_classes} class rows of {arm} seed {int(seed)} epoch {int(epoch)} (rows are "
                                f"missing); {REEXPORT}")
    if not parse_bool(meta.get("complete")):
        return
    specs = [a for a in meta.get("arms") or [] if isinstance(a, dict) and "arm" in a]
    have = {r.arm for r in effect_rows}
    lost = [str(a["arm"]) for a in specs if not a.get("is_baseline") and str(a["arm"]) not in have]
    if (path / EFFECTS_CSV).is_file() and lost:
        raise UserError(f"{path / EFFECTS_CSV}: has no row for arm {lost[0]} of this complete study (rows are "
                        f"missing); {REEXPORT}")
    listed = set(frames["arms"]["arm"]) if "arm" in frames["arms"].columns else set()
    lost = [str(a["arm"]) for a in specs if str(a["arm"]) not in listed]
    if len(frames["arms"].columns) and lost:
        raise UserError(f"{path / 'arms.csv'}: has no row for arm {lost[0]} of this complete study (rows are "
                        f"missing); {REEXPORT}")


def read_class_effects(path: Path, meta: dict, frames: dict[str, pd.DataFrame],
                       baseline: str | None) -> pd.DataFrame | None:
    """class_effects.csv as a frame (``significant`` as bool), checked; None when the file is not there
    (a study exported before the file existed: :attr:`Study.class_effects` computes it then).

    Row-complete: every arm it lists has one row per class of study.json, and a complete study lists
    every non-baseline arm of class_metrics.csv with two or more seeds done in both it and the baseline
    (runs.csv)."""
    target = StudyPaths(path).class_effects_csv
    if not target.is_file():
        return None
    frame = read_frame(target, CLASS_EFFECT_COLUMNS, NUMERIC_COLUMNS["class_effects"])
    frame["significant"] = frame["significant"].map(parse_bool).astype(bool)
    frame["class_name"] = frame["class_name"].astype(str)
    n_classes = len(meta.get("class_names") or [])
    counts = frame.groupby("arm").size().to_dict() if len(frame) else {}
    short = [a for a, n in counts.items() if n_classes and n != n_classes]
    if short:
        raise UserError(f"{target}: holds {counts[short[0]]} of the {n_classes} class rows of {short[0]} (rows are "
                        f"missing); {REEXPORT}")
    runs, measured = frames["runs"], set(frames["class_metrics"].get("arm", ()))
    if parse_bool(meta.get("complete")) and baseline is not None and {"arm", "seed", "status"} <= set(runs.columns):
        done = runs[runs["status"] == RunStatus.DONE.value]
        seeds = {arm: set(group["seed"]) for arm, group in done.groupby("arm")}
        due = [a for a in seeds if a != baseline and a in measured and baseline in measured
               and len(seeds[a] & seeds.get(baseline, set())) >= 2]
        order = [str(a.get("arm")) for a in meta.get("arms") or [] if isinstance(a, dict)]
        lost = sorted((a for a in due if a not in counts), key=lambda a: order.index(a) if a in order else len(order))
        if lost:
            raise UserError(f"{target}: has no row for arm {lost[0]} of this complete study (rows are missing); "
                            f"{REEXPORT}")
    return frame


__all__ = ["CSV_FILES", "NUMERIC_COLUMNS", "REEXPORT", "read_meta", "read_frame", "read_frames", "check_numeric",
           "check_runs_consistent", "check_rows_complete", "read_class_effects"]
