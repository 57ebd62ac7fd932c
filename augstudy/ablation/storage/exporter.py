"""The study folder's plain files, written from one consistent read of the store.

Pure: a :class:`StudyDescription` (what this invocation studies) plus a
:class:`StoreSnapshot` (one read transaction of ``study.sqlite``) -> files, atomically.

- :func:`export_progress` (after every epoch): ``runs.csv``, ``epochs.csv``,
  ``class_metrics.csv`` -- the learning curves and where every run stands;
- :func:`export_study` (at start, when a run finishes, at the end): those files plus
  ``effects.csv``, ``effects.md``, ``arms.csv``, ``class_effects.csv``
  (:mod:`~augstudy.ablation.analysis.class_effects`) and ``study.json``, and the files of every study
  design that applies (:data:`augstudy.ablation.designs.DESIGNS`, in registry order: a two-factor
  study's ``cells.csv`` and ``interaction.*``, a numeric factor's ``response.json``, ...);
- :func:`export_final` (once, when the study is complete): what the designs measure with the
  dataset and the trained checkpoints (a policy-strength study's ``strength.csv`` / ``.json``).

The core file names and columns come from :mod:`augstudy.ablation.storage.schema`; a design's own
from its module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augstudy.ablation.analysis.class_effects import class_effect_rows, write_class_effects
from augstudy.ablation.analysis.effects import (EffectsResult, SequentialPlan, compute_effects, metric_correctness,
                                    metric_from_epochs, write_effects)
from augstudy.ablation.designs import DESIGNS, ExportContext
from augstudy.ablation.storage.schema import (CLASS_COLUMNS, EPOCHS_COLUMNS, RUNS_COLUMNS, RunStatus, StudyPaths, csv_text,
                                    gen_gap_na)
from augstudy.ablation.spec.study_spec import Arm
from augstudy.ablation.storage.store import StudyStore, run_id_for
from augstudy.atomic import atomic_write_json, atomic_write_text


@dataclass
class StudyDescription:
    """What one invocation studies: fixed while it runs.  ``n_train``/``n_val``: the baseline's
    subset sizes; ``data_check``: ``augstudy data check`` findings (None when unavailable)."""

    factor: str
    budget: str
    metric: str
    device: str
    seeds: list[int]
    arms: list[Arm]
    dataset_name: str
    dataset_path: str
    class_names: list[str]
    n_train: int
    n_val: int
    data_message: str = ""
    grayscale_fraction: float | None = None
    data_check: list[dict] | None = None
    sesoi: float = 1.0
    sequential: SequentialPlan | None = None
    seeds_of: dict[str, list[int]] | None = None
    precision: str | None = None
    compile: bool = False

    @property
    def baseline(self) -> Arm:
        return next(a for a in self.arms if a.is_baseline)

    def arm_seeds(self, arm: Arm) -> list[int]:
        """The seeds registered for ``arm``: ``seeds_of[arm.name]`` under ``--seeds auto``, else ``seeds``."""
        if self.seeds_of is not None and arm.name in self.seeds_of:
            return list(self.seeds_of[arm.name])
        return list(self.seeds)

    def pairs(self) -> list[tuple[int, Arm]]:
        """Every (seed, arm) of the study, seed-major (every arm of seed 0 first)."""
        seeds = sorted({s for a in self.arms for s in self.arm_seeds(a)})
        return [(s, a) for s in seeds for a in self.arms if s in self.arm_seeds(a)]

    @property
    def run_order(self) -> list[str]:
        """Every run id once, seed-major (every arm of seed 0 first, so paired comparisons appear
        early); arms sharing a config share a run."""
        return list(dict.fromkeys(run_id_for(a.config_hash, s) for s, a in self.pairs()))

    def val_pairable(self, arm: Arm) -> bool:
        """True when ``arm`` is evaluated on the baseline's val images (same val subset), so
        per-example correctness pairs example by example."""
        keys = ("val_subset", "subset_seed")
        return all(arm.config["data"].get(k) == self.baseline.config["data"].get(k) for k in keys)


@dataclass
class StoreSnapshot:
    """Runs (by run id), epoch rows and class-metric rows of one read transaction, and the meta."""

    runs: dict[str, dict]
    epochs: list[dict]
    class_rows: list[dict]
    meta: dict = field(default_factory=dict)

    correct: dict[str, dict[int, "object"]] = field(default_factory=dict)

    @classmethod
    def read(cls, store: StudyStore, run_ids: list[str], with_correct: bool = False) -> "StoreSnapshot":
        """One read of the runs; ``with_correct``: also each finished run's per-example val correctness
        (``{run_id: {epoch: bool [n_val]}}``, read after the snapshot: finished runs no longer change)."""
        runs, epochs, class_rows = store.snapshot(run_ids)
        correct = {}
        if with_correct:
            correct = {rid: store.val_correct_epochs(rid) for rid, r in runs.items() if r["status"] == RunStatus.DONE}
        return cls(runs, epochs, class_rows, store.meta(), correct)


@dataclass
class ExportResult:
    """What one export wrote (``files``: key -> path), the effects, completion, the records it was made
    from (:func:`arm_records`) and each applying design's exported data (design name -> data)."""

    files: dict[str, Path]
    effects: EffectsResult
    complete: bool
    records: list[dict] = field(default_factory=list)
    designs: dict[str, Any] = field(default_factory=dict)


