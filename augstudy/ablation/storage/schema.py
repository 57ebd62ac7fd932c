"""The study folder's contract, shared by its writer (``augstudy ablate``) and its readers (the report).

One home for what both sides must agree on:

- :class:`RunStatus`: the states of a run, and what "finished" means (:attr:`RunStatus.is_finished`);
- the folder's file names (:class:`StudyPaths`, with :func:`arm_path_name` for arm names in paths);
- the CSV columns (:data:`RUNS_COLUMNS`, :data:`EPOCHS_COLUMNS`, :data:`CLASS_COLUMNS`,
  :data:`ARM_COLUMNS`, :data:`EFFECT_COLUMNS`, :data:`CLASS_EFFECT_COLUMNS`) and the cell format of every CSV (:func:`csv_cell`);
- :class:`EffectRow`: one row of ``effects.csv``, built from the statistics on the ablate side
  (its :class:`~augstudy.ablation.terms.Verdict` included) and read back by the report,
  which formats it and never recomputes it;
- :data:`~augstudy.ablation.terms.POINTS` (in `terms.py`): the unit of every accuracy-like number in the study's files;
- :data:`METRICS`: the per-run selection metrics a study may rank by (re-exported from the options);
- :func:`pack_correct` / :func:`unpack_correct`: how per-example val correctness is stored.

Standard library and the options (pydantic): the report imports it without torch or the dataset.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import asdict, dataclass, fields
from enum import Enum
from pathlib import Path
from typing import Any, Mapping, Sequence

from augstudy.ablation.terms import SEEDS_NEEDED_MAX, Verdict
# the cell parsers live with the CSV reading (one home); re-exported here, the contract's module
from augstudy.ablation.storage.cells import (parse_bool, parse_float, parse_int, parse_number,  # noqa: F401
                                             read_csv_text)
from augstudy.ablation.spec.options import METRICS  # noqa: F401 - the --metric names; their home is the options


# ----------------------------------------------------------------------------- run states
class RunStatus(str, Enum):
    """The state of one run (``runs.status`` in the store, the ``status`` column of runs.csv)."""

    PENDING = "pending"      # registered, not claimed by any process
    RUNNING = "running"      # claimed by a process that keeps its heartbeat fresh
    DONE = "done"            # trained every epoch
    DIVERGED = "diverged"    # loss turned NaN/inf; stopped at ``diverged_epoch``
    FAILED = "failed"        # training raised; ``error`` says why (a rerun retries it)

    @property
    def is_finished(self) -> bool:
        """True when the run will produce no more epochs in this invocation (done, diverged or failed)."""
        return self in (RunStatus.DONE, RunStatus.DIVERGED, RunStatus.FAILED)

    @property
    def has_result(self) -> bool:
        """True when the run's epochs are a result the effect table may use (done or diverged)."""
        return self in (RunStatus.DONE, RunStatus.DIVERGED)

    @classmethod
    def parse(cls, text: str) -> "RunStatus":
        """``"done"`` -> ``RunStatus.DONE``; ValueError naming the allowed values otherwise."""
        try:
            return cls(str(text).strip())
        except ValueError:
            raise ValueError(f"unknown run status {text!r}; expected one of "
                             f"{', '.join(s.value for s in cls)}") from None


def is_finished(status: str | RunStatus) -> bool:
    """:attr:`RunStatus.is_finished` of a status given as text (unknown text: not finished)."""
    try:
        return RunStatus(status).is_finished
    except ValueError:
        return False


FINISHED_STATUSES: tuple[str, ...] = tuple(s.value for s in RunStatus if s.is_finished)

