"""Vectorized decision core of the effect table: paired moments, p-values, intervals, multiplicity.

Every function works on arrays whose last axis is the seeds (or, for the
multiplicity helpers, the arms of one family), so the same code decides one
real study (leading shape ``()``) and thousands of simulated ones in the tests.
Pure numpy + scipy; units are the caller's (the effect table: accuracy points).

The test that carries every decision (see :mod:`augstudy.ablation.analysis.stats.verdicts`).
A crossed seeds x examples model of the per-example difference
``D[s, i] = mu + u_s + v_i + w_si`` (seed effect ``u``, the arm's example-specific
effect ``v``, per-run churn ``w``) gives ``Var(mean) = s_u^2/n + s_v^2/N + s_w^2/(n N)``:

- **Seed part** ``se_seed^2 = s_seed^2 / n``: ``s_seed`` is the sd of the per-seed
  differences (ddof 1).  It estimates ``s_u^2 + s_w^2 / N``: the churn is already in it.
- **Val part** ``se_val^2 = max(0, s_ex^2 - MS_int / n) / N``: ``s_ex^2`` is the variance,
  over the ``N`` val examples, of each example's seed-averaged difference
  (``s_v^2 + s_w^2 / n``) and ``MS_int`` the seeds x examples interaction mean square
  (``s_w^2``), so the churn is not counted twice; floored at 0.  The val set is
  fixed across seeds, so this term does not shrink with more seeds.  0 without
  per-example correctness.
- **Quantile**: each part with its own (Banerjee 1960's conservative answer to the
  Behrens-Fisher problem): the interval's half-width at two-sided level ``a`` is
  ``sqrt((t_{n-1, 1-a/2} se_seed)^2 + (z_{1-a/2} se_val)^2)``, never below the
  exact answer of either part alone, and the p-value is the level at which that
  half-width equals ``|mean|`` (root found by bisection).  The seed part keeps its
  ``n - 1`` df whatever the val part is: the Welch-Satterthwaite df used before let
  a seed sd that came out small by chance pull the critical value from t(2) = 4.3
  toward 1.96 (12-19 % family-wise false positives at 2,000-10,000 val images and
  2-3 seeds).  ``benchmarks/bench_effect_grid.py`` measures the rule over the grid.
- **Degenerate seed spread** (every paired difference equal, e.g. a tie on a
  160-image val set): the seed noise cannot be estimated from identical values,
  so the t statistic is not used for the seed part.  The p-value is the larger of
  the exact sign-flip p over seeds (``2 / 2^n`` for a non-zero tie: 0.5 at 2
  seeds, 0.25 at 3) and the val-only normal test; the interval is unbounded while
  ``2 / 2^n`` exceeds its error level, and otherwise carries the val term only.
  This keeps the interval and the p-value coherent: one excludes 0 exactly when
  the other is below the level.
"""

from __future__ import annotations

import numpy as np
from scipy import special
from scipy import stats as sps

_TOL = 1e-9   # relative tolerance for "all paired differences equal" (float rounding of 100*(a-b))
_LOG_P_MIN = -120.0   # smallest p-value the bisection resolves: exp(-120) ~ 1e-52
_BISECT = 30          # bisection steps on log p inside a bracket of a few units: p to about 1e-8 relative


def _example_components(example_diffs, n: int) -> tuple[np.ndarray, int]:
    """``(val_var [...], n_val)``: the val part of the variance of the mean, churn not counted twice.

    ``example_diffs [..., n, n_val]``; ``val_var = max(0, s_ex^2 - MS_int / n) / n_val``
    (module docstring).  The sums are in float64 whatever the input dtype.
    """
    e = np.asarray(example_diffs)
    n_val = e.shape[-1]
    row = e.mean(axis=-1, dtype=np.float64)                        # [..., n] per-seed means
    col = e.mean(axis=-2, dtype=np.float64)                        # [..., n_val] seed-averaged
    grand = row.mean(axis=-1)
    s_ex2 = col.var(axis=-1, ddof=1) if n_val > 1 else np.zeros_like(grand)
    if n < 2 or n_val < 2:
        return np.maximum(s_ex2, 0.0) / n_val, n_val
    total = np.einsum("...ij,...ij->...", e, e, dtype=np.float64)   # sum of squares
    ss_seed = n_val * ((row - grand[..., None]) ** 2).sum(axis=-1)
    ss_ex = n * ((col - grand[..., None]) ** 2).sum(axis=-1)
    ss_int = np.maximum(total - ss_seed - ss_ex - n * n_val * grand**2, 0.0)
    ms_int = ss_int / ((n - 1) * (n_val - 1))
    return np.maximum(s_ex2 - ms_int / n, 0.0) / n_val, n_val