def arm_records(desc: StudyDescription, snap: StoreSnapshot) -> list[dict]:
    """One record per (seed, arm) of the study, seed-major: the run's row plus ``arm``, ``level``,
    ``seed``, ``epochs`` (its epoch rows) and ``metric`` (recomputed from the epochs of a done run,
    so it follows ``--metric`` on reruns).  A run shared by several arms appears under each."""
    by_run: dict[str, list[dict]] = {}
    for e in snap.epochs:
        by_run.setdefault(e["run_id"], []).append(e)
    records = []
    for seed, arm in desc.pairs():
        rid = run_id_for(arm.config_hash, seed)
        run = snap.runs[rid]
        run_epochs = by_run.get(rid, [])
        metric, correct = run["metric"], None
        if run["status"] == RunStatus.DONE and run_epochs:
            metric = metric_from_epochs(run_epochs, desc.metric)
            if rid in snap.correct and desc.val_pairable(arm):
                correct = metric_correctness(snap.correct[rid], run_epochs, desc.metric)
        records.append({**run, "arm": arm.name, "level": arm.level, "seed": seed, "metric": metric,
                        "epochs": run_epochs, "run_id": rid, "correct": correct})
    return records


def class_metric_rows(desc: StudyDescription, snap: StoreSnapshot, records: list[dict]) -> list[dict]:
    """class_metrics.csv's rows (:data:`CLASS_COLUMNS`): each class row of a run under every arm sharing it."""
    arms_of_run: dict[str, list[dict]] = {}
    for r in records:
        arms_of_run.setdefault(r["run_id"], []).append(r)
    names = list(desc.class_names)
    class_out = [{**c, "arm": r["arm"], "level": r["level"], "seed": r["seed"],
                  "class_name": names[c["class_index"]] if c["class_index"] < len(names) else ""}
                 for c in snap.class_rows for r in arms_of_run.get(c["run_id"], [])]
    class_out.sort(key=lambda c: (c["arm"], c["seed"], c["epoch"], c["class_index"]))
    return class_out


def export_progress(paths: StudyPaths, desc: StudyDescription, snap: StoreSnapshot,
                    records: list[dict] | None = None, class_rows: list[dict] | None = None) -> dict[str, Path]:
    """Write ``runs.csv``, ``epochs.csv`` and ``class_metrics.csv``; returns ``{name: path}``."""
    records = arm_records(desc, snap) if records is None else records
    files = {"runs_csv": atomic_write_text(paths.runs_csv, csv_text(records, RUNS_COLUMNS))}
    epoch_rows = [{**e, "arm": r["arm"], "level": r["level"], "seed": r["seed"]}
                  for r in records for e in r["epochs"]]
    files["epochs_csv"] = atomic_write_text(paths.epochs_csv, csv_text(epoch_rows, EPOCHS_COLUMNS))
    class_rows = class_metric_rows(desc, snap, records) if class_rows is None else class_rows
    files["class_metrics_csv"] = atomic_write_text(paths.class_metrics_csv, csv_text(class_rows, CLASS_COLUMNS))
    return files


def export_runs(paths: StudyPaths, desc: StudyDescription, snap: StoreSnapshot) -> Path:
    """Only ``runs.csv`` (``snap`` needs no class rows): the cheap export a run's first epoch makes, so
    runs.csv says at once which runs train, between the driver's full exports."""
    return atomic_write_text(paths.runs_csv, csv_text(arm_records(desc, snap), RUNS_COLUMNS))