# ----------------------------------------------------------------------------- file names
STUDY_SQLITE = "study.sqlite"
STUDY_JSON = "study.json"
RUNS_CSV = "runs.csv"
EPOCHS_CSV = "epochs.csv"
CLASS_METRICS_CSV = "class_metrics.csv"
EFFECTS_CSV = "effects.csv"
EFFECTS_MD = "effects.md"
CLASS_EFFECTS_CSV = "class_effects.csv"
ARMS_CSV = "arms.csv"
DATA_CHECK_JSON = "data_check.json"
CHECKPOINTS_DIR = "checkpoints"
PREVIEWS_DIR = "previews"
TB_DIR = "tb"
#: files whose presence marks a folder as a study's, with or without its study.sqlite
STUDY_MARKER_FILES = (STUDY_JSON, RUNS_CSV, EPOCHS_CSV, EFFECTS_CSV)
#: every other file ``augstudy ablate`` writes at the top of every study folder (the report included).
#: A study design's own files (two-factor, response curve, strength) are named by its module
#: (:attr:`augstudy.ablation.designs.StudyDesign.files`; all of them: ``DESIGNS.file_names()``).
#: A folder holding any of these, of the markers or of the designs' files but no study.sqlite is never
#: written into: the files are another study's, or the user's own.
DERIVED_FILES = (CLASS_METRICS_CSV, CLASS_EFFECTS_CSV, EFFECTS_MD, ARMS_CSV, DATA_CHECK_JSON, "report.html", "report.md")
#: sub-folders of a study folder that hold its primary or derived files (never a report target)
STUDY_SUBDIRS = (CHECKPOINTS_DIR, TB_DIR, PREVIEWS_DIR)
#: every name this module gives at the top of a study folder: no study design may claim one of them
CORE_FILE_NAMES = (STUDY_SQLITE, *STUDY_MARKER_FILES, *DERIVED_FILES, *STUDY_SUBDIRS)

_UNSAFE = re.compile(r"[^A-Za-z0-9._=+,@-]")


def arm_path_name(name: str) -> str:
    """An arm name as one path component of the study folder (``tb/<arm>/``, ``previews/<arm>.png``):
    every character outside ``A-Za-z0-9._=+,@-`` becomes ``_`` (``augment=policies/x.yaml`` ->
    ``augment=policies_x.yaml``); a leading dot too, so the file is never hidden.  Used by the writer
    and the reader of every per-arm file name, so the rule never changes (existing studies' files
    are found by it).  Default output names under ``reports/`` are another rule:
    :func:`augstudy.file_slug.file_slug`."""
    text = _UNSAFE.sub("_", str(name)) or "_"
    return "_" + text[1:] if text.startswith(".") else text


@dataclass(frozen=True)
class StudyPaths:
    """Where each file of the study folder ``root`` lives (see ARCHITECTURE.md "Study directory")."""

    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))

    @property
    def sqlite(self) -> Path:
        return self.root / STUDY_SQLITE

    @property
    def study_json(self) -> Path:
        return self.root / STUDY_JSON

    @property
    def runs_csv(self) -> Path:
        return self.root / RUNS_CSV

    @property
    def epochs_csv(self) -> Path:
        return self.root / EPOCHS_CSV

    @property
    def class_metrics_csv(self) -> Path:
        return self.root / CLASS_METRICS_CSV

    @property
    def effects_csv(self) -> Path:
        return self.root / EFFECTS_CSV

    @property
    def class_effects_csv(self) -> Path:
        return self.root / CLASS_EFFECTS_CSV

    @property
    def effects_md(self) -> Path:
        return self.root / EFFECTS_MD

    @property
    def arms_csv(self) -> Path:
        return self.root / ARMS_CSV

    @property
    def data_check_json(self) -> Path:
        return self.root / DATA_CHECK_JSON

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / CHECKPOINTS_DIR

    @property
    def previews_dir(self) -> Path:
        return self.root / PREVIEWS_DIR

    @property
    def tb_dir(self) -> Path:
        return self.root / TB_DIR

    def checkpoint(self, config_hash: str, seed: int) -> Path:
        """``checkpoints/<config_hash>-seed<k>.pt``."""
        return self.checkpoints_dir / f"{config_hash}-seed{int(seed)}.pt"

    def preview(self, arm: str) -> Path:
        """``previews/<arm_path_name(arm)>.png``."""
        return self.previews_dir / f"{arm_path_name(arm)}.png"

    def marker_files(self, design_files: Sequence[str] = ()) -> list[Path]:
        """The :data:`STUDY_MARKER_FILES`, :data:`DERIVED_FILES` and ``design_files`` (the study designs'
        names: ``augstudy.ablation.designs.DESIGNS.file_names()``) that exist in the folder: the files a
        study would overwrite."""
        names = STUDY_MARKER_FILES + DERIVED_FILES + tuple(design_files)
        return [self.root / name for name in names if (self.root / name).is_file()]

    def owns(self, target: Path, design_files: Sequence[str] = ()) -> bool:
        """True when ``target`` is one of the study's own files: the store (and its -wal/-shm/-journal),
        a marker, derived or design file (``design_files``, as for :meth:`marker_files`) other than the
        report, or anything under :data:`STUDY_SUBDIRS`."""
        root, target = self.root.resolve(), Path(target).resolve()
        if target.parent == root:
            own = set(STUDY_MARKER_FILES + DERIVED_FILES + tuple(design_files)) - {"report.html", "report.md"}
            return target.name in own or target.name.startswith(STUDY_SQLITE)
        return any(root / sub == parent for sub in STUDY_SUBDIRS for parent in target.parents)


