"""Per-class effects: how much each arm changes each class's val accuracy vs the baseline.

Decided here, once, and exported as ``class_effects.csv`` (columns
:data:`~augstudy.ablation.storage.schema.CLASS_EFFECT_COLUMNS`); the report only reads them.

Input: the per-class val accuracies of ``class_metrics.csv`` (fractions in [0, 1]) at the last
epoch of every finished ("done") run.  Each class's effect is the paired (same seed) difference
arm - baseline in accuracy points; its p-value (sign-flip test) and interval come from
:func:`augstudy.ablation.analysis.stats.per_class_effects`, with Benjamini-Hochberg q-values over
the classes of one arm, because with 200 classes some will look "significant" by chance
(Balestriero et al. 2022 motivate looking at all); ``significant`` needs q < 0.05 and an interval
excluding 0.  Only seeds finished in both the arm and the baseline are paired; an arm needs two.

What they claim: a change on *this val set's* images of each class.  The test counts seed-to-seed
noise only (the per-class accuracies are all the study folder holds per class; per-example
correctness is not split by class), so unlike the effect table it has no val-set term.  Measured
on per-example correctness (``tests/ablation/analysis/stats/test_per_class.py``): with no per-image
arm effect the share of studies with any flagged class stays at alpha; where the val-set noise of a
class is as large as the seed noise (50 images per class, 12 seeds) flags are never in the wrong
direction for these images, but a population null is flagged in about a fifth of studies.  The
report says so beside the table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from augstudy.ablation.storage.schema import CLASS_EFFECT_COLUMNS, StudyPaths, csv_text
from augstudy.atomic import atomic_write_text

#: BCa resamples per class (used only from 10 seeds on; 200 classes x arms must stay quick)
CLASS_EFFECTS_N_BOOT = 2000
#: the seed of those resamples (same files -> same class_effects.csv)
CLASS_EFFECTS_SEED = 0


def final_class_accuracy(class_rows: Iterable[Mapping[str, Any]], done: set[tuple[str, int]] | None,
                         class_names: Sequence[str] = ()) -> tuple[dict[str, dict[int, dict[int, float]]],
                                                                   dict[int, str]]:
    """Per-class val accuracy at the last recorded epoch of each run.

    Args:
        class_rows: rows with ``arm, seed, epoch, class_index, val_acc`` (fraction) and optionally
            ``class_name``, as in class_metrics.csv.
        done: the (arm, seed) pairs whose run is done; None keeps every run (no runs.csv).
        class_names: names by class index, for rows without a ``class_name``.
    Returns:
        ``({arm: {seed: {class_index: val_acc}}}, {class_index: class_name})``.
    """
    last: dict[tuple[str, int], int] = {}
    rows = []
    for row in class_rows:
        key = (str(row["arm"]), int(row["seed"]))
        epoch = int(row["epoch"])
        last[key] = max(last.get(key, epoch), epoch)
        rows.append((key, epoch, row))
    acc: dict[str, dict[int, dict[int, float]]] = {}
    names: dict[int, str] = {}
    for key, epoch, row in rows:
        if epoch != last[key] or (done is not None and key not in done):
            continue
        index = int(row["class_index"])
        name = row.get("class_name")
        if name is None or name != name or str(name) == "":    # absent, NaN (pandas) or blank
            name = class_names[index] if index < len(class_names) else str(index)
        names.setdefault(index, str(name))
        acc.setdefault(key[0], {}).setdefault(key[1], {})[index] = float(row["val_acc"])
    return acc, names


def class_effect_rows(class_rows: Iterable[Mapping[str, Any]], done: set[tuple[str, int]] | None,
                      baseline: str | None, arm_order: Sequence[str], class_names: Sequence[str] = (),
                      n_boot: int = CLASS_EFFECTS_N_BOOT) -> list[dict[str, Any]]:
    """One row per (non-baseline arm, class), keyed by
    :data:`~augstudy.ablation.storage.schema.CLASS_EFFECT_COLUMNS`; effects in points.

    Arms in ``arm_order`` (then any other arm of ``class_rows``), classes by index; an arm with fewer
    than two seeds done in both it and the baseline has no rows.  [] without baseline rows."""
    from augstudy.ablation.analysis.stats import per_class_effects

    acc, names = final_class_accuracy(class_rows, done, class_names)
    if baseline is None or baseline not in acc:
        return []
    classes = sorted(names)
    base = acc[baseline]
    out = []
    for arm in dict.fromkeys([*arm_order, *acc]):
        if arm == baseline or arm not in acc:
            continue
        seeds = sorted(set(acc[arm]) & set(base))
        if len(seeds) < 2:
            continue

        def table(of: dict[int, dict[int, float]]) -> dict[int, np.ndarray]:
            return {s: np.array([of[s].get(c, np.nan) for c in classes]) for s in seeds}

        effects = per_class_effects(table(acc[arm]), table(base), [names[c] for c in classes], n_boot=n_boot,
                                    seed=CLASS_EFFECTS_SEED)
        for index, effect in zip(classes, effects):
            row = {**effect, "arm": arm, "class_index": index, "class_name": effect["class"]}
            out.append({c: row[c] for c in CLASS_EFFECT_COLUMNS})
    return out


def write_class_effects(paths: StudyPaths | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write ``class_effects.csv`` (header only when ``rows`` is empty) atomically; returns its path."""
    paths = paths if isinstance(paths, StudyPaths) else StudyPaths(paths)
    return atomic_write_text(paths.class_effects_csv, csv_text(rows, CLASS_EFFECT_COLUMNS))


__all__ = ["class_effect_rows", "final_class_accuracy", "write_class_effects", "CLASS_EFFECTS_N_BOOT",
           "CLASS_EFFECTS_SEED"]