def paired_moments(diffs, example_diffs=None) -> dict[str, np.ndarray]:
    """Mean and the two variance parts of the mean paired difference (module docstring).

    Args:
        diffs: ``[..., n]`` per-seed paired differences (arm - baseline).
        example_diffs: optional ``[..., n, n_val]`` per-seed, per-val-example
            differences in the same unit (e.g. ``100 * (correct_arm - correct_base)``);
            the mean over examples of row ``s`` is ``diffs[..., s]``.
    Returns:
        dict of ``[...]`` arrays: ``n``, ``mean``, ``sd`` (seed sd, ddof 1; 0 below 2
        seeds or when degenerate), ``seed_var`` (``sd^2 / n``), ``val_var`` (the val part
        of the variance of the mean; 0 without example data), ``se`` (sqrt of their sum),
        ``df`` (``n - 1``, at least 1: the seed part's df), ``degenerate`` (zero seed
        spread, or fewer than 2 seeds).
    """
    d = np.asarray(diffs, dtype=np.float64)
    n = d.shape[-1]
    mean = d.mean(axis=-1) if n else np.full(d.shape[:-1], np.nan)
    sd = d.std(axis=-1, ddof=1) if n >= 2 else np.zeros(d.shape[:-1])
    scale = np.maximum(1.0, np.abs(d).max(axis=-1)) if n else np.ones(d.shape[:-1])
    degenerate = (np.ptp(d, axis=-1) <= _TOL * scale) if n >= 2 else np.ones(d.shape[:-1], bool)
    sd = np.where(degenerate, 0.0, sd)
    if example_diffs is not None and n:
        val_var, _ = _example_components(example_diffs, n)
        val_var = np.broadcast_to(val_var, mean.shape).astype(np.float64)
    else:
        val_var = np.zeros_like(mean)
    seed_var = sd * sd / max(n, 1)
    return {"n": np.full(mean.shape, n), "mean": mean, "sd": sd, "seed_var": seed_var, "val_var": val_var,
            "se": np.sqrt(seed_var + val_var), "df": np.full(mean.shape, float(max(n - 1, 1))),
            "degenerate": degenerate}


def critical(m: dict, one_sided_level) -> np.ndarray:
    """Half-width ``sqrt((t_{df, 1-a} se_seed)^2 + (z_{1-a} se_val)^2)`` at one-sided level ``a``.

    ``a`` broadcasts with ``m``'s arrays; ``a >= 0.5`` gives 0 (no quantile above the median).
    """
    a = np.clip(np.asarray(one_sided_level, dtype=np.float64), 1e-300, 0.5)
    t = -special.stdtrit(m["df"], a)      # upper quantile, precise for tiny a (1 - a would round to 1)
    z = -special.ndtri(a)
    return np.sqrt((t * t) * m["seed_var"] + (z * z) * m["val_var"])


