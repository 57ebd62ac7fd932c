"""``--seeds auto`` vs fixed 3 and fixed 10 seeds on simulated studies with known effects.

    .venv/bin/python benchmarks/bench_adaptive.py                  # 4,000 studies per scenario
    .venv/bin/python benchmarks/bench_adaptive.py --studies 1000   # quicker

Each simulated study has a baseline and four arms whose true effects are 0, 0.5, 1 and 2
noise SDs (the SD of one seed's paired difference), with SESOI = 1 accuracy point and the
noise SD at 0.5 or 1.0 point (two scenarios), normal or t(3) per-seed noise.  Every design
decides with the same statistics (:mod:`augstudy.ablation.analysis.stats.verdicts` for fixed seeds,
:mod:`augstudy.ablation.analysis.stats.sequential` for auto: start 3, batches of 2, max 20, futility
stop at 5 % by default; variants without futility, with a 20 % futility stop, O'Brien-Fleming
spending, and a budget cap of max 10).

Runs = seeds of every arm plus the baseline's (the largest arm's seed count).

One scoring rule for every design, by the arm's true effect ``e`` (points) and SESOI:

=====================  ===========================  ====================================
true effect            correct                      false
=====================  ===========================  ====================================
``e = 0`` (null)       ``equivalent``               ``better`` or ``worse``
``0 < e < SESOI``      ``equivalent`` or ``better`` ``worse``
``e >= SESOI``         ``better``                   ``worse`` or ``equivalent``
=====================  ===========================  ====================================

``inconclusive`` is never correct and never false.  (At ``e = SESOI`` exactly, ``equivalent``
is the error TOST bounds at alpha, so it counts as false.)

Two reference rows are not designs anyone can run; they bound what any design using the
same tests could do:

- **hindsight bound**: each arm stops at the first seed count (3..10) where the fixed rule,
  applied to that study's first n seeds, gives its correct verdict (it knows the truth and
  the future; no price for looking often); an arm never correct by 10 costs 3 seeds.
- **oracle fixed n, <= 60 %**: the seed count of each arm chosen knowing its true effect,
  the best share of correct verdicts within 60 % of fixed 10's runs.

Target: auto reaches fixed-10's share of correct verdicts with at most 60 % of its runs
and never more false verdicts.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import os
import platform
import time

import numpy as np

from augstudy.ablation.analysis.stats import sequential as sq
from augstudy.ablation.analysis.stats import verdicts as sv
from augstudy.ablation.terms import Verdict

EFFECTS_SD = np.array([0.0, 0.5, 1.0, 2.0])   # true effects of the four arms, in noise SDs
SESOI = 1.0                                    # accuracy points
MAX_SEEDS = 20
BUDGET = 0.6                                   # the target's share of fixed 10's runs
ORACLE_SEEDS = range(3, 13)                    # seed counts the fixed-n oracle chooses from


def correct_false(verdicts: np.ndarray, effects: np.ndarray, sesoi: float = SESOI) -> tuple[np.ndarray, np.ndarray]:
    """``[S, m]`` correct and false masks of the verdicts (module docstring's table)."""
    better, worse, eq = verdicts == Verdict.BETTER, verdicts == Verdict.WORSE, verdicts == Verdict.EQUIVALENT
    e = np.broadcast_to(effects, verdicts.shape)
    correct = np.where(e == 0, eq, np.where(e < sesoi, better | eq, better))
    false = np.where(e == 0, better | worse, np.where(e < sesoi, worse, worse | eq))
    return correct, false


def score(verdicts: np.ndarray, effects: np.ndarray, sesoi: float = SESOI) -> tuple[float, float]:
    """(share of correct verdicts, share of false verdicts) over all arms of all studies."""
    correct, false = correct_false(verdicts, effects, sesoi)
    return float(correct.mean()), float(false.mean())


def runs_of(used: np.ndarray) -> float:
    """Mean runs per study from ``[S, m]`` seeds used: every arm's plus the baseline's (the largest)."""
    return float((used.sum(axis=1) + used.max(axis=1)).mean())


def reference_rows(d: np.ndarray, effects: np.ndarray, ref_runs: float) -> list[tuple]:
    """The hindsight bound and the fixed-n oracle (module docstring)."""
    first = np.full(d.shape[:2], 0)
    per_n = {}
    for n in range(10, 2, -1):
        correct, false = correct_false(sv.decide(d[:, :, :n]), effects)
        first = np.where(correct, n, first)
        per_n[n] = correct.mean(axis=0)
    for n in ORACLE_SEEDS:
        if n not in per_n:
            per_n[n] = correct_false(sv.decide(d[:, :, :n]), effects)[0].mean(axis=0)
    used = np.where(first > 0, first, 3)
    rows = [("hindsight bound", runs_of(used), float(np.mean(first > 0)), float("nan"))]
    best = (0.0, 0.0)
    for ns in itertools.product(ORACLE_SEEDS, repeat=d.shape[1]):
        runs = sum(ns) + max(ns)
        if runs <= BUDGET * ref_runs:
            share = float(np.mean([per_n[n][i] for i, n in enumerate(ns)]))
            best = max(best, (share, float(runs)))
    rows.append((f"oracle fixed n, <= {BUDGET:.0%}", best[1], best[0], float("nan")))
    return rows


def run_scenario(rng, n_studies: int, sigma: float, dist: str) -> list[tuple]:
    effects = EFFECTS_SD * sigma
    shape = (n_studies, len(effects), MAX_SEEDS)
    noise = rng.normal(size=shape) if dist == "normal" else rng.standard_t(3, size=shape) / np.sqrt(3.0)
    d = effects[None, :, None] + sigma * noise
    rows = []
    for n in (3, 10):
        runs = (len(effects) + 1) * n
        rows.append((f"fixed {n}", runs, *score(sv.decide(d[:, :, :n]), effects)))
    designs = (("auto (default)", "pocock", MAX_SEEDS, sq.FUTILITY),
               ("auto, no futility stop", "pocock", MAX_SEEDS, 0.0),
               ("auto, futility 20%", "pocock", MAX_SEEDS, 0.2),
               ("auto, O'Brien-Fleming", "obf", MAX_SEEDS, sq.FUTILITY),
               ("auto, max 10", "pocock", 10, sq.FUTILITY))
    for label, kind, max_seeds, futility in designs:
        schedule = sq.look_schedule(sq.START_SEEDS, sq.BATCH, max_seeds)
        res = sq.replay(d[:, :, :max_seeds], schedule, kind=kind, futility=futility)
        verdicts = np.vectorize(sq.CODE_NAMES.get)(res["code"])
        rows.append((label, runs_of(sq.seeds_used(res, schedule)), *score(verdicts, effects)))
    return rows + reference_rows(d, effects, rows[1][1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=4000, help="simulated studies per scenario (default 4000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"# bench_adaptive  {datetime.date.today()}  {platform.machine()} {os.cpu_count()} CPUs  "
          f"{args.studies} studies per scenario; arms at {', '.join(f'{e:g}' for e in EFFECTS_SD)} noise SDs, "
          f"SESOI {SESOI:g} pt, auto: start {sq.START_SEEDS}, batch {sq.BATCH}, max {MAX_SEEDS}, "
          f"futility {sq.FUTILITY:.0%}")
    header = (f"{'noise SD':>8}  {'noise':>6}  {'design':<26}  {'runs':>6}  {'vs fixed 10':>11}  "
              f"{'correct':>7}  {'false':>6}")
    print(header)
    print("-" * len(header))
    t0 = time.perf_counter()
    for sigma in (0.5, 1.0):
        for dist in ("normal", "t3"):
            rows = run_scenario(rng, args.studies, sigma, dist)
            ref_runs = rows[1][1]
            for name, runs, correct, false in rows:
                false_text = "-" if np.isnan(false) else f"{false:.2%}"
                print(f"{sigma:>8.2f}  {dist:>6}  {name:<26}  {runs:>6.1f}  {runs / ref_runs:>10.0%}  "
                      f"{correct:>7.1%}  {false_text:>6}")
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
