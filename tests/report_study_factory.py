"""Synthetic study directories in the exact ARCHITECTURE.md "Study directory" format.

The numbers are realistic and internally consistent: learning curves rise and
flatten, each arm has a true effect plus per-seed noise shared across arms
(paired seeds), per-class accuracies scatter around the mean with a few classes
hurt or helped, and effects.csv is computed from runs.csv's metrics with a
the effect table's own code (:func:`augstudy.ablation.analysis.effects.compute_effects`), so a test can
check the report against the files.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
from augstudy.ablation.analysis import stats
from augstudy.ablation.analysis.class_effects import class_effect_rows, write_class_effects
from augstudy.ablation.analysis.effects import compute_effects
from augstudy.ablation.storage.schema import preview_arm_names
from augstudy.ablation.storage.schema import EFFECT_COLUMNS as SCHEMA_EFFECT_COLUMNS, csv_cell

EFFECT_COLUMNS = list(SCHEMA_EFFECT_COLUMNS)
ARM_COLUMNS = ["arm", "level", "is_baseline", "n_seeds", "metric_mean", "metric_std", "best_val_acc",
               "stability", "gen_gap", "n_diverged"]

# augstudy.policy.Policy.to_dict() format: parameters flat beside "op" and "p"
JITTER_POLICY = {"name": "jitter", "image_size": 64, "p": 1.0, "ops": [
    {"op": "HorizontalFlip", "p": 0.5},
    {"op": "ColorJitter", "brightness": 0.2, "contrast": 0.2, "saturation": 0.4, "hue": 0.1, "p": 0.8},
]}
CROP_POLICY = {"name": "crop", "image_size": 64, "p": 1.0, "ops": [
    {"op": "RandomCrop", "size": 64, "padding": 4, "p": 1.0},
    {"op": "HorizontalFlip", "p": 0.5},
]}
DEFAULT_ARMS = [
    # (level, true effect in points, policy)
    ("none", 0.0, None),
    ("crop", 3.0, CROP_POLICY),
    ("jitter", -0.2, JITTER_POLICY),
    ("heavy", -6.0, CROP_POLICY),
]


def _write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in columns})
    path.write_text(buf.getvalue())


def _png(path: Path, seed: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, size=(48, 96, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)


def make_study(
    out: str | Path,
    *,
    factor: str = "augment",
    dataset: str = "fashion-mnist-mini",
    arms: list[tuple[str, float, dict | None]] | None = None,
    seeds: tuple[int, ...] = (0, 1, 2),
    epochs: int = 6,
    n_classes: int = 10,
    finished_runs: int | None = None,
    diverged: tuple[str, int] | None = None,
    baseline_hash: str = "base0001",
    previews: bool = True,
    class_effects: bool = True,
    data_check: list | None = None,
    seed: int = 0,
) -> Path:
    """Write a study directory at ``out`` and return its path.

    ``arms``: ``(level, true effect in accuracy points, policy dict or None)``, baseline first.
    ``finished_runs``: stop after this many runs (in arm-major order) to mimic a running
    study: the next run is "running" with half its epochs, the rest "pending", no
    effects.csv/arms.csv when fewer than two arms have a finished seed.
    ``diverged``: ``(level, seed)`` of a run that diverges (NaN loss) halfway.
    ``class_effects``: write class_effects.csv as the exporter does (False: a folder exported before
    that file existed, whose reader computes it).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    arms = arms or DEFAULT_ARMS
    class_names = [f"class_{i:03d}" for i in range(n_classes)]
    seed_noise = {s: rng.normal(0, 0.006) for s in seeds}  # shared across arms: that is why pairing helps
    class_base = rng.normal(0, 0.08, size=n_classes)
    baseline_level = arms[0][0]

    arm_specs, runs_rows, epoch_rows, class_rows = [], [], [], []
    final_acc: dict[str, dict[int, float]] = {}
    run_index = 0
    for level, effect_points, policy in arms:
        arm = f"{factor}={level}"
        is_baseline = level == baseline_level
        config = {"model": "final", "dropout": 0.3, "batch_size": 256, "epochs": epochs, "policy": level}
        arm_specs.append({
            "arm": arm, "factor": factor, "level": level, "is_baseline": is_baseline, "config": config,
            "config_hash": baseline_hash if is_baseline else f"{baseline_hash}-{level}", "policy": policy,
        })
        class_effect = rng.normal(0, 0.01, size=n_classes) + effect_points / 100
        class_effect[0] -= 0.15 if effect_points > 0 else 0.0  # one class badly hurt by a helpful arm
        class_effect[1] += 0.08
        for s in seeds:
            if finished_runs is not None and run_index > finished_runs:
                status, n_epochs = "pending", 0
            elif finished_runs is not None and run_index == finished_runs:
                status, n_epochs = "running", max(1, epochs // 2)
            else:
                status, n_epochs = "done", epochs
            diverge_at = None
            if diverged == (level, s) and status == "done":
                status, diverge_at, n_epochs = "diverged", epochs // 2 + 1, epochs // 2 + 1
            run_index += 1
            val_final = 0.82 + effect_points / 100 + seed_noise[s] + rng.normal(0, 0.002)
            for e in range(1, n_epochs + 1):
                progress = 1 - math.exp(-e / (epochs / 3))
                val_acc = val_final * progress + rng.normal(0, 0.0015)
                train_acc = min(0.99, val_acc + 0.05 * progress + 0.01)
                train_loss = -math.log(max(train_acc, 1e-3)) + 0.1
                val_loss = -math.log(max(val_acc, 1e-3)) + 0.2
                if diverge_at is not None and e == diverge_at:
                    train_loss = val_loss = float("nan")
                    train_acc = val_acc = 0.1
                epoch_rows.append({
                    "arm": arm, "level": level, "seed": s, "epoch": e, "train_loss": round(train_loss, 5),
                    "train_acc": round(train_acc, 5), "val_loss": round(val_loss, 5), "val_acc": round(val_acc, 5),
                    "lr": 0.01, "wall_s": round(3.0 * e, 2),
                })
                per_class = np.clip(val_acc + class_base + class_effect * progress + rng.normal(0, 0.01, n_classes), 0, 1)
                for c in range(n_classes):
                    class_rows.append({
                        "arm": arm, "level": level, "seed": s, "epoch": e, "class_index": c,
                        "class_name": class_names[c], "val_acc": round(float(per_class[c]), 5), "n_val": 100,
                    })
            metric = epoch_rows[-1]["val_acc"] if status == "done" else ""
            if status == "done":
                final_acc.setdefault(arm, {})[s] = float(metric)
            runs_rows.append({
                "arm": arm, "level": level, "seed": s, "status": status, "epochs_done": n_epochs,
                "metric": metric, "wall_s": round(3.0 * n_epochs, 2), "device": "cpu",
                "config_hash": arm_specs[-1]["config_hash"], "diverged_epoch": diverge_at or "",
            })

    _write_csv(out / "runs.csv", ["arm", "level", "seed", "status", "epochs_done", "metric", "wall_s", "device",
                                  "config_hash", "diverged_epoch"], runs_rows)
    _write_csv(out / "epochs.csv", ["arm", "level", "seed", "epoch", "train_loss", "train_acc", "val_loss",
                                    "val_acc", "lr", "wall_s"], epoch_rows)
    _write_csv(out / "class_metrics.csv", ["arm", "level", "seed", "epoch", "class_index", "class_name", "val_acc",
                                           "n_val"], class_rows)

    baseline_arm = arm_specs[0]["arm"]
    noise_floor = None
    effect_header = None
    finished = {arm: accs for arm, accs in final_acc.items() if accs}
    if len(finished.get(baseline_arm, {})) >= 2 and len(finished) >= 2:
        noise_floor = stats.noise_floor(finished, baseline_arm)
        runs = [{"arm": arm, "level": next(a["level"] for a in arm_specs if a["arm"] == arm), "seed": seed,
                 "status": "done", "metric": acc,
                 "epochs": [e for e in epoch_rows if e["arm"] == arm and e["seed"] == seed]}
                for arm, accs in finished.items() for seed, acc in accs.items()]
        computed = compute_effects(runs, baseline_arm, factor, "final")
        stored = {a["arm"]: a for a in computed.arms}   # stability and gen gap as the exporter stores them
        summary = {}
        arm_rows = []
        for spec in arm_specs:
            arm = spec["arm"]
            values = np.array(list(finished.get(arm, {}).values())) * 100
            if not values.size:
                continue
            summary[arm] = {
                "n_seeds": len(values), "metric_mean": round(values.mean(), 4),
                "metric_std": round(values.std(ddof=1), 4) if len(values) > 1 else "",
                "best_val_acc": round(values.max(), 4), "stability": round(stored[arm]["stability"], 6),
                "gen_gap": round(stored[arm]["gen_gap"], 6),
                "n_diverged": sum(1 for r in runs_rows if r["arm"] == arm and r["status"] == "diverged"),
            }
            arm_rows.append({"arm": arm, "level": spec["level"], "is_baseline": spec["is_baseline"], **summary[arm]})
        effect_rows = []
        effect_header = computed.header
        noise_floor = computed.noise
        for effect in computed.rows:
            row = {**effect.to_dict(), **{k: v for k, v in summary[effect.arm].items() if k != "n_diverged"}}
            effect_rows.append({k: (round(v, 6) if isinstance(v, float) and math.isfinite(v) else
                                    csv_cell(k, v)) for k, v in row.items()})
        _write_csv(out / "effects.csv", EFFECT_COLUMNS, effect_rows)
        _write_csv(out / "arms.csv", ARM_COLUMNS, arm_rows)

    if previews:
        (out / "previews").mkdir(exist_ok=True)
        drawn = preview_arm_names(arm_specs)   # the arms ablate draws; "heavy" exercises "no preview"
        for i, spec in enumerate(arm_specs):
            if spec["arm"] in drawn and spec["level"] != "heavy":
                _png(out / "previews" / f"{spec['arm']}.png", i)

    if class_effects:  # as the exporter writes it; False gives a folder exported before the file existed
        done = {(r["arm"], r["seed"]) for r in runs_rows if r["status"] == "done"}
        write_class_effects(out, class_effect_rows(class_rows, done, baseline_arm, [a["arm"] for a in arm_specs],
                                                   class_names))

    complete = finished_runs is None
    meta = {
        "factor": factor, "dataset": dataset, "dataset_path": f"data/{dataset}", "device": "cpu",
        "seeds": list(seeds), "budget": "smoke", "metric": "final_val_acc", "baseline_arm": baseline_arm,
        "arms": arm_specs, "git_commit": "0123456789abcdef", "versions": {
            "augstudy": "0.1.0", "torch": "2.14.1", "torchvision": "0.29.1", "kornia": "0.9.0",
            "albumentations": "2.0.8", "python": "3.11.9"},
        "created": "2026-11-28T10:00:00", "updated": "2026-11-28T10:05:00", "wall_s": 312.5,
        "complete": complete, "class_names": class_names, "n_train": 1000, "n_val": 100 * n_classes,
        "noise_floor": noise_floor, "data_check": data_check, "effect_header": effect_header,
    }
    (out / "study.json").write_text(json.dumps(meta, indent=2))
    return out
