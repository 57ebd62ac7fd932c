"""Two-factor studies (``augstudy ablate A --by B``): the full factorial design, its cells and contrasts.

Design: every level of factor A crossed with every level of factor B, each cell a run
config resolved like a one-factor arm (``baseline.yaml <- budget <- A's level <- B's
level``, composed by meaning: :mod:`augstudy.ablation.spec.compose`), every cell trained on the same paired seeds (seed s fixes init, data order and
augmentation draws in every cell).  The cell of both baselines is the study's baseline
arm, so the one-factor machinery (store, executors, resume, effects.csv against that
baseline) runs the cells unchanged; this module adds what only a factorial design has:

- :func:`resolve_factorial_arms`: the cells as :class:`~augstudy.ablation.spec.study_spec.Arm` objects
  named ``A=a,B=b`` (``extra["cell"] = (factor_a, a, factor_b, b)``), A's baseline level first;
- :func:`factorial_effects`: cell metrics paired by seed -> simple effects of A at each
  level of B, A's main effects averaged over B, and the interaction contrasts, by
  :func:`augstudy.ablation.analysis.stats.factorial.two_factor_effects` (the effect table's interval,
  Holm adjustment per family and verdict rules);
- :func:`export_factorial`: ``cells.csv`` (one row per cell and seed), ``interaction.csv``
  (one row per contrast), ``interaction.json`` (what the report draws) and ``interaction.md``;
- :class:`FactorialDesign` (registered in :data:`augstudy.ablation.designs.DESIGNS`): those files'
  names (:data:`FILES`), the A x B table printed after the effect table
  (:func:`~augstudy.ablation.designs.factorial_table.format_interaction_table`) and the report's
  section (:func:`interaction_section`, :func:`interaction_plot`).

Learning rate: ``optimizer.lr`` is per 256 examples (the lr in use is ``lr * batch_size /
256``, :func:`augstudy.ablation.execution.train.effective_lr`), so a factor that changes the batch size keeps
the same lr per example in every cell; an interaction with batch size is not an artefact
of an unscaled learning rate.

Units: metrics in the files are accuracy points (100 x fraction).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from augstudy.ablation.designs.base import DesignExport, DesignFiles, ExportContext, StudyDesign
from augstudy.ablation.designs.factorial_table import (cell_grid, format_interaction_table, format_number, format_seeds,
                                                       interaction_markdown, interval_text)
from augstudy.ablation.spec.compose import compose_levels
from augstudy.ablation.storage.schema import RunStatus, StudyPaths, csv_text
from augstudy.ablation.terms import POINTS, Verdict
from augstudy.ablation.spec.study_spec import (ALL_FACTORS, Arm, Baseline, FactorSpec, config_hash, load_baseline,
                                  load_factor, resolve_config)
from augstudy.atomic import atomic_write_json, atomic_write_text, read_json_file
from augstudy.errors import UserError
from augstudy.report.blocks import Figure, Section, Table, verdict_cell_class

#: the files of a two-factor study (keys: the runner's ``files:`` listing)
FILES = DesignFiles(cells_csv="cells.csv", interaction_csv="interaction.csv", interaction_json="interaction.json",
                    interaction_md="interaction.md")
CELLS_CSV = FILES.cells_csv
INTERACTION_CSV = FILES.interaction_csv
INTERACTION_JSON = FILES.interaction_json
INTERACTION_MD = FILES.interaction_md
CELL_COLUMNS = ("arm", "a_level", "b_level", "seed", "status", "metric")
CONTRAST_COLUMNS = ("kind", "contrast", "a_level", "b_level", "n_seeds", "effect_mean", "ci_low", "ci_high",
                    "ci_level", "p_value", "p_adjusted", "verdict", "seeds_needed", "n_diverged", "note")
KINDS = ("interaction", "main", "simple")


def study_name(factor_a: str, factor_b: str) -> str:
    """The study's name (its ``factor`` in study.json, its default folder): ``A-by-B``."""
    return f"{factor_a}-by-{factor_b}"


