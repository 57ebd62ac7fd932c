"""Read a study directory's plain files (the contract in ARCHITECTURE.md "Study directory").

The report never opens ``study.sqlite`` and never loads the dataset: it reads only
the plain files ``augstudy ablate`` exports atomically (``study.json``, ``runs.csv``,
``epochs.csv``, ``class_metrics.csv``, ``effects.csv``, ``arms.csv``,
``previews/<arm>.png``), named by :class:`augstudy.ablation.storage.schema.StudyPaths`, and each
study design's own files, read by the design (:data:`augstudy.ablation.designs.DESIGNS`).
``effects.csv`` rows are read as :class:`~augstudy.ablation.storage.schema.EffectRow`, verdict
included: the report formats them and recomputes nothing.  A study that is still
running has some files missing or partial; :class:`Study` keeps what exists and
records what is missing so the report can say so instead of failing.

Units: accuracies in ``epochs.csv``/``class_metrics.csv`` are fractions in
[0, 1]; effects in ``effects.csv`` are accuracy points (100 x fraction).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from augstudy.ablation.designs import DESIGNS
from augstudy.ablation.storage.schema import (EFFECTS_CSV, FINISHED_STATUSES, EffectRow, RunStatus, StudyPaths, read_csv_text,
                                   read_effects_csv)
from augstudy.atomic import read_json_file
from augstudy.errors import UserError

#: the CSV files of a study directory and the columns the report relies on
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
}

_TRUE_STRINGS = {"true", "1", "yes", "y", "t"}


def parse_number(value, finite: bool = False) -> float | None:
    """A CSV cell as a float; ``None`` for blanks, text and NaN (and for +-inf when ``finite``:
    an unbounded interval end is a number to show but not one to compare)."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(out) or (finite and math.isinf(out)):
        return None
    return out


def parse_bool(value) -> bool:
    """``True``/``"true"``/``"1"``/``1.0`` -> True; blanks, NaN and anything else -> False."""
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value == value and bool(value)  # NaN != NaN
    return str(value).strip().lower() in _TRUE_STRINGS


