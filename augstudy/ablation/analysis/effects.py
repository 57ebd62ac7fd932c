"""The ranked effect table of a study: rows from runs, and the files the report reads.

:func:`compute_effects` turns the study's runs (per arm and seed: status, metric,
per-epoch accuracies) into an :class:`EffectsResult` whose rows are
:class:`~augstudy.ablation.storage.schema.EffectRow` (verdict included, decided here once by
:mod:`augstudy.ablation.analysis.stats.verdicts`, or :mod:`augstudy.ablation.analysis.stats.sequential` under
``--seeds auto``); :func:`write_effects` writes ``effects.csv``,
``effects.md`` and ``arms.csv`` atomically.  The human table is rendered by
:mod:`augstudy.ablation.analysis.effect_table` (terminal and Markdown alike).

Units: runs carry accuracies as fractions in [0, 1]; every accuracy-like number
in the result and the files (effects, intervals, metric mean/std, best val
accuracy, stability, generalization gap, MDE) is in **accuracy points** (percent,
100 x the fraction), so one table reads on one scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from augstudy.ablation.analysis import stats
from augstudy.ablation.analysis.stats import sequential as stats_sequential, verdicts as stats_verdicts
from augstudy.ablation.analysis.effect_table import effects_markdown
from augstudy.ablation.storage.schema import ARM_COLUMNS, METRICS, EffectRow, RunStatus, StudyPaths, csv_text, effects_csv_text, sort_by_rank
from augstudy.ablation.terms import POINTS
from augstudy.atomic import atomic_write_text
from augstudy.errors import UserError

LAST_K_EPOCHS = 3   # "last3": mean val accuracy over this many final epochs (smooths epoch-to-epoch jitter)
SUMMARY_COLUMNS = ARM_COLUMNS[4:]   # the per-arm summary copied into each effects.csv row


@dataclass
class EffectsResult:
    """The effect table of one study.

    rows: one :class:`EffectRow` per non-baseline arm (input arm order); accuracy points.
    arms: one dict per arm, baseline first, with :data:`ARM_COLUMNS`.
    noise: :func:`augstudy.ablation.analysis.stats.noise_floor` (JSON-able, for study.json).
    header: the sentences every view prints above the table (units, SESOI, interval
        method, family and correction, verdict rules, rank rule and the winner's curse).
    sequential: ``--seeds auto``'s :class:`~augstudy.ablation.analysis.stats.sequential.SequentialResult`
        (which arms need more seeds), None for a fixed design.
    """

    factor: str
    baseline_arm: str
    metric_name: str
    rows: list[EffectRow] = field(default_factory=list)
    arms: list[dict] = field(default_factory=list)
    noise: dict = field(default_factory=dict)
    header: list[str] = field(default_factory=list)
    sesoi: float = stats_verdicts.SESOI
    family: str = "this study"
    sequential: Any = None

    def ranked_rows(self) -> list[EffectRow]:
        """Rows sorted by rank (1 = best); unranked rows last."""
        return sort_by_rank(self.rows)

    def to_dict(self) -> dict:
        return {"factor": self.factor, "baseline_arm": self.baseline_arm,
                "metric": self.metric_name, "rows": [r.to_dict() for r in self.rows], "arms": self.arms,
                "noise": self.noise, "header": list(self.header), "sesoi": self.sesoi, "family": self.family}


def _check_metric(metric: str) -> str:
    """A guard, not the user's message: ``--metric`` is validated by :class:`~augstudy.ablation.spec.options.StudyOptions`."""
    if metric not in METRICS:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    return metric


def _val_accs(epochs: Sequence[Mapping]) -> list[float]:
    """Val accuracies (fractions) in epoch order, skipping epochs without one."""
    ordered = sorted(epochs, key=lambda e: e.get("epoch", 0))
    return [float(e["val_acc"]) for e in ordered if e.get("val_acc") is not None]


def metric_from_epochs(epochs: Sequence[Mapping], metric: str = "last3") -> float:
    """One run's selection metric from its per-epoch records.

    Args:
        epochs: dicts with ``epoch`` (from 1) and ``val_acc`` (fraction in [0, 1]).
        metric: ``"last3"`` (mean val accuracy over the last 3 epochs, or all when
            fewer), ``"best"`` (peak) or ``"final"`` (last epoch).
    Returns:
        the metric as a fraction in [0, 1].
    """
    _check_metric(metric)
    accs = _val_accs(epochs)
    if not accs:
        raise ValueError("metric_from_epochs: the run has no epoch with a val_acc")
    if metric == "best":
        return max(accs)
    if metric == "final":
        return accs[-1]
    return float(np.mean(accs[-LAST_K_EPOCHS:]))


def _get(run: Any, key: str, default=None):
    if isinstance(run, Mapping):
        return run.get(key, default)
    return getattr(run, key, default)


def _run_metric(run: Any, metric_name: str) -> float:
    """The run's metric (fraction): the caller's ``metric`` if given, else from its epochs; nan if none."""
    value = _get(run, "metric")
    if value is None:
        epochs = _get(run, "epochs") or []
        value = metric_from_epochs(epochs, metric_name) if _val_accs(epochs) else math.nan
    value = float(value)
    if math.isfinite(value) and not 0.0 <= value <= 1.0:
        raise ValueError(f"run {_get(run, 'arm')!r} seed {_get(run, 'seed')}: metric {value} is not "
                         "a fraction in [0, 1] (pass accuracies as fractions, not percent)")
    return value


def _stability(epochs: Sequence[Mapping]) -> float:
    """Std (ddof=1) of val accuracy over the second half of training (epochs > last/2); fraction.

    The report's own selection rule: prefer the run whose val accuracy held steady
    over the second half, not only the one with the highest peak.  nan when the
    second half has fewer than 2 epochs.
    """
    accs = _val_accs(epochs)
    second_half = accs[len(accs) // 2:]
    return float(np.std(second_half, ddof=1)) if len(second_half) >= 2 else math.nan


def _gen_gap(epochs: Sequence[Mapping]) -> float:
    """Train minus val accuracy at the last epoch; fraction; nan when either is missing."""
    if not epochs:
        return math.nan
    last = max(epochs, key=lambda e: e.get("epoch", 0))
    if last.get("train_acc") is None or last.get("val_acc") is None:
        return math.nan
    return float(last["train_acc"]) - float(last["val_acc"])


def run_summary(epochs: Sequence[Mapping], scale: float = POINTS) -> dict[str, float] | None:
    """One run's training summary, in points: ``stability`` and ``gen_gap`` (the per-run values whose
    mean over seeds :func:`summarize_arm` stores in arms.csv and effects.csv), ``final_val_acc`` and
    ``best_val_acc``; NaN where undefined.  None when no epoch has a finite val accuracy."""
    finite = [e for e in epochs if _finite(e.get("val_acc")) and _finite(e.get("train_acc"))]
    accs = _val_accs(finite)
    if not accs:
        return None
    return {"stability": scale * _stability(finite), "gen_gap": scale * _gen_gap(finite),
            "final_val_acc": scale * accs[-1], "best_val_acc": scale * max(accs)}


def _finite(value) -> bool:
    return value is not None and math.isfinite(float(value))


def _nanmean(values: Iterable[float]) -> float:
    v = np.array([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    return float(v.mean()) if v.size else math.nan


def summarize_arm(arm: str, level: Any, runs: Sequence[Any], metric_name: str,
                  is_baseline: bool, scale: float = POINTS,
                  gen_gap_na: str | None = None) -> tuple[dict, dict[int, float]]:
    """Summary row (:data:`ARM_COLUMNS`, accuracy points) and ``{seed: metric}`` of one arm.

    Uses runs with status ``done``; diverged runs are counted in ``n_diverged`` (the effect
    rows count them at chance level, see :func:`compute_effects`); failed, running and
    pending runs are ignored.  ``best_val_acc``, ``stability`` and ``gen_gap`` are means over
    the used seeds of each run's own value; ``metric_std`` is the seed-to-seed std (ddof=1;
    nan below 2 seeds).  ``gen_gap_na``: why the arm has no generalization gap (its ``gen_gap`` is then nan;
    :func:`augstudy.ablation.storage.schema.gen_gap_na`).
    """
    used, per_seed, n_diverged = [], {}, 0
    for run in runs:
        status = _get(run, "status")
        if status == RunStatus.DIVERGED:
            n_diverged += 1
        if status == RunStatus.DONE:
            seed = int(_get(run, "seed"))
            if seed in per_seed:
                raise ValueError(f"arm {arm!r}: two finished runs for seed {seed}")
            value = _run_metric(run, metric_name)
            if math.isfinite(value):
                per_seed[seed] = value
                used.append(run)
    values = np.array(list(per_seed.values()), dtype=np.float64)
    epochs_of = [_get(r, "epochs") or [] for r in used]
    peaks = [max(_val_accs(e)) if _val_accs(e) else math.nan for e in epochs_of]
    row = {
        "arm": arm, "level": level, "is_baseline": is_baseline, "n_seeds": int(values.size),
        "metric_mean": scale * float(values.mean()) if values.size else math.nan,
        "metric_std": scale * float(values.std(ddof=1)) if values.size >= 2 else math.nan,
        "best_val_acc": scale * _nanmean(peaks),
        "stability": scale * _nanmean(_stability(e) for e in epochs_of),
        "gen_gap": math.nan if gen_gap_na else scale * _nanmean(_gen_gap(e) for e in epochs_of),
        "n_diverged": n_diverged,
    }
    return row, per_seed


def metric_correctness(correct_by_epoch: Mapping[int, np.ndarray], epochs: Sequence[Mapping],
                       metric: str = "last3") -> np.ndarray | None:
    """Per-example val correctness that matches the run's metric: float ``[n_val]`` in [0, 1].

    ``correct_by_epoch``: ``{epoch: bool [n_val]}`` (:meth:`StudyStore.val_correct_epochs`);
    ``epochs``: the run's epoch records (``epoch``, ``val_acc``).  ``last3``: the mean
    correctness over the same last 3 epochs the metric averages; ``best``: the epoch with the
    peak val accuracy (the first one on a tie); ``final``: the last epoch.  The mean over
    examples is then the run's metric.  None when an epoch the metric uses has no stored
    correctness (a study recorded before the store kept it).
    """
    _check_metric(metric)
    ordered = [e for e in sorted(epochs, key=lambda e: e.get("epoch", 0)) if e.get("val_acc") is not None]
    if not ordered:
        return None
    if metric == "last3":
        use = ordered[-LAST_K_EPOCHS:]
    elif metric == "final":
        use = ordered[-1:]
    else:
        peak = max(float(e["val_acc"]) for e in ordered)
        use = [next(e for e in ordered if float(e["val_acc"]) == peak)]
    arrays = [correct_by_epoch.get(int(e["epoch"])) for e in use]
    if any(a is None for a in arrays) or len({a.shape for a in arrays}) != 1:
        return None
    return np.mean(np.stack([np.asarray(a, dtype=np.float64) for a in arrays]), axis=0)


def family_name(factor: str) -> str:
    """What the multiplicity family is, as the header says it: one study, or every arm of ``ablate all``."""
    return "every arm of ablate all" if factor == "all" else "this study"


@dataclass
class SequentialPlan:
    """``--seeds auto``: looks at ``start, start + batch, ...`` up to ``max_seeds`` (stored in study.json)."""

    start: int = stats_sequential.START_SEEDS
    batch: int = stats_sequential.BATCH
    max_seeds: int = stats_sequential.MAX_SEEDS

    def to_dict(self) -> dict:
        return {"mode": "auto", "start": self.start, "batch": self.batch, "max": self.max_seeds}

    def describe(self) -> str:
        return f"auto (start {self.start}, +{self.batch} per look, max {self.max_seeds})"

    @classmethod
    def from_dict(cls, values: Mapping) -> "SequentialPlan":
        return cls(int(values["start"]), int(values["batch"]), int(values["max"]))


def compute_effects(runs: Sequence[Any], baseline_arm: str, factor: str,
                    metric_name: str = "last3", *, sesoi: float = stats_verdicts.SESOI,
                    chance: float | None = None, family: str | None = None,
                    sequential: SequentialPlan | None = None, alpha: float = stats_verdicts.ALPHA,
                    factor_of: Mapping[str, str] | None = None,
                    gen_gap_na: Mapping[str, str] | None = None) -> EffectsResult:
    """The ranked effect table of a study: one verdict per arm, decided here once.

    Args:
        runs: one mapping (or object with these attributes) per (arm, seed):
            ``arm`` (str), ``level``, ``seed`` (int), ``status`` (done | diverged |
            failed | running | pending), ``metric`` (fraction in [0, 1], or None to
            compute it from ``epochs`` with ``metric_name``), ``epochs``: list of
            ``{epoch, train_acc, val_acc, ...}`` with accuracies as fractions, and
            optionally ``correct``: float ``[n_val]`` per-example correctness matching the
            metric (:func:`metric_correctness`), the same val images in the same order for
            every arm whose ``correct`` is given (then intervals include the val set's noise).
        baseline_arm: the arm every other arm is compared with.
        factor: the factor's name (first column of effects.csv).
        sesoi: smallest effect size of interest, accuracy points (equivalence margin).
        chance: the metric a diverged run counts as (fraction, e.g. 1 / n_classes); needed
            when a run diverged.  An arm's diverged runs are never dropped (the arm is
            ``unstable``); a seed where the baseline diverged is left out of every pair, with a
            header warning and a note per arm (:func:`augstudy.ablation.analysis.stats.verdicts.pair_arm`).
        family: the multiplicity family for the header (default :func:`family_name`).
        sequential: ``--seeds auto``'s plan: verdicts by the group-sequential rule
            (:func:`augstudy.ablation.analysis.stats.sequential.sequential_step`), else the fixed
            design (:func:`augstudy.ablation.analysis.stats.verdicts.analyze_family`, Holm over the arms).
        factor_of: ``{arm: factor}`` where arms belong to different factors (``ablate all``).
        gen_gap_na: ``{arm: reason}`` for arms whose generalization gap is undefined (mixing): their
            ``gen_gap`` is blank and the reason joins the row's note.
    Returns:
        :class:`EffectsResult` (accuracy points); ``header`` holds the table's header sentences.
    """
    _check_metric(metric_name)
    by_arm: dict[str, list] = {}
    levels: dict[str, Any] = {}
    for run in runs:
        arm = str(_get(run, "arm"))
        by_arm.setdefault(arm, []).append(run)
        levels.setdefault(arm, _get(run, "level"))
    if baseline_arm not in by_arm:
        raise UserError(f"baseline arm {baseline_arm!r} has no runs; arms with runs: "
                        f"{', '.join(sorted(by_arm)) or 'none'}")
    order = [baseline_arm] + [a for a in by_arm if a != baseline_arm]
    arms, per_seed, diverged, correct = [], {}, {}, {}
    for arm in order:
        row, values = summarize_arm(arm, levels[arm], by_arm[arm], metric_name, is_baseline=arm == baseline_arm,
                                    gen_gap_na=(gen_gap_na or {}).get(arm))
        arms.append(row)
        per_seed[arm] = values
        diverged[arm] = sorted(int(_get(r, "seed")) for r in by_arm[arm] if _get(r, "status") == RunStatus.DIVERGED)
        correct[arm] = {int(_get(r, "seed")): _get(r, "correct") for r in by_arm[arm]
                        if _get(r, "status") == RunStatus.DONE and _get(r, "correct") is not None}
    if chance is None and any(diverged.values()):
        raise ValueError("compute_effects: a run diverged; pass `chance` (the metric it counts as, "
                         "e.g. 1 / n_classes)")
    base_shapes = {np.shape(c) for c in correct[baseline_arm].values()}
    paired = []
    for arm in order[1:]:
        usable = bool(correct[arm]) and len(base_shapes) == 1 and \
            {np.shape(c) for c in correct[arm].values()} == base_shapes
        paired.append(stats_verdicts.pair_arm(
            arm, per_seed[arm], per_seed[baseline_arm], diverged[arm], diverged[baseline_arm], chance,
            correct[arm] if usable else None, correct[baseline_arm] if usable else None))
    family = family or family_name(factor)
    if sequential is not None:
        seq = stats_sequential.sequential_step(paired, sequential.start, sequential.batch, sequential.max_seeds,
                                               alpha=alpha, sesoi=sesoi, family=family,
                                               chance=None if chance is None else POINTS * chance)
        effects_by_arm = {a.effect.arm: a.effect for a in seq.arms}
        header = list(seq.header)
    else:
        seq = None
        fam = stats_verdicts.analyze_family(paired, family=family, alpha=alpha, sesoi=sesoi,
                                            chance=None if chance is None else POINTS * chance)
        effects_by_arm = {e.arm: e for e in fam.arms}
        header = fam.header_lines()
    header.insert(0, f"Metric: {metric_name} ({METRICS[metric_name]}), vs baseline {baseline_arm}.")
    noise = stats.noise_floor(per_seed, baseline_arm)
    summaries = {a["arm"]: a for a in arms}
    factor_of = factor_of or {}
    rows = []
    for arm in order[1:]:
        values = {**effects_by_arm[arm].to_dict(), **{k: summaries[arm][k] for k in SUMMARY_COLUMNS
                                                     if k != "n_diverged"}}
        values.update(factor=factor_of.get(arm, factor), arm=arm, level=levels[arm])
        if (gen_gap_na or {}).get(arm):
            values["note"] = "; ".join(n for n in (values.get("note"), gen_gap_na[arm]) if n)
        rows.append(EffectRow.from_dict(values))
    return EffectsResult(factor, baseline_arm, metric_name, rows, arms, noise, header, sesoi, family, seq)


def write_effects(result: EffectsResult, out_dir: str | Path, extra_markdown: str = "") -> dict[str, Path]:
    """Write ``effects.csv``, ``effects.md``, ``arms.csv`` into ``out_dir`` atomically.

    ``effects.csv`` columns: :data:`~augstudy.ablation.storage.schema.EFFECT_COLUMNS`; rows in rank
    order.  Missing values (nan/None) are empty cells; infinite interval ends are ``inf``/``-inf``.

    ``extra_markdown``: sections appended to effects.md (e.g. the response curve of a numeric factor).

    Returns:
        ``{"effects_csv": path, "effects_md": path, "arms_csv": path}``.
    """
    paths = StudyPaths(Path(out_dir))
    markdown = effects_markdown(result.factor, result.baseline_arm, result.rows, result.header) + extra_markdown
    return {
        "effects_csv": atomic_write_text(paths.effects_csv, effects_csv_text(result.rows)),
        "effects_md": atomic_write_text(paths.effects_md, markdown),
        "arms_csv": atomic_write_text(paths.arms_csv, csv_text(result.arms, ARM_COLUMNS)),
    }


__all__ = ["EffectsResult", "SequentialPlan", "compute_effects", "write_effects", "summarize_arm", "run_summary",
           "metric_from_epochs", "metric_correctness", "family_name", "METRICS", "LAST_K_EPOCHS"]


