"""Per-seed intervals and the sign-flip test of one paired difference: the building blocks of
per-class effects (:mod:`.per_class`).  Numpy + scipy, no torch; any unit in, the same unit out.

The effect table's verdicts do not use these (:mod:`.core` and :mod:`.verdicts` decide them, with
the val set's own noise in the variance).  Per-class effects are computed from per-seed class
accuracies (``class_metrics.csv``), so they keep this per-seed rule:

- **interval**: paired Student t below :data:`BOOTSTRAP_MIN_SEEDS` seeds, BCa bootstrap
  (``scipy.stats.bootstrap``, seeded) from there on;
- **p-value**: the sign-flip permutation test, exact up to :data:`EXACT_PERMUTATION_MAX_SEEDS`
  seeds (floor ``2 / 2^n``: 0.25 at 3 seeds; per-class effects need its corrected q below 5 %,
  so no class is flagged below 6 seeds), Monte Carlo above;
- **significant**: the interval excludes 0, and from :data:`BOOTSTRAP_MIN_SEEDS` seeds (BCa is
  liberal there) or on tied differences the sign-flip test must agree.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats as sps

from augstudy.ablation.analysis.stats.power import ALPHA

CI_LEVEL = 0.95                  # two-sided confidence level of every interval (1 - ALPHA)
BOOTSTRAP_MIN_SEEDS = 10         # n >= this -> BCa bootstrap; below -> paired-t
EXACT_PERMUTATION_MAX_SEEDS = 16 # n <= this -> exact sign-flip test (2^16 = 65,536 patterns)
DEFAULT_N_BOOT = 10_000          # bootstrap resamples for BCa
DEFAULT_N_PERMUTATIONS = 20_000  # Monte Carlo sign patterns above the exact limit

PAIRED_T = "paired-t"
NEEDS_TWO_SEEDS = "needs >= 2 seeds"
NO_PAIRS = "no paired seeds"


def bca_method_name(n_boot: int) -> str:
    """The ``ci_method`` label of the BCa interval, e.g. ``"BCa bootstrap (10000)"``."""
    return f"BCa bootstrap ({int(n_boot)})"


def p_floor_for(n: int, n_permutations: int = DEFAULT_N_PERMUTATIONS) -> float:
    """Smallest two-sided sign-flip p-value reachable with ``n`` paired seeds.

    Exact test: 2 / 2^n (the observed pattern and its mirror).  Monte Carlo
    (n > 16): also limited by the resolution 1 / (n_permutations + 1).
    """
    if n < 1:
        return math.nan
    floor = 2.0 / 2.0**n
    if n > EXACT_PERMUTATION_MAX_SEEDS:
        floor = max(floor, 1.0 / (n_permutations + 1))
    return min(floor, 1.0)


def t_interval(diffs, level: float = CI_LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Paired Student-t interval of the mean of ``diffs`` along the last axis.

    Args:
        diffs: float array ``[..., n]`` of per-seed paired differences (any unit).
        level: two-sided confidence level.
    Returns:
        ``(low, high)`` arrays of shape ``[...]`` (0-d for 1-D input).  n < 2 gives
        ``(-inf, inf)``; zero spread gives the degenerate ``[mean, mean]``.
    """
    d = np.asarray(diffs, dtype=np.float64)
    n = d.shape[-1]
    if n < 2:
        shape = d.shape[:-1]
        return np.full(shape, -np.inf), np.full(shape, np.inf)
    mean = d.mean(axis=-1)
    half = sps.t.ppf(0.5 + level / 2.0, n - 1) * d.std(axis=-1, ddof=1) / math.sqrt(n)
    return mean - half, mean + half


def _is_constant(d: np.ndarray) -> bool:
    """True when all values are equal up to float rounding (e.g. 100*(0.6-0.5) vs 100*(0.5-0.4))."""
    return float(np.ptp(d)) <= 1e-12 * max(1.0, float(np.abs(d).max()))


def bca_interval(diffs, n_boot: int = DEFAULT_N_BOOT, seed: int = 0,
                 level: float = CI_LEVEL) -> tuple[float, float]:
    """BCa bootstrap interval of the mean of 1-D ``diffs`` (``scipy.stats.bootstrap``).

    Seeded with ``numpy.random.default_rng(seed)``, so the same numbers and seed
    give the same interval.  Constant data gives ``(mean, mean)`` (BCa itself is
    undefined there); any other undefined result comes back as ``(nan, nan)``.
    """
    d = np.asarray(diffs, dtype=np.float64).ravel()
    if d.size and _is_constant(d):
        m = float(d.mean())
        return m, m
    with warnings.catch_warnings():
        # scipy warns (DegenerateDataWarning / RuntimeWarning) when BCa's acceleration is undefined.
        warnings.simplefilter("ignore")
        res = sps.bootstrap(
            (d,), np.mean, n_resamples=int(n_boot), method="BCa", confidence_level=level,
            vectorized=True, rng=np.random.default_rng(seed),
        )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def _sign_patterns(n: int) -> np.ndarray:
    """All 2^n sign patterns as a float array ``[2^n, n]`` of +-1 (row k = bits of k)."""
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (codes >> np.arange(n, dtype=np.int64)) & 1
    return 1.0 - 2.0 * bits


