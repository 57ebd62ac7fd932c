"""``--seeds auto``: add seeds in batches only where an arm is still undecided, with error rates kept.

Design (group-sequential, Lan and DeMets 1983, with Holm-type recycling across arms):

- **Looks.** The arms are analysed at planned seed counts ``n_1 < n_2 < ... < n_K``:
  ``start_seeds``, then every ``batch`` more, the last one exactly ``max_seeds``
  (:func:`look_schedule`).  An arm that reaches a verdict stops; the others get
  the next batch (and the baseline the seeds they need).  Information fraction of
  look k: ``t_k = n_k / max_seeds``.
- **Alpha spending.** A spending function ``alpha(t)`` (``"pocock"``,
  ``alpha ln(1 + (e - 1) t)``, the default; or O'Brien-Fleming type ``"obf"``,
  ``2 - 2 Phi(z_{1-alpha/2} / sqrt(t))``: almost nothing spent at 3 seeds, nearly
  the full alpha at the last look) fixes
  how much error each look may spend.  Default Pocock: flat nominal levels, so
  clear arms stop early (``benchmarks/bench_adaptive.py`` compares both).  The two-sided boundaries ``c_k`` on the z
  scale come from the exact recursive integration of the joint normal law of the
  look statistics (Armitage, McPherson and Rowe 1969; :func:`boundaries`), and each
  look tests the arm's p-value -- the fixed table's test (:mod:`augstudy.ablation.analysis.stats.core`:
  seed part with t on ``n_k - 1`` df, val part normal, churn counted once; the larger of the
  arm's own and the pooled-variance test) -- against the nominal level ``2 (1 - Phi(c_k))``.
  Every arm is decided with the val-set term or every arm without it (the same variance
  the table prints: a diverged arm's seed keeps a chance-level row, see ``pair_arm``).
- **Many arms.** Holm's procedure carried into the sequential design (Maurer and
  Bretz 2013, graphical approach with equal weights): with ``r`` arms already
  declared better/worse, each remaining arm is tested with the boundaries of level
  ``alpha / (m - r)``, re-checked at the same look after every new rejection.  Arms
  that stop for equivalence keep their share (never recycled: conservative).
- **Equivalence** (stop because the effect is smaller than SESOI): both one-sided
  tests of TOST against the one-sided boundaries of the same kind of spending at
  one-sided level ``alpha`` per arm (as in the fixed table; ``eq_family=True``:
  ``alpha / (m - e)``, ``e`` arms already declared equivalent); the error of
  calling an arm equivalent when its effect is SESOI stays <= alpha.
- **Futility** (stop an arm that will not settle): after a look's tests, an arm still
  undecided whose predictive probability of reaching better/worse or equivalent by
  ``max_seeds`` is below ``futility`` (default 5 %; :func:`predictive_verdict_chance`)
  stops ``inconclusive``.  It is non-binding: the boundaries are unchanged and it only
  removes later claims (and Holm recycling), so both error guarantees are kept.
- **Stateless and resumable.** :func:`sequential_step` replays every look from the
  paired data alone (the first ``n_k`` seeds of each arm), so the same data give the
  same decisions after a resume, in any process.  An arm still undecided at
  ``max_seeds`` is final ``inconclusive``.

Simulated in ``tests/ablation/analysis/stats/test_stats_sequential.py``: family-wise false positives <= 5 %
under the null over thousands of studies, right verdicts at 1 and 2 noise SDs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np
from scipy import optimize
from scipy import stats as sps

from augstudy.ablation.analysis.stats import core as stats_core, verdicts as stats_verdicts
from augstudy.ablation.analysis.stats.verdicts import PairedArm
from augstudy.ablation.terms import Verdict

MAX_SEEDS = 20
START_SEEDS = 3
BATCH = 2
DEFAULT_SPENDING = "pocock"   # flat nominal levels: stops clear arms early (bench_adaptive.py)
FUTILITY = 0.05             # stop an arm when P(any verdict by max seeds | data so far) is below this
SPENDING = ("obf", "pocock")
_GRID = 601                 # points of the numerical integration per look
_NO_BOUNDARY = 40.0         # z boundary standing for "spend nothing at this look"

# decision codes of the vectorized replay
UNDECIDED, CODE_BETTER, CODE_WORSE, CODE_EQUIVALENT, CODE_INCONCLUSIVE = 0, 1, 2, 3, 4
CODE_NAMES = {CODE_BETTER: Verdict.BETTER, CODE_WORSE: Verdict.WORSE, CODE_EQUIVALENT: Verdict.EQUIVALENT,
              CODE_INCONCLUSIVE: Verdict.INCONCLUSIVE, UNDECIDED: Verdict.INCONCLUSIVE}


def look_schedule(start_seeds: int = START_SEEDS, batch: int = BATCH, max_seeds: int = MAX_SEEDS) -> tuple[int, ...]:
    """Planned seed counts of the looks: ``start, start + batch, ...``, ending exactly at ``max_seeds``."""
    if start_seeds < 2 or batch < 1 or max_seeds < start_seeds:
        raise ValueError(f"need start_seeds >= 2, batch >= 1, max_seeds >= start_seeds; got "
                         f"{start_seeds}, {batch}, {max_seeds}")
    looks = list(range(start_seeds, max_seeds, batch)) + [max_seeds]
    return tuple(looks)


def spent(t, alpha: float, kind: str = "obf"):
    """Cumulative two-sided error spent by information fraction ``t`` in (0, 1]."""
    t = np.asarray(t, dtype=np.float64)
    if kind == "obf":
        return 2.0 - 2.0 * sps.norm.cdf(sps.norm.ppf(1.0 - alpha / 2.0) / np.sqrt(t))
    if kind == "pocock":
        return alpha * np.log1p((math.e - 1.0) * t)
    raise ValueError(f"unknown spending function {kind!r}; use one of {', '.join(SPENDING)}")


@lru_cache(maxsize=512)
def boundaries(fractions: tuple[float, ...], alpha: float, kind: str = "obf") -> tuple[float, ...]:
    """Two-sided z boundaries ``c_k`` spending ``spent(t_k) - spent(t_{k-1})`` at each look.

    Exact recursive numerical integration of the Brownian-motion look statistics
    ``S_k = Z_k sqrt(t_k)`` (independent normal increments of variance ``t_k - t_{k-1}``),
    keeping the density on the continuation region ``|Z| < c`` on a grid.
    """
    cum = spent(np.array(fractions), alpha, kind)
    inc = np.diff(np.concatenate([[0.0], cum]))
    bounds = []
    first = inc[0]
    c = float(sps.norm.isf(first / 2.0)) if first > 1e-15 else _NO_BOUNDARY
    bounds.append(min(c, _NO_BOUNDARY))
    t_prev = fractions[0]
    x = np.linspace(-bounds[0], bounds[0], _GRID) * math.sqrt(t_prev)
    w = np.full(_GRID, x[1] - x[0])
    w[0] = w[-1] = w[0] / 2.0
    dens = sps.norm.pdf(x, scale=math.sqrt(t_prev))
    for k in range(1, len(fractions)):
        t = fractions[k]
        sd = math.sqrt(t - t_prev)
        mass = w * dens

        def exit_prob(b: float) -> float:
            hi = b * math.sqrt(t)
            return float(np.sum(mass * (sps.norm.cdf((-hi - x) / sd) + sps.norm.sf((hi - x) / sd))))

        target = inc[k]
        if target <= 1e-15 or exit_prob(_NO_BOUNDARY) >= target:
            b = _NO_BOUNDARY
        else:
            b = float(optimize.brentq(lambda b: exit_prob(b) - target, 1e-6, _NO_BOUNDARY, xtol=1e-10))
        bounds.append(b)
        y = np.linspace(-b, b, _GRID) * math.sqrt(t)
        wy = np.full(_GRID, y[1] - y[0])
        wy[0] = wy[-1] = wy[0] / 2.0
        dens = (sps.norm.pdf((y[:, None] - x[None, :]) / sd) / sd) @ mass
        x, w, t_prev = y, wy, t
    return tuple(bounds)


@lru_cache(maxsize=512)
def nominal_levels(schedule: tuple[int, ...], alpha: float, kind: str = "obf") -> np.ndarray:
    """Two-sided nominal p-value level of each look for a family-level ``alpha``."""
    fractions = tuple(n / schedule[-1] for n in schedule)
    return 2.0 * sps.norm.sf(np.array(boundaries(fractions, float(alpha), kind)))


def _level_tables(schedule, m: int, alpha: float, kind: str, eq_kind: str,
                  eq_family: bool) -> tuple[np.ndarray, np.ndarray]:
    """``[m + 1, K]`` two-sided efficacy levels at ``alpha / j`` and one-sided equivalence levels at ``alpha / j``.

    Row ``j`` is for ``j`` arms left in the family (row 0 unused).
    """
    eff = np.zeros((m + 1, len(schedule)))
    eq = np.zeros((m + 1, len(schedule)))
    for j in range(1, m + 1):
        eff[j] = nominal_levels(schedule, alpha / j, kind)
        eq[j] = nominal_levels(schedule, min(2.0 * alpha / (j if eq_family else 1), 0.999), eq_kind) / 2.0
    return eff, eq


def predictive_verdict_chance(mom: dict, n_max: int, eff_level, eq_level, sesoi: float) -> np.ndarray:
    """Predictive probability that an arm reaches better/worse or equivalent at ``n_max`` seeds.

    Normal approximation of the final mean given the first ``n`` seeds, averaged over the
    flat-prior posterior of the true effect (``N(mean, sd^2 / n)``): the final mean is
    ``N(mean, sd^2 (n_max - n) / n_max^2 + ((n_max - n) / n_max)^2 sd^2 / n)``; the final
    standard error ``sqrt(sd^2 / n_max + val_var)`` and the final look's nominal levels
    (``eff_level`` two-sided, ``eq_level`` one-sided, broadcast with ``mom``) give the
    thresholds.  The sum of the two chances (an upper bound of their union) is returned;
    1 where the seed sd is not estimable (degenerate) or no seeds remain.
    """
    n = mom["n"].astype(np.float64)
    sd, mean = mom["sd"], mom["mean"]
    rest = np.maximum(n_max - n, 0.0)
    var_final = sd * sd * (rest / n_max**2 + (rest / n_max) ** 2 / np.maximum(n, 1.0))
    spread = np.sqrt(np.maximum(var_final, 1e-300))
    se_final = np.sqrt(sd * sd / n_max + mom["val_var"])
    c_eff = sps.norm.isf(np.asarray(eff_level) / 2.0) * se_final
    c_eq = np.maximum(sesoi - sps.norm.isf(np.asarray(eq_level)) * se_final, 0.0)
    eff = sps.norm.sf((c_eff - mean) / spread) + sps.norm.cdf((-c_eff - mean) / spread)
    eq = np.where(c_eq > 0, sps.norm.cdf((c_eq - mean) / spread) - sps.norm.cdf((-c_eq - mean) / spread), 0.0)
    out = np.minimum(eff + eq, 1.0)
    return np.where(mom["degenerate"] | (rest <= 0), 1.0, out)


def replay(diffs, schedule: Sequence[int], alpha: float = stats_verdicts.ALPHA,
           sesoi: float = stats_verdicts.SESOI, kind: str = DEFAULT_SPENDING, available=None, example_diffs=None,
           eq_kind: str | None = None, eq_family: bool = False, futility: float = FUTILITY,
           usable=None) -> dict:
    """Vectorized replay of the sequential rule over studies.

    Args:
        diffs: ``[S, m, N]`` paired differences of ``m`` arms in ``S`` studies, seeds in order
            (``N >= schedule[-1]``, or fewer together with ``available``).
        schedule: :func:`look_schedule`.
        available: optional ``[m]`` seeds each arm has so far (one study, ``S = 1``): the replay
            stops at the first look an undecided arm has no data for.
        example_diffs: optional ``[S, m, N, n_val]`` per-example differences (val-set variance).
        futility: after the efficacy and equivalence tests of a look before the last, an arm still
            undecided whose :func:`predictive_verdict_chance` is below ``futility`` stops
            ``inconclusive`` (0 turns it off).  Non-binding: the boundaries are unchanged and the
            rule only removes later claims, so both error rates stay at most alpha.
        usable: optional ``[m]`` arms that enter the pooled seed variance (default all;
            :func:`augstudy.ablation.analysis.stats.core.pooled_moments`): each look tests every arm with
            ``max(p own, p pooled)``, as the fixed-design table does.
    Returns:
        dict of arrays: ``code [S, m]`` (UNDECIDED while waiting for data), ``stop_look [S, m]``
        (-1 undecided), ``level [S, m]`` / ``eq_level [S, m]`` (nominal levels of the deciding or
        current look), ``look`` (index of the last look done; -1 none), ``waiting_for`` (seeds the
        next look needs, 0 when the design is finished), ``pool_seed_var`` / ``pool_df`` ``[S, m]``
        (the pooled seed part of the deciding or current look, for the printed interval).
    """
    d = np.asarray(diffs, dtype=np.float64)
    S, m, N = d.shape
    schedule = tuple(int(n) for n in schedule)
    eff_tab, eq_tab = _level_tables(schedule, m, alpha, kind, eq_kind or kind, eq_family)
    code = np.zeros((S, m), dtype=np.int8)
    stop_look = np.full((S, m), -1)
    level = np.zeros((S, m))
    eq_level = np.zeros((S, m))
    n_rej = np.zeros(S, dtype=int)
    n_eq = np.zeros(S, dtype=int)
    pool_var = np.zeros((S, m))
    pool_df = np.ones((S, m))
    avail = np.full(m, N) if available is None else np.asarray(available)
    last_done, waiting = -1, 0
    for k, n_k in enumerate(schedule):
        active = code == UNDECIDED
        if not active.any():
            break
        if np.any(active.any(axis=0) & (avail < n_k)):
            waiting = n_k
            break
        n_use = min(n_k, N)
        ex = None if example_diffs is None else example_diffs[:, :, :n_use]
        mom = stats_core.paired_moments(d[:, :, :n_use], ex)
        in_pool = avail >= n_use if usable is None else (avail >= n_use) & np.asarray(usable, dtype=bool)
        pooled = stats_core.pooled_moments(mom, in_pool)   # arms that stopped earlier have no data here
        p = stats_core.family_p(mom, pooled)
        tp = stats_core.family_tost_p(mom, sesoi, pooled)
        live = code == UNDECIDED
        pool_var = np.where(live, pooled["seed_var"], pool_var)
        pool_df = np.where(live, pooled["df"], pool_df)
        while True:       # Holm recycling: re-test at this look after every new rejection
            lev = eff_tab[m - n_rej, k][:, None]
            new = (code == UNDECIDED) & (p < lev)
            level = np.where(code == UNDECIDED, lev, level)
            if not new.any():
                break
            code = np.where(new, np.where(mom["mean"] > 0, CODE_BETTER, CODE_WORSE), code).astype(np.int8)
            stop_look = np.where(new, k, stop_look)
            n_rej = n_rej + new.sum(axis=1)
        while True:
            lev = eq_tab[m - n_eq, k][:, None]
            new = (code == UNDECIDED) & (tp < lev)
            eq_level = np.where(code == UNDECIDED, lev, eq_level)
            if not new.any():
                break
            code = np.where(new, CODE_EQUIVALENT, code).astype(np.int8)
            stop_look = np.where(new, k, stop_look)
            n_eq = n_eq + new.sum(axis=1)
        if futility > 0 and k < len(schedule) - 1:
            chance = predictive_verdict_chance(mom, schedule[-1], eff_tab[m - n_rej, -1][:, None],
                                               eq_tab[m - n_eq, -1][:, None], sesoi)
            futile = (code == UNDECIDED) & (chance < futility)
            code = np.where(futile, CODE_INCONCLUSIVE, code).astype(np.int8)
            stop_look = np.where(futile, k, stop_look)
        last_done = k
    else:
        code = np.where(code == UNDECIDED, CODE_INCONCLUSIVE, code).astype(np.int8)
        stop_look = np.where(stop_look < 0, len(schedule) - 1, stop_look)
    return {"code": code, "stop_look": stop_look, "level": level, "eq_level": eq_level,
            "look": last_done, "waiting_for": waiting, "pool_seed_var": pool_var, "pool_df": pool_df}


def seeds_used(result: dict, schedule: Sequence[int]) -> np.ndarray:
    """``[S, m]`` seeds each arm ran in a finished :func:`replay` (the look where it stopped)."""
    return np.asarray(schedule)[result["stop_look"]]


@dataclass
class SequentialArm:
    """One arm after a look: its effect row, whether its verdict is final, what it still needs.

    final: the rule stopped the arm: its decision is decided (``effect.decision.is_decided()``; the
        verdict may still be unstable), or it stopped ``inconclusive`` (futility, or the last look).
    more_seeds: paired seeds to add before the next look (0 when final).
    target_seeds: the seed count of that next look (the arm's seed count when final).
    """

    effect: stats_verdicts.ArmEffect
    final: bool
    more_seeds: int
    target_seeds: int


@dataclass
class SequentialResult:
    """Where ``--seeds auto`` stands: per-arm decisions and the next batch."""

    arms: list[SequentialArm]
    schedule: tuple[int, ...]
    look: int                       # index of the last completed look (-1: none yet)
    done: bool                      # every arm final
    baseline_seeds: int             # seeds the baseline needs for the next look
    header: list[str] = field(default_factory=list)

    def runs_needed(self, baseline_has: int) -> int:
        """Runs of the next batch: the arms' missing seeds plus the baseline's."""
        return sum(a.more_seeds for a in self.arms) + max(0, self.baseline_seeds - baseline_has)

    def plan_text(self, baseline_has: int, seconds_per_run: float | None = None) -> str:
        """One line for the terminal before each batch: what the next batch costs.

        ``seconds_per_run``: measured mean wall time of a finished run (None: runs only).
        """
        if self.done:
            return (f"seeds auto: every arm has its verdict after look {self.look + 1} of "
                    f"{len(self.schedule)}; no more runs.")
        undecided = [a for a in self.arms if not a.final]
        arm_runs = sum(a.more_seeds for a in undecided)
        base_runs = max(0, self.baseline_seeds - baseline_has)
        text = (f"seeds auto: {len(undecided)} of {len(self.arms)} arms undecided; next look at "
                f"{self.baseline_seeds} seeds costs {arm_runs + base_runs} runs ({arm_runs} arm, "
                f"{base_runs} baseline)")
        if seconds_per_run:
            text += f", about {(arm_runs + base_runs) * seconds_per_run / 60.0:.1f} min"
        return text + "."


def sequential_step(arms: Sequence[PairedArm], start_seeds: int = START_SEEDS, batch: int = BATCH,
                    max_seeds: int = MAX_SEEDS, alpha: float = stats_verdicts.ALPHA,
                    sesoi: float = stats_verdicts.SESOI, spending: str = DEFAULT_SPENDING,
                    family: str = "this study", chance: float | None = None,
                    eq_family: bool = False, futility: float = FUTILITY) -> SequentialResult:
    """Decide, after the latest batch, which arms are final and which need more seeds.

    Args:
        arms: each arm's paired data so far (:func:`augstudy.ablation.analysis.stats.verdicts.pair_arm`),
            seeds in the order they were run (the first ``n_k`` are look k's data).
        start_seeds, batch, max_seeds: the plan (:func:`look_schedule`); keep them fixed for a study.
        alpha: family-wise error over the arms and all looks; sesoi: equivalence margin (points).
        spending: ``"pocock"`` (default) or ``"obf"``, for both efficacy and equivalence.
        eq_family: adjust the equivalence claims over the arms too (default: per arm).
        futility: stop an undecided arm ``inconclusive`` before ``max_seeds`` when its predictive
            chance of any verdict by ``max_seeds`` is below this (:func:`replay`; 0: never).
    Returns:
        :class:`SequentialResult`; each arm's :class:`ArmEffect` is computed on the data of its
        deciding (or latest) look, its interval at that look's nominal level and its
        ``p_adjusted = min(1, p * alpha / nominal level)``, so ``significant`` and the interval agree.
    """
    schedule = look_schedule(start_seeds, batch, max_seeds)
    m = len(arms)
    if m == 0:
        return SequentialResult([], schedule, -1, True, 0)
    n_have = np.array([a.diffs.size for a in arms])
    width = max(int(n_have.max()), 1)
    d = np.zeros((1, m, width))
    for i, a in enumerate(arms):
        d[0, i, :a.diffs.size] = a.diffs
    # one variance for deciding and printing: the val term for every arm or for none
    use_ex = bool(arms) and all(a.example_diffs is not None and a.example_diffs.shape[0] == a.diffs.size
                                for a in arms) and len({a.example_diffs.shape[1] for a in arms}) == 1
    ex = None
    if use_ex:
        n_val = arms[0].example_diffs.shape[1]
        ex = np.zeros((1, m, width, n_val))
        for i, a in enumerate(arms):
            ex[0, i, :a.diffs.size] = a.example_diffs
    usable = np.array([a.n_diverged == 0 for a in arms])
    res = replay(d, schedule, alpha, sesoi, spending, available=n_have, example_diffs=ex, eq_family=eq_family,
                 futility=futility, usable=usable)
    out = []
    method = stats_verdicts.METHOD_SEED_AND_VAL if use_ex else stats_verdicts.METHOD_SEED_ONLY
    for i, a in enumerate(arms):
        c = int(res["code"][0, i])
        final = c != UNDECIDED
        if final:
            n_used = schedule[int(res["stop_look"][0, i])]
            target, more = n_used, 0
        else:
            n_used = schedule[res["look"]] if res["look"] >= 0 else int(a.diffs.size)
            target = res["waiting_for"] or schedule[0]
            more = max(0, target - int(a.diffs.size))
        n_used = min(n_used, int(a.diffs.size))
        sub = PairedArm(a.name, a.diffs[:n_used], a.example_diffs[:n_used] if use_ex else None,
                        int(a.n_diverged), a.seeds[:n_used], a.baseline_diverged, a.flags)
        lev = float(res["level"][0, i]) or alpha
        eq_lev = float(res["eq_level"][0, i]) or alpha
        pooled = None
        if n_used:
            pooled = stats_core.paired_moments(sub.diffs, sub.example_diffs)
            if res["look"] >= 0 and float(res["pool_seed_var"][0, i]) > 0:
                pooled = dict(pooled, seed_var=np.asarray(res["pool_seed_var"][0, i]),
                              df=np.asarray(res["pool_df"][0, i]), degenerate=np.asarray(False))
        effect = stats_verdicts.arm_effect(sub, lev, eq_lev, alpha, sesoi, method,
                                           decision=CODE_NAMES[c], alpha_plan=alpha / m, pooled=pooled)
        if c == CODE_INCONCLUSIVE and n_used < schedule[-1]:
            effect.note = "; ".join(x for x in (effect.note, f"stopped at {n_used} seeds: under {futility:.0%} "
                                                f"chance of any verdict by {schedule[-1]}") if x)
        if not final:
            effect.note = "; ".join(x for x in (effect.note, f"needs {more} more seeds" if more else "") if x)
        out.append(SequentialArm(effect, final, more, target))
    stats_verdicts.assign_ranks([a.effect for a in out])
    done = all(a.final for a in out)
    base_need = max(a.target_seeds for a in out)
    header = stats_verdicts.header_lines(family, m, alpha, sesoi, "holm", method, chance,
                                         "holm" if eq_family else "none") + [
        f"Seeds auto: group-sequential, {'OBrien-Fleming' if spending == 'obf' else 'Pocock'}-type alpha spending "
        f"over looks at {', '.join(map(str, schedule))} seeds; Holm across arms; an arm stops at its verdict"
        + (f", or inconclusive when its chance of any verdict by {schedule[-1]} seeds is under {futility:.0%}."
           if futility > 0 else ".")]
    left = sorted({s for a in arms for s in a.baseline_diverged})
    if left:
        header.append(stats_verdicts.baseline_warning(left))
    return SequentialResult(out, schedule, int(res["look"]), done, base_need, header)
