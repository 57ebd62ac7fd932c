"""Power by simulation: simulated studies decided by the study's own rule (numpy + scipy).

Every number ``augstudy plan`` prints comes from here: studies are drawn from the per-example
data model (:mod:`augstudy.ablation.plan.model`) and decided by the same public code a study
uses, so when the statistics change the plan follows:

- a fixed design of ``n`` paired seeds: :func:`augstudy.ablation.analysis.stats.decide` on the per-seed
  differences and the per-example differences (points), Holm over the ``m`` arms;
- ``--seeds auto``: :func:`augstudy.ablation.analysis.stats.sequential.replay` with its default look
  schedule, spending and futility stop.

Common random numbers: simulated study ``j`` is the same at every seed count (its seed ``k`` is
drawn from its own stream), so power rises smoothly with ``n`` and a search over ``n`` compares
like with like; each simulated seed is drawn once and kept packed, so later seed counts (and
``--seeds auto``) reuse it.  Studies are simulated in chunks of a fixed number (set by the val size
and arm count only), so the first ``s`` studies do not depend on how many are asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from augstudy.ablation.analysis import stats
from augstudy.ablation.analysis.stats import sequential as stats_sequential
from augstudy.ablation.plan.model import DataModel, seed_correct, study_eta
from augstudy.ablation.terms import POINTS
from augstudy.ablation.terms import Verdict

_CHUNK_ELEMENTS = 200_000     # bool elements of one seed of one chunk: bounds memory to about 2 MB x seeds
_MAX_CHUNK = 25              # studies per chunk at most (so small --sims are not rounded far up)
_CACHE_BYTES = 256 * 2**20   # packed per-seed correctness kept for reuse across seed counts, per plan


@dataclass
class Scenario:
    """One question: the arms' true effects (points), what counts as success, and its cached runs.

    effects: ``[m]`` true effects of the non-baseline arms in accuracy points.
    target: ``Verdict.BETTER`` (arm 0 called better) or ``Verdict.EQUIVALENT`` (each arm called equivalent;
        the rate is averaged over the arms).
    """

    name: str
    effects: tuple[float, ...]
    target: Verdict
    key: int                                   # stream key: scenarios draw independent studies
    cache: dict = field(default_factory=dict)  # n -> (successes, trials, studies, studies with a false claim)
    seeds: dict = field(default_factory=dict)  # (chunk, k) -> packed bool [chunk, m + 1, n_val / 8]


class Simulator:
    """Simulated studies of one plan (a data model, an arm count, alpha, SESOI, a seed).

    ``tick(k)`` is called after every ``k`` simulated study-seeds (progress bars).
    """

    def __init__(self, model: DataModel, m: int, sesoi: float, alpha: float, seed: int,
                 tick: Callable[[int], None] | None = None):
        self.model, self.m, self.sesoi, self.alpha, self.seed = model, int(m), float(sesoi), float(alpha), int(seed)
        self.chunk = max(1, min(_MAX_CHUNK, _CHUNK_ELEMENTS // ((self.m + 1) * model.n_val)))
        self.tick = tick or (lambda k: None)
        self._shifts: dict[tuple, np.ndarray] = {}
        self._cached = 0                      # bytes of packed correctness kept by all scenarios

    def round_sims(self, sims: int) -> int:
        """``sims`` rounded up to whole chunks (what is actually simulated)."""
        return int(math.ceil(max(sims, 1) / self.chunk) * self.chunk)

    def shifts(self, effects: tuple[float, ...]) -> np.ndarray:
        if effects not in self._shifts:
            self._shifts[effects] = np.array([self.model.shift_for(e) for e in effects])
        return self._shifts[effects]

    def _chunk_correct(self, scenario: Scenario, chunk: int, n_seeds: int) -> np.ndarray:
        """bool ``[chunk, m + 1, n_seeds, n_val]`` of chunk number ``chunk`` (deterministic).

        Seed k of a chunk comes from its own stream ``(seed, scenario, chunk, 1, k)`` and the
        chunk's val sets from ``(seed, scenario, chunk, 0)``, so a seed's runs are the same at every
        seed count; they are kept packed (up to :data:`_CACHE_BYTES`) and reused by later counts.
        """
        n_val = self.model.n_val
        out = np.empty((self.chunk, self.m + 1, n_seeds, n_val), dtype=bool)
        eta = None
        for k in range(n_seeds):
            packed = scenario.seeds.get((chunk, k))
            if packed is not None:
                out[:, :, k] = np.unpackbits(packed, axis=-1, count=n_val).view(bool)
                continue
            if eta is None:
                eta = study_eta(self.model, self.shifts(scenario.effects),
                                np.random.default_rng([self.seed, scenario.key, chunk, 0]), self.chunk)
            out[:, :, k] = seed_correct(self.model, eta, np.random.default_rng([self.seed, scenario.key, chunk, 1, k]))
            if self._cached + out[:, :, k].size // 8 <= _CACHE_BYTES:
                scenario.seeds[(chunk, k)] = np.packbits(out[:, :, k], axis=-1)
                self._cached += scenario.seeds[(chunk, k)].nbytes
        return out

    @staticmethod
    def _paired(correct: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-seed ``[S, m, n]`` and per-example ``[S, m, n, n_val]`` differences, points."""
        d8 = correct[:, 1:].view(np.int8) - correct[:, :1].view(np.int8)      # -1, 0, 1
        example = d8 * POINTS                                                  # float64, one pass
        diffs = d8.sum(axis=-1, dtype=np.int64) * (POINTS / d8.shape[-1])
        return diffs, example

    def fixed_rate(self, scenario: Scenario, n: int, sims: int) -> tuple[int, int]:
        """``(successes, trials)`` of the scenario's target verdict with ``n`` paired seeds.

        Cached per ``n`` and grown by whole chunks, so asking again for more studies only
        simulates the new ones (:meth:`false_any` reads the same cache).
        """
        sims = self.round_sims(sims)
        succ, trials, studies, false_any = scenario.cache.get(n, (0, 0, 0, 0))
        null = np.array([e == 0 for e in scenario.effects])
        for c in range(studies // self.chunk, sims // self.chunk):
            diffs, example = self._paired(self._chunk_correct(scenario, c, n))
            verdicts = stats.decide(diffs, alpha=self.alpha, sesoi=self.sesoi, example_diffs=example)
            if scenario.target == Verdict.BETTER:
                succ += int(np.sum(verdicts[:, 0] == Verdict.BETTER))
                trials += verdicts.shape[0]
            else:
                succ += int(np.sum(verdicts == Verdict.EQUIVALENT))
                trials += verdicts.size
            claims = (verdicts == Verdict.BETTER) | (verdicts == Verdict.WORSE)
            false_any += int(np.sum((claims & null[None, :]).any(axis=1)))
            studies += self.chunk
            self.tick(self.chunk * n)
        scenario.cache[n] = (succ, trials, studies, false_any)
        return succ, trials

    def false_any(self, scenario: Scenario, n: int) -> float:
        """Share of the simulated studies at ``n`` seeds with a better/worse on an arm whose true
        effect is 0 (nan when no arm is at 0 or ``n`` was not simulated)."""
        succ, trials, studies, false_any = scenario.cache.get(n, (0, 0, 0, 0))
        if not studies or not any(e == 0 for e in scenario.effects):
            return math.nan
        return false_any / studies

    def auto(self, scenario: Scenario, sims: int, start: int = stats_sequential.START_SEEDS,
             batch: int = stats_sequential.BATCH, max_seeds: int = stats_sequential.MAX_SEEDS) -> dict:
        """``--seeds auto`` on the scenario: mean runs (every arm's seeds + the baseline's), the
        target rate and the share of studies with a false better/worse (an arm at effect 0)."""
        schedule = stats_sequential.look_schedule(start, batch, max_seeds)
        sims = self.round_sims(sims)
        runs, succ, trials, false_any = [], 0, 0, 0
        null = np.array([e == 0 for e in scenario.effects])
        for c in range(sims // self.chunk):
            diffs, example = self._paired(self._chunk_correct(scenario, c, max_seeds))
            res = stats_sequential.replay(diffs, schedule, alpha=self.alpha, sesoi=self.sesoi,
                                          example_diffs=example)
            used = stats_sequential.seeds_used(res, schedule)
            runs.append(used.sum(axis=1) + used.max(axis=1))
            code = res["code"]
            if scenario.target == Verdict.BETTER:
                succ += int(np.sum(code[:, 0] == stats_sequential.CODE_BETTER))
                trials += code.shape[0]
            else:
                succ += int(np.sum(code == stats_sequential.CODE_EQUIVALENT))
                trials += code.size
            claims = (code == stats_sequential.CODE_BETTER) | (code == stats_sequential.CODE_WORSE)
            false_any += int(np.sum((claims & null[None, :]).any(axis=1)))
            self.tick(self.chunk * max_seeds)
        runs = np.concatenate(runs).astype(np.float64)
        return {"runs_mean": float(runs.mean()), "runs_se": float(runs.std(ddof=1) / math.sqrt(runs.size))
                if runs.size > 1 else math.nan, "rate": succ / trials, "trials": trials,
                "false_any": false_any / sims if null.any() else math.nan, "sims": sims,
                "schedule": list(schedule)}


def seeds_needed(rate_at: Callable[[int, int], tuple[int, int]], sims: int, power: float = 0.8,
                 min_seeds: int = 2, max_seeds: int = 64) -> tuple[int | None, dict[int, float]]:
    """Smallest paired-seed count whose simulated rate reaches ``power``.

    ``rate_at(n, sims) -> (successes, trials)``.  A doubling search on a quarter of the studies
    brackets the answer, then a bisection on all of them (common random numbers make the
    simulated rate rise with ``n``).  Returns ``(n or None past max_seeds, {n: rate})`` of every
    seed count evaluated on all ``sims`` studies.
    """
    def rate(n, s):
        k, t = rate_at(n, s)
        return k / t if t else 0.0

    coarse = max(1, sims // 4)
    lo, hi = min_seeds - 1, None           # rate(lo) < power (lo = min_seeds - 1: none yet)
    n = min_seeds
    while n <= max_seeds:
        if rate(n, coarse) >= power:
            hi = n
            break
        lo, n = n, (min(n * 2, max_seeds) if n < max_seeds else max_seeds + 1)
    full: dict[int, float] = {}
    if hi is None:
        full[max_seeds] = rate(max_seeds, sims)
        if full[max_seeds] < power:
            return None, full
        hi = max_seeds
    full[hi] = rate(hi, sims)
    while full[hi] < power:                 # the quarter was lucky: move up on all studies
        lo = hi
        if hi >= max_seeds:
            return None, full
        hi = min(hi * 2, max_seeds)
        full[hi] = rate(hi, sims)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        full[mid] = rate(mid, sims)
        if full[mid] >= power:
            hi = mid
        else:
            lo = mid
    # the bracket's lower end was judged on a quarter of the studies: confirm it on all of them
    while hi > min_seeds and (hi - 1) not in full:
        full[hi - 1] = rate(hi - 1, sims)
        if full[hi - 1] < power:
            break
        hi -= 1
    return hi, full