def check_factor_pair(factor_a: str | None, factor_b: str) -> None:
    """Refuse ``--by all``, ``all --by B`` and ``A --by A`` (one line each)."""
    if not factor_a:
        raise UserError("--by needs a FACTOR first: `augstudy ablate A --by B` (see `augstudy ablate --list`)")
    if ALL_FACTORS in (factor_a, factor_b):
        raise UserError(f"--by: a two-factor study crosses two named factors; `{ALL_FACTORS}` is not one "
                        f"(run `augstudy ablate {ALL_FACTORS}` for every factor alone, or name two factors)")
    if factor_a == factor_b:
        raise UserError(f"--by {factor_b}: the same factor as FACTOR; name a different factor "
                        f"(see `augstudy ablate --list`)")


def _ordered_levels(spec: FactorSpec) -> list[str]:
    return [spec.baseline_level] + [lv for lv in spec.levels if lv != spec.baseline_level]


def resolve_factorial_arms(factor_a: str, factor_b: str, budget: str | None, specs_dir=None,
                           budget_override: dict | None = None) -> list[Arm]:
    """Every cell of the A x B factorial as an :class:`Arm`, the cell of both baselines first.

    A cell's config is ``baseline <- budget <- budget_override <- A's level <- B's level``.
    Levels compose by meaning (:mod:`augstudy.ablation.spec.compose`): edits of different ops of one policy
    combine; a true conflict (one field or one op set two ways, two whole policies) is a UserError.
    """
    check_factor_pair(factor_a, factor_b)
    baseline: Baseline = load_baseline(specs_dir)
    spec_a, spec_b = load_factor(factor_a, specs_dir), load_factor(factor_b, specs_dir)
    arms: list[Arm] = []
    seen: dict[str, str] = {}
    description = (f"{factor_a} ({spec_a.description or 'no description'}) x "
                   f"{factor_b} ({spec_b.description or 'no description'})")
    for la in _ordered_levels(spec_a):
        for lb in _ordered_levels(spec_b):
            merged = compose_levels(spec_a.levels[la], spec_b.levels[lb], f"{spec_a.path}: levels.{la}",
                                    f"{spec_b.path}: levels.{lb}")
            name = f"{factor_a}={la},{factor_b}={lb}"
            config = resolve_config(baseline, budget, merged, f"{spec_a.path} x {spec_b.path}: {name}",
                                    budget_override)
            digest = config_hash(config)
            if digest in seen:
                raise UserError(f"{name}: same config as cell {seen[digest]}; the two factors' levels overlap, "
                                f"cross factors that change different fields")
            seen[digest] = name
            is_base = la == spec_a.baseline_level and lb == spec_b.baseline_level
            arms.append(Arm(name, study_name(factor_a, factor_b), f"{la},{lb}", is_base, config, digest,
                            description, extra={"cell": (factor_a, la, factor_b, lb)}))
    return arms


def is_factorial(arms: list[Arm]) -> bool:
    """True when ``arms`` are the cells of a two-factor study."""
    return bool(arms) and all("cell" in a.extra for a in arms)


def _design(arms: list[Arm]) -> tuple[str, list[str], str, list[str]]:
    factor_a, _, factor_b, _ = arms[0].extra["cell"]
    levels_a = list(dict.fromkeys(a.extra["cell"][1] for a in arms))
    levels_b = list(dict.fromkeys(a.extra["cell"][3] for a in arms))
    return factor_a, levels_a, factor_b, levels_b