# ----------------------------------------------------------------------------- CSV columns and cells
RUNS_COLUMNS = ("arm", "level", "seed", "status", "epochs_done", "metric", "wall_s", "device", "config_hash",
                "diverged_epoch", "error")
EPOCHS_COLUMNS = ("arm", "level", "seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "wall_s")
CLASS_COLUMNS = ("arm", "level", "seed", "epoch", "class_index", "class_name", "val_acc", "n_val")
ARM_COLUMNS = ("arm", "level", "is_baseline", "n_seeds", "metric_mean", "metric_std",
               "best_val_acc", "stability", "gen_gap", "n_diverged")
#: class_effects.csv: one row per (non-baseline arm, class), effects in points
#: (:func:`augstudy.ablation.analysis.class_effects.class_effect_rows`)
CLASS_EFFECT_COLUMNS = ("arm", "class_index", "class_name", "n_seeds", "effect_mean", "ci_low", "ci_high",
                        "p_value", "q_value", "significant")


def csv_cell(key: str, value: Any) -> str:
    """One CSV cell: '' for None/NaN, ``inf``/``-inf``, floats with 6 significant digits,
    ``True``/``False``, and ``>200`` for a ``seeds_needed`` past the search limit."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if key == "seeds_needed" and isinstance(value, (int, float)) and value > SEEDS_NEEDED_MAX:
        return f">{SEEDS_NEEDED_MAX}"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        value = float(value)
        if math.isnan(value):
            return ""
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return format(value, ".6g")
    return str(value)


def csv_text(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
    """A whole CSV file (header, then one line per row, ``\\n`` line ends) with :func:`csv_cell` cells."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([csv_cell(c, row.get(c)) for c in columns])
    return buf.getvalue()


# ----------------------------------------------------------------------------- per-example correctness
def pack_correct(mask) -> bytes:
    """Per-example correctness as stored: ``np.packbits`` (big bit order) of a bool ``[n]`` array."""
    import numpy as np

    return np.packbits(np.asarray(mask, dtype=bool).reshape(-1)).tobytes()


def unpack_correct(bits: bytes, n: int):
    """The bool numpy ``[n]`` array of :func:`pack_correct`."""
    import numpy as np

    return np.unpackbits(np.frombuffer(bits, dtype=np.uint8), count=int(n)).astype(bool)


# ----------------------------------------------------------------------------- derived columns
#: why the generalization gap (train minus val accuracy, last epoch) is not shown for a run config
GEN_GAP_NA_MIXING = "gen gap n/a: train accuracy is measured on MixUp/CutMix images, not comparable with val accuracy"
#: why the train-loss ratio (diversity) is not shown
DIVERSITY_NA_SOFT = ("diversity n/a: with label smoothing or MixUp/CutMix the train loss has a floor (the soft "
                     "targets' entropy), so a ratio of train losses mixes that floor with the augmentation's effect")


def mixes(config: Mapping | None) -> bool:
    """The run config trains on MixUp/CutMix batches (its ``mix`` section sets an alpha)."""
    section = (config or {}).get("mix") or {}
    return section.get("mixup_alpha") is not None or section.get("cutmix_alpha") is not None


def gen_gap_na(config: Mapping | None) -> str | None:
    """Why the generalization gap means nothing for ``config`` (None: it is defined).

    Definitions that hold: stability (sd of val accuracy over the second half) reads val accuracy only,
    so it keeps its meaning under mixing, label smoothing, EMA (the val accuracy of the EMA weights) and
    TTA; the generalization gap compares train accuracy with val accuracy, which label smoothing, EMA
    and TTA leave comparable (train accuracy is still argmax accuracy on augmented train images, of the
    live weights) but mixing does not: its train accuracy is the target-weighted hit rate on mixed images.
    """
    return GEN_GAP_NA_MIXING if mixes(config) else None


def diversity_na(config: Mapping | None) -> str | None:
    """Why the train-loss ratio (diversity) is not defined for ``config`` (None: it is)."""
    smoothing = float(((config or {}).get("optimizer") or {}).get("label_smoothing") or 0.0)
    return DIVERSITY_NA_SOFT if mixes(config) or smoothing > 0 else None


# ----------------------------------------------------------------------------- effect rows
@dataclass
class EffectRow:
    """One non-baseline arm of ``effects.csv``: its paired effect vs the baseline, and its verdict.

    Accuracy-like numbers are in accuracy points (100 x fraction); missing values are NaN
    (floats) or None (ints).  Every statistical column comes from one
    :class:`augstudy.ablation.analysis.stats.verdicts.ArmEffect` (``to_dict``), decided once on the
    ablate side (:mod:`augstudy.ablation.analysis.effects`) and stored; readers show it as given.
    """

    factor: str
    arm: str
    level: Any
    n_seeds: int                 # paired seeds used (diverged ones included, at chance level)
    effect_mean: float           # mean paired difference, points
    ci_low: float                # family-adjusted interval at ci_level, points (may be -inf)
    ci_high: float               # (may be +inf)
    ci_level: float              # coverage of [ci_low, ci_high], e.g. 0.9875 (Holm step of this arm)
    p_value: float               # two-sided p of "effect = 0" (seed + val-set variance)
    p_adjusted: float            # p_value adjusted over the family (Holm by default)
    significant: bool            # p_adjusted < alpha (then the interval excludes 0)
    tost_p: float                # equivalence test against +-SESOI (two one-sided tests)
    equivalent: bool             # the effect is inside +-SESOI (TOST p < alpha)
    p_improve: float             # share of paired seeds where the arm beat the baseline (ties 1/2)
    p_improve_low: float         # its 95% Clopper-Pearson interval
    p_improve_high: float
    d_z: float                   # effect in noise units: mean / sd of the paired differences
    d_z_low: float               # its 95% interval (noncentral t)
    d_z_high: float
    verdict: Verdict | str       # better | worse | equivalent | inconclusive | unstable ('' = an older file's none)
    decision: Verdict | str      # the statistical call ignoring divergence (= verdict unless unstable)
    seeds_needed: int | None     # paired seeds that would settle an inconclusive arm (> SEEDS_NEEDED_MAX: beyond)
    mde: float                   # minimum detectable effect at n_seeds (80% power), points
    rank: int | None             # 1 = largest mean effect (one-seed arms last); None when the effect is unknown
    ci_method: str
    sd_seed: float               # seed-to-seed sd of the paired differences, points
    val_se: float                # standard error from the finite val set, points (0: not stored)
    metric_mean: float           # the arm's own metric over seeds, points
    metric_std: float
    best_val_acc: float
    stability: float             # sd of val accuracy over the 2nd half of training, points
    gen_gap: float               # train minus val accuracy at the last epoch, points
    n_diverged: int
    note: str = ""

    def __post_init__(self) -> None:
        for name in ("verdict", "decision"):   # a Verdict whoever built the row ('' = none stored)
            value = getattr(self, name)
            if value and not isinstance(value, Verdict):
                setattr(self, name, Verdict.parse(value))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "EffectRow":
        """From a mapping with (at least) every field but ``note`` (extra keys are ignored)."""
        names = [f.name for f in fields(cls)]
        absent = [n for n in names if n not in values and n != "note"]
        if absent:
            raise ValueError(f"effect row of {values.get('arm')!r} lacks {', '.join(absent)}")
        return cls(**{n: values[n] for n in names if n in values})

    @classmethod
    def from_csv_row(cls, row: Mapping[str, str]) -> "EffectRow":
        """From one ``csv.DictReader`` row of effects.csv (every cell a string).

        Raises ValueError naming the column whose cell cannot be read."""
        out: dict[str, Any] = {}
        for f in fields(cls):
            text = row.get(f.name, "")
            try:
                out[f.name] = _FIELD_PARSERS.get(f.name, _parse_str)(text)
            except (TypeError, ValueError):
                raise ValueError(f"column {f.name}: cannot read {text!r}") from None
        for name in ("verdict", "decision"):  # decided once by the statistics: never shown unless it is one
            value = out[name].strip()
            if value or (name == "verdict" and name in row):
                try:
                    out[name] = Verdict.parse(value)
                except ValueError:
                    raise ValueError(f"column {name}: {out[name]!r} is not a verdict (one of "
                                     f"{', '.join(Verdict)})") from None
            else:
                out[name] = ""   # an older effects.csv without the column
        if out["note"] is None:
            out["note"] = ""
        return cls(**out)

    def to_dict(self) -> dict[str, Any]:
        """The row as a plain dict keyed by :data:`EFFECT_COLUMNS`."""
        return asdict(self)

    def csv_cells(self) -> list[str]:
        """The row's effects.csv cells, in :data:`EFFECT_COLUMNS` order."""
        values = self.to_dict()
        return [csv_cell(c, values[c]) for c in EFFECT_COLUMNS]


def _parse_str(text: Any) -> str:
    return "" if text is None else str(text)


_FIELD_PARSERS = {
    **{name: parse_float for name in ("effect_mean", "ci_low", "ci_high", "ci_level", "p_value", "p_adjusted",
                                       "tost_p", "p_improve", "p_improve_low", "p_improve_high", "d_z", "d_z_low",
                                       "d_z_high", "mde", "sd_seed", "val_se", "metric_mean", "metric_std",
                                       "best_val_acc", "stability", "gen_gap")},
    **{name: parse_int for name in ("rank", "seeds_needed")},
    "n_seeds": lambda t: parse_int(t) or 0,
    "n_diverged": lambda t: parse_int(t) or 0,
    "significant": parse_bool,
    "equivalent": parse_bool,
}

#: effects.csv columns, in order (the fields of :class:`EffectRow`)
EFFECT_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(EffectRow))


