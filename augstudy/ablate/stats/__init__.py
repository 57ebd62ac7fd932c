"""Honest paired statistics for an ablation, one concern per module (numpy + scipy, no torch).

``from augstudy.ablate import stats`` reaches every public name below, so a notebook can call
them on any numbers:

- :mod:`.paired`: the per-arm building blocks: paired effect, paired-t and BCa intervals, the
  sign-flip p-value, the noise floor and per-class effects (units below);
- :mod:`.core`: the vectorized decision core: paired moments with the val-set term, p-values,
  intervals, Holm and Benjamini-Hochberg;
- :mod:`.power`: exact noncentral-t power, minimum detectable effect, seeds needed, P(improve)
  and d_z intervals;
- :mod:`.verdicts`: one verdict per arm (better / worse / equivalent / inconclusive / unstable),
  Holm across arms, TOST, :class:`ArmEffect` rows and the table header (:func:`analyze_family`);
- :mod:`.sequential`: ``--seeds auto`` (:func:`sequential_step`);
- :mod:`.factorial`: two-factor contrasts and response curves.

Units: the inputs of :func:`effect_table`, :func:`noise_floor` and :func:`per_class_effects` are
accuracies as fractions in [0, 1]; every number they return is in **accuracy points** (``scale`` =
100 x the fraction).  The lower-level functions (:func:`paired_effect`, :func:`t_interval`, ...)
work in whatever unit they are given.

Why these methods:

- Seeds are paired: seed ``s`` fixes init, data order and augmentation draws in every arm, so
  the per-seed difference ``arm[s] - baseline[s]`` cancels shared noise.
- Below :data:`BOOTSTRAP_MIN_SEEDS` seeds the interval is the paired Student-t one.  A bootstrap
  at 3 seeds excludes 0 whenever all three differences share a sign, which happens 1 time in 4
  with no effect at all; t stays near its nominal 5 %.
- From :data:`BOOTSTRAP_MIN_SEEDS` seeds on: the BCa bootstrap (bias- and skew-corrected, seeded),
  which must agree with the exact sign-flip test (BCa alone is liberal at 10-15 seeds).
- The p-value is a sign-flip permutation test, exact over all 2^n sign patterns up to
  :data:`EXACT_PERMUTATION_MAX_SEEDS` seeds; its smallest possible value is 2 / 2^n (0.25 at 3
  seeds), reported as ``p_floor`` so nobody reads 0.25 as "close".
"""

from augstudy.ablate.stats.paired import (
    ALPHA, BOOTSTRAP_MIN_SEEDS, CI_LEVEL, DEFAULT_N_BOOT, DEFAULT_N_PERMUTATIONS, EFFECT_COLUMNS,
    EFFECT_EXTRA_COLUMNS, EXACT_PERMUTATION_MAX_SEEDS, NEEDS_TWO_SEEDS, PAIRED_T, POINTS, POWER, SEEDS_NEEDED_MAX,
    VERDICT_BETTER, VERDICT_INCONCLUSIVE, VERDICT_NO_PAIRS, VERDICT_NOISE, VERDICT_WORSE, assign_ranks,
    bca_interval, bca_method_name, benjamini_hochberg, ci_method_for, effect_table, excludes_zero,
    improvement_probability, minimum_detectable_effect, noise_floor, p_floor_for, paired_differences,
    paired_effect, per_class_effects, seeds_needed, sign_flip_p_value, t_interval, verdict,
)
from augstudy.ablate.stats.factorial import ResponseCurve, TwoFactorResult, response_curve, two_factor_effects
from augstudy.ablate.stats.sequential import SequentialArm, SequentialResult, sequential_step
from augstudy.ablate.stats.verdicts import ArmEffect, FamilyResult, PairedArm, analyze_family, decide, pair_arm

__all__ = [
    "ALPHA", "BOOTSTRAP_MIN_SEEDS", "CI_LEVEL", "DEFAULT_N_BOOT", "DEFAULT_N_PERMUTATIONS", "EFFECT_COLUMNS",
    "EFFECT_EXTRA_COLUMNS", "EXACT_PERMUTATION_MAX_SEEDS", "NEEDS_TWO_SEEDS", "PAIRED_T", "POINTS", "POWER",
    "SEEDS_NEEDED_MAX", "VERDICT_BETTER", "VERDICT_INCONCLUSIVE", "VERDICT_NO_PAIRS", "VERDICT_NOISE",
    "VERDICT_WORSE", "assign_ranks", "bca_interval", "bca_method_name", "benjamini_hochberg", "ci_method_for",
    "effect_table", "excludes_zero", "improvement_probability", "minimum_detectable_effect", "noise_floor",
    "p_floor_for", "paired_differences", "paired_effect", "per_class_effects", "seeds_needed",
    "sign_flip_p_value", "t_interval", "verdict",
    "ResponseCurve", "TwoFactorResult", "response_curve", "two_factor_effects",
    "SequentialArm", "SequentialResult", "sequential_step",
    "ArmEffect", "FamilyResult", "PairedArm", "analyze_family", "decide", "pair_arm",
]
