"""Honest paired statistics for an ablation, one concern per module (numpy + scipy, no torch).

``from augstudy.ablation.analysis import stats`` reaches every public name below, so a notebook can call
them on any numbers:

- :mod:`.core`: the vectorized decision core: paired moments with the val-set term, p-values,
  intervals, Holm and Benjamini-Hochberg;
- :mod:`.power`: exact noncentral-t power, minimum detectable effect, seeds needed, P(improve)
  and d_z intervals;
- :mod:`.verdicts`: one :class:`Verdict` per arm (better / worse / equivalent / inconclusive /
  unstable), Holm across arms, TOST, :class:`ArmEffect` rows, ranks (:func:`assign_ranks`) and
  the table header (:func:`analyze_family`; :func:`decide` on arrays);
- :mod:`.sequential`: ``--seeds auto`` (:func:`sequential_step`);
- :mod:`.factorial`: two-factor contrasts and response curves;
- :mod:`.noise`: the study's noise floor (study.json's ``noise_floor``);
- :mod:`.per_class`: per-class effects with Benjamini-Hochberg over the classes, on the per-seed
  intervals and sign-flip test of :mod:`.intervals`;
- :mod:`.simulate`: per-example simulated studies for measuring any rule's error rates.

:class:`Verdict` itself lives in :mod:`augstudy.ablation.terms` (standard library only,
so the store and the report read verdicts without scipy); ``Verdict.is_decided()`` is the one
answer to "has this arm a verdict" (better, worse or equivalent).

Units: the inputs of :func:`pair_arm`, :func:`noise_floor` and :func:`per_class_effects` are
accuracies as fractions in [0, 1]; every number they return is in **accuracy points** (100 x the
fraction, :data:`augstudy.ablation.terms.POINTS`).  The lower-level functions
(:func:`analyze_family`, :func:`decide`, :func:`t_interval`, ...) work in whatever unit they are given.

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

One limit no rule on 5 numbers can remove: with a single arm and strongly skewed seed noise
(per-seed differences from a centred exponential, 5 seeds) the t test calls 12% of null arms
``worse``; with 2 or more arms the pooled-variance test brings it under 5% (measured in
``tests/ablation/analysis/stats/test_stats_grid.py``).
"""

from augstudy.ablation.terms import Verdict
from augstudy.ablation.analysis.stats.core import benjamini_hochberg, holm
from augstudy.ablation.analysis.stats.power import ALPHA, POWER, minimum_detectable_effect, seeds_needed
from augstudy.ablation.analysis.stats.intervals import (
    BOOTSTRAP_MIN_SEEDS, CI_LEVEL, bca_interval, p_floor_for, paired_effect, sign_flip_p_value, t_interval,
)
from augstudy.ablation.analysis.stats.noise import noise_floor, paired_differences
from augstudy.ablation.analysis.stats.per_class import per_class_effects
from augstudy.ablation.analysis.stats.verdicts import (
    SESOI, ArmEffect, FamilyResult, PairedArm, analyze_family, assign_ranks, decide, pair_arm,
)
from augstudy.ablation.analysis.stats.factorial import (
    ResponseCurve, TwoFactorResult, response_curve, two_factor_effects,
)
from augstudy.ablation.analysis.stats.sequential import SequentialArm, SequentialResult, sequential_step

__all__ = [
    "Verdict",
    "benjamini_hochberg", "holm",
    "ALPHA", "POWER", "minimum_detectable_effect", "seeds_needed",
    "BOOTSTRAP_MIN_SEEDS", "CI_LEVEL", "bca_interval", "p_floor_for", "paired_effect", "sign_flip_p_value",
    "t_interval",
    "noise_floor", "paired_differences", "per_class_effects",
    "SESOI", "ArmEffect", "FamilyResult", "PairedArm", "analyze_family", "assign_ranks", "decide", "pair_arm",
    "ResponseCurve", "TwoFactorResult", "response_curve", "two_factor_effects",
    "SequentialArm", "SequentialResult", "sequential_step",
]
