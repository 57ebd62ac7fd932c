"""The report's policy-strength section: accuracy per strength next to affinity, diversity and pixel shift.

Reads ``strength.json`` (written by :func:`augstudy.ablation.designs.strength.measure_strengths`);
recomputes nothing.  Accuracy in points; affinity and diversity are ratios (1 = like the
unaugmented data); SSIM in [-1, 1].
"""

from __future__ import annotations

from augstudy.report.content import Figure, Section, Table
from augstudy.ablation.storage.reader import Study


def _f(x, spec: str = ".3f") -> str:
    return "-" if x is None else format(x, spec)


def strength_plot(summary: dict) -> bytes:
    """Accuracy (left axis, 95% bars) and affinity / diversity / SSIM (right axis) against strength."""
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


def strength_section(study: Study) -> Section | None:
    """The section of a policy-strength study; None for any other study."""
    from augstudy.ablation.designs.strength import read_strength

    summary = read_strength(study.path)
    if summary is None:
        return None
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


__all__ = ["strength_plot", "strength_section", "too_much_sentence"]