def sort_by_rank(rows: Sequence[EffectRow]) -> list[EffectRow]:
    """Rows by rank, 1 first; unranked rows last, in input order."""
    return sorted(rows, key=lambda r: (r.rank is None, r.rank or 0))


def read_effects_csv(path: str | Path) -> list[EffectRow]:
    """Every row of an ``effects.csv`` file (missing file: ``[]``).

    Raises ValueError naming the file, row and column of a cell that cannot be read."""
    path = Path(path)
    if not path.is_file():
        return []
    reader = csv.DictReader(io.StringIO(read_csv_text(path)))
    rows = []
    for row in reader:
        try:
            rows.append(EffectRow.from_csv_row(row))
        except ValueError as exc:
            raise ValueError(f"{path}: row {reader.line_num}, {exc}") from None
    return rows


def effects_csv_text(rows: Sequence[EffectRow]) -> str:
    """effects.csv's text: header and the rows in rank order."""
    return csv_text([r.to_dict() for r in sort_by_rank(rows)], EFFECT_COLUMNS)

def preview_arm_names(specs: Sequence[Mapping]) -> list[str]:
    """The one rule for which arms have a preview, used where they are drawn
    (:func:`augstudy.ablation.execution.assets.preview_arms`) and
    where they are shown (the report): the baseline and every arm whose policy differs from the
    baseline's or that mixes (MixUp/CutMix, drawn by :mod:`augstudy.ablation.execution.mix_preview`),
    in the given order; [] when none does (or there is no baseline).

    ``specs``: study.json's ``arms`` entries (``arm``, ``is_baseline``, ``policy``, ``config``)."""
    from augstudy.ablation.spec.study_spec import canonical_json   # pydantic: only when asked

    baseline = next((s for s in specs if s.get("is_baseline")), None)
    if baseline is None:
        return []
    changed = [str(s["arm"]) for s in specs if not s.get("is_baseline") and
               (canonical_json(s.get("policy")) != canonical_json(baseline.get("policy")) or mixes(s.get("config")))]
    return [str(baseline["arm"]), *changed] if changed else []