@dataclass
class Study:
    """Everything the report needs from one study directory.

    DataFrames are empty (with no columns) when their file is missing; ``missing``
    lists those file names.  ``arm_names`` keeps study.json's order, baseline first.
    """

    path: Path
    meta: dict
    runs: pd.DataFrame
    epochs: pd.DataFrame
    class_metrics: pd.DataFrame
    effects: pd.DataFrame
    arms: pd.DataFrame
    missing: list[str] = field(default_factory=list)
    #: effects.csv as typed rows, in file (rank) order
    effect_rows: list[EffectRow] = field(default_factory=list)
    #: each study design's files as its ``read`` returned them (design name -> data; only the designs
    #: whose files the folder holds): :data:`augstudy.ablation.designs.DESIGNS`
    designs: dict = field(default_factory=dict)

    # -- identity -----------------------------------------------------------------
    @property
    def factor(self) -> str:
        return str(self.meta.get("factor", self.path.name))

    @property
    def dataset(self) -> str:
        return str(self.meta.get("dataset", "?"))

    @property
    def metric(self) -> str:
        return str(self.meta.get("metric", "?"))

    @property
    def seeds(self) -> list[int]:
        if self.meta.get("seeds"):
            return [int(s) for s in self.meta["seeds"]]
        return sorted(int(s) for s in self.runs["seed"].unique()) if len(self.runs) else []

    @property
    def baseline_arm(self) -> str | None:
        if self.meta.get("baseline_arm"):
            return str(self.meta["baseline_arm"])
        for arm in self.arm_specs:
            if arm.get("is_baseline"):
                return str(arm["arm"])
        return None

    @property
    def arm_specs(self) -> list[dict]:
        """study.json's ``arms`` entries (``arm, factor, level, is_baseline, config, config_hash, policy``)."""
        return list(self.meta.get("arms") or [])

    def arm_spec(self, arm: str) -> dict:
        for spec in self.arm_specs:
            if spec.get("arm") == arm:
                return spec
        return {}

    @property
    def baseline_config_hash(self) -> str | None:
        spec = self.arm_spec(self.baseline_arm) if self.baseline_arm else {}
        return spec.get("config_hash")

    @property
    def arm_names(self) -> list[str]:
        """Every arm, baseline first, then study.json's order, then any extra arms the CSVs mention."""
        names = [str(a["arm"]) for a in self.arm_specs if "arm" in a]
        for frame in (self.runs, self.epochs, self.effects, self.arms):
            if "arm" in frame.columns:
                names.extend(str(a) for a in frame["arm"].unique())
        ordered = list(dict.fromkeys(names))
        base = self.baseline_arm
        if base in ordered:
            ordered.remove(base)
            ordered.insert(0, base)
        return ordered

    @property
    def class_names(self) -> list[str]:
        names = self.meta.get("class_names")
        if names:
            return [str(n) for n in names]
        if len(self.class_metrics) and "class_name" in self.class_metrics.columns:
            pairs = self.class_metrics[["class_index", "class_name"]].drop_duplicates().sort_values("class_index")
            return [str(n) for n in pairs["class_name"]]
        return []

    # -- progress -----------------------------------------------------------------
    @property
    def expected_runs(self) -> int:
        """Runs the study will have when complete: arms x seeds, or the seeds registered per arm
        (``seeds_of``: ``--seeds auto`` adds seeds per look), or runs.csv rows if study.json lacks both."""
        seeds_of = self.meta.get("seeds_of")
        n = sum(len(v) for v in seeds_of.values()) if isinstance(seeds_of, dict) else \
            len(self.arm_specs) * len(self.meta.get("seeds") or [])
        return n or len(self.runs)

    @property
    def finished_runs(self) -> int:
        if not len(self.runs):
            return 0
        return int(self.runs["status"].isin(FINISHED_STATUSES).sum())

    @property
    def done_runs(self) -> int:
        if not len(self.runs):
            return 0
        return int((self.runs["status"] == RunStatus.DONE.value).sum())

    @property
    def is_complete(self) -> bool:
        """True when study.json says so, or every expected run has finished and effects exist."""
        if "complete" in self.meta:
            return parse_bool(self.meta["complete"])
        return self.expected_runs > 0 and self.finished_runs >= self.expected_runs and "effects.csv" not in self.missing

    def progress_notice(self) -> str | None:
        """One sentence for an unfinished study, e.g. "3 of 12 runs finished; effects are provisional"; None when complete."""
        if self.is_complete:
            return None
        parts = [f"{self.finished_runs} of {self.expected_runs} runs finished"]
        if "effects.csv" in self.missing:
            parts.append("no effects computed yet (effects.csv is missing)")
        else:
            parts.append("effects are provisional")
        running = int((self.runs["status"] == RunStatus.RUNNING.value).sum()) if len(self.runs) else 0
        if running:
            parts.append(f"{running} running now")
        return "; ".join(parts)

    # -- files --------------------------------------------------------------------
    @property
    def paths(self) -> StudyPaths:
        return StudyPaths(self.path)

    def preview_path(self, arm: str) -> Path | None:
        """The arm's preview drawn by ``augstudy ablate`` (:meth:`StudyPaths.preview`) if it exists."""
        candidate = self.paths.preview(arm)
        return candidate if candidate.is_file() else None

    @property
    def noise_floor(self) -> dict:
        """study.json's ``noise_floor`` (the statistics' keys), ``{}`` when not computed yet."""
        return dict(self.meta.get("noise_floor") or {})


def _check_numeric(frame: pd.DataFrame, path: Path, columns: tuple[str, ...]) -> None:
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


