"""Vectorized decision core of the effect table: paired moments, p-values, intervals, multiplicity.

Every function works on arrays whose last axis is the seeds (or, for the
multiplicity helpers, the arms of one family), so the same code decides one
real study (leading shape ``()``) and thousands of simulated ones in the tests.
Pure numpy + scipy; units are the caller's (the effect table: accuracy points).

The test that carries every decision (see :mod:`augstudy.ablate.stats.verdicts`):

- **Variance of the mean paired difference** ``se^2 = s_seed^2 / n + s_val^2 / n_val``:
  ``s_seed`` is the seed-to-seed sd of the per-seed differences; ``s_val`` the sd,
  over val examples, of each example's difference averaged over seeds (needs
  per-example correctness; 0 otherwise).  In a crossed seeds x examples model
  this estimates the variance of the mean with the seed-by-example interaction
  counted twice: slightly conservative.  The val set is fixed across seeds, so
  its term does not shrink with more seeds.
- **Degrees of freedom**: Welch-Satterthwaite from ``n - 1`` and ``n_val - 1``.
- **Degenerate seed spread** (every paired difference equal, e.g. a tie on a
  160-image val set): the seed noise cannot be estimated from identical values,
  so the t statistic is not used for the seed part.  The p-value is the larger of
  the exact sign-flip p over seeds (``2 / 2^n`` for a non-zero tie: 0.5 at 2
  seeds, 0.25 at 3) and the val-only t-test; the interval is unbounded while
  ``2 / 2^n`` exceeds its error level, and otherwise carries the val term only.
  This keeps the interval and the p-value coherent: one excludes 0 exactly when
  the other is below the level.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as sps

_TOL = 1e-9   # relative tolerance for "all paired differences equal" (float rounding of 100*(a-b))


def paired_moments(diffs, example_diffs=None) -> dict[str, np.ndarray]:
    """Mean, standard error and df of the mean paired difference.

    Args:
        diffs: ``[..., n]`` per-seed paired differences (arm - baseline).
        example_diffs: optional ``[..., n, n_val]`` per-seed, per-val-example
            differences in the same unit (e.g. ``100 * (correct_arm - correct_base)``).
    Returns:
        dict of ``[...]`` arrays: ``n``, ``mean``, ``sd`` (seed sd, ddof 1; 0 below 2
        seeds), ``val_var`` (variance of the mean from the val set; 0 without
        example data), ``se``, ``df``, ``val_df`` (``n_val - 1`` or inf),
        ``degenerate`` (zero seed spread, or fewer than 2 seeds).
    """
    d = np.asarray(diffs, dtype=np.float64)
    n = d.shape[-1]
    mean = d.mean(axis=-1) if n else np.full(d.shape[:-1], np.nan)
    sd = d.std(axis=-1, ddof=1) if n >= 2 else np.zeros(d.shape[:-1])
    scale = np.maximum(1.0, np.abs(d).max(axis=-1)) if n else np.ones(d.shape[:-1])
    degenerate = (np.ptp(d, axis=-1) <= _TOL * scale) if n >= 2 else np.ones(d.shape[:-1], bool)
    sd = np.where(degenerate, 0.0, sd)
    if example_diffs is not None:
        e = np.asarray(example_diffs, dtype=np.float64).mean(axis=-2)   # [..., n_val]
        n_val = e.shape[-1]
        val_var = e.var(axis=-1, ddof=1) / n_val
        val_df = float(n_val - 1)
    else:
        val_var = np.zeros_like(mean)
        val_df = np.inf
    seed_var = sd * sd / max(n, 1)
    se = np.sqrt(seed_var + val_var)
    with np.errstate(divide="ignore", invalid="ignore"):
        den = (seed_var**2 / max(n - 1, 1)) + (val_var**2 / val_df if np.isfinite(val_df) else 0.0)
        df = np.where(den > 0, (seed_var + val_var) ** 2 / np.where(den > 0, den, 1.0), max(n - 1, 1))
    df = np.where(val_var > 0, df, max(n - 1, 1))
    return {"n": np.full(mean.shape, n), "mean": mean, "sd": sd, "val_var": val_var, "se": se,
            "df": df, "val_df": np.full(mean.shape, val_df), "degenerate": degenerate}


def _sign_floor(n, mean, one_sided: bool = False):
    """Smallest exact sign-flip p over ``n`` seeds for a tie at ``mean`` (1 when the tie is 0)."""
    floor = (1.0 if one_sided else 2.0) / np.power(2.0, n)
    return np.where(mean != 0, np.minimum(floor, 1.0), 1.0)


def two_sided_p(m: dict) -> np.ndarray:
    """Two-sided p-value of "mean difference = 0" (module docstring: the test that carries decisions)."""
    mean, se, df = m["mean"], m["se"], m["df"]
    with np.errstate(divide="ignore", invalid="ignore"):
        p_t = np.where(se > 0, 2.0 * sps.t.sf(np.abs(mean) / np.where(se > 0, se, 1.0), df),
                       np.where(mean != 0, 0.0, 1.0))
        val_se = np.sqrt(m["val_var"])
        p_val = np.where(val_se > 0, 2.0 * sps.t.sf(np.abs(mean) / np.where(val_se > 0, val_se, 1.0),
                                                     np.minimum(m["val_df"], 1e12)),
                         np.where(mean != 0, 0.0, 1.0))
    p_deg = np.maximum(_sign_floor(m["n"], mean), p_val)
    p = np.where(m["degenerate"], p_deg, p_t)
    return np.where(np.isfinite(mean), np.minimum(p, 1.0), np.nan)


def tost_p(m: dict, sesoi: float) -> np.ndarray:
    """p-value of the two one-sided tests (TOST) that the effect lies inside ``(-sesoi, +sesoi)``.

    The larger of the two one-sided p-values; equivalence at level alpha <=> the
    ``1 - 2 alpha`` interval lies inside ``+-sesoi``.  Degenerate seed spread: at
    least the one-sided sign-flip floor ``1 / 2^n``.
    """
    mean, se, df = m["mean"], m["se"], m["df"]
    with np.errstate(divide="ignore", invalid="ignore"):
        safe = np.where(se > 0, se, 1.0)
        p_lo = np.where(se > 0, sps.t.sf((mean + sesoi) / safe, df), np.where(mean > -sesoi, 0.0, 1.0))
        p_hi = np.where(se > 0, sps.t.cdf((mean - sesoi) / safe, df), np.where(mean < sesoi, 0.0, 1.0))
        val_se = np.sqrt(m["val_var"])
        vsafe = np.where(val_se > 0, val_se, 1.0)
        vdf = np.minimum(m["val_df"], 1e12)
        v_lo = np.where(val_se > 0, sps.t.sf((mean + sesoi) / vsafe, vdf), np.where(mean > -sesoi, 0.0, 1.0))
        v_hi = np.where(val_se > 0, sps.t.cdf((mean - sesoi) / vsafe, vdf), np.where(mean < sesoi, 0.0, 1.0))
    inside = np.abs(mean) < sesoi
    floor = np.where(inside, 1.0 / np.power(2.0, m["n"]), 1.0)
    p_deg = np.maximum(floor, np.maximum(v_lo, v_hi))
    p = np.where(m["degenerate"], p_deg, np.maximum(p_lo, p_hi))
    return np.where(np.isfinite(mean), np.minimum(p, 1.0), np.nan)


def interval(m: dict, error_level) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided interval of the mean difference with error ``error_level`` (array or scalar).

    Coherent with :func:`two_sided_p`: excludes 0 exactly when ``p < error_level``.
    """
    a = np.asarray(error_level, dtype=np.float64)
    mean = m["mean"]
    half = sps.t.ppf(1.0 - a / 2.0, m["df"]) * m["se"]
    val_half = sps.t.ppf(1.0 - a / 2.0, np.minimum(m["val_df"], 1e12)) * np.sqrt(m["val_var"])
    unbounded = m["degenerate"] & (_sign_floor(m["n"], np.ones_like(mean)) > a)
    half = np.where(m["degenerate"], np.where(unbounded, np.inf, val_half), half)
    return mean - half, mean + half