def cell_rows(arms: list[Arm], records: list[dict]) -> list[dict]:
    """``cells.csv`` rows (:data:`CELL_COLUMNS`): one per cell and seed, metric in points (blank: none)."""
    by_arm = {a.name: a for a in arms}
    rows = []
    for r in records:
        arm = by_arm.get(r["arm"])
        if arm is None:
            continue
        metric = r.get("metric")
        done = metric is not None and r["status"] == RunStatus.DONE
        rows.append({"arm": arm.name, "a_level": arm.extra["cell"][1], "b_level": arm.extra["cell"][3],
                     "seed": r["seed"], "status": r["status"], "metric": POINTS * float(metric) if done else None})
    rows.sort(key=lambda row: row["seed"])
    return rows


def paired_cells(arms: list[Arm], records: list[dict], chance: float | None):
    """Cells ``[n_seeds, nA, nB]`` (points) over the seeds finished in every cell, and their diverged mask.

    A diverged run counts at ``chance`` (fraction, e.g. 1 / n_classes), never dropped.
    Returns ``(cells, diverged, seeds)``; ``cells`` is ``[0, nA, nB]`` when no seed is complete.
    """
    factor_a, levels_a, factor_b, levels_b = _design(arms)
    index = {a.name: (levels_a.index(a.extra["cell"][1]), levels_b.index(a.extra["cell"][3])) for a in arms}
    value: dict[int, dict[tuple, tuple[float, bool]]] = {}
    for r in records:
        if r["arm"] not in index:
            continue
        status = r["status"]
        if status == RunStatus.DONE and r.get("metric") is not None and math.isfinite(float(r["metric"])):
            value.setdefault(r["seed"], {})[index[r["arm"]]] = (float(r["metric"]), False)
        elif status == RunStatus.DIVERGED and chance is not None:
            value.setdefault(r["seed"], {})[index[r["arm"]]] = (float(chance), True)
    shape = (len(levels_a), len(levels_b))
    seeds = sorted(s for s, cells in value.items() if len(cells) == shape[0] * shape[1])
    y = np.zeros((len(seeds), *shape))
    div = np.zeros(y.shape, bool)
    for k, s in enumerate(seeds):
        for (i, j), (v, d) in value[s].items():
            y[k, i, j], div[k, i, j] = POINTS * v, d
    return y, div, seeds


