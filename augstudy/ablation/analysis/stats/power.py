"""Power, minimum detectable effect, seeds needed and effect sizes from the exact noncentral t.

Pure numpy + scipy.  Units: whatever the caller gives (the effect table uses
accuracy points); ``sd`` is the seed-to-seed standard deviation of the paired
difference, ``val_var`` the (seed-independent) variance of the mean difference
that comes from sampling the finite val set (0 when unknown).

Why exact: the textbook MDE ``(t_{1-a/2} + t_{power}) sd / sqrt(n)`` treats the
test statistic as a shifted central t, which overstates power at few seeds (at
2-3 seeds the test it describes has about 73-77 % power, not 80 %).  Here the
power of the two-sided t-test is the noncentral-t tail
``P(|T| > t_crit)`` with ``T ~ nct(df, ncp = effect / se)``, and the MDE is the
effect where that power equals the target (root found by ``brentq``).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special
from scipy import stats as sps

from augstudy.ablation.terms import SEEDS_NEEDED_MAX# search limit; max + 1: "not reachable by then"

ALPHA = 0.05                 # two-sided test level
POWER = 0.80                 # target power of the MDE and of seeds_needed


def welch_df(sd: float, n: int, val_var: float = 0.0, n_val: int | None = None) -> float:
    """Degrees of freedom that plan the effect table's test: ``n - 1`` whatever the val term.

    The table's test (:mod:`augstudy.ablation.analysis.stats.core`) gives the seed part its own
    t quantile with ``n - 1`` df and the val part a normal one; the t test with ``n - 1``
    df on the combined ``se^2 = sd^2/n + val_var`` has about the same power (within 1 point
    over ``benchmarks/bench_effect_grid.py``'s grid) and a closed form, so planning uses it.
    The name stays for callers of the Welch-Satterthwaite df this replaced (``val_var``
    and ``n_val`` are accepted and ignored).
    """
    return float(max(n - 1, 1))


def nct_cdf(x, df, ncp):
    """``scipy.stats.nct.cdf`` with its far-tail NaNs replaced by the tail's limit (0 or 1)."""
    out = np.asarray(special.nctdtr(df, ncp, x), dtype=np.float64)   # = sps.nct.cdf, without its overhead
    out = np.where(np.isnan(out), np.where(np.asarray(x) < np.asarray(ncp), 0.0, 1.0), out)
    return out if out.ndim else float(out)


def t_power(effect, se, df, alpha: float = ALPHA):
    """Exact power of the two-sided t-test of "mean = 0" (vectorized).

    ``P(|T| > t_{1-alpha/2, df})`` with ``T ~ nct(df, effect / se)``.
    """
    effect, se, df = np.broadcast_arrays(*(np.asarray(x, dtype=np.float64) for x in (effect, se, df)))
    crit = special.stdtrit(df, 1.0 - alpha / 2.0)
    ncp = np.abs(effect) / se
    out = np.asarray((1.0 - nct_cdf(crit, df, ncp)) + nct_cdf(-crit, df, ncp))
    return out if out.ndim else float(out)


def paired_power(effect: float, sd: float, n: int, alpha: float = ALPHA,
                 val_var: float = 0.0, n_val: int | None = None) -> float:
    """Power of the paired test on ``n`` seeds at true mean difference ``effect``."""
    if n < 2:
        return math.nan
    se = math.sqrt(sd * sd / n + val_var)
    return float(t_power(effect, se, welch_df(sd, n, val_var, n_val), alpha))


def minimum_detectable_effect(sd: float, n: int, alpha: float = ALPHA, power: float = POWER,
                              val_var: float = 0.0, n_val: int | None = None) -> float:
    """Smallest true mean difference the two-sided paired t-test on ``n`` seeds detects with ``power``.

    Exact noncentral t (see the module docstring).  ``inf`` below 2 seeds, ``nan``
    when ``sd`` is unknown, 0 when there is no noise at all.
    """
    if n < 2:
        return math.inf
    if sd is None or not math.isfinite(sd):
        return math.nan
    se = math.sqrt(sd * sd / n + val_var)
    if se == 0:
        return 0.0
    df = welch_df(sd, n, val_var, n_val)
    crit = float(sps.t.ppf(1.0 - alpha / 2.0, df))
    hi = (crit + 4.0) * se
    while t_power(hi, se, df, alpha) < power:
        hi *= 2.0
    return float(optimize.brentq(lambda e: t_power(e, se, df, alpha) - power, 0.0, hi, xtol=1e-10 * se))


def seeds_needed(effect: float, sd: float, max_seeds: int = SEEDS_NEEDED_MAX, alpha: float = ALPHA,
                 power: float = POWER, val_var: float = 0.0, n_val: int | None = None) -> int | None:
    """Smallest number of paired seeds at which the exact power at ``|effect|`` reaches ``power``.

    Returns ``None`` when the effect or ``sd`` is unknown or the effect is 0, and
    ``max_seeds + 1`` when even ``max_seeds`` seeds would not do (for example when
    the val set's own noise ``val_var`` alone hides the effect: more seeds never
    shrink that term).
    """
    if effect is None or sd is None or not (math.isfinite(effect) and math.isfinite(sd)):
        return None
    if effect == 0:
        return None
    ns = np.arange(2, max_seeds + 1)
    se = np.sqrt(sd * sd / ns + val_var)
    df = np.array([welch_df(sd, int(n), val_var, n_val) for n in ns]) if val_var else ns - 1.0
    with np.errstate(divide="ignore", invalid="ignore"):
        pw = np.where(se > 0, t_power(abs(effect), np.where(se > 0, se, 1.0), df, alpha), 1.0)
    ok = np.nonzero(pw >= power)[0]
    return int(ns[ok[0]]) if ok.size else max_seeds + 1


def tost_power_lower_bound(effect: float, se: float, df: float, sesoi: float, alpha: float = ALPHA) -> float:
    """Lower bound on the power of TOST (each one-sided test at ``alpha``) at true ``effect``.

    ``P(A and B) >= P(A) + P(B) - 1`` with A = "lower test rejects", B = "upper test
    rejects", each an exact noncentral-t tail; conservative, so seeds planned on it suffice.
    """
    crit = sps.t.ppf(1.0 - alpha, df)
    p_lower = 1.0 - nct_cdf(crit, df, (effect + sesoi) / se)
    p_upper = nct_cdf(-crit, df, (effect - sesoi) / se)
    return float(max(0.0, p_lower + p_upper - 1.0))


def seeds_needed_equivalence(effect: float, sd: float, sesoi: float, max_seeds: int = SEEDS_NEEDED_MAX,
                             alpha: float = ALPHA, power: float = POWER, val_var: float = 0.0,
                             n_val: int | None = None) -> int | None:
    """Smallest seed count at which TOST would declare equivalence with ``power`` if ``effect`` is true.

    ``None`` when unknown or ``|effect| >= sesoi`` (equivalence cannot be the answer);
    ``max_seeds + 1`` when not reachable.
    """
    if effect is None or sd is None or not (math.isfinite(effect) and math.isfinite(sd)):
        return None
    if abs(effect) >= sesoi:
        return None
    ns = np.arange(2, max_seeds + 1)
    se = np.sqrt(sd * sd / ns + val_var)
    if np.any(se == 0):
        return int(ns[np.argmax(se == 0)])
    df = np.array([welch_df(sd, int(n), val_var, n_val) for n in ns]) if val_var else ns - 1.0
    crit = sps.t.ppf(1.0 - alpha, df)
    pw = (1.0 - nct_cdf(crit, df, (effect + sesoi) / se)) + nct_cdf(-crit, df, (effect - sesoi) / se) - 1.0
    ok = np.nonzero(pw >= power)[0]
    return int(ns[ok[0]]) if ok.size else max_seeds + 1


def dz_interval(mean: float, sd: float, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Standardized paired effect ``d_z = mean / sd`` and its exact interval (noncentral t inversion).

    The observed ``t = d_z sqrt(n)`` has a ``nct(n - 1, delta sqrt(n))`` distribution;
    the interval collects every ``delta`` for which the observed t is not in either
    ``(1 - level) / 2`` tail.  Returns ``(d_z, low, high)``; nan below 2 seeds;
    ``(+-inf, nan, nan)`` when ``sd`` is 0 (no seed noise seen: d_z undefined).
    """
    if n < 2 or not (math.isfinite(mean) and math.isfinite(sd)):
        return math.nan, math.nan, math.nan
    if sd == 0:
        return (math.copysign(math.inf, mean) if mean else math.nan), math.nan, math.nan
    df = n - 1
    t_obs = mean / sd * math.sqrt(n)
    tail = (1.0 - level) / 2.0

    def solve(target: float) -> float:
        f = lambda ncp: nct_cdf(t_obs, df, ncp) - target  # decreasing in ncp
        lo, hi = t_obs - 10.0, t_obs + 10.0
        while f(lo) < 0:
            lo -= 2.0 * (abs(lo) + 10.0)
        while f(hi) > 0:
            hi += 2.0 * (abs(hi) + 10.0)
        return float(optimize.brentq(f, lo, hi, xtol=1e-10))

    return mean / sd, solve(1.0 - tail) / math.sqrt(n), solve(tail) / math.sqrt(n)


def improvement_interval(diffs, level: float = 0.95) -> tuple[float, float, float]:
    """P(improve): share of paired seeds where the arm won (ties count 1/2), with a Clopper-Pearson interval.

    Fractional wins from ties enter the beta quantiles as they are.  3 wins of 3
    give about (1.0, 0.29, 1.0): three seeds cannot tell a coin from a sure winner.
    Returns ``(estimate, low, high)``; nan without data.
    """
    d = np.asarray(diffs, dtype=np.float64).ravel()
    n = d.size
    if n == 0:
        return math.nan, math.nan, math.nan
    wins = float(np.sum(d > 0) + 0.5 * np.sum(d == 0))
    tail = (1.0 - level) / 2.0
    low = 0.0 if wins <= 0 else float(sps.beta.ppf(tail, wins, n - wins + 1))
    high = 1.0 if wins >= n else float(sps.beta.ppf(1.0 - tail, wins + 1, n - wins))
    return wins / n, low, high
