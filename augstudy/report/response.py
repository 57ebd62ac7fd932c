"""The report's response-curve section for a numeric factor (dropout, weight_decay, lr, batch_size, ...).

Reads ``response.json`` (written by :func:`augstudy.ablation.designs.response.export_response`); recomputes
nothing.  The figure: the metric against the level with per-level 95% intervals, on a log axis
where the levels are spaced geometrically (a level of 0 cannot sit on a log axis: it is drawn at
the left edge, one step below the smallest positive level, and labelled 0), the best level
circled, the baseline level marked.  Accuracy points.
"""

from __future__ import annotations

import math

from augstudy.report.content import Figure, Section, Table
from augstudy.ablation.storage.reader import Study


def _positions(levels: list[float], log_axis: bool) -> list[float]:
    """x positions: the levels, or on a log axis 0 placed one geometric step below the smallest positive level."""
    if not log_axis:
        return list(levels)
    positive = [v for v in levels if v > 0]
    step = positive[1] / positive[0] if len(positive) >= 2 else 10.0
    return [v if v > 0 else positive[0] / step for v in levels]


def response_plot(analysis: dict) -> bytes:
    """Metric against level: points with 95% interval bars, best level circled, baseline marked."""
    import numpy as np

    from augstudy.report.figures import BASELINE_COLOR, _png, _pyplot

    plt, _ = _pyplot()
    levels = [float(v) for v in analysis["levels"]]
    log_axis = bool(analysis["log_axis"])
    x = np.array(_positions(levels, log_axis))
    m = np.array([np.nan if v is None else v for v in analysis["means"]], dtype=float)
    lo = np.array([np.nan if v is None else v for v in analysis["ci_low"]], dtype=float)
    hi = np.array([np.nan if v is None else v for v in analysis["ci_high"]], dtype=float)
    fig, ax = plt.subplots(figsize=(5.6, 3.6))
    yerr = [np.where(np.isfinite(lo), m - lo, 0.0), np.where(np.isfinite(hi), hi - m, 0.0)]
    ax.errorbar(x, m, yerr=yerr, marker="o", capsize=3, color="#0173b2", label="mean ± 95% CI")
    best = analysis["level_names"].index(analysis["best_name"])
    ax.scatter([x[best]], [m[best]], s=160, facecolors="none", edgecolors="#0173b2", linewidths=1.5,
               label=f"{'best' if analysis.get('best_shown', True) else 'highest mean'}: {analysis['best_name']} "
                     f"({analysis['best_share'][best]:.0%} of resamples)")
    if analysis.get("baseline_level") in analysis["level_names"]:
        k = analysis["level_names"].index(analysis["baseline_level"])
        ax.axvline(x[k], color=BASELINE_COLOR, linestyle=":", linewidth=1, label="baseline level")
    if log_axis:
        ax.set_xscale("log")
    ax.set_xticks(x, analysis["level_names"])
    ax.minorticks_off()
    ax.set_xlabel(f"{analysis['factor']}" + (" (log axis)" if log_axis else ""))
    ax.set_ylabel(f"{analysis.get('metric', 'metric')} val accuracy (pts)")
    ax.set_title(f"Response curve: {analysis['factor']}")
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def _cell(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def response_section(study: Study) -> Section | None:
    """The section of a numeric one-factor study; None for any other study."""
    from augstudy.ablation.designs.response import read_response

    analysis = read_response(study.path)
    if analysis is None:
        return None
    section = Section("response", f"Response curve: {analysis['factor']}")
    section.paragraphs.append(analysis["sentence"])
    if analysis.get("edge_warning"):
        section.paragraphs.append(f"Warning: {analysis['edge_warning']}.")
    section.paragraphs.append(f"Per-level 95% intervals: {analysis['ci_method']}; they describe the curve, the "
                              "effect table decides. 'Best in' is the share of seed resamples (bootstrap over "
                              "seeds, levels kept paired) in which each level has the highest mean: how much "
                              "these seeds agree, not the chance that a level is truly best.")
    section.figures.append(Figure("response_curve", f"Response curve: {analysis['factor']}", response_plot(analysis),
                                  "Metric against level with 95% intervals; circled: the highest mean; dotted: the "
                                  "baseline level." + (" Log level axis (geometric levels)." if analysis["log_axis"]
                                                       else "")))
    rows = [[name + (" (baseline)" if name == analysis.get("baseline_level") else ""), _cell(analysis["means"][k]),
             f"[{_cell(analysis['ci_low'][k])}, {_cell(analysis['ci_high'][k])}]",
             f"{analysis['best_share'][k]:.0%}"] for k, name in enumerate(analysis["level_names"])]
    section.tables.append(Table(["Level", "Mean (pts)", "95% CI", "Best in"], rows, table_id="response-table"))
    return section


__all__ = ["response_plot", "response_section"]
