"""Two-factor contrasts and response curves, with the effect table's interval, multiplicity and verdicts.

Pure numpy + scipy; values in **accuracy points**.

Two factors A x B, every cell trained with the same paired seeds (seed s fixes
init, data order and augmentation draws in every cell), level 0 of each factor
its baseline.  Per seed ``s`` with cell metrics ``y[s, a, b]``:

- **simple effect** of A level ``l`` at B level ``m``: ``y[s, l, m] - y[s, 0, m]``;
- **main effect** of A level ``l``: the simple effects averaged over B's levels;
- **interaction contrast** ``(A_l - A_0 at B_m) - (A_l - A_0 at B_0)``, l, m >= 1.

Each is one paired difference per seed, so :func:`augstudy.ablation.analysis.stats.verdicts.analyze_family`
gives it the same interval, Holm adjustment and verdict.  **One family per study**: the
simple effects, main effects and interaction contrasts are adjusted together, so the
family-wise chance of any false claim in the study is at most alpha
(``tests/ablation/analysis/stats/test_stats_factorial.py`` measures it with all 9 cells of a 3x3 equal).
An interaction contrast combines four cells: its standard error is about
twice a main effect's, so interactions need more seeds (the header says so).

Response curves (numeric levels): per-level mean with its interval, a log axis
where the levels are spaced geometrically, the share of seed resamples (bootstrap
over seeds, cells kept paired) in which each level has the highest mean (a
description of the seeds' agreement, not a probability of being best), and two
claims made only from the pairwise differences of the levels, Holm over all pairs:
"best level" (above every other level) and "extend the range" (an edge level above
its neighbour).  Under a flat truth each appears in at most alpha of studies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from augstudy.ablation.analysis.stats import core as stats_core
from augstudy.ablation.analysis.stats.verdicts import ALPHA, SESOI, FamilyResult, PairedArm, analyze_family, assign_ranks

INTERACTION_NOTE = ("An interaction contrast uses four cells: its standard error is about twice a main "
                    "effect's, so it needs about four times the seeds to reach the same verdict.")
N_RESAMPLES = 2000          # seed resamples for the best-level shares
GEOMETRIC_MIN_RATIO = 1.5   # consecutive levels at least this far apart (ratio) ...
GEOMETRIC_MAX_SPREAD = 2.0  # ... and log-ratios within this factor of each other -> log axis


@dataclass
class TwoFactorResult:
    """Cell means ``[nA, nB]`` and three families of contrasts (each a :class:`FamilyResult`)."""

    factor_a: str
    factor_b: str
    levels_a: list
    levels_b: list
    cell_means: np.ndarray
    simple: FamilyResult
    main: FamilyResult
    interaction: FamilyResult


def _label(factor: str, level) -> str:
    return f"{factor}={level}"


def interaction_contrasts(cells) -> np.ndarray:
    """Per-seed interaction contrasts ``(A_l - A_0 at B_m) - (A_l - A_0 at B_0)``, l, m >= 1.

    Args:
        cells: ``[..., n_seeds, nA, nB]`` (any leading axes, e.g. simulated studies).
    Returns:
        ``[..., (nA - 1) * (nB - 1), n_seeds]``, A's level varying slowest (the order of
        :attr:`TwoFactorResult.interaction`).
    """
    y = np.asarray(cells, dtype=np.float64)
    simple = y[..., 1:, :] - y[..., :1, :]                              # [..., n, nA-1, nB]
    inter = simple[..., 1:] - simple[..., :1]                           # [..., n, nA-1, nB-1]
    inter = inter.reshape(*inter.shape[:-2], -1)                        # [..., n, (nA-1)(nB-1)]
    return np.swapaxes(inter, -1, -2)


def all_contrasts(cells) -> np.ndarray:
    """Every contrast of a two-factor study per seed, in :func:`two_factor_effects`' family order.

    Args:
        cells: ``[..., n_seeds, nA, nB]``.
    Returns:
        ``[..., K, n_seeds]``: the simple effects (A level slowest, every B level), the main
        effects, then the interaction contrasts; ``sv.decide(all_contrasts(y))`` gives the
        study's decisions (one family) for simulated studies.
    """
    y = np.asarray(cells, dtype=np.float64)
    simple = y[..., 1:, :] - y[..., :1, :]                                 # [..., n, nA-1, nB]
    main = simple.mean(axis=-1)                                            # [..., n, nA-1]
    flat_simple = simple.reshape(*simple.shape[:-2], -1)                   # [..., n, (nA-1) nB]
    both = np.concatenate([flat_simple, main], axis=-1)
    return np.concatenate([np.swapaxes(both, -1, -2), interaction_contrasts(y)], axis=-2)


def two_factor_effects(cells, factor_a: str, levels_a: Sequence, factor_b: str, levels_b: Sequence,
                       example_cells=None, alpha: float = ALPHA, sesoi: float = SESOI,
                       correction: str = "holm", diverged=None) -> TwoFactorResult:
    """Simple effects, main effects and interaction contrasts of a paired two-factor study.

    Args:
        cells: ``[n_seeds, nA, nB]`` metric per seed and cell, accuracy points; index 0 of each
            factor is its baseline level; every seed present in every cell (pair first).
        levels_a, levels_b: the levels' labels (``len == nA``, ``nB``).
        example_cells: optional ``[n_seeds, nA, nB, n_val]`` per-example correctness x 100,
            for the val-set term of every interval.
        diverged: optional bool ``[n_seeds, nA, nB]``: runs that diverged (their ``cells`` value
            must already be the chance level); a contrast using such a cell counts that seed in
            ``n_diverged`` and its verdict is ``unstable``.
    Returns:
        :class:`TwoFactorResult`; arm names like ``"wd=0.01 at bs=128"``, ``"wd=0.01"``,
        ``"wd=0.01 x bs=128"``.
    """
    y = np.asarray(cells, dtype=np.float64)
    if y.ndim != 3 or y.shape[1:] != (len(levels_a), len(levels_b)):
        raise ValueError(f"cells must be [n_seeds, {len(levels_a)}, {len(levels_b)}], got {y.shape}")
    if y.shape[1] < 2 or y.shape[2] < 2:
        raise ValueError("a two-factor study needs at least 2 levels of each factor")
    if not np.all(np.isfinite(y)):
        raise ValueError("cells must be finite (pair seeds across all cells first)")
    ex = None if example_cells is None else np.asarray(example_cells, dtype=np.float64)
    simple_d = y[:, 1:, :] - y[:, :1, :]                                  # [n, nA-1, nB]
    simple_e = None if ex is None else ex[:, 1:, :] - ex[:, :1, :]
    contrasts = interaction_contrasts(y)                                  # [(nA-1)(nB-1), n]
    div = np.zeros(y.shape, bool) if diverged is None else np.asarray(diverged, dtype=bool)
    if div.shape != y.shape:
        raise ValueError(f"diverged must have the shape of cells {y.shape}, got {div.shape}")
    n_div = lambda *cells_ab: int(np.any(np.stack([div[:, a, b] for a, b in cells_ab]), axis=0).sum())
    n_b = len(levels_b)
    simple, main, inter = [], [], []
    for i, la in enumerate(levels_a[1:]):
        for j, lb in enumerate(levels_b):
            simple.append(PairedArm(f"{_label(factor_a, la)} at {_label(factor_b, lb)}", simple_d[:, i, j],
                                    None if simple_e is None else simple_e[:, i, j],
                                    n_div((i + 1, j), (0, j))))
        main.append(PairedArm(_label(factor_a, la), simple_d[:, i, :].mean(axis=1),
                              None if simple_e is None else simple_e[:, i].mean(axis=1),
                              n_div(*[(i + 1, j) for j in range(n_b)], *[(0, j) for j in range(n_b)])))
        for j, lb in enumerate(levels_b[1:], start=1):
            inter.append(PairedArm(f"{_label(factor_a, la)} x {_label(factor_b, lb)}",
                                   contrasts[i * (len(levels_b) - 1) + j - 1],
                                   None if simple_e is None else simple_e[:, i, j] - simple_e[:, i, 0],
                                   n_div((i + 1, j), (0, j), (i + 1, 0), (0, 0))))
    # one family per study: every contrast of the three kinds in one Holm adjustment (three separate
    # 5% families gave some false claim in 12-14% of all-equal 3x3 studies)
    family = f"every contrast of this {factor_a} x {factor_b} study"
    whole = analyze_family(simple + main + inter, family=family, alpha=alpha, sesoi=sesoi, correction=correction)
    parts, start = [], 0
    for group in (simple, main, inter):
        rows = whole.arms[start:start + len(group)]
        start += len(group)
        assign_ranks(rows)
        parts.append(FamilyResult(rows, family, alpha, sesoi, correction, whole.ci_method, None,
                                  whole.n_family, whole.eq_correction, list(whole.extra_notes)))
    simple_r, main_r, inter_r = parts
    inter_r.extra_notes.append(INTERACTION_NOTE)
    return TwoFactorResult(factor_a, factor_b, list(levels_a), list(levels_b), y.mean(axis=0),
                           simple_r, main_r, inter_r)


# ----------------------------------------------------------------------------- response curves


def is_geometric(levels: Sequence[float]) -> bool:
    """True when >= 3 positive levels grow by roughly constant ratios (plot them on a log axis)."""
    x = np.sort(np.asarray(levels, dtype=np.float64))
    if x.size < 3 or np.any(x <= 0) or np.any(np.diff(x) <= 0):
        return False
    log_ratio = np.diff(np.log(x))
    return bool(log_ratio.min() >= math.log(GEOMETRIC_MIN_RATIO)
                and log_ratio.max() <= GEOMETRIC_MAX_SPREAD * log_ratio.min())


def format_level(x: float) -> str:
    """Compact level text: ``1e-4``, ``3e-4``, ``2.5e-05`` -> ``2.5e-5``, ``0.1``, ``128``."""
    x = float(x)
    if x != 0 and (abs(x) < 1e-2 or abs(x) >= 1e4):
        text = f"{x:.3g}"
        mantissa, exp = (text if "e" in text else f"{x:.2e}").split("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exp)}"
    return f"{x:g}"


@dataclass
class ResponseCurve:
    """Metric against a numeric factor's levels (sorted ascending), accuracy points.

    best_share: per level, the share of seed resamples in which it had the highest mean (a
        description of these seeds' agreement, not the probability that it is truly best).
    best_shown: the level with the highest mean is above every other level, each paired
        difference significant after Holm over all ``L (L - 1) / 2`` pairwise differences.
    edge_warning: set when an edge level (the smallest or largest tried, >= 3 levels) is
        significantly above its neighbour in that same family: the curve still rises there.
    pair_p_adjusted: ``{(i, j): Holm-adjusted p}`` of the pairwise differences (sorted levels).
    """

    levels: list[float]
    means: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    ci_method: str
    log_axis: bool
    best_level: float
    best_share: np.ndarray
    edge_warning: str | None = None
    notes: list[str] = field(default_factory=list)
    best_shown: bool = False
    pair_p_adjusted: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"levels": list(self.levels), "means": self.means.tolist(), "ci_low": self.ci_low.tolist(),
                "ci_high": self.ci_high.tolist(), "ci_method": self.ci_method, "log_axis": self.log_axis,
                "best_level": self.best_level, "best_share": self.best_share.tolist(),
                "edge_warning": self.edge_warning, "best_shown": self.best_shown}


def pairwise_above(v, ex=None, alpha: float = ALPHA) -> tuple[np.ndarray, dict]:
    """``above [L, L]``: level i significantly above level j, Holm over every pair (one family).

    ``v [n_seeds, L]`` paired per-seed values, ``ex`` optional ``[n_seeds, L, n_val]``; each pair is
    tested with the effect table's test on its per-seed differences.  Family-wise error <= alpha, so
    under a flat truth any claim built only from ``above`` appears in at most alpha of studies.
    """
    L = v.shape[1]
    pairs = [(i, j) for i in range(L) for j in range(i + 1, L)]
    if not pairs or v.shape[0] < 2:
        return np.zeros((L, L), bool), {}
    d = np.stack([v[:, i] - v[:, j] for i, j in pairs])                     # [P, n]
    e = None if ex is None else np.stack([ex[:, i] - ex[:, j] for i, j in pairs])
    mom = stats_core.paired_moments(d, e)
    p_adj = stats_core.holm(stats_core.two_sided_p(mom))
    above = np.zeros((L, L), bool)
    for k, (i, j) in enumerate(pairs):
        if p_adj[k] < alpha:
            above[i, j], above[j, i] = mom["mean"][k] > 0, mom["mean"][k] < 0
    return above, {pair: float(p_adj[k]) for k, pair in enumerate(pairs)}


def response_curve(levels: Sequence[float], values, example_values=None, level: float = 0.95,
                   n_resamples: int = N_RESAMPLES, seed: int = 0, alpha: float = ALPHA) -> ResponseCurve:
    """Response curve of one numeric factor from paired per-seed values.

    Args:
        levels: the numeric levels (any order; the result is sorted ascending).
        values: ``[n_seeds, L]`` metric per seed and level (accuracy points), paired seeds.
        example_values: optional ``[n_seeds, L, n_val]`` per-example correctness x 100 (val-set term).
        level: confidence of each per-level interval (not adjusted: these describe, the
            contrasts in :func:`two_factor_effects` / the effect table decide).
        n_resamples, seed: bootstrap over seeds for the best-level shares (seeded).
        alpha: family-wise error of the pairwise differences behind ``best_shown`` and the edge warning.
    Returns:
        :class:`ResponseCurve`.
    """
    x = np.asarray(levels, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != x.size:
        raise ValueError(f"values must be [n_seeds, {x.size}], got {v.shape}")
    order = np.argsort(x, kind="stable")
    x, v = x[order], v[:, order]
    ex = None if example_values is None else np.asarray(example_values, dtype=np.float64)[:, order]
    mom = stats_core.paired_moments(np.moveaxis(v, 0, 1), None if ex is None else np.moveaxis(ex, 0, 1))
    low, high = stats_core.interval(mom, 1.0 - level)
    means = mom["mean"]
    rng = np.random.default_rng(seed)
    n = v.shape[0]
    idx = rng.integers(0, n, size=(int(n_resamples), n))
    boot_means = v[idx].mean(axis=1)                                       # [R, L]
    share = np.bincount(boot_means.argmax(axis=1), minlength=x.size) / float(n_resamples)
    best = int(np.argmax(means))
    above, pair_p = pairwise_above(v, ex, alpha)
    best_shown = bool(x.size >= 2 and all(above[best, j] for j in range(x.size) if j != best))
    warning = None
    if x.size >= 3:
        lo, hi = format_level(x[0]), format_level(x[-1])
        rising = [(0, 1, "below"), (x.size - 1, x.size - 2, "above")]
        found = [(e, nb, side) for e, nb, side in rising if above[e, nb]]
        if found:
            e, nb, side = found[0] if len(found) == 1 else max(found, key=lambda f: means[f[0]])
            warning = (f"extend the range {side} {lo}..{hi}: {format_level(x[e])} is above its neighbour "
                       f"{format_level(x[nb])} (Holm over the {len(pair_p)} pairwise differences, "
                       f"family-wise error <= {alpha:g})")
    method = "t over seeds + val-set sampling variance" if ex is not None else "t over seeds only"
    notes = [] if n >= 2 else ["needs >= 2 seeds for intervals"]
    return ResponseCurve(x.tolist(), means, low, high, method, is_geometric(x), float(x[best]), share,
                         warning, notes, best_shown, pair_p)