__all__ = [
    "RunStatus", "is_finished", "FINISHED_STATUSES", "METRICS", "StudyPaths", "arm_path_name",
    "STUDY_SQLITE", "STUDY_JSON", "RUNS_CSV", "EPOCHS_CSV", "CLASS_METRICS_CSV", "CLASS_EFFECTS_CSV", "EFFECTS_CSV", "EFFECTS_MD",
    "ARMS_CSV", "DATA_CHECK_JSON", "CHECKPOINTS_DIR", "PREVIEWS_DIR", "TB_DIR", "STUDY_MARKER_FILES",
    "DERIVED_FILES", "STUDY_SUBDIRS", "CORE_FILE_NAMES",
    "RUNS_COLUMNS", "EPOCHS_COLUMNS", "CLASS_COLUMNS", "ARM_COLUMNS", "EFFECT_COLUMNS", "CLASS_EFFECT_COLUMNS",
    "csv_cell", "csv_text", "read_csv_text", "parse_float", "parse_int", "parse_bool", "parse_number", "EffectRow",
    "sort_by_rank", "read_effects_csv", "effects_csv_text", "pack_correct", "unpack_correct", "mixes", "gen_gap_na",
    "diversity_na", "GEN_GAP_NA_MIXING", "DIVERSITY_NA_SOFT", "preview_arm_names",
]
