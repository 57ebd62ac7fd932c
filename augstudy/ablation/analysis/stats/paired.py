"""The per-arm building blocks of the effect table: paired effect, paired-t and BCa intervals, the
sign-flip p-value, the noise floor and per-class effects (numpy + scipy, no torch).

The package docstring (:mod:`augstudy.ablation.analysis.stats`) states the units and why these methods.
"""

from __future__ import annotations

import math
import warnings
from typing import Mapping, Sequence

import numpy as np
from scipy import stats as sps

from augstudy.ablation.analysis.stats import power as stats_power

CI_LEVEL = 0.95                  # two-sided confidence level of every interval
ALPHA = 0.05                     # two-sided test level matching the interval (1 - CI_LEVEL)
POWER = 0.80                     # power used for the minimum detectable effect
BOOTSTRAP_MIN_SEEDS = 10         # n >= this -> BCa bootstrap; below -> paired-t
EXACT_PERMUTATION_MAX_SEEDS = 16 # n <= this -> exact sign-flip test (2^16 = 65,536 patterns)
DEFAULT_N_BOOT = 10_000          # bootstrap resamples for BCa
DEFAULT_N_PERMUTATIONS = 20_000  # Monte Carlo sign patterns above the exact limit
SEEDS_NEEDED_MAX = 200           # search limit for `seeds_needed`
POINTS = 100.0                   # fraction -> accuracy points

PAIRED_T = "paired-t"
NEEDS_TWO_SEEDS = "needs >= 2 seeds"

VERDICT_BETTER = "better"
VERDICT_WORSE = "worse"
VERDICT_NOISE = "within noise"
VERDICT_INCONCLUSIVE = "inconclusive"   # interval includes 0 but |effect| >= MDE: too noisy to tell
VERDICT_NO_PAIRS = "no paired seeds"

# Column order of effects.csv (the study-directory contract; extras may follow).
EFFECT_COLUMNS = (
    "factor", "arm", "level", "n_seeds", "effect_mean", "ci_low", "ci_high", "p_value",
    "p_improve", "significant", "rank", "ci_method", "p_floor", "metric_mean", "metric_std",
    "best_val_acc", "stability", "gen_gap", "n_diverged", "within_noise", "seeds_needed",
)
EFFECT_EXTRA_COLUMNS = ("mde", "verdict", "note")


def bca_method_name(n_boot: int) -> str:
    """The ``ci_method`` label of the BCa interval, e.g. ``"BCa bootstrap (10000)"``."""
    return f"BCa bootstrap ({int(n_boot)})"


def ci_method_for(n: int, n_boot: int = DEFAULT_N_BOOT) -> str:
    """Which interval :func:`paired_effect` uses for ``n`` paired seeds."""
    return bca_method_name(n_boot) if n >= BOOTSTRAP_MIN_SEEDS else PAIRED_T


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


def improvement_probability(diffs) -> float:
    """Share of paired seeds where the arm beat the baseline (ties count 1/2); nan if none."""
    d = np.asarray(diffs, dtype=np.float64).ravel()
    if d.size == 0:
        return math.nan
    return float((np.sum(d > 0) + 0.5 * np.sum(d == 0)) / d.size)


def excludes_zero(ci_low, ci_high):
    """Significance rule: the interval lies entirely above or entirely below 0 (vectorized)."""
    low = np.asarray(ci_low, dtype=np.float64)
    high = np.asarray(ci_high, dtype=np.float64)
    result = (low > 0) | (high < 0)
    return bool(result) if result.ndim == 0 else result


