"""Noise estimates from a pilot study folder (read-only: plain files + ``study.sqlite`` opened read-only).

What is read (a study folder's contract, ARCHITECTURE.md "Study directory"):

- ``study.json`` / ``runs.csv`` / ``epochs.csv`` through the report's loader
  (:func:`augstudy.ablation.storage.reader.load_study`; a folder that is not a study is one line);
- the per-seed metrics of finished runs -> **accuracy** (the baseline's mean) and **seed sd**
  (the sd of the per-seed paired differences arm - baseline, pooled over the arms, points);
- the per-example correctness stored per run in ``study.sqlite`` (table ``val_correct``, the
  epochs the study's metric uses, :func:`augstudy.ablation.analysis.effects.metric_correctness`) ->
  **churn** (mean squared disagreement between two runs of the same arm, different seeds) and
  **val sd** (the persistent per-example effect: the variance over examples of each example's
  seed-averaged difference, minus its seed-noise share, pooled over the arms);
- ``wall_s`` and ``device`` of finished runs -> the measured time per run.

Without stored per-example correctness (a study rebuilt from its CSVs, or older than the
table) the churn falls back to the largest the seed sd allows and the val sd to 0; the
plan says so.
"""

from __future__ import annotations

import math
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augstudy.ablation.plan.model import NoiseEstimate
from augstudy.ablation.terms import POINTS
from augstudy.errors import UserError


@dataclass
class Pilot:
    """What a pilot study says: its noise, its size and its measured run time."""

    path: Path
    noise: NoiseEstimate
    n_arms: int                    # non-baseline arms of the pilot
    n_seeds: int                   # paired seeds the seed sd was pooled over (most of any arm)
    n_val: int
    sesoi: float | None
    seconds_per_run: float | None  # mean wall time of a finished run
    device: str | None
    metric: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "noise": self.noise.to_dict(), "n_arms": self.n_arms,
                "n_seeds": self.n_seeds, "n_val": self.n_val, "sesoi": self.sesoi,
                "seconds_per_run": self.seconds_per_run, "device": self.device, "metric": self.metric,
                "notes": list(self.notes)}


def _read_correct(db_path: Path, run_ids: list[str]) -> dict[str, dict[int, np.ndarray]]:
    """``{run_id: {epoch: bool [n_val]}}`` from the store, opened read-only ({} when unreadable)."""
    from augstudy.ablation.storage.schema import unpack_correct

    if not db_path.is_file() or not run_ids:
        return {}
    try:
        # a finished study has no -wal file: open it immutable, which creates no -wal/-shm beside it
        # (read-only mode would); a study still writing has one, and read-only mode reads through it
        running = Path(f"{db_path}-wal").exists()
        db = sqlite3.connect(f"file:{db_path}?{'mode=ro' if running else 'immutable=1'}", uri=True, timeout=30.0)
        try:
            marks = ",".join("?" * len(run_ids))
            rows = db.execute(f"SELECT run_id, epoch, n_val, bits FROM val_correct WHERE run_id IN ({marks})",
                              run_ids).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return {}
    out: dict[str, dict[int, np.ndarray]] = {}
    for run_id, epoch, n_val, bits in rows:
        out.setdefault(run_id, {})[int(epoch)] = unpack_correct(bits, n_val)
    return out


def _pooled_sd(groups: list[np.ndarray]) -> tuple[float, int]:
    """Pooled sd (ddof 1 per group) over groups with >= 2 values, and the largest group size."""
    num = sum(float(((g - g.mean()) ** 2).sum()) for g in groups if g.size >= 2)
    den = sum(g.size - 1 for g in groups if g.size >= 2)
    return (math.sqrt(num / den) if den else math.nan), max((g.size for g in groups), default=0)


def same_arm_churn(rows: list[np.ndarray]) -> list[float]:
    """Mean squared disagreement ``mean_i (x_ri - x_ti)^2`` of every pair of one arm's runs.

    ``rows``: per-seed correctness ``[n_val]`` in [0, 1] (bool, or averaged over the metric's epochs).
    For 0/1 correctness this is the share of val examples the two runs disagree on.
    """
    return [float(np.mean((rows[i] - rows[j]) ** 2)) for i in range(len(rows)) for j in range(i + 1, len(rows))]


def persistent_variance(d: np.ndarray) -> float:
    """Variance over examples of an arm's persistent per-example effect (fractions^2), unbiased.

    ``d``: ``[n, n_val]`` per-seed, per-example differences arm - baseline (fractions), n >= 2.
    The variance over examples of the seed-averaged difference holds the persistent part plus
    each example's seed noise divided by n; the latter is estimated from the spread over seeds.
    """
    n = d.shape[0]
    within = float(d.var(axis=0, ddof=1).mean()) / n
    return max(float(d.mean(axis=0).var(ddof=1)) - within, 0.0)


