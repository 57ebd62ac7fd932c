"""``--seeds auto`` vs fixed 3 and fixed 10 seeds on simulated studies with known effects.

    .venv/bin/python benchmarks/bench_adaptive.py                  # 4,000 studies per scenario
    .venv/bin/python benchmarks/bench_adaptive.py --studies 1000   # quicker

Each simulated study has a baseline and four arms whose true effects are 0, 0.5, 1 and 2
noise SDs (the SD of one seed's paired difference), with SESOI = 1 accuracy point and the
noise SD at 0.5 or 1.0 point (two scenarios), normal or t(3) per-seed noise.  Every design
decides with the same statistics (:mod:`augstudy.ablate.stats_verdicts` for fixed seeds,
:mod:`augstudy.ablate.stats_sequential` for auto: start 3, batches of 2, max 20; and a
budget-capped auto with max 10).

Runs = seeds of every arm plus the baseline's (the largest arm's seed count).
A verdict is **correct** when it is ``equivalent`` for a null arm, ``better`` or
``equivalent`` for an arm whose effect is below SESOI, ``better`` for an arm at or above
SESOI; **false** when it is ``better``/``worse`` for a null arm, ``worse`` for a positive
one, or ``equivalent`` for an arm at or above SESOI.  ``inconclusive`` is neither.
Target: auto reaches fixed-10's share of correct verdicts with at most 60 % of its runs
and never more false verdicts.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import time

import numpy as np

from augstudy.ablate import stats_sequential as sq
from augstudy.ablate import stats_verdicts as sv

EFFECTS_SD = np.array([0.0, 0.5, 1.0, 2.0])   # true effects of the four arms, in noise SDs
SESOI = 1.0                                    # accuracy points
MAX_SEEDS = 20


def score(verdicts: np.ndarray, effects: np.ndarray, sesoi: float = SESOI) -> tuple[float, float]:
    """(share of correct verdicts, share of false verdicts) over all arms of all studies."""
    better, worse, eq = verdicts == sv.BETTER, verdicts == sv.WORSE, verdicts == sv.EQUIVALENT
    e = effects[None, :]
    correct = np.where(e == 0, eq, np.where(e < sesoi, better | eq, better))
    false = np.where(e == 0, better | worse, np.where(e < sesoi, worse, worse | eq))
    return float(correct.mean()), float(false.mean())


def run_scenario(rng, n_studies: int, sigma: float, dist: str) -> list[tuple]:
    effects = EFFECTS_SD * sigma
    shape = (n_studies, len(effects), MAX_SEEDS)
    noise = rng.normal(size=shape) if dist == "normal" else rng.standard_t(3, size=shape) / np.sqrt(3.0)
    d = effects[None, :, None] + sigma * noise
    rows = []
    for n in (3, 10):
        runs = (len(effects) + 1) * n
        rows.append((f"fixed {n}", runs, *score(sv.decide(d[:, :, :n]), effects)))
    designs = (("auto (Pocock, default)", "pocock", MAX_SEEDS), ("auto (O'Brien-Fleming)", "obf", MAX_SEEDS),
               ("auto, max 10 (Pocock)", "pocock", 10))
    for label, kind, max_seeds in designs:
        schedule = sq.look_schedule(sq.START_SEEDS, sq.BATCH, max_seeds)
        res = sq.replay(d[:, :, :max_seeds], schedule, kind=kind)
        verdicts = np.vectorize(sq.CODE_NAMES.get)(res["code"])
        used = sq.seeds_used(res, schedule)
        runs = float((used.sum(axis=1) + used.max(axis=1)).mean())
        rows.append((label, runs, *score(verdicts, effects)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=4000, help="simulated studies per scenario (default 4000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(f"# bench_adaptive  {datetime.date.today()}  {platform.machine()} {os.cpu_count()} CPUs  "
          f"{args.studies} studies per scenario; arms at {', '.join(f'{e:g}' for e in EFFECTS_SD)} noise SDs, "
          f"SESOI {SESOI:g} pt, auto: start {sq.START_SEEDS}, batch {sq.BATCH}, max {MAX_SEEDS}")
    header = f"{'noise SD':>8}  {'noise':>6}  {'design':<24}  {'runs':>6}  {'vs fixed 10':>11}  {'correct':>7}  {'false':>6}"
    print(header)
    print("-" * len(header))
    t0 = time.perf_counter()
    for sigma in (0.5, 1.0):
        for dist in ("normal", "t3"):
            rows = run_scenario(rng, args.studies, sigma, dist)
            ref_runs = rows[1][1]
            for name, runs, correct, false in rows:
                print(f"{sigma:>8.2f}  {dist:>6}  {name:<24}  {runs:>6.1f}  {runs / ref_runs:>10.0%}  "
                      f"{correct:>7.1%}  {false:>6.2%}")
    print(f"({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