def paired_effect(diffs, n_boot: int = DEFAULT_N_BOOT, seed: int = 0,
                  n_permutations: int = DEFAULT_N_PERMUTATIONS) -> dict:
    """Everything the effect table says about one arm, from its per-seed paired differences.

    Args:
        diffs: 1-D per-seed differences (arm minus baseline), any unit; order by seed
            so the seeded bootstrap is reproducible.
        n_boot: BCa resamples (used from :data:`BOOTSTRAP_MIN_SEEDS` seeds on).
        seed: seeds the bootstrap and the Monte Carlo permutation test.
    Returns:
        dict with ``n_seeds, effect_mean, ci_low, ci_high, ci_method, p_value, p_floor,
        p_improve, significant, note`` (same unit as ``diffs``).
    """
    d = np.asarray(diffs, dtype=np.float64).ravel()
    n = int(d.size)
    out = {"n_seeds": n, "effect_mean": math.nan, "ci_low": math.nan, "ci_high": math.nan,
           "ci_method": "", "p_value": math.nan, "p_floor": math.nan, "p_improve": math.nan,
           "significant": False, "note": ""}
    if n == 0:
        out["note"] = VERDICT_NO_PAIRS
        return out
    if not np.all(np.isfinite(d)):
        raise ValueError(f"paired differences must be finite, got {d.tolist()}")
    out["effect_mean"] = float(d.mean())
    out["p_improve"] = improvement_probability(d)
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


def minimum_detectable_effect(sd_diff: float, n: int, alpha: float = ALPHA,
                              power: float = POWER) -> float:
    """Smallest true mean difference a two-sided paired t-test on ``n`` seeds detects with ``power``.

    Exact noncentral t (:func:`augstudy.ablation.analysis.stats.power.minimum_detectable_effect`), in the
    unit of ``sd_diff``.  ``inf`` below 2 seeds, ``nan`` when ``sd_diff`` is unknown.
    """
    return stats_power.minimum_detectable_effect(sd_diff, n, alpha, power)


def seeds_needed(effect: float, sd_diff: float, max_seeds: int = SEEDS_NEEDED_MAX,
                 alpha: float = ALPHA, power: float = POWER) -> int | None:
    """Smallest number of paired seeds at which the exact power at ``|effect|`` reaches ``power``.

    Returns ``None`` when the effect is 0 or unknown or ``sd_diff`` is unknown,
    and ``max_seeds + 1`` when even ``max_seeds`` seeds would not suffice (the
    table prints that as ``>200``).
    """
    return stats_power.seeds_needed(effect, sd_diff, max_seeds, alpha, power)


def _paired(per_seed_arm: Mapping, per_seed_base: Mapping) -> tuple[list, np.ndarray, np.ndarray]:
    """Seeds finished (finite value) in both, sorted, and the two value arrays."""
    seeds = sorted(s for s in per_seed_arm
                   if s in per_seed_base and _finite(per_seed_arm[s]) and _finite(per_seed_base[s]))
    arm = np.array([per_seed_arm[s] for s in seeds], dtype=np.float64)
    base = np.array([per_seed_base[s] for s in seeds], dtype=np.float64)
    return seeds, arm, base


def _finite(x) -> bool:
    return x is not None and math.isfinite(float(x))


def paired_differences(per_seed: Mapping[str, Mapping[int, float]], baseline_arm: str,
                       scale: float = POINTS) -> dict[str, np.ndarray]:
    """Per non-baseline arm: ``scale * (arm[s] - baseline[s])`` over paired seeds, in seed order."""
    base = per_seed[baseline_arm]
    out = {}
    for arm, values in per_seed.items():
        if arm == baseline_arm:
            continue
        _, a, b = _paired(values, base)
        out[arm] = scale * (a - b)
    return out