def holm(p) -> np.ndarray:
    """Holm step-down adjusted p-values along the last axis (the arms of one family).

    NaN p-values stay NaN and do not count in the family size.
    """
    p = np.asarray(p, dtype=np.float64)
    finite = np.isfinite(p)
    m = finite.sum(axis=-1, keepdims=True)
    order = np.argsort(np.where(finite, p, np.inf), axis=-1, kind="stable")
    ps = np.take_along_axis(np.where(finite, p, np.inf), order, axis=-1)
    k = np.arange(p.shape[-1])
    scaled = np.where(np.isfinite(ps), np.minimum((m - k) * np.where(np.isfinite(ps), ps, 0.0), 1.0), 0.0)
    adj_sorted = np.maximum.accumulate(scaled, axis=-1)
    out = np.empty_like(p)
    np.put_along_axis(out, order, adj_sorted, axis=-1)
    return np.where(finite, out, np.nan)


def benjamini_hochberg(p) -> np.ndarray:
    """BH adjusted p-values (``scipy.stats.false_discovery_control``) along the last axis; NaN kept out."""
    p = np.asarray(p, dtype=np.float64)
    flat = p.reshape(-1, p.shape[-1]) if p.ndim else p.reshape(1, 1)
    out = np.full(flat.shape, np.nan)
    for i, row in enumerate(flat):
        ok = np.isfinite(row)
        if ok.any():
            out[i, ok] = sps.false_discovery_control(row[ok])
    return out.reshape(p.shape)


CORRECTIONS = {"holm": holm, "bh": benjamini_hochberg, "none": lambda p: np.asarray(p, dtype=np.float64)}


def adjust(p, correction: str = "holm") -> np.ndarray:
    """Adjusted p-values along the last axis with ``correction`` in :data:`CORRECTIONS`."""
    if correction not in CORRECTIONS:
        raise ValueError(f"unknown correction {correction!r}; use one of {', '.join(CORRECTIONS)}")
    return CORRECTIONS[correction](p)


def effective_level(p, p_adjusted, alpha: float) -> np.ndarray:
    """Per-arm error level of the adjusted interval: ``alpha * p / p_adjusted`` (at most alpha).

    The interval at this level excludes 0 exactly when ``p_adjusted < alpha``, so the
    interval, the adjusted p and ``significant`` never disagree.  For Bonferroni it is
    ``alpha / m``; for Holm the level of the step at which that arm is tested (or
    stricter).  Where ``p`` is 0 the family's strictest level ``alpha / m`` is used.
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(p_adjusted, dtype=np.float64)
    m = np.maximum(np.isfinite(p).sum(axis=-1, keepdims=True), 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where((p > 0) & (q > 0), alpha * p / q, alpha / m)
    return np.minimum(level, alpha)