def factorial_effects(arms: list[Arm], records: list[dict], chance: float | None = None,
                      sesoi: float | None = None) -> dict | None:
    """The study's two-factor analysis as one JSON-ready dict (None below 2 complete seeds).

    Keys: ``factor_a, factor_b, levels_a, levels_b, seeds, n_seeds``, ``cell_means`` /
    ``cell_low`` / ``cell_high`` (``[nA][nB]`` points; 95% t intervals over seeds, for the plot),
    ``contrasts`` (rows of :data:`CONTRAST_COLUMNS`, interaction first), ``header`` (the
    rules' sentences) and ``sentence`` (the interaction's one-line verdict).  ``sesoi``: the
    study's smallest effect size of interest, points (None: the statistics' default).
    """
    from augstudy.ablation.analysis.stats import core as stats_core
    from augstudy.ablation.analysis.stats.factorial import two_factor_effects

    factor_a, levels_a, factor_b, levels_b = _design(arms)
    y, div, seeds = paired_cells(arms, records, chance)
    if len(seeds) < 2:
        return None
    extra = {} if sesoi is None else {"sesoi": float(sesoi)}
    result = two_factor_effects(y, factor_a, levels_a, factor_b, levels_b, diverged=div, **extra)
    mom = stats_core.paired_moments(np.moveaxis(y, 0, -1))
    low, high = stats_core.interval(mom, 0.05)
    contrasts = []
    families = {"interaction": result.interaction, "main": result.main, "simple": result.simple}
    n_b = len(levels_b)
    # family order of two_factor_effects: A level slowest; simple: every B level, interaction: B[1:]
    where = {"simple": lambda k: (k // n_b, levels_b[k % n_b]),
             "main": lambda k: (k, ""),
             "interaction": lambda k: (k // (n_b - 1), levels_b[1 + k % (n_b - 1)])}
    for kind in KINDS:
        for k, arm in enumerate(families[kind].arms):
            i, b_level = where[kind](k)
            contrasts.append({"kind": kind, "contrast": arm.arm, "a_level": levels_a[1 + i], "b_level": b_level,
                              "n_seeds": arm.n_seeds, "effect_mean": arm.effect_mean, "ci_low": arm.ci_low,
                              "ci_high": arm.ci_high, "ci_level": arm.ci_level, "p_value": arm.p_value,
                              "p_adjusted": arm.p_adjusted, "verdict": arm.verdict, "seeds_needed": arm.seeds_needed,
                              "n_diverged": arm.n_diverged, "note": arm.note})
    header = result.interaction.header_lines()
    out = {"factor_a": factor_a, "factor_b": factor_b, "levels_a": levels_a, "levels_b": levels_b,
           "seeds": seeds, "n_seeds": len(seeds), "cell_means": result.cell_means.tolist(),
           "cell_low": np.asarray(low).tolist(), "cell_high": np.asarray(high).tolist(),
           "contrasts": contrasts, "header": header}
    out["sentence"] = interaction_sentence(out)
    return _finite(out)


def _finite(obj):
    """JSON has no inf/nan: nan -> None, +-inf -> ``"inf"`` / ``"-inf"`` (as in the CSVs)."""
    if isinstance(obj, float):
        if math.isnan(obj):
            return None
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def interaction_sentence(analysis: dict) -> str:
    """One sentence: is the effect of A different at B's other levels (better/worse/equivalent/inconclusive)?"""
    a, b = analysis["factor_a"], analysis["factor_b"]
    inter = [c for c in analysis["contrasts"] if c["kind"] == "interaction"]
    verdicts = [c["verdict"] for c in inter]
    named = [f"{c['contrast']} {_signed(c['effect_mean'])} pts ({c['verdict']})" for c in inter]
    if any(v in (Verdict.BETTER, Verdict.WORSE) for v in verdicts):
        signs = {v for v in verdicts if v in (Verdict.BETTER, Verdict.WORSE)}
        lead = next(iter(signs)) if len(signs) == 1 else "mixed (better and worse)"
        head = (f"The {a} x {b} interaction is {lead}: the effect of {a} depends on {b} "
                f"(difference of differences vs {b}={analysis['levels_b'][0]})")
    elif verdicts and all(v == Verdict.EQUIVALENT for v in verdicts):
        head = (f"The {a} x {b} interaction is equivalent: the effect of {a} is the same at every level of {b} "
                f"(within the SESOI)")
    elif any(v == Verdict.UNSTABLE for v in verdicts):
        head = f"The {a} x {b} interaction is unstable: a cell diverged on at least one seed"
    else:
        head = (f"The {a} x {b} interaction is inconclusive: neither a difference nor equivalence is shown "
                f"with {analysis['n_seeds']} seeds")
    return f"{head}; {'; '.join(named)}." if named else f"{head}."


def _signed(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return "+inf" if x == "inf" else "-inf"
    return f"{x:+.2f}"


def export_factorial(paths: StudyPaths, arms: list[Arm], records: list[dict], metric: str,
                     chance: float | None = None, sesoi: float | None = None) -> tuple[dict[str, Path], dict | None]:
    """Write cells.csv, interaction.csv/.json/.md of a two-factor study; returns ``(files, analysis)``
    (``({}, None)`` for any other study).  ``analysis``: what interaction.json holds."""
    if not is_factorial(arms):
        return {}, None
    root = paths.root
    files = {"cells_csv": atomic_write_text(FILES.path(root, "cells_csv"),
                                            csv_text(cell_rows(arms, records), CELL_COLUMNS))}
    analysis = factorial_effects(arms, records, chance, sesoi)
    factor_a, levels_a, factor_b, levels_b = _design(arms)
    if analysis is None:
        analysis = {"factor_a": factor_a, "factor_b": factor_b, "levels_a": levels_a, "levels_b": levels_b,
                    "seeds": [], "n_seeds": 0, "contrasts": [], "header": [],
                    "sentence": "No interaction yet: it needs at least 2 seeds finished in every cell."}
    analysis["metric"] = metric
    files["interaction_csv"] = atomic_write_text(FILES.path(root, "interaction_csv"),
                                                 csv_text(analysis["contrasts"], CONTRAST_COLUMNS))
    files["interaction_json"] = atomic_write_json(FILES.path(root, "interaction_json"), analysis)
    files["interaction_md"] = atomic_write_text(FILES.path(root, "interaction_md"), interaction_markdown(analysis))
    return files, analysis


def read_interaction(study_dir: str | Path) -> dict | None:
    """``interaction.json`` of a study folder, or None when it is not a two-factor study."""
    return read_json_file(FILES.path(study_dir, "interaction_json"),
                          invalid_fix="rerun 'augstudy ablate' to rewrite it")


# ----------------------------------------------------------------------------- the report's section
def _number(x) -> float:
    if x is None:
        return float("nan")
    return float(x)   # a number, or "inf" / "-inf"


def interaction_plot(analysis: dict) -> bytes:
    """PNG: metric against A's levels (evenly spaced, in study order), one line per B level, 95% interval bars."""
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


def interaction_section(analysis: dict) -> Section:
    """The report's two-factor section from ``interaction.json``'s ``analysis``: the one-sentence verdict,
    the interaction plot, the A x B table and every contrast; recomputes nothing.  Accuracy points."""
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
        classes.append(verdict_cell_class(c["verdict"]))
    section.tables.append(Table(["Kind", "Contrast", "Effect (pts)", "CI", "Adj. p", "Verdict", "Seeds needed"],
                                rows, classes, table_id="interaction-contrasts",
                                caption="Interaction = difference of differences; main = averaged over "
                                        f"{b}; simple = at one level of {b}. Holm within each kind."))
    return section


# ----------------------------------------------------------------------------- the design
class FactorialDesign(StudyDesign):
    """``augstudy ablate A --by B``: the cells of A x B; cells.csv and interaction.* (see the module docstring)."""

    name = "factorial"
    files = FILES

    def resolve_arms(self, factor: str, by: str | None, budget: str | None, specs_dir=None,
                     budget_override: dict | None = None) -> tuple[str, list[Arm]] | None:
        if by is None:
            return None
        return study_name(factor, by), resolve_factorial_arms(factor, by, budget, specs_dir, budget_override)

    def applies(self, arms: list[Arm]) -> bool:
        return is_factorial(arms)

    def export(self, ctx: ExportContext) -> DesignExport:
        files, analysis = export_factorial(ctx.paths, ctx.arms, ctx.records, ctx.metric, ctx.chance, sesoi=ctx.sesoi)
        return DesignExport(files, analysis)

    def export_final(self, ctx: ExportContext) -> DesignExport:
        return DesignExport()   # every file is written at every export

    def read(self, study_dir: Path) -> dict | None:
        return read_interaction(study_dir)

    def summary(self, data: dict) -> str:
        return format_interaction_table(data)

    def report_section(self, study, data: dict) -> Section:
        return interaction_section(data)


DESIGN = FactorialDesign()

__all__ = ["study_name", "check_factor_pair", "resolve_factorial_arms", "is_factorial", "cell_rows", "paired_cells",
           "factorial_effects", "interaction_sentence", "export_factorial", "read_interaction", "interaction_plot",
           "interaction_section", "FactorialDesign", "DESIGN", "FILES", "CELLS_CSV", "INTERACTION_CSV",
           "INTERACTION_JSON", "INTERACTION_MD", "CELL_COLUMNS", "CONTRAST_COLUMNS"]
