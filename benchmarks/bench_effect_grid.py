"""Error rates and power of the effect table's decision rule over the regime grid (issue 17).

Simulates null and non-null studies from the per-example data model of
:mod:`augstudy.ablation.analysis.stats.simulate` (latent difficulty, seed-shared and per-run quality
shifts, churn) and calls the rule as a study does, :func:`augstudy.ablation.analysis.stats.decide`
(with ``example_diffs``).  Prints Markdown tables for ``benchmarks/RESULTS.md``:

1. family-wise false better/worse over val size x seeds x arms x (seed sd / val sd) x noise,
   the current rule next to the previous one (Welch-Satterthwaite df, churn counted twice);
2. power (arm 0 called ``better``) at +1 and +2 points, both rules;
3. rank: how often the truly best arm ranks first, by the mean vs the old per-arm Holm lower bound.

Usage: ``python benchmarks/bench_effect_grid.py [--studies 1000] [--section fwer|power|rank|all]``.
"""

from __future__ import annotations

import argparse
import itertools
import math
import time

import numpy as np
from scipy import stats as sps

from augstudy.ablation.analysis.stats import core, simulate as sim, verdicts as sv
from augstudy.ablation.terms import Verdict

VAL_SIZES = (160, 500, 2000, 10_000)
SEEDS = (2, 3, 5, 10)
ARMS = (1, 4, 8)
RATIOS = (0.2, 1.0, 5.0)
CHUNK_ELEMENTS = 2.5e7     # per simulated chunk (float32 arrays of this many entries)


