"""Response curves of one-factor studies whose levels are numbers (dropout, weight_decay, lr, ...).

:func:`response_analysis` pairs the runs by seed (seeds finished at every level; a
diverged run counts at the chance level, never dropped) and calls
:func:`augstudy.ablation.analysis.stats.factorial.response_curve`: per-level mean with its 95% interval
(t over seeds), a log axis where the levels are spaced geometrically, the share of seed
resamples in which each level has the highest mean (descriptive), and two claims made only
from the Holm-adjusted pairwise differences of the levels: "best level" (above every other
level) and "extend the range" (an edge level above its neighbour); under a flat truth each
appears in at most 5% of studies (``tests/ablation/analysis/stats/test_stats_factorial.py``).
:func:`export_response` writes ``response.json`` (what the
report draws) and returns the Markdown section appended to ``effects.md``.
:class:`ResponseDesign` (registered in :data:`augstudy.ablation.designs.DESIGNS`) applies to every
study with numeric levels (:func:`curve_arms`): it names ``response.json`` (:data:`FILES`), prints the
best-level sentence after the effect table and draws the report's section (:func:`response_section`,
:func:`response_plot`: a log axis where the levels are spaced geometrically; a level of 0 cannot sit
on a log axis, it is drawn one step below the smallest positive level and labelled 0).

Units: accuracy points (100 x fraction).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from augstudy.ablation.designs.base import DesignExport, DesignFiles, ExportContext, StudyDesign
from augstudy.ablation.storage.schema import RunStatus, StudyPaths
from augstudy.ablation.terms import POINTS
from augstudy.ablation.spec.study_spec import Arm
from augstudy.atomic import atomic_write_json, read_json_file
from augstudy.report.blocks import Figure, Section, Table

#: the file of a numeric one-factor study (key: the runner's ``files:`` listing)
FILES = DesignFiles(response_json="response.json")
RESPONSE_JSON = FILES.response_json


#: below this many seeds the best-level share is flagged as optimistic (few distinct bootstrap resamples)
FEW_SEEDS = 10

def numeric_levels(arms: list[Arm]) -> list[float] | None:
    """The arms' levels as numbers when every arm is one level of one factor and each level parses
    as a number (``5e-4``, ``0.3``, ``256``); None otherwise (``all``, two-factor, named levels)."""
    if len(arms) < 2 or len({a.factor for a in arms}) != 1 or any("cell" in a.extra for a in arms):
        return None
    try:
        values = [float(a.level) for a in arms]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) for v in values) or len(set(values)) != len(values):
        return None
    return values


def curve_arms(arms: list[Arm]) -> tuple[list[Arm], str | None]:
    """The arms the response curve covers and a note: every arm when all levels are numbers; the numeric
    ones when only the baseline's level is a name (``randaugment_magnitude``: ``off`` = the final policy
    without RandAugment, which is no magnitude), with a note saying so; ``([], None)`` otherwise."""
    if numeric_levels(arms) is not None:
        return arms, None
    baseline = [a for a in arms if a.is_baseline]
    rest = [a for a in arms if not a.is_baseline]
    if len(baseline) == 1 and len(rest) >= 2 and numeric_levels(rest) is not None:
        return rest, (f"the baseline level '{baseline[0].level}' is not a number and is left out of the curve; "
                      f"the effect table compares every level with it")
    return [], None


def _paired_values(arms: list[Arm], records: list[dict], chance: float | None) -> tuple[np.ndarray, list[int]]:
    """``[n_seeds, L]`` points over the seeds with a result at every level (arms' order)."""
    position = {a.name: i for i, a in enumerate(arms)}
    table: dict[int, dict[int, float]] = {}
    for r in records:
        i = position.get(r["arm"])
        if i is None:
            continue
        if r["status"] == RunStatus.DONE and r.get("metric") is not None and math.isfinite(float(r["metric"])):
            table.setdefault(r["seed"], {})[i] = POINTS * float(r["metric"])
        elif r["status"] == RunStatus.DIVERGED and chance is not None:
            table.setdefault(r["seed"], {})[i] = POINTS * float(chance)
    seeds = sorted(s for s, row in table.items() if len(row) == len(arms))
    return np.array([[table[s][i] for i in range(len(arms))] for s in seeds]).reshape(len(seeds), len(arms)), seeds


def response_analysis(arms: list[Arm], records: list[dict], chance: float | None = None) -> dict | None:
    """The response curve of a numeric one-factor study as a JSON-ready dict (None when the levels
    are not numbers or no seed finished at every level).

    Keys: ``factor, levels`` (ascending numbers), ``level_names`` (the arms' level texts),
    ``means, ci_low, ci_high`` (points; None for an unbounded end), ``ci_method``, ``log_axis`` (the
    positive levels are spaced geometrically; a level 0 is then drawn one step left of the smallest),
    ``best_level``, ``best_name`` (the highest mean), ``best_share`` (per level), ``best_shown`` (that
    level is above every other one, Holm over the pairs), ``edge_warning``, ``n_seeds``,
    ``baseline_level``, ``sentence``.
    """
    from augstudy.ablation.analysis.stats.factorial import format_level, is_geometric, response_curve

    arms, curve_note = curve_arms(arms)
    values = numeric_levels(arms) if arms else None
    if values is None:
        return None
    y, seeds = _paired_values(arms, records, chance)
    if not seeds:
        return None
    curve = response_curve(values, y)
    # a level of 0 (no weight decay, no dropout) cannot sit on a log axis; the others decide it
    positive = [v for v in values if v > 0]
    log_axis = curve.log_axis or (len(positive) == len(values) - 1 and is_geometric(positive))
    order = sorted(range(len(arms)), key=lambda i: values[i])
    names = [arms[i].level for i in order]
    best_index = int(np.argmax(curve.means))
    share = curve.best_share
    n_pairs = len(curve.pair_p_adjusted)
    if curve.best_shown:
        text = (f"Best level of {arms[0].factor}: {names[best_index]} ({curve.means[best_index]:.2f} pts), above "
                f"every other level (paired differences, Holm over the {n_pairs} pairs, family-wise error <= 5%)")
    else:
        text = (f"No level of {arms[0].factor} is shown best (none is above every other one; paired differences, "
                f"Holm over the {n_pairs} pairs); highest mean: {names[best_index]} "
                f"({curve.means[best_index]:.2f} pts)")
    text += (f". Highest mean in {share[best_index]:.0%} of seed resamples over {len(seeds)} seeds: how often "
             "these seeds, resampled, put it on top, not the chance that it is truly best (with every level "
             "truly equal one level often gets 50-80%)")
    runner_up = [i for i in np.argsort(-share) if i != best_index][:1]
    if runner_up and share[runner_up[0]] > 0:
        text += f"; next: {names[runner_up[0]]} ({share[runner_up[0]]:.0%})"
    if len(seeds) < FEW_SEEDS:
        # a bootstrap over 3 seeds has few distinct resamples: 100% means every seed agreed, not certainty
        text += (f"; with {len(seeds)} seeds this share only says how many seeds agree and overstates "
                 f"certainty (the effect table's intervals decide)")
    out = {"factor": arms[0].factor, "levels": curve.levels, "level_names": names,
           "level_labels": [format_level(v) for v in curve.levels],
           "means": curve.means.tolist(), "ci_low": curve.ci_low.tolist(), "ci_high": curve.ci_high.tolist(),
           "ci_method": curve.ci_method, "log_axis": log_axis, "best_level": curve.best_level,
           "best_name": names[best_index], "best_share": share.tolist(), "edge_warning": curve.edge_warning,
           "best_shown": curve.best_shown,
           "n_seeds": len(seeds), "seeds": seeds,
           "baseline_level": next((a.level for a in arms if a.is_baseline), None),
           "notes": list(curve.notes), "sentence": text + (f"; {curve_note}" if curve_note else "") + "."}
    return _json_safe(out)


def _json_safe(obj):
    if isinstance(obj, float):
        return None if not math.isfinite(obj) else obj
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    return obj


def _cell(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def response_markdown(analysis: dict, metric: str = "") -> str:
    """The response-curve section of effects.md: sentence, edge warning, one row per level."""
    lines = ["", f"## Response curve: {metric or 'metric'} against {analysis['factor']}", "",
             analysis["sentence"], ""]
    if analysis.get("edge_warning"):
        lines += [f"**Warning:** {analysis['edge_warning']}.", ""]
    axis = "log" if analysis["log_axis"] else "linear"
    lines += [f"Per-level 95% intervals: {analysis['ci_method']} (describe the curve; the effect table above "
              f"decides); {axis} level axis in the report's figure.", "",
              "| level | mean (pts) | 95% CI | highest mean in (share of seed resamples) |", "|---|---|---|---|"]
    for k, name in enumerate(analysis["level_names"]):
        mark = " (baseline)" if name == analysis.get("baseline_level") else ""
        best = " **best**" if name == analysis["best_name"] and analysis.get("best_shown", True) else ""
        lines.append(f"| {name}{mark} | {_cell(analysis['means'][k])} | [{_cell(analysis['ci_low'][k])}, "
                     f"{_cell(analysis['ci_high'][k])}] | {analysis['best_share'][k]:.0%}{best} |")
    return "\n".join(lines) + "\n"


def export_response(paths: StudyPaths, arms: list[Arm], records: list[dict], metric: str,
                    chance: float | None = None) -> tuple[dict[str, Path], str, dict | None]:
    """Write ``response.json`` for a numeric one-factor study; returns ``(files, effects.md section,
    analysis)`` (``({}, "", None)`` when the study has no response curve yet)."""
    analysis = response_analysis(arms, records, chance)
    if analysis is None:
        return {}, "", None
    analysis["metric"] = metric
    files = {"response_json": atomic_write_json(FILES.path(paths.root, "response_json"), analysis)}
    return files, response_markdown(analysis, metric), analysis


def read_response(study_dir: str | Path) -> dict | None:
    """``response.json`` of a study folder, or None when the study has no response curve."""
    return read_json_file(FILES.path(study_dir, "response_json"))


def response_summary(analysis: dict) -> str:
    """The terminal lines: the best-level sentence, then the edge warning when there is one."""
    return analysis["sentence"] + (f"\nwarning: {analysis['edge_warning']}" if analysis.get("edge_warning") else "")


# ----------------------------------------------------------------------------- the report's section
def _positions(levels: list[float], log_axis: bool) -> list[float]:
    """x positions: the levels, or on a log axis 0 placed one geometric step below the smallest positive level."""
    if not log_axis:
        return list(levels)
    positive = [v for v in levels if v > 0]
    step = positive[1] / positive[0] if len(positive) >= 2 else 10.0
    return [v if v > 0 else positive[0] / step for v in levels]


def response_plot(analysis: dict) -> bytes:
    """PNG: metric against level, points with 95% interval bars, best level circled, baseline marked."""
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


def _report_cell(x) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def response_section(analysis: dict) -> Section:
    """The report's response-curve section from ``response.json``'s ``analysis``; recomputes nothing."""
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
    rows = [[name + (" (baseline)" if name == analysis.get("baseline_level") else ""),
             _report_cell(analysis["means"][k]),
             f"[{_report_cell(analysis['ci_low'][k])}, {_report_cell(analysis['ci_high'][k])}]",
             f"{analysis['best_share'][k]:.0%}"] for k, name in enumerate(analysis["level_names"])]
    section.tables.append(Table(["Level", "Mean (pts)", "95% CI", "Best in"], rows, table_id="response-table"))
    return section


# ----------------------------------------------------------------------------- the design
class ResponseDesign(StudyDesign):
    """A one-factor study with numeric levels: its response curve (response.json, see the module docstring)."""

    name = "response"
    files = FILES

    def resolve_arms(self, factor: str, by: str | None, budget: str | None, specs_dir=None,
                     budget_override: dict | None = None) -> None:
        return None   # the one-factor design plans the arms; this one adds the curve over them

    def applies(self, arms: list[Arm]) -> bool:
        return bool(curve_arms(arms)[0])

    def export(self, ctx: ExportContext) -> DesignExport:
        files, markdown, analysis = export_response(ctx.paths, ctx.arms, ctx.records, ctx.metric, ctx.chance)
        return DesignExport(files, analysis, markdown)

    def export_final(self, ctx: ExportContext) -> DesignExport:
        return DesignExport()   # written at every export

    def read(self, study_dir: Path) -> dict | None:
        return read_response(study_dir)

    def summary(self, data: dict) -> str:
        return response_summary(data)

    def report_section(self, study, data: dict) -> Section:
        return response_section(data)


DESIGN = ResponseDesign()


__all__ = ["numeric_levels", "curve_arms", "response_analysis", "response_markdown", "export_response", "read_response",
           "response_summary", "response_plot", "response_section", "ResponseDesign", "DESIGN", "FILES", "RESPONSE_JSON"]