def noise_floor(per_seed: Mapping[str, Mapping[int, float]], baseline_arm: str,
                scale: float = POINTS, alpha: float = ALPHA, power: float = POWER,
                n_boot: int = DEFAULT_N_BOOT) -> dict:
    """How big an effect this study can see at all.

    Args:
        per_seed: ``{arm: {seed: metric}}``, metrics as fractions in [0, 1]
            (missing / unfinished runs simply absent or None).
        baseline_arm: key of the baseline in ``per_seed``.
    Returns:
        dict (JSON-able, goes into ``study.json["noise_floor"]``), accuracy points:
        ``n_seeds`` (finished baseline seeds), ``baseline_std`` (seed-to-seed std,
        ddof=1), ``sd_diff`` (pooled std of the paired differences over all arms
        with >= 2 pairs, else sqrt(2) x baseline std), ``sd_diff_source``, ``mde``
        (at ``n_seeds``), ``alpha``, ``power``, ``p_floor``, ``ci_method``, ``units``.
    """
    base = np.array([v for v in per_seed[baseline_arm].values() if _finite(v)], dtype=np.float64)
    n = int(base.size)
    baseline_std = float(scale * base.std(ddof=1)) if n >= 2 else math.nan
    dof, ss, n_arms = 0, 0.0, 0
    for d in paired_differences(per_seed, baseline_arm, scale).values():
        if d.size >= 2:
            dof += d.size - 1
            ss += float(np.sum((d - d.mean()) ** 2))
            n_arms += 1
    if dof > 0:
        sd_diff = math.sqrt(ss / dof)
        source = f"pooled std of paired differences over {n_arms} arm{'s' if n_arms != 1 else ''}"
    elif math.isfinite(baseline_std):
        sd_diff = math.sqrt(2.0) * baseline_std
        source = "sqrt(2) x baseline std (no arm has 2 paired seeds yet)"
    else:
        sd_diff, source = math.nan, "unknown (needs >= 2 seeds)"
    return {
        "n_seeds": n,
        "baseline_std": baseline_std,
        "sd_diff": sd_diff,
        "sd_diff_source": source,
        "mde": minimum_detectable_effect(sd_diff, n, alpha, power),
        "alpha": alpha,
        "power": power,
        "p_floor": p_floor_for(n),
        "ci_method": ci_method_for(n, n_boot),
        "units": "accuracy points (100 x fraction)",
    }


def verdict(row: Mapping) -> str:
    """Short verdict: better / worse / within noise / inconclusive / needs >= 2 seeds / no paired seeds."""
    if row["n_seeds"] == 0:
        return VERDICT_NO_PAIRS
    if row["n_seeds"] < 2:
        return NEEDS_TWO_SEEDS
    if row["significant"]:
        return VERDICT_BETTER if row["effect_mean"] > 0 else VERDICT_WORSE
    if row["within_noise"]:
        return VERDICT_NOISE
    return VERDICT_INCONCLUSIVE


def assign_ranks(rows: list[dict]) -> None:
    """Set ``row["rank"]`` in place: 1 = largest ``effect_mean``; None where the effect is unknown.

    Ties keep input order (stable sort), so the ranking is deterministic.
    """
    ranked = [r for r in rows if _finite(r.get("effect_mean"))]
    for position, row in enumerate(sorted(ranked, key=lambda r: -r["effect_mean"]), start=1):
        row["rank"] = position
    for row in rows:
        row.setdefault("rank", None)