def welch_rule(d, e, alpha=0.05):
    """The previous rule: se^2 = s_seed^2/n + var(seed-averaged example diff)/n_val, Welch df, Holm."""
    n, n_val = d.shape[-1], e.shape[-1]
    mean = d.mean(-1)
    seed_var = d.var(-1, ddof=1) / n
    val_var = e.mean(-2, dtype=np.float64).var(-1, ddof=1) / n_val
    se = np.sqrt(seed_var + val_var)
    df = (seed_var + val_var) ** 2 / (seed_var**2 / (n - 1) + val_var**2 / (n_val - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * sps.t.sf(np.abs(mean) / se, df), 1.0)
    sig = core.holm(p) < alpha
    return np.where(sig, np.where(mean > 0, Verdict.BETTER, Verdict.WORSE), Verdict.INCONCLUSIVE)


def _chunks(studies, arms, seeds, n_val):
    per = (arms + 1) * seeds * n_val
    size = max(1, int(CHUNK_ELEMENTS // per))
    done = 0
    while done < studies:
        k = min(size, studies - done)
        yield k
        done += k


def grid_cells(rng, studies, n_val, ratio, noise, effects=None):
    """``{(seeds, arms): (new verdicts [S, arms], old verdicts [S, arms])}`` for one (val size, ratio, noise).

    One simulation of 8 arms x 10 seeds serves every cell: the first k seeds of a study are a k-seed
    study and its first m arms an m-arm study (seeds are independent, arms share only the baseline).
    """
    m_max, n_max = max(ARMS), max(SEEDS)
    eff = None if effects is None else np.r_[effects, np.zeros(m_max - len(effects))]
    out = {(n, m): ([], []) for n in SEEDS for m in ARMS}
    for k in _chunks(studies, m_max, n_max, n_val):
        d, e = sim.simulate_study(rng, k, m_max, n_max, n_val, ratio * sim.val_sd(n_val), eff, noise)
        for n, m in out:
            dd, ee = d[:, :m, :n], e[:, :m, :n]
            out[(n, m)][0].append(sv.decide(dd, example_diffs=ee))
            out[(n, m)][1].append(welch_rule(dd, ee))
    return {key: (np.concatenate(a), np.concatenate(b)) for key, (a, b) in out.items()}


def _fp(v):
    return np.any((v == Verdict.BETTER) | (v == Verdict.WORSE), axis=-1)


def fwer_table(studies, seed=0):
    rows = ["| noise | val | seeds | seed sd / val sd | FWER 1 arm | 4 arms | 8 arms | previous rule 1 / 4 / 8 |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    worst = 0.0
    cells = [("normal", r) for r in RATIOS] + [("t3", 1.0), ("skewed", 1.0)]
    for (noise, ratio), n_val in itertools.product(cells, VAL_SIZES):
        rng = np.random.default_rng([seed, n_val, int(ratio * 10), len(noise)])
        res = grid_cells(rng, studies, n_val, ratio, noise)
        for seeds in SEEDS:
            new_r = [float(_fp(res[(seeds, m)][0]).mean()) for m in ARMS]
            old_r = [float(_fp(res[(seeds, m)][1]).mean()) for m in ARMS]
            worst = max(worst, *new_r)
            rows.append(f"| {noise} | {n_val:,} | {seeds} | {ratio:g} | " + " | ".join(f"{100 * r:.1f}%" for r in new_r)
                        + " | " + " / ".join(f"{100 * r:.1f}" for r in old_r) + "% |")
            print(rows[-1], flush=True)
    return rows, worst


def power_table(studies, seed=1):
    rows = ["| val | seeds | arms | +1 pt: power (previous) | +2 pts: power (previous) |", "|---:|---:|---:|---:|---:|"]
    for n_val in VAL_SIZES:
        res = {}
        for eff in (1.0, 2.0):
            rng = np.random.default_rng([seed, n_val, int(eff)])
            res[eff] = grid_cells(rng, studies, n_val, 1.0, "normal", np.array([eff]))
        for seeds, arms in itertools.product(SEEDS, ARMS):
            out = []
            for eff in (1.0, 2.0):
                new, old = res[eff][(seeds, arms)]
                p_new, p_old = np.mean(new[:, 0] == Verdict.BETTER), np.mean(old[:, 0] == Verdict.BETTER)
                out.append(f"{100 * p_new:.0f}% ({100 * p_old:.0f}%)")
            rows.append(f"| {n_val:,} | {seeds} | {arms} | {out[0]} | {out[1]} |")
            print(rows[-1], flush=True)
    return rows


def rank_table(studies, seed=2):
    """Truly best arm first: by the mean (the table's rule) vs the old per-arm Holm lower bound."""
    rows = ["| val | seeds | true effects (pts) | best first: by mean | by old rule | perverse pairs (old) |",
            "|---:|---:|---|---:|---:|---:|"]
    for n_val, seeds, effects in [(2000, 3, (2.0, 1.0, 1.0, 0.0)), (2000, 5, (2.0, 1.0, 1.0, 0.0)),
                                  (10_000, 3, (1.0, 0.5, 0.5, 0.0)), (500, 5, (3.0, 2.0, 1.0, 0.0))]:
        rng = np.random.default_rng([seed, n_val, seeds])
        first_mean = first_old = perverse = 0
        total = 0
        for k in _chunks(studies, len(effects), seeds, n_val):
            d, e = sim.simulate_study(rng, k, len(effects), seeds, n_val, sim.val_sd(n_val), np.array(effects))
            mom = core.paired_moments(d, e)
            first_mean += int(np.sum(np.argmax(mom["mean"], -1) == 0))
            # old rule: own Welch-df test, interval at each arm's Holm level, rank by its lower bound
            n = seeds
            val_var = e.mean(-2, dtype=np.float64).var(-1, ddof=1) / n_val
            sv_ = d.var(-1, ddof=1) / n
            se = np.sqrt(sv_ + val_var)
            df = (sv_ + val_var) ** 2 / (sv_**2 / (n - 1) + val_var**2 / (n_val - 1))
            p = 2 * sps.t.sf(np.abs(mom["mean"]) / se, df)
            lev = core.effective_level(p, core.holm(p), 0.05)
            low = mom["mean"] - sps.t.ppf(1 - lev / 2, df) * se
            first_old += int(np.sum(np.argmax(low, -1) == 0))
            order = np.argsort(-low, -1)
            m_sorted = np.take_along_axis(mom["mean"], order, -1)
            p_sorted = np.take_along_axis(p, order, -1)
            bad = (m_sorted[..., None, :] > m_sorted[..., :, None]) & (p_sorted[..., None, :] < p_sorted[..., :, None])
            upper = np.triu(np.ones((len(effects),) * 2, bool), 1)     # j ranked below i, i < j
            perverse += int(np.sum(np.any(bad & upper[None], axis=(-1, -2))))
            total += k
        rows.append(f"| {n_val:,} | {seeds} | {', '.join(f'{x:g}' for x in effects)} | {100 * first_mean / total:.0f}% "
                    f"| {100 * first_old / total:.0f}% | {100 * perverse / total:.0f}% |")
        print(rows[-1], flush=True)
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--section", default="all", choices=("fwer", "power", "rank", "all"))
    args = parser.parse_args()
    start = time.time()
    if args.section in ("fwer", "all"):
        _, worst = fwer_table(args.studies)
        se = math.sqrt(0.05 * 0.95 / args.studies)
        print(f"\nworst family-wise rate {100 * worst:.1f}% (5% + 2 MC se = {100 * (0.05 + 2 * se):.1f}%)")
    if args.section in ("power", "all"):
        power_table(args.studies)
    if args.section in ("rank", "all"):
        rank_table(args.studies)
    print(f"\n{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