def sign_flip_p_value(diffs, n_permutations: int = DEFAULT_N_PERMUTATIONS,
                      seed: int = 0) -> tuple[float, float]:
    """Two-sided sign-flip permutation p-value of the mean of 1-D paired ``diffs``.

    Under "no effect" each difference is as likely positive as negative, so the
    null distribution of the mean is the means over all sign flips.  p = share of
    sign patterns whose |mean| >= the observed |mean| (the observed one included).
    Exact for n <= 16; otherwise ``n_permutations`` random patterns from
    ``default_rng(seed)`` with p = (hits + 1) / (n_permutations + 1).

    Returns:
        ``(p_value, p_floor)``; ``(nan, nan)`` for no data.
    """
    d = np.asarray(diffs, dtype=np.float64).ravel()
    n = d.size
    if n == 0:
        return math.nan, math.nan
    observed = abs(float(d.sum()))
    tol = 1e-9 * float(np.abs(d).sum())    # float sums of the same magnitudes may differ in the last bit
    if n <= EXACT_PERMUTATION_MAX_SEEDS:
        totals = np.abs(_sign_patterns(n) @ d)
        p = float(np.mean(totals >= observed - tol))
    else:
        rng = np.random.default_rng(seed)
        hits, done, chunk = 0, 0, 4096
        while done < n_permutations:
            k = min(chunk, n_permutations - done)
            signs = rng.integers(0, 2, size=(k, n)) * 2.0 - 1.0
            hits += int(np.sum(np.abs(signs @ d) >= observed - tol))
            done += k
        p = (hits + 1) / (n_permutations + 1)
    return min(p, 1.0), p_floor_for(n, n_permutations)


def excludes_zero(ci_low, ci_high):
    """Significance rule: the interval lies entirely above or entirely below 0 (vectorized)."""
    low = np.asarray(ci_low, dtype=np.float64)
    high = np.asarray(ci_high, dtype=np.float64)
    result = (low > 0) | (high < 0)
    return bool(result) if result.ndim == 0 else result


def paired_effect(diffs, n_boot: int = DEFAULT_N_BOOT, seed: int = 0,
                  n_permutations: int = DEFAULT_N_PERMUTATIONS) -> dict:
    """One paired effect (e.g. one class of one arm) from its per-seed paired differences.

    Args:
        diffs: 1-D per-seed differences (arm minus baseline), any unit; order by seed
            so the seeded bootstrap is reproducible.
        n_boot: BCa resamples (used from :data:`BOOTSTRAP_MIN_SEEDS` seeds on).
        seed: seeds the bootstrap and the Monte Carlo permutation test.
    Returns:
        dict with ``n_seeds, effect_mean, ci_low, ci_high, ci_method, p_value, p_floor,
        significant, note`` (same unit as ``diffs``).
    """
    d = np.asarray(diffs, dtype=np.float64).ravel()
    n = int(d.size)
    out = {"n_seeds": n, "effect_mean": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "ci_method": "", "p_value": math.nan, "p_floor": math.nan, "significant": False, "note": ""}
    if n == 0:
        out["note"] = NO_PAIRS
        return out
    if not np.all(np.isfinite(d)):
        raise ValueError(f"paired differences must be finite, got {d.tolist()}")
    out["effect_mean"] = float(d.mean())
    out["p_value"], out["p_floor"] = sign_flip_p_value(d, n_permutations, seed)
    notes = []
    if n < 2:
        out["ci_low"], out["ci_high"], out["ci_method"] = -math.inf, math.inf, PAIRED_T
        notes.append(NEEDS_TWO_SEEDS)
    elif n < BOOTSTRAP_MIN_SEEDS:
        low, high = t_interval(d)
        out["ci_low"], out["ci_high"], out["ci_method"] = float(low), float(high), PAIRED_T
    else:
        low, high = bca_interval(d, n_boot, seed)
        method = bca_method_name(n_boot)
        if not (math.isfinite(low) and math.isfinite(high)):
            low, high = (float(v) for v in t_interval(d))
            method = PAIRED_T
            notes.append("BCa undefined for these differences; paired-t used")
        out["ci_low"], out["ci_high"], out["ci_method"] = low, high, method
    if n >= 2 and _is_constant(d):
        notes.append("all paired differences equal: zero-width interval, exact sign-flip test decides")
    out["significant"] = excludes_zero(out["ci_low"], out["ci_high"])
    if n >= 2 and _is_constant(d):
        # Identical differences say nothing about the seed noise (the t interval has zero
        # width); only the exact sign-flip test stays valid, so it decides: 2/2^n cannot
        # reach 5% below 6 seeds.
        out["significant"] = bool(out["significant"] and out["p_value"] < ALPHA)
    if out["ci_method"] != PAIRED_T:
        # BCa is liberal at 10-15 seeds (about 8-9% false positives measured on placebo arms,
        # vs 5% nominal), so from 10 seeds on an arm is significant only when the interval
        # excludes 0 AND the exact sign-flip test agrees; that keeps the rate at about 5%.
        out["significant"] = bool(out["significant"] and out["p_value"] < ALPHA)
    out["note"] = "; ".join(notes)
    return out


__all__ = ["CI_LEVEL", "BOOTSTRAP_MIN_SEEDS", "EXACT_PERMUTATION_MAX_SEEDS", "DEFAULT_N_BOOT", "DEFAULT_N_PERMUTATIONS",
           "PAIRED_T", "NEEDS_TWO_SEEDS", "NO_PAIRS", "bca_method_name", "p_floor_for", "t_interval", "bca_interval",
           "sign_flip_p_value", "excludes_zero", "paired_effect"]