def effect_table(per_seed: Mapping[str, Mapping[int, float]], baseline_arm: str,
                 scale: float = POINTS, n_boot: int = DEFAULT_N_BOOT, seed: int = 0,
                 noise: Mapping | None = None) -> list[dict]:
    """One row per non-baseline arm: paired effect vs the baseline, ranked.

    Args:
        per_seed: ``{arm: {seed: metric}}`` with metrics as fractions in [0, 1];
            only seeds with a finite value in both arm and baseline are paired.
        baseline_arm: key of the baseline arm.
        scale: fraction -> reported unit (100: accuracy points).
        n_boot, seed: BCa resamples and the seed of every random step.
        noise: a :func:`noise_floor` result; computed when None.
    Returns:
        rows (input arm order) with ``arm, n_seeds, effect_mean, ci_low, ci_high,
        p_value, p_improve, significant, rank, ci_method, p_floor, within_noise,
        seeds_needed, mde, verdict, note``.  ``within_noise``: interval includes 0
        and |effect| < the MDE at this arm's seed count.
    """
    if baseline_arm not in per_seed:
        raise ValueError(f"baseline arm {baseline_arm!r} not among arms {sorted(per_seed)}")
    noise = noise_floor(per_seed, baseline_arm, scale, n_boot=n_boot) if noise is None else noise
    sd_diff = noise["sd_diff"]
    rows = []
    for arm, d in paired_differences(per_seed, baseline_arm, scale).items():
        row = {"arm": arm, **paired_effect(d, n_boot=n_boot, seed=seed)}
        mde = minimum_detectable_effect(sd_diff, row["n_seeds"]) if row["n_seeds"] else math.nan
        row["mde"] = mde
        row["within_noise"] = bool(
            row["n_seeds"] > 0 and not row["significant"]
            and (abs(row["effect_mean"]) < mde or not math.isfinite(mde))
        )
        row["seeds_needed"] = seeds_needed(row["effect_mean"], sd_diff)
        rows.append(row)
    assign_ranks(rows)
    for row in rows:
        row["verdict"] = verdict(row)
    return rows


def benjamini_hochberg(pvalues: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values), same order as the input.

    ``scipy.stats.false_discovery_control`` over the finite p-values; NaN p-values
    stay NaN and do not count in the number of tests.
    """
    p = np.asarray(pvalues, dtype=np.float64).ravel()
    q = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        q[finite] = sps.false_discovery_control(p[finite])
    return q


def per_class_effects(per_seed_class_acc_arm: Mapping[int, Sequence[float]],
                      per_seed_class_acc_base: Mapping[int, Sequence[float]],
                      class_names: Sequence[str], scale: float = POINTS,
                      n_boot: int = DEFAULT_N_BOOT, seed: int = 0,
                      alpha: float = ALPHA) -> list[dict]:
    """Per-class paired effects of one arm vs the baseline, corrected for testing C classes.

    Args:
        per_seed_class_acc_arm / _base: ``{seed: array [C]}`` per-class val accuracy
            (fractions in [0, 1]; NaN for a class with no val images).
        class_names: C names.
    Returns:
        C rows ``{class, n_seeds, effect_mean, ci_low, ci_high, ci_method, p_value,
        p_floor, q_value, significant}`` in accuracy points.  ``q_value`` is the
        Benjamini-Hochberg adjustment of the sign-flip p-values over the classes;
        ``significant`` needs both q < alpha and an interval excluding 0 (so a
        class is never flagged on the uncorrected interval alone; with few seeds
        the p-value floor makes this impossible, which is the honest answer).
    """
    seeds = sorted(s for s in per_seed_class_acc_arm if s in per_seed_class_acc_base)
    n_classes = len(class_names)
    arm = np.array([np.asarray(per_seed_class_acc_arm[s], dtype=np.float64) for s in seeds]).reshape(
        len(seeds), n_classes)
    base = np.array([np.asarray(per_seed_class_acc_base[s], dtype=np.float64) for s in seeds]).reshape(
        len(seeds), n_classes)
    diffs = scale * (arm - base)                        # [n_seeds, C]
    rows = []
    for c, name in enumerate(class_names):
        d = diffs[:, c]
        eff = paired_effect(d[np.isfinite(d)], n_boot=n_boot, seed=seed)
        rows.append({"class": name, "n_seeds": eff["n_seeds"], "effect_mean": eff["effect_mean"],
                     "ci_low": eff["ci_low"], "ci_high": eff["ci_high"], "ci_method": eff["ci_method"],
                     "p_value": eff["p_value"], "p_floor": eff["p_floor"],
                     "interval_excludes_zero": eff["significant"]})
    q = benjamini_hochberg([r["p_value"] for r in rows])
    for row, qv in zip(rows, q):
        row["q_value"] = float(qv)
        row["significant"] = bool(row.pop("interval_excludes_zero") and qv < alpha)
    return rows
