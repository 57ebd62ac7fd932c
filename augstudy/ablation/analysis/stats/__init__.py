"""Honest paired statistics for an ablation, one concern per module (numpy + scipy, no torch).

``from augstudy.ablation.analysis import stats`` reaches every public name below, so a notebook can call
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
- :mod:`.factorial`: two-factor contrasts and response curves;
- :mod:`.simulate`: per-example simulated studies for measuring any rule's error rates.

Units: the inputs of :func:`effect_table`, :func:`noise_floor` and :func:`per_class_effects` are
accuracies as fractions in [0, 1]; every number they return is in **accuracy points** (``scale`` =
100 x the fraction).  The lower-level functions (:func:`paired_effect`, :func:`t_interval`, ...)
work in whatever unit they are given.

What decides the effect table (every verdict a study stores, and :func:`decide` on arrays):

- Seeds are paired: seed ``s`` fixes init, data order and augmentation draws in every arm, so
  the per-seed difference ``arm[s] - baseline[s]`` cancels shared noise.
- The test (:mod:`.core`): the mean paired difference with a crossed seeds x examples variance
  in two parts that count the run-to-run churn once -- the seed part (per-seed differences,
  Student t with ``n - 1`` df) and the val part (per-example differences, normal) -- combined
  with each part's own quantile (Banerjee 1960).  With 2 or more arms an arm must also pass the
  test with the seed variance pooled over the family's arms (robust to a seed sd that is small
  by chance, as skewed seed noise produces).  A tie (every per-seed difference equal) falls back
  to the exact sign-flip floor ``2 / 2^n``.
- Holm over the family for better/worse, TOST against the SESOI for equivalent
  (:mod:`.verdicts`), the group-sequential version for ``--seeds auto`` (:mod:`.sequential`).
- :mod:`.simulate`: the per-example data model the error rates are measured on
  (``benchmarks/bench_effect_grid.py``).

:mod:`.paired` keeps the older per-arm building blocks (BCa bootstrap intervals from
:data:`BOOTSTRAP_MIN_SEEDS` seeds, the sign-flip permutation p-value, the noise floor, per-class
effects); the noise floor and per-class effects use them, the effect table's verdicts do not.
One limit no rule on 5 numbers can remove: with a single arm and strongly skewed seed noise
(per-seed differences from a centred exponential, 5 seeds) the t test calls 12% of null arms
``worse``; with 2 or more arms the pooled-variance test brings it under 5% (measured in
``tests/test_stats_grid.py``).
"""

from augstudy.ablation.analysis.stats.paired import (
    ALPHA, BOOTSTRAP_MIN_SEEDS, CI_LEVEL, DEFAULT_N_BOOT, DEFAULT_N_PERMUTATIONS, EFFECT_COLUMNS,
    EFFECT_EXTRA_COLUMNS, EXACT_PERMUTATION_MAX_SEEDS, NEEDS_TWO_SEEDS, PAIRED_T, POINTS, POWER, SEEDS_NEEDED_MAX,
    VERDICT_BETTER, VERDICT_INCONCLUSIVE, VERDICT_NO_PAIRS, VERDICT_NOISE, VERDICT_WORSE, assign_ranks,
    bca_interval, bca_method_name, benjamini_hochberg, ci_method_for, effect_table, excludes_zero,
    improvement_probability, minimum_detectable_effect, noise_floor, p_floor_for, paired_differences,
    paired_effect, per_class_effects, seeds_needed, sign_flip_p_value, t_interval, verdict,
)
from augstudy.ablation.analysis.stats.factorial import ResponseCurve, TwoFactorResult, response_curve, two_factor_effects
from augstudy.ablation.analysis.stats.sequential import SequentialArm, SequentialResult, sequential_step
from augstudy.ablation.analysis.stats.verdicts import ArmEffect, FamilyResult, PairedArm, analyze_family, decide, pair_arm

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
