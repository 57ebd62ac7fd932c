"""Per-class effects: how much each arm changes each class's val accuracy vs the baseline.

Input: ``class_metrics.csv`` at the last epoch of every finished ("done") run.
Each class's effect is the paired (same seed) difference arm - baseline in
accuracy points; p-values per class (sign-flip test, as for the main effects) are corrected
across the classes of one arm with Benjamini-Hochberg (q-values), because with 200 classes some will look
"significant" by chance (Balestriero et al. 2022 motivate looking at all).
"""

from __future__ import annotations

import pandas as pd

from augstudy.report.load import Study

#: BCa resamples per class (used only from 10 seeds on; 200 classes x arms must stay quick)
PER_CLASS_N_BOOT = 2000

PER_CLASS_COLUMNS = ("arm", "class_index", "class_name", "n_seeds", "effect_mean", "ci_low", "ci_high",
                     "p_value", "q_value", "significant")


def final_class_accuracy(study: Study) -> pd.DataFrame:
    """Per-class val accuracy (points) at the last recorded epoch of each finished run.

    Returns columns ``arm, seed, class_index, class_name, val_acc``; empty when
    class_metrics.csv is missing.
    """
    cm = study.class_metrics
    if not len(cm):
        return pd.DataFrame(columns=["arm", "seed", "class_index", "class_name", "val_acc"])
    done = None
    if len(study.runs):
        done_runs = study.runs[study.runs["status"] == "done"]
        done = set(zip(done_runs["arm"].astype(str), done_runs["seed"].astype(int)))
    last_epoch = cm.groupby(["arm", "seed"])["epoch"].transform("max")
    final = cm[cm["epoch"] == last_epoch].copy()
    if done is not None:
        keep = [(a, int(s)) in done for a, s in zip(final["arm"], final["seed"])]
        final = final[keep]
    if "class_name" not in final.columns:
        names = study.class_names
        final["class_name"] = [names[i] if i < len(names) else str(i) for i in final["class_index"]]
    final["val_acc"] = final["val_acc"].astype(float) * 100
    return final[["arm", "seed", "class_index", "class_name", "val_acc"]].reset_index(drop=True)


def per_class_effects_table(study: Study, n_boot: int = PER_CLASS_N_BOOT) -> pd.DataFrame:
    """One row per (non-baseline arm, class) with ``PER_CLASS_COLUMNS``; effects in points.

    Statistics come from :func:`augstudy.ablation.analysis.stats.per_class_effects` (the same paired
    sign-flip test and interval as the main effect table, Benjamini-Hochberg q-values over
    the classes of each arm; ``significant`` needs q < 0.05 and an interval excluding 0).
    Only seeds finished in both the arm and the baseline are paired.
    """
    from augstudy.ablation.analysis.stats import per_class_effects

    final = final_class_accuracy(study)
    base = study.baseline_arm
    if not len(final) or base is None or base not in set(final["arm"]):
        return pd.DataFrame(columns=PER_CLASS_COLUMNS)
    wide = final.pivot_table(index=["arm", "seed"], columns="class_index", values="val_acc") / 100  # fractions
    classes = list(wide.columns)
    names = final.drop_duplicates("class_index").set_index("class_index")["class_name"].to_dict()
    class_names = [str(names.get(c, c)) for c in classes]
    base_table = wide.loc[base]
    frames = []
    for arm in study.arm_names:
        if arm == base or arm not in wide.index.get_level_values(0):
            continue
        arm_table = wide.loc[arm]
        seeds = sorted(set(arm_table.index) & set(base_table.index))
        if len(seeds) < 2:
            continue
        rows = per_class_effects({s: arm_table.loc[s].to_numpy() for s in seeds},
                                 {s: base_table.loc[s].to_numpy() for s in seeds},
                                 class_names, n_boot=n_boot, seed=0)
        table = pd.DataFrame(rows).rename(columns={"class": "class_name"})
        table.insert(0, "arm", arm)
        table.insert(1, "class_index", classes)
        frames.append(table)
    if not frames:
        return pd.DataFrame(columns=PER_CLASS_COLUMNS)
    return pd.concat(frames, ignore_index=True)[list(PER_CLASS_COLUMNS)]


def most_changed(per_class: pd.DataFrame, arm: str, k: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``k`` classes most hurt (most negative effect) and most helped for ``arm``."""
    sub = per_class[per_class["arm"] == arm].sort_values("effect_mean")
    hurt = sub[sub["effect_mean"] < 0].head(k)
    helped = sub[sub["effect_mean"] > 0].iloc[::-1].head(k)
    return hurt, helped
