"""Policy-strength studies: accuracy per strength next to affinity, diversity and the pixel-statistics shift.

A one-factor study whose arms are one policy at several strengths (``ablations/policy_strength.yaml``:
the ``final`` policy scaled by s = 0 .. 3, resolved policy names ``final@s``) gets, at study time,
``strength.csv`` / ``strength.json``, one row per level:

- **accuracy**: the level's mean metric with its 95% interval and best-level share (from
  ``response.json``, :mod:`augstudy.ablation.designs.response`);
- **affinity** (Gontijo-Lopes et al. 2021): accuracy of a clean-trained model on the level's
  augmented val images / on the clean ones.  The clean model is the study's own strength-0 arm
  (the identity policy), its finished checkpoint of the smallest seed; without an s = 0 arm, or
  when that checkpoint is gone (``--prune-checkpoints``), affinity is left blank with a note;
- **diversity** (same paper): final-epoch training loss of the level / of the strength-0 arm,
  paired by seed and averaged (>1: the augmentation makes training data harder to fit);
- **pixel shift** (:func:`augstudy.measure.pixel_stats.pixel_shift`): SSIM and PSNR to the
  clean image, mean absolute change of the channel means (0..255), std ratio, clipped share.

Images: the first :data:`N_IMAGES` val images, one draw per image (seed 0, epoch 0): cheap
(seconds on a CPU).  The per-level preview grids are the study's ``previews/`` (drawn by
:func:`augstudy.ablation.execution.assets.write_previews` for every arm that changes augmentation).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Callable

from augstudy.ablation.designs.response import read_response
from augstudy.ablation.storage.schema import DIVERSITY_NA_SOFT, StudyPaths, csv_text, diversity_na
from augstudy.ablation.spec.study_spec import Arm
from augstudy.atomic import atomic_write_json, atomic_write_text, read_json_file

STRENGTH_CSV = "strength.csv"
STRENGTH_JSON = "strength.json"
N_IMAGES = 128
STRENGTH_COLUMNS = ("arm", "level", "strength", "metric_mean", "ci_low", "ci_high", "best_share", "affinity",
                    "augmented_acc", "clean_acc", "diversity", "final_train_loss", "ssim", "psnr_db",
                    "mean_shift", "std_ratio", "clip_after", "noop_share")


def policy_strength(policy: dict | None) -> float | None:
    """The strength of a resolved policy dict: the ``@s`` suffix of its name (``final@0.5`` -> 0.5), 1 without one."""
    if not policy:
        return None
    name = str(policy.get("name", ""))
    if "@" not in name:
        return 1.0
    try:
        return float(name.rsplit("@", 1)[1])
    except ValueError:
        return None


def strength_levels(arms: list[Arm]) -> dict[str, float] | None:
    """``{arm: strength}`` when the arms are one policy at distinct strengths (one factor); else None."""
    if len(arms) < 2 or len({a.factor for a in arms}) != 1 or any("cell" in a.extra for a in arms):
        return None
    bases = {str((a.policy or {}).get("name", "")).split("@")[0] for a in arms}
    strengths = {a.name: policy_strength(a.policy) for a in arms}
    if len(bases) != 1 or None in strengths.values() or len(set(strengths.values())) != len(arms):
        return None
    return strengths


def _read_csv(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def final_train_losses(paths: StudyPaths) -> dict[tuple[str, int], float]:
    """``{(arm, seed): train_loss of the last epoch}`` of the done runs (from runs.csv and epochs.csv)."""
    done = {(r["arm"], int(r["seed"])) for r in _read_csv(paths.runs_csv) if r["status"] == "done"}
    last: dict[tuple[str, int], tuple[int, float]] = {}
    for e in _read_csv(paths.epochs_csv):
        key = (e["arm"], int(e["seed"]))
        if key in done and e.get("train_loss") not in (None, ""):
            epoch = int(e["epoch"])
            if key not in last or epoch > last[key][0]:
                last[key] = (epoch, float(e["train_loss"]))
    return {k: v for k, (_, v) in last.items()}


def diversity(losses: dict[tuple[str, int], float], arm: str, clean_arm: str) -> tuple[float | None, float | None]:
    """(mean over paired seeds of loss(arm) / loss(clean_arm), mean final train loss of ``arm``)."""
    own = {s: v for (a, s), v in losses.items() if a == arm}
    clean = {s: v for (a, s), v in losses.items() if a == clean_arm}
    ratios = [own[s] / clean[s] for s in own if s in clean and clean[s] > 0]
    mean_loss = sum(own.values()) / len(own) if own else None
    return (sum(ratios) / len(ratios) if ratios else None), mean_loss


def measure_strengths(paths: StudyPaths, arms: list[Arm], dataset, seeds: list[int], device="cpu",
                      echo: Callable[[str], None] = print, n_images: int = N_IMAGES) -> dict[str, Path]:
    """Write strength.csv/.json for a policy-strength study (``{}`` for any other study)."""
    import torch

    from augstudy.measure.pixel_stats import finite_or_none, pixel_shift
    from augstudy.policy import apply_draw, load_policy, sample_draw

    strengths = strength_levels(arms)
    if strengths is None:
        return {}
    n = min(int(n_images), int(dataset.val_images.shape[0]))
    images = dataset.val_images[:n].clone()
    labels = dataset.val_labels[:n].clone()
    indices = torch.arange(n)
    clean_arm = next((a for a in arms if strengths[a.name] == 0), None)
    model_state, source, notes = _clean_model(paths, clean_arm, seeds, device)
    clean_acc = None
    if model_state is not None:
        from augstudy.measure.affinity import accuracy

        model, norm, side = model_state
        clean_acc = accuracy(model, images, labels, norm, side)
    losses = final_train_losses(paths)
    curve = read_response(paths.root) or {}
    by_name = {name: k for k, name in enumerate(curve.get("level_names", []))}
    rows = []
    for arm in sorted(arms, key=lambda a: strengths[a.name]):
        policy = load_policy(arm.policy)
        draw = sample_draw(policy, seed=0, epoch=0, indices=indices)
        after = apply_draw(images, policy, draw)
        shift = pixel_shift(images, after)
        row = {"arm": arm.name, "level": arm.level, "strength": strengths[arm.name], "clean_acc": clean_acc,
               "ssim": shift["ssim"], "psnr_db": shift["psnr_db"], "clip_after": shift["clip_after"],
               "noop_share": shift["noop_share"],
               "mean_shift": sum(abs(a - b) for a, b in zip(shift["mean_after"], shift["mean_before"])) / 3,
               "std_ratio": (sum(shift["std_after"]) / sum(shift["std_before"])) if sum(shift["std_before"]) else None}
        if model_state is not None:
            from augstudy.measure.affinity import accuracy, affinity_ratio

            model, norm, side = model_state
            row["augmented_acc"] = accuracy(model, after, labels, norm, side)
            row["affinity"] = affinity_ratio(clean_acc, row["augmented_acc"])
        if clean_arm is not None:
            row["diversity"], row["final_train_loss"] = diversity(losses, arm.name, clean_arm.name)
            if diversity_na(arm.config) or diversity_na(clean_arm.config):   # soft targets: the loss has a floor
                row["diversity"] = None
                if DIVERSITY_NA_SOFT not in notes:
                    notes.append(DIVERSITY_NA_SOFT)
        k = by_name.get(arm.level)
        if k is not None:
            for key, column in (("metric_mean", "means"), ("ci_low", "ci_low"), ("ci_high", "ci_high"),
                                ("best_share", "best_share")):
                row[key] = curve[column][k]
        rows.append({key: finite_or_none(v) if isinstance(v, float) else v for key, v in row.items()})
    if clean_arm is None:
        notes.append("no strength-0 arm: affinity and diversity need a model trained without augmentation")
    summary = {"n_images": n, "draw_seed": 0, "clean_arm": clean_arm.name if clean_arm else None,
               "clean_model": source, "notes": notes, "rows": rows, "metric": curve.get("metric")}
    files = {"strength_csv": atomic_write_text(paths.root / STRENGTH_CSV, csv_text(rows, STRENGTH_COLUMNS)),
             "strength_json": atomic_write_json(paths.root / STRENGTH_JSON, summary)}
    echo(format_strength_table(summary))
    return files


def _clean_model(paths: StudyPaths, clean_arm: Arm | None, seeds: list[int], device):
    """``((model, norm, input side) or None, source text or None, notes)``: the strength-0 arm's finished
    checkpoint of its smallest done seed."""
    if clean_arm is None:
        return None, None, []
    from augstudy.errors import UserError
    from augstudy.measure.affinity import load_clean_model
    from augstudy.models import INPUT_SIZES

    done = {int(r["seed"]) for r in _read_csv(paths.runs_csv) if r["arm"] == clean_arm.name and r["status"] == "done"}
    for seed in sorted(s for s in seeds if s in done):
        path = paths.checkpoint(clean_arm.config_hash, seed)
        if not path.is_file():
            continue
        try:
            model, info = load_clean_model(path, device)
        except UserError as exc:
            return None, None, [f"affinity: the clean model {path} could not be loaded ({exc})"]
        if info["norm"] is None:
            return None, None, [f"affinity: {path} has no input normalization"]
        side = INPUT_SIZES.get(info["name"], (3, 64, 64))[-1]
        return (model, info["norm"], side), f"{clean_arm.name} seed {seed} ({path.name})", []
    return None, None, [f"affinity: no finished checkpoint of {clean_arm.name} (pruned, or its runs are not done)"]


def format_strength_table(summary: dict) -> str:
    """Terminal table: per strength, accuracy, affinity, diversity and the pixel shift."""
    from augstudy.measure.output import format_value   # inside: importing augstudy.measure loads torch

    header = ("strength", "acc (pts)", "best in", "affinity", "diversity", "SSIM", "PSNR dB", "mean shift", "std ratio")
    rows = [header]
    for r in summary["rows"]:
        rows.append((f"{r['strength']:g}", format_value(r.get("metric_mean"), ".2f"),
                     "-" if r.get("best_share") is None else f"{r['best_share']:.0%}", format_value(r.get("affinity")),
                     format_value(r.get("diversity")), format_value(r.get("ssim")), format_value(r.get("psnr_db"), ".1f"),
                     format_value(r.get("mean_shift"), ".1f"), format_value(r.get("std_ratio"))))
    widths = [max(len(row[k]) for row in rows) for k in range(len(header))]
    lines = [f"policy strength: accuracy next to affinity (clean model: {summary.get('clean_model') or 'none'}), "
             f"diversity and pixel shift on {summary['n_images']} val images"]
    lines += ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    lines += [f"note: {n}" for n in summary.get("notes", [])]
    return "\n".join(lines) + "\n"


def read_strength(study_dir: str | Path) -> dict | None:
    """``strength.json`` of a study folder, or None."""
    return read_json_file(Path(study_dir) / STRENGTH_JSON)


__all__ = ["policy_strength", "strength_levels", "final_train_losses", "diversity", "measure_strengths",
           "format_strength_table", "read_strength", "STRENGTH_CSV", "STRENGTH_JSON", "STRENGTH_COLUMNS", "N_IMAGES"]