def _read_csv(path: Path, required: tuple[str, ...], numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    """Read one contract CSV; a missing file gives an empty frame, a malformed one a UserError."""
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
    _check_numeric(frame, path, numeric)
    if "arm" in frame.columns:
        frame["arm"] = frame["arm"].astype(str)
    return frame


def _check_runs_consistent(path: Path, meta: dict, runs: pd.DataFrame, missing: list[str]) -> None:
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


def _check_rows_complete(path: Path, meta: dict, frames: dict[str, pd.DataFrame], effect_rows: list) -> None:
    """The exported files of one export agree row for row: every finished run of runs.csv has its
    ``epochs_done`` rows in epochs.csv and one class_metrics.csv row per class for each of them; a
    complete study has an effects.csv row for every non-baseline arm and an arms.csv row for every
    arm.  A file cut at a line end (rows missing, the rest well-formed) fails here, in one line."""
    fix = "rerun 'augstudy ablate' with the study's options to re-export it from study.sqlite"
    runs, epochs, classes = frames["runs"], frames["epochs"], frames["class_metrics"]
    if len(runs) and "epochs_done" in runs.columns and len(epochs.columns):
        per_run = epochs.groupby(["arm", "seed"]).size().to_dict() if len(epochs) else {}
        for arm, seed, status, done in zip(runs["arm"], runs["seed"], runs["status"], runs["epochs_done"]):
            if status in (RunStatus.DONE.value, RunStatus.DIVERGED.value) and done == done:
                if per_run.get((arm, seed), 0) != int(done):
                    raise UserError(f"{path / 'epochs.csv'}: holds {per_run.get((arm, seed), 0)} epoch rows of "
                                    f"{arm} seed {int(seed)}, runs.csv says {int(done)} (rows are missing); {fix}")
    n_classes = len(meta.get("class_names") or [])
    if n_classes and len(classes.columns) and len(epochs):
        counts = classes.groupby(["arm", "seed", "epoch"]).size().to_dict() if len(classes) else {}
        finished = {(a, s) for a, s, st in zip(runs["arm"], runs["seed"], runs["status"])
                    if st in (RunStatus.DONE.value, RunStatus.DIVERGED.value)}
        for arm, seed, epoch in zip(epochs["arm"], epochs["seed"], epochs["epoch"]):
            if (arm, seed) in finished and counts.get((arm, seed, epoch), 0) != n_classes:
                raise UserError(f"{path / 'class_metrics.csv'}: holds {counts.get((arm, seed, epoch), 0)} of the "
                                f"{n_classes} class rows of {arm} seed {int(seed)} epoch {int(epoch)} (rows are "
                                f"missing); {fix}")
    if not parse_bool(meta.get("complete")):
        return
    specs = [a for a in meta.get("arms") or [] if isinstance(a, dict) and "arm" in a]
    have = {r.arm for r in effect_rows}
    lost = [str(a["arm"]) for a in specs if not a.get("is_baseline") and str(a["arm"]) not in have]
    if (path / EFFECTS_CSV).is_file() and lost:
        raise UserError(f"{path / EFFECTS_CSV}: has no row for arm {lost[0]} of this complete study (rows are "
                        f"missing); {fix}")
    listed = set(frames["arms"]["arm"]) if "arm" in frames["arms"].columns else set()
    lost = [str(a["arm"]) for a in specs if str(a["arm"]) not in listed]
    if len(frames["arms"].columns) and lost:
        raise UserError(f"{path / 'arms.csv'}: has no row for arm {lost[0]} of this complete study (rows are "
                        f"missing); {fix}")


def load_study(study_dir: str | Path) -> Study:
    """Load a (finished or still running) study directory.

    Raises :class:`UserError` when the directory or its ``study.json`` is missing
    or unreadable; missing CSVs are recorded in ``Study.missing``, not errors.
    """
    path = Path(study_dir)
    if not path.exists():
        raise UserError(f"{path}: no such study directory; run 'augstudy ablate FACTOR --out {path}' first")
    if not path.is_dir():
        raise UserError(f"{path}: not a directory; pass a study directory written by 'augstudy ablate'")
    meta_path = path / "study.json"
    if not meta_path.is_file():
        raise UserError(f"{path}: not a study directory (no study.json); run 'augstudy ablate FACTOR --out {path}' first")
    meta = read_json_file(meta_path, invalid_fix="rerun 'augstudy ablate' to rewrite it")
    if not isinstance(meta, dict):
        raise UserError(f"{meta_path}: expected a JSON object at the top level; rerun 'augstudy ablate' to rewrite it")

    frames: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    for name, required in CSV_FILES.items():
        csv_path = path / f"{name}.csv"
        frames[name] = _read_csv(csv_path, required, NUMERIC_COLUMNS.get(name, ()))
        if not csv_path.is_file():
            missing.append(csv_path.name)
    _check_runs_consistent(path, meta, frames["runs"], missing)
    try:
        effect_rows = read_effects_csv(path / EFFECTS_CSV)
    except ValueError as exc:
        raise UserError(f"{exc}; rerun 'augstudy ablate' to re-export it") from None
    _check_rows_complete(path, meta, frames, effect_rows)
    designs = {d.name: data for d in DESIGNS if (data := d.read(path)) is not None}
    return Study(path=path, meta=meta, missing=missing, effect_rows=effect_rows, designs=designs, **frames)
