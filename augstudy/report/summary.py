"""Per-arm training summaries the report derives from ``epochs.csv``.

Stability is the standard deviation of val accuracy over the second half of
training (epochs ``> last_epoch / 2``) and the generalization gap is train minus
val accuracy at the last epoch; both in accuracy points (100 x fraction),
computed per (arm, seed) from finished runs so the figure can show the seeds.  An arm whose
config mixes (MixUp/CutMix) has no generalization gap (NaN, shown n/a): its train accuracy is
measured on mixed images (:func:`augstudy.ablation.storage.schema.gen_gap_na`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from augstudy.ablation.storage.schema import gen_gap_na
from augstudy.report.load import Study

SUMMARY_COLUMNS = ("arm", "seed", "stability", "gen_gap", "final_val_acc", "best_val_acc", "epochs")


def per_seed_summary(study: Study) -> pd.DataFrame:
    """One row per finished ("done") run: ``SUMMARY_COLUMNS``, accuracies in points.

    Diverged, failed, running and pending runs are left out (a half-trained run's
    "final" accuracy is not final); without runs.csv every run with epochs counts.
    """
    epochs = study.epochs
    if not len(epochs):
        return pd.DataFrame(columns=[*SUMMARY_COLUMNS, "status"])
    status = {}
    if len(study.runs):
        status = {(str(r.arm), int(r.seed)): str(r.status) for r in study.runs.itertuples()}
    no_gap = {str(a.get("arm")) for a in study.arm_specs if isinstance(a, dict) and gen_gap_na(a.get("config"))}
    rows = []
    for (arm, seed), run in epochs.groupby(["arm", "seed"], sort=False):
        if status and status.get((str(arm), int(seed))) != "done":
            continue
        run = run.sort_values("epoch")
        finite = run[np.isfinite(run["val_acc"]) & np.isfinite(run["train_acc"])]
        if not len(finite):
            continue
        last_epoch = int(run["epoch"].max())
        second_half = finite[finite["epoch"] > last_epoch / 2]
        val = second_half["val_acc"].to_numpy() * 100
        last = finite.iloc[-1]
        rows.append({
            "arm": str(arm), "seed": int(seed),
            "stability": float(np.std(val, ddof=1)) if len(val) > 1 else np.nan,
            "gen_gap": np.nan if str(arm) in no_gap else float(last["train_acc"] - last["val_acc"]) * 100,
            "final_val_acc": float(last["val_acc"]) * 100,
            "best_val_acc": float(finite["val_acc"].max()) * 100,
            "epochs": last_epoch,
            "status": status.get((str(arm), int(seed)), "?"),
        })
    return pd.DataFrame(rows, columns=[*SUMMARY_COLUMNS, "status"])


def arm_summary(study: Study) -> pd.DataFrame:
    """One row per arm (study order): mean and sd over seeds of ``stability``, ``gen_gap``,
    ``final_val_acc`` (points) and the number of seeds with epochs."""
    per_seed = per_seed_summary(study)
    rows = []
    for arm in study.arm_names:
        sub = per_seed[per_seed["arm"] == arm]
        if not len(sub):
            continue
        rows.append({
            "arm": arm,
            "n_seeds": len(sub),
            "stability_mean": float(sub["stability"].mean()),
            "stability_sd": float(sub["stability"].std(ddof=1)) if len(sub) > 1 else np.nan,
            "gen_gap_mean": float(sub["gen_gap"].mean()),
            "gen_gap_sd": float(sub["gen_gap"].std(ddof=1)) if len(sub) > 1 else np.nan,
            "final_val_acc_mean": float(sub["final_val_acc"].mean()),
        })
    return pd.DataFrame(rows)