def export_study(paths: StudyPaths, desc: StudyDescription, snap: StoreSnapshot) -> ExportResult:
    """Every plain file of the study folder: :func:`export_progress`'s, the effect files and study.json."""
    records = arm_records(desc, snap)
    class_rows = class_metric_rows(desc, snap, records)
    files = export_progress(paths, desc, snap, records, class_rows)
    chance = 1.0 / len(desc.class_names) if desc.class_names else None
    effects = compute_effects(records, desc.baseline.name, desc.factor, desc.metric, sesoi=desc.sesoi,
                              chance=chance, sequential=desc.sequential,
                              factor_of={a.name: a.factor for a in desc.arms},
                              gen_gap_na={a.name: gen_gap_na(a.config) for a in desc.arms if gen_gap_na(a.config)})
    ctx = _design_context(paths, desc, records, chance)
    design_files: dict[str, Path] = {}
    markdown = ""
    for design in DESIGNS.applying(desc.arms):
        out = design.export(ctx)
        design_files.update(out.files)
        markdown += out.markdown      # a design's section of effects.md (the response curve)
        if out.data is not None:
            ctx.data[design.name] = out.data
    files.update(write_effects(effects, paths.root, extra_markdown=markdown))
    files.update(design_files)
    done = {(r["arm"], int(r["seed"])) for r in records if r["status"] == RunStatus.DONE}
    files["class_effects_csv"] = write_class_effects(paths, class_effect_rows(
        class_rows, done, desc.baseline.name, [a.name for a in desc.arms], desc.class_names))
    # complete: every run has a result; a failed run has none (a rerun retries it), so a study with
    # one -- or where every run failed -- is not complete, whatever its table says
    complete = all(RunStatus(r["status"]).has_result for r in records)
    if desc.sequential is not None and effects.sequential is not None:
        complete = complete and effects.sequential.done
    files["study_json"] = atomic_write_json(paths.study_json, study_json(desc, snap, records, complete, effects))
    return ExportResult(files, effects, complete, records, dict(ctx.data))


def _design_context(paths: StudyPaths, desc: StudyDescription, records: list[dict],
                    chance: float | None) -> ExportContext:
    return ExportContext(paths, desc.arms, records, desc.metric, list(desc.seeds), desc.sesoi, chance)


def export_final(paths: StudyPaths, desc: StudyDescription, exported: ExportResult, dataset,
                 device) -> ExportResult:
    """Once the study is complete (``exported``: its last export): every applying design's
    ``export_final`` (the strength study's measurements need the dataset and the finished
    checkpoints), from the records and design data ``exported`` holds -- nothing is read back from
    the files just written.  Returns ``exported`` with the new files and data added."""
    chance = 1.0 / len(desc.class_names) if desc.class_names else None
    ctx = _design_context(paths, desc, exported.records, chance)
    ctx.data.update(exported.designs)
    ctx.dataset, ctx.device = dataset, device
    files = dict(exported.files)
    for design in DESIGNS.applying(desc.arms):
        out = design.export_final(ctx)
        files.update(out.files)
        if out.data is not None:
            ctx.data[design.name] = out.data
    return ExportResult(files, exported.effects, exported.complete, exported.records, dict(ctx.data))


def study_json(desc: StudyDescription, snap: StoreSnapshot, records: list[dict], complete: bool,
               effects: EffectsResult) -> dict:
    """``study.json``'s content (see ARCHITECTURE.md "Study directory")."""
    meta = snap.meta
    return {
        "factor": desc.factor, "dataset": desc.dataset_name, "dataset_path": desc.dataset_path,
        "device": desc.device, "seeds": list(desc.seeds), "budget": desc.budget, "metric": desc.metric,
        "baseline_arm": desc.baseline.name,
        "arms": [{"arm": a.name, "factor": a.factor, "level": a.level, "is_baseline": a.is_baseline,
                  "label": a.label, "description": a.description, "config": a.config,
                  "config_hash": a.config_hash, "policy": a.policy} for a in desc.arms],
        "git_commit": meta.get("git_commit"), "versions": meta.get("versions"), "created": meta.get("created"),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_s": sum(r["wall_s"] or 0.0 for r in {r["run_id"]: r for r in records}.values()),
        "complete": complete, "class_names": list(desc.class_names),
        "n_train": desc.n_train, "n_val": desc.n_val, "noise_floor": effects.noise, "data_check": desc.data_check,
        "sesoi": desc.sesoi, "effect_header": list(effects.header), "effect_family": effects.family,
        "seeds_plan": desc.sequential.to_dict() if desc.sequential else {"mode": "fixed", "seeds": list(desc.seeds)},
        "seeds_of": {a.name: desc.arm_seeds(a) for a in desc.arms},
        "grayscale_fraction": desc.grayscale_fraction,
        "data_message": desc.data_message,
        "precision": desc.precision or meta.get("precision"), "compile": desc.compile,
    }


__all__ = ["StudyDescription", "StoreSnapshot", "ExportResult", "arm_records", "class_metric_rows", "export_progress",
           "export_runs", "export_study", "export_final", "study_json"]
