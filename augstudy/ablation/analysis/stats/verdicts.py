"""One verdict per arm: better / worse / equivalent / inconclusive / unstable, with honest intervals.

Pure numpy + scipy.  Every effect is in **accuracy points** (100 x fraction) when
built with :func:`pair_arm` from fractions; :func:`analyze_family` itself works
in whatever unit its :class:`PairedArm` diffs carry (``sesoi`` in the same unit).

The rules (the table header prints them; see :func:`FamilyResult.header_lines`):

- **Test**: paired t over seeds (``n - 1`` df) for the seed part, plus the finite val
  set's sampling variance (normal quantile, churn counted once) when per-example
  correctness is given (:mod:`augstudy.ablation.analysis.stats.core`); with 2 or more arms the
  arm must also pass the same test with the seed variance pooled over the family's
  arms (robust to a seed sd that came out small by chance, e.g. under skewed noise).
  Without per-example data the interval is the seed-only paired t, and the
  method string says that the val set's own noise is not in it.
- **Family**: the arms analysed together (one study; ``ablate all``: every arm).
  Holm's step-down adjustment by default (family-wise error <= alpha with no
  extra assumption); ``correction="bh"`` gives Benjamini-Hochberg (false
  discovery rate) instead.  ``significant`` is ``p_adjusted < alpha``; the
  reported interval is at the per-arm level ``alpha * p / p_adjusted``, so it
  excludes 0 exactly when the arm is significant.
- **better / worse**: significant, by the sign of the mean.
- **equivalent**: TOST (two one-sided t-tests, Schuirmann 1987) against
  ``+-sesoi``: equivalent when the TOST p < alpha, i.e. the ``1 - 2 alpha``
  interval lies inside ``+-sesoi``.  Each equivalence claim is controlled per arm
  (error <= alpha when the true effect is SESOI); ``eq_correction="holm"`` adjusts
  them over the family too.  A significant arm is better/worse even if also equivalent
  (the note says "smaller than SESOI").
- **unstable**: the arm diverged (NaN/inf loss) on at least one seed.  Diverged
  runs are never dropped: their metric counts as the chance level (``chance``,
  e.g. 100 / n_classes points: what a network that outputs NaN scores), and the
  statistical decision is still computed (``decision``).
- **inconclusive**: none of the above; ``seeds_needed`` says how many paired
  seeds would settle it with 80 % power if the current estimate were true
  (better/worse at the Bonferroni level alpha / m, or equivalence), exact
  noncentral t.
- **rank**: by the mean effect (:func:`assign_ranks`); the top arm's mean is biased
  upward (it was selected for being high: the winner's curse).
- **coherence**: ``better``/``worse`` only when the printed interval excludes 0;
  ``equivalent`` never beside an unbounded interval.
- **divergence**: an arm's diverged run counts at chance level (the arm is ``unstable``);
  a seed where the *baseline* diverged is left out of every pair and the header warns
  (:func:`pair_arm`), so one bad baseline run does not make every arm unstable.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from augstudy.ablation.analysis.stats import core as stats_core, power as stats_power
from augstudy.ablation.analysis.stats.power import ALPHA
from augstudy.ablation.terms import POINTS, Verdict, assign_ranks

SESOI = 1.0              # smallest effect size of interest, accuracy points

METHOD_SEED_AND_VAL = ("paired t over seeds (n-1 df) + val-set sampling variance from per-example "
                       "correctness (normal; churn counted once)")
METHOD_SEED_ONLY = ("paired t over seeds only (no per-example correctness: the val set's own "
                    "sampling noise is not in the interval)")
DIVERGED_RULE = "a diverged run counts at chance level"


@dataclass
class PairedArm:
    """One arm's paired data against the baseline.

    diffs: ``[n]`` per-seed ``arm - baseline`` (the arm's diverged runs at chance level), seed order.
    example_diffs: optional ``[n, n_val]`` per-seed, per-val-example ``correct_arm - correct_base``
        in the same unit as ``diffs``, one row per seed of ``diffs`` (a diverged arm run's row is
        the constant chance level, so its mean is its entry of ``diffs``; see :func:`pair_arm`).
    n_diverged: seeds on which the arm diverged (paired or not).
    seeds: the paired seeds, in the order of ``diffs``.
    baseline_diverged: seeds left out because the baseline diverged there (a study-level warning).
    flags: one sentence per seed that is not an ordinary pair (the table's note says it).
    """

    name: str
    diffs: np.ndarray
    example_diffs: np.ndarray | None = None
    n_diverged: int = 0
    seeds: tuple = ()
    baseline_diverged: tuple = ()
    flags: tuple = ()


def _seed_list(seeds) -> str:
    seeds = sorted(seeds)
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def pair_arm(name: str, arm: Mapping[int, float | None], baseline: Mapping[int, float | None],
             diverged_arm: Sequence[int] = (), diverged_baseline: Sequence[int] = (),
             chance: float | None = None, correct_arm: Mapping[int, np.ndarray] | None = None,
             correct_baseline: Mapping[int, np.ndarray] | None = None, scale: float = POINTS) -> PairedArm:
    """Pair one arm with the baseline by seed, in ``scale`` units (accuracy points by default).

    Args:
        arm, baseline: ``{seed: metric}`` as fractions in [0, 1]; None/NaN = no result.
        diverged_arm, diverged_baseline: seeds whose run diverged.  An arm's diverged run
            counts at ``chance`` (fraction, e.g. 1 / n_classes) and makes the arm unstable;
            a seed where the *baseline* diverged is left out of the pairs (the baseline's
            chance-level run would make every arm look better by tens of points there) and
            reported in ``baseline_diverged`` (the table's study-level warning).  No seed is
            dropped silently: an arm run that diverged where the baseline has no result is
            counted in ``n_diverged`` and flagged.
        correct_arm, correct_baseline: optional ``{seed: bool [n_val]}`` per-example
            correctness on the same val images (same order).  Used only when every paired
            seed has it; a diverged arm run's row is the constant ``chance``.
    Returns:
        :class:`PairedArm` over the seeds with a result in both.
    """
    div_a, div_b = set(diverged_arm), set(diverged_baseline)
    if div_a and chance is None:
        raise ValueError(f"arm {name!r}: diverged seeds need `chance` (the metric a diverged run counts as)")

    def value(table, seed, diverged):
        if seed in diverged:
            return float(chance)
        v = table.get(seed)
        return None if v is None or not math.isfinite(float(v)) else float(v)

    candidates = sorted(set(arm) | div_a)
    seeds = [s for s in candidates if s not in div_b
             and value(arm, s, div_a) is not None and value(baseline, s, set()) is not None]
    flags = []
    left_base = sorted(s for s in candidates if s in div_b and value(arm, s, div_a) is not None)
    if left_base:
        flags.append(f"{_seed_list(left_base)} left out: the baseline diverged there")
    unpaired = sorted(s for s in div_a if s not in div_b and value(baseline, s, set()) is None)
    if unpaired:
        flags.append(f"diverged on {_seed_list(unpaired)} where the baseline run has no result (not paired, "
                     "counted as diverged)")
    diffs = np.array([scale * (value(arm, s, div_a) - value(baseline, s, set())) for s in seeds])
    example = None
    if correct_arm is not None and correct_baseline is not None and seeds and all(
            s in correct_baseline and (s in div_a or s in correct_arm) for s in seeds):
        rows = []
        for s in seeds:
            base = np.asarray(correct_baseline[s], dtype=np.float64)
            run = np.full(base.shape, float(chance)) if s in div_a else np.asarray(correct_arm[s], dtype=np.float64)
            rows.append(scale * (run - base))
        example = np.stack(rows)
    n_div = len(div_a)
    return PairedArm(name, diffs, example, n_div, tuple(seeds), tuple(left_base), tuple(flags))


@dataclass
class ArmEffect:
    """Every column the effect table needs for one arm (factor-independent); effects in points.

    ci_low/ci_high: the family-adjusted interval at level ``ci_level``.
    p_value: the test that carries the decision; p_adjusted: its family adjustment.
    tost_p / tost_p_adjusted: equivalence test against +-sesoi.
    decision: the statistical call ignoring divergence; verdict: what the table prints.
    seeds_needed: paired seeds that would settle an inconclusive arm (None when not
        applicable, SEEDS_NEEDED_MAX + 1 when out of reach).
    """

    arm: str
    n_seeds: int
    n_diverged: int
    effect_mean: float
    ci_low: float
    ci_high: float
    ci_level: float
    ci_method: str
    p_value: float
    p_adjusted: float
    significant: bool
    tost_p: float
    tost_p_adjusted: float
    equivalent: bool
    decision: Verdict
    verdict: Verdict
    seeds_needed: int | None
    mde: float
    p_improve: float
    p_improve_low: float
    p_improve_high: float
    d_z: float
    d_z_low: float
    d_z_high: float
    sd_seed: float
    val_se: float
    rank: int | None = None
    note: str = ""

    def to_dict(self) -> dict:
        """Plain dict (JSON/CSV-able scalars), field order as declared."""
        return asdict(self)


@dataclass
class FamilyResult:
    """The analysed family: one :class:`ArmEffect` per arm (input order) and what the header says."""

    arms: list[ArmEffect]
    family: str
    alpha: float
    sesoi: float
    correction: str
    ci_method: str
    chance: float | None = None
    n_family: int = 0
    eq_correction: str = "none"
    extra_notes: list[str] = field(default_factory=list)

    def ranked(self) -> list[ArmEffect]:
        """Arms by rank (1 first), unranked last."""
        return sorted(self.arms, key=lambda a: (a.rank is None, a.rank or 0))

    def header_lines(self) -> list[str]:
        """The sentences every effect table prints above its rows."""
        return header_lines(self.family, self.n_family, self.alpha, self.sesoi, self.correction,
                            self.ci_method, self.chance, self.eq_correction) + list(self.extra_notes)


RANK_RULE = ("Rank: by the mean effect (the best single guess of which arm is best; arms with one seed last); "
             "the top arm's mean is "
             "biased upward (selected for being high); the verdict, not the rank, says whether it beats the baseline.")


def baseline_warning(seeds: Sequence[int]) -> str:
    """The study-level sentence when the baseline diverged on some seeds."""
    return (f"Warning: the baseline diverged on {_seed_list(seeds)}: those seeds' pairs are left out of every "
            "arm's effect (each arm's note says so); the baseline itself is unstable at this setting.")


def header_lines(family: str, n_arms: int, alpha: float, sesoi: float, correction: str,
                 ci_method: str, chance: float | None = None, eq_correction: str = "none") -> list[str]:
    """Header sentences (units, interval method, family, verdict rules, rank rule)."""
    corr = {"holm": f"Holm-adjusted over the {n_arms} arms of {family} (family-wise error <= {alpha:g})",
            "bh": f"Benjamini-Hochberg over the {n_arms} arms of {family} (false discovery rate <= {alpha:g})",
            "none": "not adjusted for the number of arms"}[correction]
    chance_text = f" ({chance:.3g} pts)" if chance is not None else ""
    return [
        f"Effects in accuracy points (arm - baseline), paired by seed; SESOI +-{sesoi:g} pts.",
        f"Interval: {ci_method}; with 2 or more arms also no narrower than with the seed variance pooled "
        "over the arms; adjusted for multiplicity (each arm at the level it is tested, ci_level).",
        f"p: {corr}; better/worse = adjusted p < {alpha:g} (the interval then excludes 0).",
        f"equivalent = the effect is inside +-{sesoi:g} pts (TOST: the {1 - 2 * alpha:.0%} interval inside, "
        f"{'per arm' if eq_correction == 'none' else eq_correction + '-adjusted'}; never with an unbounded "
        f"interval); inconclusive = neither, 'seeds needed' would settle it (80% power, noncentral t).",
        f"unstable = the arm diverged on >= 1 seed; {DIVERGED_RULE}{chance_text}, never dropped.",
        RANK_RULE,
    ]


def _verdict(decision: Verdict, n_diverged: int) -> Verdict:
    return Verdict.UNSTABLE if n_diverged > 0 else decision


def _seeds_needed(mean, sd, val_var, n_val, sesoi, alpha_plan, n) -> int | None:
    if n < 1 or not math.isfinite(mean):
        return None
    sd_plan = sd if (n >= 2 and sd > 0) else math.nan
    if not math.isfinite(sd_plan):
        return None
    options = [stats_power.seeds_needed(mean, sd_plan, alpha=alpha_plan, val_var=val_var, n_val=n_val),
               stats_power.seeds_needed_equivalence(mean, sd_plan, sesoi, alpha=alpha_plan,
                                                   val_var=val_var, n_val=n_val)]
    options = [o for o in options if o is not None]
    return min(options) if options else None


def family_moments(arms: Sequence[PairedArm]) -> tuple[list[dict], list[dict | None]]:
    """Each arm's own moments and its pooled-variance moments (:func:`stats_core.pooled_moments`).

    The pool leaves out arms that diverged (a chance-level run is not seed noise) and arms
    without data; ``pooled[i]`` is None for an arm without data.
    """
    own = [stats_core.paired_moments(a.diffs, a.example_diffs) if a.diffs.size else None for a in arms]
    have = [i for i, mo in enumerate(own) if mo is not None]
    pooled: list[dict | None] = [None] * len(arms)
    if have:
        stacked = stats_core.stack_moments([own[i] for i in have])
        pool = stats_core.pooled_moments(stacked, usable=[arms[i].n_diverged == 0 for i in have])
        for k, i in enumerate(have):
            pooled[i] = {key: np.asarray(v[k]) for key, v in pool.items()}
    return own, pooled


def analyze_family(arms: Sequence[PairedArm], family: str = "this study", alpha: float = ALPHA,
                   sesoi: float = SESOI, correction: str = "holm", chance: float | None = None,
                   power: float = stats_power.POWER, eq_correction: str = "none") -> FamilyResult:
    """Effects, intervals, adjusted p-values and one verdict per arm of a family (fixed design).

    Args:
        arms: the family's arms (:func:`pair_arm`), all against the same baseline.
        family: what the family is, for the header ("this study", "every arm of ablate all").
        alpha: family-wise (Holm) or FDR (BH) level; the equivalence test uses it per side.
        sesoi: smallest effect size of interest, in the diffs' unit.
        correction: ``"holm"`` (default), ``"bh"`` or ``"none"``, for better/worse.
        eq_correction: the same choice for the equivalence claims (default ``"none"``: per arm).
        chance: the chance-level metric diverged runs count as (header text only, points).
    Returns:
        :class:`FamilyResult`; :func:`decide` gives the same decisions on the same arrays.
    """
    own, pooled = family_moments(arms)
    p = np.array([float(stats_core.family_p(mo, po)) if mo is not None else np.nan for mo, po in zip(own, pooled)])
    tp = np.array([float(stats_core.family_tost_p(mo, sesoi, po)) if mo is not None else np.nan
                   for mo, po in zip(own, pooled)])
    if len(arms):
        level = stats_core.effective_level(p, stats_core.adjust(p, correction), alpha)
        eq_level = stats_core.effective_level(tp, stats_core.adjust(tp, eq_correction), alpha)
    else:
        level = eq_level = p
    m_family = max(int(np.isfinite(p).sum()), 1)
    alpha_plan = alpha / m_family if correction == "holm" else alpha
    any_val = any(a.example_diffs is not None for a in arms)
    all_val = all(a.example_diffs is not None for a in arms if a.diffs.size)
    method = METHOD_SEED_AND_VAL if any_val and all_val else (
        METHOD_SEED_ONLY if not any_val else METHOD_SEED_AND_VAL + " where stored, else seed only")
    out = [arm_effect(a, float(level[i]), float(eq_level[i]), alpha, sesoi, method,
                      alpha_plan=alpha_plan, power=power, pooled=pooled[i]) for i, a in enumerate(arms)]
    assign_ranks(out)
    notes = []
    left = sorted({s for a in arms for s in a.baseline_diverged})
    if left:
        notes.append(baseline_warning(left))
    return FamilyResult(out, family, alpha, sesoi, correction, method, chance, m_family, eq_correction, notes)


def arm_effect(a: PairedArm, level: float, eq_level: float, alpha: float = ALPHA, sesoi: float = SESOI,
               method: str = METHOD_SEED_ONLY, decision: Verdict | None = None, alpha_plan: float | None = None,
               power: float = stats_power.POWER, pooled: dict | None = None) -> ArmEffect:
    """One arm's :class:`ArmEffect` given the error levels it is tested at.

    ``level`` is the two-sided level of the efficacy test (e.g. Holm's per-arm level, or a
    sequential look's nominal level), ``eq_level`` the one-sided level of each TOST test.
    ``pooled``: the arm's pooled-variance moments (:func:`family_moments`); the arm's p is the
    larger of both tests and its interval the union of both.
    ``p_adjusted = min(1, p * alpha / level)`` (likewise for TOST).  Coherence: ``significant``
    needs adjusted p < alpha *and* the printed interval excluding 0; ``equivalent`` needs a
    bounded printed interval.  ``decision`` overrides the call (the sequential rule passes its
    own, decided on the same moments); ``alpha_plan`` is the level ``seeds_needed`` and ``mde``
    plan for (default ``level``).
    """
    n = int(a.diffs.size)
    alpha_plan = level if alpha_plan is None else alpha_plan
    flags = list(a.flags)
    if n == 0:
        return ArmEffect(a.name, 0, a.n_diverged, math.nan, math.nan, math.nan, math.nan, method,
                         math.nan, math.nan, False, math.nan, math.nan, False, Verdict.INCONCLUSIVE,
                         _verdict(Verdict.INCONCLUSIVE, a.n_diverged), None, math.inf, math.nan, math.nan, math.nan,
                         math.nan, math.nan, math.nan, math.nan, math.nan, note="; ".join(["no paired seeds"] + flags))
    m = stats_core.paired_moments(a.diffs, a.example_diffs)
    p, tp = float(stats_core.family_p(m, pooled)), float(stats_core.family_tost_p(m, sesoi, pooled))
    p_adj = min(1.0, p * alpha / level) if level > 0 else 1.0
    tp_adj = min(1.0, tp * alpha / eq_level) if eq_level > 0 else 1.0
    mean, sd, val_var = float(m["mean"]), float(m["sd"]), float(m["val_var"])
    degenerate = bool(m["degenerate"])
    n_val = None if a.example_diffs is None else int(a.example_diffs.shape[-1])
    low, high = (float(x) for x in stats_core.family_interval(m, level, pooled))
    significant = bool(p_adj < alpha and (low > 0 or high < 0))
    equivalent = bool(tp_adj < alpha and math.isfinite(low) and math.isfinite(high))
    if decision is None:
        if significant:
            decision = Verdict.BETTER if mean > 0 else Verdict.WORSE
        else:
            decision = Verdict.EQUIVALENT if equivalent else Verdict.INCONCLUSIVE
    notes = []
    if degenerate and n >= 2:
        notes.append("all paired differences equal: seed noise not estimable, exact sign-flip p used")
    if significant and equivalent:
        notes.append(f"smaller than SESOI ({sesoi:g})")
    if n < 2:
        notes.append("needs >= 2 seeds")
    notes += flags
    needed = _seeds_needed(mean, sd, val_var, n_val, sesoi, alpha_plan, n) if decision == Verdict.INCONCLUSIVE else None
    if n < 2:
        mde = math.inf
    elif degenerate:
        mde = math.nan
    else:
        mde = stats_power.minimum_detectable_effect(sd, n, alpha_plan, power, val_var, n_val)
    p_imp = stats_power.improvement_interval(a.diffs)
    if degenerate:
        dz = ((math.copysign(math.inf, mean) if mean and n >= 2 else math.nan), math.nan, math.nan)
    else:
        dz = stats_power.dz_interval(mean, sd, n)
    return ArmEffect(
        arm=a.name, n_seeds=n, n_diverged=a.n_diverged, effect_mean=mean, ci_low=low, ci_high=high,
        ci_level=1.0 - level, ci_method=method, p_value=p, p_adjusted=p_adj, significant=significant,
        tost_p=tp, tost_p_adjusted=tp_adj, equivalent=equivalent, decision=decision,
        verdict=_verdict(decision, a.n_diverged), seeds_needed=needed, mde=mde, p_improve=p_imp[0],
        p_improve_low=p_imp[1], p_improve_high=p_imp[2], d_z=dz[0], d_z_low=dz[1], d_z_high=dz[2],
        sd_seed=sd, val_se=math.sqrt(val_var), note="; ".join(notes))



def decide(diffs, alpha: float = ALPHA, sesoi: float = SESOI, correction: str = "holm",
           example_diffs=None, eq_correction: str = "none") -> np.ndarray:
    """Vectorized fixed-design decisions of :func:`analyze_family` (same rule, no divergence).

    The verdicts a study stores for the same data (a test pins the equality): each arm's own
    test and the pooled-variance test over the family's arms (:func:`stats_core.pooled_moments`),
    Holm (or ``correction``) over the arms, TOST for equivalence, and the coherence rules of
    :func:`arm_effect`.

    Args:
        diffs: ``[..., m, n]`` paired differences of the ``m`` arms of each family (points).
        example_diffs: optional ``[..., m, n, n_val]`` per-example differences (points).
    Returns:
        ``[..., m]`` array of :class:`~augstudy.ablation.terms.Verdict` strings among better /
        worse / equivalent / inconclusive.
    """
    mom = stats_core.paired_moments(diffs, example_diffs)
    pooled = stats_core.pooled_moments(mom)
    p = stats_core.family_p(mom, pooled)
    p_adj = stats_core.adjust(p, correction)
    low, high = stats_core.family_interval(mom, stats_core.effective_level(p, p_adj, alpha), pooled)
    significant = (p_adj < alpha) & ((low > 0) | (high < 0))
    tp = stats_core.family_tost_p(mom, sesoi, pooled)
    equivalent = (stats_core.adjust(tp, eq_correction) < alpha) & np.isfinite(low) & np.isfinite(high)
    return np.where(significant, np.where(mom["mean"] > 0, Verdict.BETTER, Verdict.WORSE),
                    np.where(equivalent, Verdict.EQUIVALENT, Verdict.INCONCLUSIVE))
