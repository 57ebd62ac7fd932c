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

:class:`StrengthDesign` (registered in :data:`augstudy.ablation.designs.DESIGNS`) measures once the
study is complete (:meth:`~StrengthDesign.export_final`), from what the same process computed: the
records of the last export (statuses, final training losses) and the response curve it exported
(``ExportContext.data["response"]``), never from the CSV/JSON files it just wrote.  It prints the
table of :func:`format_strength_table` and draws the report's section (:func:`strength_section`:
accuracy, affinity and diversity against strength).  Affinity and diversity are ratios (1 = like
the unaugmented data); SSIM in [-1, 1].
"""

from __future__ import annotations

from pathlib import Path

from augstudy.ablation.designs.base import DesignExport, DesignFiles, ExportContext, StudyDesign
from augstudy.ablation.designs.response import DESIGN as RESPONSE
from augstudy.ablation.storage.schema import DIVERSITY_NA_SOFT, RunStatus, StudyPaths, csv_text, diversity_na
from augstudy.ablation.spec.study_spec import Arm
from augstudy.atomic import atomic_write_json, atomic_write_text, read_json_file
from augstudy.report.blocks import Figure, Section, Table

#: the files of a policy-strength study (keys: the runner's ``files:`` listing)
FILES = DesignFiles(strength_csv="strength.csv", strength_json="strength.json")
STRENGTH_CSV = FILES.strength_csv
STRENGTH_JSON = FILES.strength_json
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


def final_train_losses(records: list[dict]) -> dict[tuple[str, int], float]:
    """``{(arm, seed): train_loss of the last epoch}`` of the done runs, from an export's records
    (:func:`augstudy.ablation.storage.exporter.arm_records`: ``status`` and the run's ``epochs`` rows)."""
    last: dict[tuple[str, int], tuple[int, float]] = {}
    for r in records:
        if r["status"] != RunStatus.DONE:
            continue
        key = (r["arm"], int(r["seed"]))
        for e in r.get("epochs") or ():
            if e.get("train_loss") is None:
                continue
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


def measure_strengths(paths: StudyPaths, arms: list[Arm], records: list[dict], curve: dict | None, dataset,
                      seeds: list[int], device="cpu", n_images: int = N_IMAGES) -> tuple[dict[str, Path], dict | None]:
    """Write strength.csv/.json for a policy-strength study; returns ``(files, summary)`` (``({}, None)``
    for any other study).  ``records``: the last export's (statuses, epoch rows); ``curve``: the response
    curve that export computed (:func:`augstudy.ablation.designs.response.response_analysis`, None: none);
    ``seeds``: the seeds whose clean-model checkpoint may serve (the smallest done one does)."""
    import torch

    from augstudy.measure.pixel_stats import finite_or_none, pixel_shift
    from augstudy.policy import apply_draw, load_policy, sample_draw

    strengths = strength_levels(arms)
    if strengths is None:
        return {}, None
    n = min(int(n_images), int(dataset.val_images.shape[0]))
    images = dataset.val_images[:n].clone()
    labels = dataset.val_labels[:n].clone()
    indices = torch.arange(n)
    clean_arm = next((a for a in arms if strengths[a.name] == 0), None)
    model_state, source, notes = _clean_model(paths, clean_arm, records, seeds, device)
    clean_acc = None
    if model_state is not None:
        from augstudy.measure.affinity import accuracy

        model, norm, side = model_state
        clean_acc = accuracy(model, images, labels, norm, side)
    losses = final_train_losses(records)
    curve = curve or {}
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
    files = {"strength_csv": atomic_write_text(FILES.path(paths.root, "strength_csv"), csv_text(rows, STRENGTH_COLUMNS)),
             "strength_json": atomic_write_json(FILES.path(paths.root, "strength_json"), summary)}
    return files, summary


def _clean_model(paths: StudyPaths, clean_arm: Arm | None, records: list[dict], seeds: list[int], device):
    """``((model, norm, input side) or None, source text or None, notes)``: the strength-0 arm's finished
    checkpoint of its smallest done seed (done: by the export's ``records``)."""
    if clean_arm is None:
        return None, None, []
    from augstudy.errors import UserError
    from augstudy.measure.affinity import load_clean_model
    from augstudy.models import INPUT_SIZES

    done = {int(r["seed"]) for r in records if r["arm"] == clean_arm.name and r["status"] == RunStatus.DONE}
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
    return read_json_file(FILES.path(study_dir, "strength_json"))


# ----------------------------------------------------------------------------- the report's section
def _f(x, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def strength_plot(summary: dict) -> bytes:
    """PNG: accuracy (left axis, 95% bars) and affinity / diversity / SSIM (right axis) against strength."""
    import numpy as np

    from augstudy.report.figures import _png, _pyplot

    plt, sns = _pyplot()
    rows = summary["rows"]
    s = np.array([r["strength"] for r in rows], dtype=float)
    val = lambda key: np.array([np.nan if r.get(key) is None else r[key] for r in rows], dtype=float)
    m, lo, hi = val("metric_mean"), val("ci_low"), val("ci_high")
    colors = sns.color_palette("colorblind", 4)
    fig, ax = plt.subplots(figsize=(6.2, 3.8))
    if np.isfinite(m).any():
        yerr = [np.where(np.isfinite(lo), m - lo, 0.0), np.where(np.isfinite(hi), hi - m, 0.0)]
        ax.errorbar(s, m, yerr=yerr, marker="o", capsize=3, color=colors[0], label="accuracy (pts)")
    ax.set_xlabel("policy strength s (0 = no augmentation, 1 = the policy as written)")
    ax.set_ylabel("val accuracy (pts)")
    right = ax.twinx()
    for key, label, color in (("affinity", "affinity", colors[1]), ("diversity", "diversity", colors[2]),
                              ("ssim", "SSIM to the clean image", colors[3])):
        y = val(key)
        if np.isfinite(y).any():
            right.plot(s, y, marker="s", linestyle="--", color=color, label=label)
    right.set_ylabel("ratio (1 = unaugmented)")
    right.grid(False)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
    ax.legend(handles, labels, fontsize=8, frameon=False, loc="best")
    ax.set_title("Accuracy, affinity and diversity against policy strength")
    return _png(fig)


def too_much_sentence(summary: dict) -> str:
    """Where accuracy peaks, and from which strength on it falls below the unaugmented (s = 0) level."""
    rows = [r for r in summary["rows"] if r.get("metric_mean") is not None]
    if not rows:
        return "No accuracy per strength yet."
    best = max(rows, key=lambda r: r["metric_mean"])
    text = f"Accuracy peaks at s = {best['strength']:g} ({best['metric_mean']:.2f} pts)"
    zero = next((r for r in rows if r["strength"] == 0), None)
    if zero is not None:
        # "below" means the interval lies entirely under the unaugmented mean, not a noisy dip
        worse = [r for r in rows if r["strength"] > best["strength"] and r.get("ci_high") is not None
                 and r["ci_high"] < zero["metric_mean"]]
        if worse:
            text += (f"; from s = {worse[0]['strength']:g} on ({worse[0]['metric_mean']:.2f} pts) it is below the "
                     f"unaugmented level ({zero['metric_mean']:.2f} pts): too much augmentation")
        else:
            text += "; no strength tried falls clearly below the unaugmented level"
    return text + "."


def strength_section(summary: dict) -> Section:
    """The report's policy-strength section from ``strength.json``'s ``summary``; recomputes nothing."""
    section = Section("strength", "Policy strength: accuracy, affinity, diversity")
    section.paragraphs.append(too_much_sentence(summary))
    section.paragraphs.append(
        f"Affinity (Gontijo-Lopes et al. 2021): accuracy of a model trained without augmentation (clean model: "
        f"{summary.get('clean_model') or 'none'}) on augmented val images / on clean ones; diversity: final "
        f"training loss at that strength / at s = 0, paired by seed. Pixel statistics on {summary['n_images']} val "
        f"images, one draw each (seed {summary['draw_seed']}). The preview grid of every strength is under "
        f"Policy previews.")
    section.paragraphs.extend(f"Note: {n}" for n in summary.get("notes", []))
    section.figures.append(Figure("strength", "Accuracy, affinity and diversity against policy strength",
                                  strength_plot(summary), "Left axis: accuracy with 95% intervals; right axis: "
                                  "affinity, diversity and SSIM (ratios, 1 = like unaugmented data)."))
    rows = [[f"{r['strength']:g}", _f(r.get("metric_mean"), ".2f"),
             f"[{_f(r.get('ci_low'), '.2f')}, {_f(r.get('ci_high'), '.2f')}]", _f(r.get("affinity")),
             _f(r.get("diversity")), _f(r.get("ssim")), _f(r.get("psnr_db"), ".1f"), _f(r.get("mean_shift"), ".1f"),
             _f(r.get("std_ratio"))] for r in summary["rows"]]
    section.tables.append(Table(["Strength", "Accuracy (pts)", "95% CI", "Affinity", "Diversity", "SSIM", "PSNR (dB)",
                                 "Channel-mean shift (0..255)", "Std ratio"], rows, table_id="strength-table"))
    return section


# ----------------------------------------------------------------------------- the design
class StrengthDesign(StudyDesign):
    """One policy at several strengths: strength.csv/.json once the study is complete (see the module docstring)."""

    name = "strength"
    files = FILES

    def resolve_arms(self, factor: str, by: str | None, budget: str | None, specs_dir=None,
                     budget_override: dict | None = None) -> None:
        return None   # the one-factor design plans the arms; this one measures them

    def applies(self, arms: list[Arm]) -> bool:
        return strength_levels(arms) is not None

    def export(self, ctx: ExportContext) -> DesignExport:
        return DesignExport()   # it needs the dataset and the finished checkpoints: export_final

    def export_final(self, ctx: ExportContext) -> DesignExport:
        files, summary = measure_strengths(ctx.paths, ctx.arms, ctx.records, ctx.data.get(RESPONSE.name),
                                           ctx.dataset, ctx.seeds, ctx.device)
        return DesignExport(files, summary)

    def read(self, study_dir: Path) -> dict | None:
        return read_strength(study_dir)

    def summary(self, data: dict) -> str:
        return format_strength_table(data)

    def report_section(self, study, data: dict) -> Section:
        return strength_section(data)


DESIGN = StrengthDesign()

__all__ = ["policy_strength", "strength_levels", "final_train_losses", "diversity", "measure_strengths",
           "format_strength_table", "read_strength", "strength_plot", "too_much_sentence", "strength_section",
           "StrengthDesign", "DESIGN", "FILES", "STRENGTH_CSV", "STRENGTH_JSON", "STRENGTH_COLUMNS", "N_IMAGES"]
