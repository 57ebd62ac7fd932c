"""The README's worked effect table ("Reading the effect table"), made from the per-example data model.

A simulated dropout study (5 seeds, 2,000 val images, seed sd = the val-set sd, per-example
correctness stored), decided by :func:`augstudy.ablate.effects.compute_effects` exactly as a
study decides; dropout 0.7 diverges on 2 of its 5 seeds.  Prints the terminal table.

Usage: ``python benchmarks/readme_effect_example.py`` (seeded: the same table every time).
"""

from __future__ import annotations

import numpy as np

from augstudy.ablate import effects
from augstudy.ablate.effect_table import format_effect_table
from augstudy.ablate.stats import simulate as sim

ARMS = {"dropout=0.5": 2.7, "dropout=0.2": 1.0, "dropout=0.1": 0.0, "dropout=0.0": -4.0, "dropout=0.7": 1.0}
SEEDS, N_VAL, CHANCE = 5, 2000, 0.005


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


if __name__ == "__main__":
    main()