def one_sided_p(m: dict, x) -> np.ndarray:
    """One-sided p-value of an observed distance ``x`` (e.g. ``mean - 0``) beyond 0, vectorized.

    The level ``a`` at which :func:`critical` equals ``x``: exact t (val part 0) or normal (seed part 0)
    tails in closed form, bisection on ``log a`` when both parts are present; ``x <= 0`` gives
    ``1 - p(|x|)`` (at least 0.5).  Needs a non-degenerate ``m`` (the callers handle ties).
    """
    x = np.asarray(x, dtype=np.float64)
    ax = np.abs(x)
    ss, sv = np.sqrt(m["seed_var"]), np.sqrt(m["val_var"])
    shape = np.broadcast(ax, ss).shape
    ax, ss, sv, df = (np.broadcast_to(v, shape) for v in (ax, ss, sv, m["df"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        p_t = special.stdtr(df, -ax / np.where(ss > 0, ss, 1.0))
        p_z = special.ndtr(-ax / np.where(sv > 0, sv, 1.0))
    both = (ss > 0) & (sv > 0)
    p = np.where(ss > 0, p_t, np.where(sv > 0, p_z, np.where(ax > 0, 0.0, 0.5)))
    if np.any(both):
        # bracket: each part alone rejects less (p >= the larger of their p), t on the summed
        # variance rejects more (t >= z, so the half-width is at most t * se): p <= its p
        with np.errstate(divide="ignore", invalid="ignore"):
            p_sum = special.stdtr(df, -ax / np.sqrt(ss * ss + sv * sv))
        lo = np.log(np.clip(np.maximum(p_t, p_z), np.exp(_LOG_P_MIN), 0.5))
        hi = np.log(np.clip(p_sum, np.exp(_LOG_P_MIN), 0.5))
        lo = np.minimum(lo, hi)
        mb = {"df": df, "seed_var": ss * ss, "val_var": sv * sv}
        for _ in range(_BISECT):
            mid = 0.5 * (lo + hi)
            reject = critical(mb, np.exp(mid)) <= ax
            hi = np.where(reject, mid, hi)
            lo = np.where(reject, lo, mid)
        p = np.where(both, np.where(ax > 0, np.exp(hi), 0.5), p)
    p = np.where(x > 0, p, np.where(x < 0, 1.0 - p, 0.5))
    return p if p.ndim else float(p)


def _sign_floor(n, mean, one_sided: bool = False):
    """Smallest exact sign-flip p over ``n`` seeds for a tie at ``mean`` (1 when the tie is 0)."""
    floor = (1.0 if one_sided else 2.0) / np.power(2.0, n)
    return np.where(mean != 0, np.minimum(floor, 1.0), 1.0)


def _val_only_p(m: dict, x) -> np.ndarray:
    """One-sided normal p of ``x`` with the val part alone (degenerate seed spread); 1/2 at 0 when no val part."""
    x = np.asarray(x, dtype=np.float64)
    val_se = np.sqrt(m["val_var"])
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(val_se > 0, special.ndtr(-x / np.where(val_se > 0, val_se, 1.0)),
                     np.where(x > 0, 0.0, np.where(x < 0, 1.0, 0.5)))
    return p


def two_sided_p(m: dict) -> np.ndarray:
    """Two-sided p-value of "mean difference = 0" (module docstring: the test that carries decisions)."""
    mean = m["mean"]
    safe = np.where(np.isfinite(mean), mean, 0.0)
    p_t = 2.0 * one_sided_p(m, np.abs(safe))
    p_deg = np.maximum(_sign_floor(m["n"], mean), 2.0 * _val_only_p(m, np.abs(safe)))
    p = np.where(m["degenerate"], p_deg, p_t)
    return np.where(np.isfinite(mean), np.minimum(p, 1.0), np.nan)


def tost_p(m: dict, sesoi: float) -> np.ndarray:
    """p-value of the two one-sided tests (TOST) that the effect lies inside ``(-sesoi, +sesoi)``.

    The larger of the two one-sided p-values, each from the same variance parts and
    quantiles as :func:`two_sided_p`; equivalence at level alpha <=> the
    ``1 - 2 alpha`` interval lies inside ``+-sesoi``.  Degenerate seed spread: at
    least the one-sided sign-flip floor ``1 / 2^n``.
    """
    mean = m["mean"]
    safe = np.where(np.isfinite(mean), mean, 0.0)
    p = np.maximum(one_sided_p(m, safe + sesoi), one_sided_p(m, sesoi - safe))
    inside = np.abs(safe) < sesoi
    floor = np.where(inside, 1.0 / np.power(2.0, m["n"]), 1.0)
    p_deg = np.maximum(floor, np.maximum(_val_only_p(m, safe + sesoi), _val_only_p(m, sesoi - safe)))
    p = np.where(m["degenerate"], p_deg, p)
    return np.where(np.isfinite(mean), np.minimum(p, 1.0), np.nan)


def interval(m: dict, error_level) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided interval of the mean difference with error ``error_level`` (array or scalar).

    Coherent with :func:`two_sided_p`: excludes 0 exactly when ``p < error_level``.
    """
    a = np.asarray(error_level, dtype=np.float64)
    mean = m["mean"]
    half = critical(m, a / 2.0)
    val_half = -special.ndtri(np.clip(a / 2.0, 1e-300, 0.5)) * np.sqrt(m["val_var"])
    unbounded = m["degenerate"] & (_sign_floor(m["n"], np.ones_like(mean)) > a)
    half = np.where(m["degenerate"], np.where(unbounded, np.inf, val_half), half)
    return mean - half, mean + half


def stack_moments(moments) -> dict[str, np.ndarray]:
    """One moments dict with a last "arms" axis from per-arm 0-d dicts (arms of different seed counts)."""
    keys = ("n", "mean", "sd", "seed_var", "val_var", "se", "df", "degenerate")
    return {k: np.array([np.asarray(mo[k]).item() for mo in moments]) for k in keys}


def pooled_moments(m: dict, usable=None) -> dict[str, np.ndarray]:
    """The family's second look at each arm: its seed part from the seed variance pooled over the arms.

    ``m``'s arrays have the arms on their last axis.  The pool takes every arm with a seed
    spread (>= 2 seeds, not degenerate) where ``usable`` (default: all; the effect table
    leaves out arms that diverged); its df are the sum of theirs.  Arms are tested with
    ``max(p own, p pooled)`` (:func:`family_p`): an arm whose own seed sd came out small by
    chance -- the way skewed seed noise fools a t test at 5 seeds: all five draws below the
    mean, close together -- is held to the spread its siblings show, while an arm noisier
    than the pool keeps its own, larger variance.  Fewer than 2 arms in the pool: ``m`` itself.
    """
    n = np.asarray(m["n"], dtype=np.float64)
    ok = (~np.asarray(m["degenerate"])) & (n >= 2) & np.isfinite(m["mean"])
    if usable is not None:
        ok = ok & np.asarray(usable, dtype=bool)
    w = np.where(ok, n - 1.0, 0.0)
    df = w.sum(axis=-1, keepdims=True)
    ss = (w * np.where(ok, m["sd"], 0.0) ** 2).sum(axis=-1, keepdims=True)
    enough = (ok.sum(axis=-1, keepdims=True) >= 2) & (n >= 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(df > 0, ss / np.where(df > 0, df, 1.0), 0.0)
        seed_var = np.where(enough, var / np.maximum(n, 1.0), m["seed_var"])
    out = dict(m)
    out["seed_var"] = seed_var
    out["df"] = np.where(enough, np.broadcast_to(df, n.shape), m["df"])
    out["degenerate"] = np.where(enough, False, m["degenerate"])
    out["se"] = np.sqrt(seed_var + m["val_var"])
    return out


def family_p(m: dict, pooled: dict | None = None) -> np.ndarray:
    """:func:`two_sided_p`, and with ``pooled`` (:func:`pooled_moments`) the larger of both tests."""
    p = two_sided_p(m)
    return p if pooled is None else np.maximum(p, two_sided_p(pooled))


def family_tost_p(m: dict, sesoi: float, pooled: dict | None = None) -> np.ndarray:
    """:func:`tost_p`, and with ``pooled`` the larger of both."""
    p = tost_p(m, sesoi)
    return p if pooled is None else np.maximum(p, tost_p(pooled, sesoi))


def family_interval(m: dict, error_level, pooled: dict | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`interval`, and with ``pooled`` the union of both (excludes 0 iff :func:`family_p` < level)."""
    low, high = interval(m, error_level)
    if pooled is None:
        return low, high
    p_low, p_high = interval(pooled, error_level)
    return np.minimum(low, p_low), np.maximum(high, p_high)


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
    """BH adjusted p-values (``scipy.stats.false_discovery_control``) along the last axis; NaN kept out.

    The one Benjamini-Hochberg of the package: the effect table's ``correction="bh"`` and the
    per-class q-values (:mod:`.per_class`).  NaN p-values stay NaN and do not count as tests.
    """
    p = np.asarray(p, dtype=np.float64)
    if p.size == 0:
        return p.copy()
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
