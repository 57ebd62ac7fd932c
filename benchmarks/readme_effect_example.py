"""The README's worked effect table ("Reading the effect table"), made from the per-example data model.

A simulated dropout study (5 seeds, 10,000 val images (Tiny ImageNet's val set), seed sd = the val-set sd, per-example
correctness stored), decided by :func:`augstudy.ablation.analysis.effects.compute_effects` exactly as a
study decides; dropout 0.7 diverges on 2 of its 5 seeds.  Prints the terminal table.

Also the two-factor example (README "Two factors"): the per-seed cell values of the real
``augstudy ablate flip --by activation --budget smoke --seeds 2`` run of 2026-11-30, recovered from
its printed cell means and 95% half-widths (with 2 seeds each cell is ``mean +- half / t(1)``; the
one sign pattern that also reproduces the printed main-effect and interaction intervals), analysed
by the current rule.

Usage: ``python benchmarks/readme_effect_example.py`` (seeded: the same tables every time).
"""

from __future__ import annotations

import numpy as np

from augstudy.ablation.analysis import effects
from augstudy.ablation.analysis.effect_table import format_effect_table
from augstudy.ablation.analysis.stats import simulate as sim

ARMS = {"dropout=0.5": 2.7, "dropout=0.2": 1.0, "dropout=0.1": 0.0, "dropout=0.0": -4.0, "dropout=0.7": 1.0}
SEEDS, N_VAL, CHANCE = 5, 10_000, 0.005


def main() -> None:
    rng = np.random.default_rng(2026)
    c = sim.simulate_correct(rng, 1, len(ARMS), SEEDS, N_VAL, sim.val_sd(N_VAL), np.array(list(ARMS.values())))[0]
    runs = []
    for k, arm in enumerate(["dropout=0.3"] + list(ARMS)):
        for s in range(SEEDS):
            diverged = arm == "dropout=0.7" and s in (1, 3)
            acc = float(c[k, s].mean())
            runs.append({"arm": arm, "level": arm.split("=")[1], "seed": s,
                         "status": "diverged" if diverged else "done", "metric": None if diverged else acc,
                         "epochs": [{"epoch": 1, "val_acc": acc, "train_acc": acc}],
                         "correct": None if diverged else c[k, s]})
    result = effects.compute_effects(runs, "dropout=0.3", "dropout", "final", chance=CHANCE)
    print(format_effect_table(result.rows, result.header))


# the 2026-11-30 run's printed cells: mean and 95% half-width over 2 seeds, [flip on/off][relu/leaky_relu]
FLIP_MEANS = np.array([[40.42, 44.90], [46.77, 46.46]])
FLIP_HALF = np.array([[34.41, 19.85], [25.15, 45.00]])
FLIP_SIGNS = np.array([[1, -1], [1, -1]])     # which seed is above the mean, per cell


def two_factor_example() -> None:
    from scipy import stats as sps

    from augstudy.ablation.designs.factorial import factorial_effects
    from augstudy.ablation.designs.factorial_table import format_interaction_table
    from augstudy.ablation.spec.study_spec import Arm

    dev = FLIP_SIGNS * FLIP_HALF / sps.t.ppf(0.975, 1)
    cells = np.stack([FLIP_MEANS + dev, FLIP_MEANS - dev]) / 100.0          # [seed, flip, activation]
    flips, acts = ["on", "off"], ["relu", "leaky_relu"]
    arms = [Arm(f"flip={f},activation={a}", "flip-by-activation", f"{f},{a}", i == 0 and j == 0, {}, f"h{i}{j}",
                extra={"cell": ("flip", f, "activation", a)}) for i, f in enumerate(flips) for j, a in enumerate(acts)]
    records = [{"arm": arm.name, "seed": s, "status": "done", "metric": float(cells[s, k // 2, k % 2])}
               for s in range(2) for k, arm in enumerate(arms)]
    print(format_interaction_table({**factorial_effects(arms, records), "metric": "last3"}))


if __name__ == "__main__":
    main()
    two_factor_example()
