"""The report's two-factor section: the interaction plot, the A x B table and the one-sentence verdict.

Reads ``interaction.json`` (written by :func:`augstudy.ablation.designs.factorial.export_factorial`);
recomputes nothing.  Accuracy points.
"""

from __future__ import annotations

from augstudy.ablation.terms import Verdict
from augstudy.report.content import BETTER, NOISE, WORSE, Figure, Section, Table
from augstudy.ablation.storage.reader import Study


def _number(x) -> float:
    if x is None:
        return float("nan")
    if isinstance(x, str):
        return float(x)   # "inf" / "-inf"
    return float(x)


def interaction_plot(analysis: dict) -> bytes:
    """Metric against A's levels (evenly spaced, in study order), one line per B level, 95% interval bars."""
    import numpy as np

    from augstudy.report.figures import _png, _pyplot

    plt, sns = _pyplot()
    levels_a, levels_b = analysis["levels_a"], analysis["levels_b"]
    means = np.array([[_number(v) for v in row] for row in analysis["cell_means"]])
    low = np.array([[_number(v) for v in row] for row in analysis["cell_low"]])
    high = np.array([[_number(v) for v in row] for row in analysis["cell_high"]])
    colors = sns.color_palette("colorblind", len(levels_b))
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    x = np.arange(len(levels_a), dtype=float)
    offsets = (np.arange(len(levels_b)) - (len(levels_b) - 1) / 2) * 0.04   # keep the bars apart
    for j, level in enumerate(levels_b):
        m = means[:, j]
        lo = np.where(np.isfinite(low[:, j]), m - low[:, j], 0.0)
        hi = np.where(np.isfinite(high[:, j]), high[:, j] - m, 0.0)
        ax.errorbar(x + offsets[j], m, yerr=[lo, hi], marker="o", capsize=3, color=colors[j],
                    label=f"{analysis['factor_b']}={level}" + (" (baseline)" if j == 0 else ""))
    ax.set_xticks(x, [str(v) for v in levels_a])
    ax.set_xlabel(analysis["factor_a"])
    ax.set_ylabel(f"{analysis.get('metric', 'metric')} val accuracy (pts)")
    ax.set_title(f"{analysis['factor_a']} x {analysis['factor_b']}")
    ax.legend(fontsize=8, frameon=False)
    return _png(fig)


def _cls(verdict: str) -> str:
    return {Verdict.BETTER: BETTER, Verdict.WORSE: WORSE}.get(verdict, NOISE)


def interaction_section(study: Study) -> Section | None:
    """The section of a two-factor study; None for any other study."""
    from augstudy.ablation.designs.factorial import read_interaction
    from augstudy.ablation.designs.factorial_table import cell_grid, format_number, format_seeds, interval_text

    analysis = read_interaction(study.path)
    if analysis is None:
        return None
    a, b = analysis["factor_a"], analysis["factor_b"]
    section = Section("interaction", f"Interaction: {a} x {b}")
    section.paragraphs.append(analysis.get("sentence", ""))
    if not analysis.get("contrasts"):
        return section
    section.paragraphs.extend(analysis.get("header", []))
    section.figures.append(Figure(
        "interaction", f"Interaction plot: {a} x {b}", interaction_plot(analysis),
        f"Mean over {analysis['n_seeds']} paired seeds per cell, bars: 95% t interval over seeds. Parallel lines = "
        f"no interaction: the effect of {a} is the same at every level of {b}."))
    grid = cell_grid(analysis)
    section.tables.append(Table(grid[0], grid[1:], table_id="interaction-cells",
                                caption="Cell means (points, ± 95% half-width); last column: the main effect of "
                                        f"{a} averaged over {b}, with its verdict."))
    rows, classes = [], []
    for c in analysis["contrasts"]:
        rows.append([c["kind"], c["contrast"], format_number(c["effect_mean"], True),
                     interval_text(c),
                     "-" if c.get("p_adjusted") is None else f"{c['p_adjusted']:.3g}", c["verdict"],
                     format_seeds(c["seeds_needed"]) if c["verdict"] == Verdict.INCONCLUSIVE else "-"])
        classes.append(_cls(c["verdict"]))
    section.tables.append(Table(["Kind", "Contrast", "Effect (pts)", "CI", "Adj. p", "Verdict", "Seeds needed"],
                                rows, classes, table_id="interaction-contrasts",
                                caption="Interaction = difference of differences; main = averaged over "
                                        f"{b}; simple = at one level of {b}. Holm within each kind."))
    return section


__all__ = ["interaction_plot", "interaction_section"]