def read_pilot(path: str | Path) -> Pilot:
    """Noise estimate, sizes and run time of the study folder ``path`` (module docstring)."""
    from augstudy.ablation.analysis.effects import metric_correctness
    from augstudy.ablation.storage.reader import load_study

    study = load_study(path)
    runs, meta = study.runs, study.meta
    where = Path(path)
    if not len(runs) or "status" not in runs.columns:
        raise UserError(f"{where / 'runs.csv'}: no runs yet; let the pilot study finish some runs "
                        f"(augstudy ablate ... --out {where}), or give the noise as numbers (--seed-sd)")
    base = study.baseline_arm
    metric = str(meta.get("metric") or "last3")
    done = runs[runs["status"] == "done"]
    metric_of = {(str(r.arm), int(r.seed)): float(r.metric) for r in done.itertuples()
                 if r.metric == r.metric}
    base_seeds = {s: v for (a, s), v in metric_of.items() if a == base}
    if len(base_seeds) < 1:
        raise UserError(f"{where / 'runs.csv'}: the baseline arm {base!r} has no finished run; let the pilot "
                        f"finish, or give the noise as numbers (--seed-sd, --accuracy)")
    arms = [str(a) for a in study.arm_names if str(a) != base]
    diffs = []
    for arm in arms:
        seeds = sorted(s for (a, s) in metric_of if a == arm and s in base_seeds)
        diffs.append(np.array([POINTS * (metric_of[(arm, s)] - base_seeds[s]) for s in seeds]))
    seed_sd, n_seeds = _pooled_sd(diffs)
    if not math.isfinite(seed_sd):
        raise UserError(f"{where / 'runs.csv'}: no arm has 2 finished seeds paired with the baseline, so the "
                        f"seed sd cannot be estimated; run the pilot with --seeds 2 or more, or give it as --seed-sd")
    accuracy = float(np.mean(list(base_seeds.values())))
    notes: list[str] = []

    # per-example correctness, matching the metric, per (arm, seed)
    hashes = {str(spec.get("arm")): spec.get("config_hash") for spec in study.arm_specs}
    rid = {(a, s): f"{hashes.get(a)}-seed{s}" for (a, s) in metric_of if hashes.get(a)}
    stored = _read_correct(where / "study.sqlite", sorted(set(rid.values())))
    epochs = study.curves
    correct: dict[tuple[str, int], np.ndarray] = {}
    for key, run_id in rid.items():
        if run_id not in stored:
            continue
        rows = epochs[(epochs["arm"] == key[0]) & (epochs["seed"] == key[1])] if len(epochs) else epochs
        recs = [{"epoch": int(r.epoch), "val_acc": float(r.val_acc)} for r in rows.itertuples()
                if r.val_acc == r.val_acc]
        value = metric_correctness(stored[run_id], recs, metric)
        if value is not None:
            correct[key] = value
    sizes = {v.size for v in correct.values()}
    churn, val_sd = None, 0.0
    n_val = int(meta.get("n_val") or 0)
    if correct and len(sizes) == 1:
        n_val = sizes.pop()
        dis = []
        for arm in [base] + arms:
            dis += same_arm_churn([correct[(arm, s)] for s in sorted(s for (a, s) in correct if a == arm)])
        churn = float(np.mean(dis)) if dis else None
        if churn is not None and churn <= 0:
            churn = None                  # runs identical on every example: no churn to model
        taus = []
        for arm in arms:
            seeds = sorted(s for (a, s) in correct if a == arm and (base, s) in correct)
            if len(seeds) < 2:
                continue
            taus.append(persistent_variance(np.stack([correct[(arm, s)] - correct[(base, s)] for s in seeds])))
        if taus:
            val_sd = POINTS * math.sqrt(float(np.mean(taus)) / n_val)
        if churn is None:
            notes.append("churn: fewer than 2 seeds of any arm have per-example correctness; taken as the "
                         "largest the seed sd allows")
    else:
        notes.append("no per-example correctness in study.sqlite (a study rebuilt from its CSV files, or "
                     "an older one): churn taken as the largest the seed sd allows, val-set sd as 0")
    if seed_sd <= 0:
        if churn is None:
            raise UserError(f"{where / 'runs.csv'}: every paired difference is the same and no per-example "
                            f"correctness is stored, so the seed sd cannot be estimated; give it as --seed-sd")
        notes.append("every paired difference of the pilot is equal (seed sd 0): the seed sd its churn gives is used")
    if n_val <= 0:
        raise UserError(f"{where / 'study.json'}: field 'n_val' missing and no per-example correctness stored; "
                        f"give the val-set size with --val-size")
    walls = [float(w) for w in done.get("wall_s", []) if w == w and float(w) > 0]
    devices = Counter(str(d) for d in done.get("device", []) if d == d and str(d))
    sesoi = meta.get("sesoi")
    noise = NoiseEstimate(accuracy=accuracy, churn=churn, seed_sd=seed_sd, val_sd=val_sd, ref_val=n_val)
    return Pilot(path=where, noise=noise, n_arms=len(arms), n_seeds=n_seeds, n_val=n_val,
                 sesoi=float(sesoi) if sesoi is not None else None,
                 seconds_per_run=float(np.mean(walls)) if walls else None,
                 device=devices.most_common(1)[0][0] if devices else None, metric=metric, notes=notes)
