"""``--seeds auto`` on the per-example data model: family-wise error at every look, runs and correct verdicts.

Studies come from :mod:`augstudy.ablation.analysis.stats.simulate` (per-example correctness; seed sd =
``ratio`` x the val-set sd of a per-seed difference), decided as a study decides them:
:func:`augstudy.ablation.analysis.stats.decide` for fixed 3 and fixed 10 seeds, the sequential replay
(:func:`augstudy.ablation.analysis.stats.sequential.replay`, start 3, batches of 2, max 20 by default)
for ``--seeds auto``, every one with ``example_diffs``.

Null scenario (4 arms, all truly equal): the share of studies with any false better/worse
*by each look* (cumulative; the last one is the family-wise error).
Effects scenario (arms at 0, +0.5, +1, +2 points, SESOI 1): runs (every arm's seeds plus the
baseline's) and the share of correct / false verdicts, scored as in ``bench_adaptive.py``.

Usage: ``python benchmarks/bench_seeds_auto_grid.py [--studies 400] [--max-seeds 20]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from augstudy.ablation.analysis.stats import sequential as sq, simulate as sim, verdicts as sv
from augstudy.ablation.terms import Verdict

CHUNK_ELEMENTS = 2.0e7
EFFECTS = np.array([0.0, 0.5, 1.0, 2.0])
CODE = {sq.CODE_BETTER: Verdict.BETTER, sq.CODE_WORSE: Verdict.WORSE, sq.CODE_EQUIVALENT: Verdict.EQUIVALENT,
        sq.CODE_INCONCLUSIVE: Verdict.INCONCLUSIVE, sq.UNDECIDED: Verdict.INCONCLUSIVE}


def correct_false(verdicts, effects, sesoi=1.0):
    """bench_adaptive's scoring: null -> equivalent; 0 < e < SESOI -> equivalent or better; e >= SESOI -> better."""
    e = np.broadcast_to(effects, verdicts.shape)
    null, small, big = e == 0, (e > 0) & (e < sesoi), e >= sesoi
    correct = (null & (verdicts == Verdict.EQUIVALENT)) | (
        small & np.isin(verdicts, (Verdict.EQUIVALENT, Verdict.BETTER))) | (big & (verdicts == Verdict.BETTER))
    false = (null & np.isin(verdicts, (Verdict.BETTER, Verdict.WORSE))) | (small & (verdicts == Verdict.WORSE)) | (
        big & np.isin(verdicts, (Verdict.WORSE, Verdict.EQUIVALENT)))
    return correct, false


def simulate(rng, studies, n_val, ratio, seeds, effects):
    per = (len(effects) + 1) * seeds * n_val
    size = max(1, int(CHUNK_ELEMENTS // per))
    done = 0
    while done < studies:
        k = min(size, studies - done)
        yield sim.simulate_study(rng, k, len(effects), seeds, n_val, ratio * sim.val_sd(n_val), effects)
        done += k


def scenario(rng, studies, n_val, ratio, effects, schedule):
    out = {"fixed 3": [], "fixed 10": [], "auto": [], "auto, futility 20%": [], "auto, max 10": []}
    used, looks_fp = [], []
    extra_used = {"auto, futility 20%": [], "auto, max 10": []}
    short = sq.look_schedule(sq.START_SEEDS, sq.BATCH, min(10, schedule[-1]))
    for d, e in simulate(rng, studies, n_val, ratio, schedule[-1], effects):
        out["fixed 3"].append(sv.decide(d[..., :3], example_diffs=e[..., :3, :]))
        out["fixed 10"].append(sv.decide(d[..., :10], example_diffs=e[..., :10, :]))
        res = sq.replay(d, schedule, example_diffs=e)
        verdicts = np.vectorize(CODE.get)(res["code"])
        out["auto"].append(verdicts)
        used.append(sq.seeds_used(res, schedule))
        claim = np.isin(res["code"], (sq.CODE_BETTER, sq.CODE_WORSE))
        looks_fp.append(np.stack([np.any(claim & (res["stop_look"] <= k), axis=-1) for k in range(len(schedule))], -1))
        for name, sched, fut in (("auto, futility 20%", schedule, 0.2), ("auto, max 10", short, sq.FUTILITY)):
            r = sq.replay(d[..., :sched[-1]], sched, example_diffs=e[..., :sched[-1], :], futility=fut)
            out[name].append(np.vectorize(CODE.get)(r["code"]))
            extra_used[name].append(sq.seeds_used(r, sched))
    extra = {k: np.concatenate(v) for k, v in extra_used.items()}
    return {k: np.concatenate(v) for k, v in out.items()}, np.concatenate(used), np.concatenate(looks_fp), extra


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=400)
    parser.add_argument("--max-seeds", type=int, default=sq.MAX_SEEDS)
    args = parser.parse_args()
    schedule = sq.look_schedule(sq.START_SEEDS, sq.BATCH, args.max_seeds)
    start = time.time()
    print("### Null (4 equal arms): any false better/worse by look (cumulative)\n")
    print("| val | seed sd / val sd | " + " | ".join(f"look {n}" for n in schedule) + " |")
    print("|---:|---:|" + "---:|" * len(schedule))
    for n_val, ratio in [(160, 1.0), (2000, 0.2), (2000, 1.0), (2000, 5.0), (10_000, 1.0)]:
        rng = np.random.default_rng([3, n_val, int(10 * ratio)])
        _, _, looks, _ = scenario(rng, args.studies, n_val, ratio, np.zeros(4), schedule)
        print(f"| {n_val:,} | {ratio:g} | " + " | ".join(f"{100 * x:.1f}%" for x in looks.mean(0)) + " |", flush=True)
    print("\n### Effects 0, +0.5, +1, +2 points (SESOI 1): runs and verdicts\n")
    print("| val | seed sd / val sd | design | runs | vs fixed 10 | correct | false |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for n_val, ratio in [(160, 1.0), (2000, 1.0), (2000, 5.0), (10_000, 1.0)]:
        rng = np.random.default_rng([4, n_val, int(10 * ratio)])
        verdicts, used, _, extra = scenario(rng, args.studies, n_val, ratio, EFFECTS, schedule)
        runs_of = lambda u: float((u.sum(axis=1) + u.max(axis=1)).mean())
        runs = {"fixed 3": 3 * 5.0, "fixed 10": 10 * 5.0, "auto": runs_of(used),
                **{k: runs_of(u) for k, u in extra.items()}}
        for design in verdicts:
            c, f = correct_false(verdicts[design], EFFECTS)
            share = 100 * runs[design] / runs["fixed 10"]
            print(f"| {n_val:,} | {ratio:g} | {design} | {runs[design]:.1f} | {share:.0f}% "
                  f"| {100 * c.mean():.1f}% | {100 * f.mean():.2f}% |", flush=True)
    print(f"\n{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
