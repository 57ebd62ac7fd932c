"""What the report says, independent of how it is written (HTML or Markdown).

:func:`study_content` turns a loaded :class:`~augstudy.ablation.storage.reader.Study` into a
:class:`ReportContent`: header facts, formatted tables whose cells carry a
significance class, PNG figures and findings.  ``html.py`` and ``markdown.py``
only lay it out, so both formats always show the same numbers.  Sections are built from
:mod:`augstudy.report.blocks`; each study design adds its own section (interaction, response
curve, strength) through the :data:`augstudy.ablation.designs.DESIGNS` registry, from the data
the reader loaded for it (``Study.designs``): nothing here knows a design by name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from augstudy.ablation.analysis.effect_table import DISPLAY_COLUMNS, baseline_cells, display_cells, header_lines, note_lines
from augstudy.ablation.storage.cells import parse_bool, parse_number
from augstudy.ablation.storage.reader import Study
from augstudy.ablation.designs import DESIGNS, StudyDesign
from augstudy.ablation.storage.schema import EffectRow, sort_by_rank
from augstudy.report import figures
from augstudy.report.blocks import BASELINE, BETTER, NOISE, WORSE, Figure, Section, Table, verdict_cell_class
from augstudy.report.findings import collect_findings

#: per-arm count of classes listed as most hurt / most helped
TOP_CLASSES = 5


@dataclass
class ReportContent:
    title: str
    subtitle: str
    notice: str | None
    facts: list[tuple[str, str]]
    sections: list[Section]

    def figures(self) -> list[Figure]:
        """Every figure, in reading order (blocks included)."""
        out: list[Figure] = []
        for section in self.sections:
            out.extend(section.figures)
            for block in section.blocks:
                out.extend(block.figures)
        return out


# -- number formatting ---------------------------------------------------------
def _num(value) -> float | None:
    return parse_number(value)


def fmt_signed(value, digits: int = 2) -> str:
    """``+2.79`` / ``-0.10`` / ``inf``; blank for missing."""
    v = _num(value)
    if v is None:
        return ""
    if math.isinf(v):
        return "+inf" if v > 0 else "-inf"
    return f"{v:+.{digits}f}"


def fmt_fixed(value, digits: int = 2) -> str:
    v = _num(value)
    return "" if v is None else f"{v:.{digits}f}"


def fmt_p(value) -> str:
    """p-values and probabilities with 3 significant digits (``0.25``, ``0.0014``)."""
    v = _num(value)
    return "" if v is None else f"{v:.3g}"


def fmt_int(value) -> str:
    v = _num(value)
    return "" if v is None else str(int(v))


def fmt_seconds(value) -> str:
    v = _num(value)
    if v is None:
        return "?"
    hours, rest = divmod(int(round(v)), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {seconds:02d}s" if hours else f"{minutes}m {seconds:02d}s"


def verdict_class(row: EffectRow) -> str:
    """The row's colour class from its stored verdict: BETTER, WORSE, or NOISE for any other verdict."""
    return verdict_cell_class(row.verdict)


def effect_table(rows: list[EffectRow], arms: pd.DataFrame | None, baseline: str | None) -> Table:
    """The ranked effect table exactly as ``augstudy ablate`` prints it and effects.md shows it
    (:func:`augstudy.ablation.analysis.effect_table.display_cells`), with the baseline's reference row first."""
    columns = list(DISPLAY_COLUMNS)
    cells, classes = [], []
    if baseline is not None and arms is not None and len(arms) and baseline in set(arms["arm"]):
        cells.append(baseline_cells(baseline, arms[arms["arm"] == baseline].iloc[0].to_dict()))
        classes.append(BASELINE)
    for row in sort_by_rank(rows):
        cells.append(display_cells(row))
        classes.append(verdict_class(row))
    return Table(columns, [[c[name] for name in columns] for c in cells], classes, table_id="effects-table")


def noise_floor_facts(study: Study) -> list[tuple[str, str]]:
    """(label, value) pairs for study.json's ``noise_floor`` (the stats engine's keys)."""
    floor = study.meta.get("noise_floor") or {}
    facts = []
    if "baseline_std" in floor:
        facts.append(("Baseline std across seeds", f"{fmt_fixed(floor['baseline_std'])} pts"))
    if "sd_diff" in floor:
        source = f" ({floor['sd_diff_source']})" if floor.get("sd_diff_source") else ""
        facts.append(("Std of paired differences", f"{fmt_fixed(floor['sd_diff'])} pts{source}"))
    mde = floor.get("mde", floor.get("min_detectable_effect"))
    if mde is not None:
        power = _num(floor.get("power"))
        at = f" at {int(power * 100)}% power" if power else ""
        facts.append(("Minimum detectable effect", f"{fmt_fixed(mde)} pts{at}, {fmt_int(floor.get('n_seeds'))} seeds"))
    p_floor = floor.get("p_floor", floor.get("p_value_floor"))
    if p_floor is not None:
        facts.append(("p-value floor (exact sign-flip)", fmt_p(p_floor)))
    if floor.get("ci_method"):
        facts.append(("Interval", f"95% {floor['ci_method']}"))
    return facts


def _header_facts(study: Study) -> list[tuple[str, str]]:
    meta = study.meta
    versions = meta.get("versions") or {}
    seeds = study.seeds
    return [
        ("Factor", study.factor),
        ("Dataset", f"{study.dataset} ({fmt_int(meta.get('n_train')) or '?'} train / "
                    f"{fmt_int(meta.get('n_val')) or '?'} val, {len(study.class_names) or '?'} classes)"),
        ("Device", str(meta.get("device", "?")) + (f", {meta['precision']}" if meta.get("precision") else "")
                   + (", torch.compile" if meta.get("compile") else "")),
        ("Seeds", f"{', '.join(str(s) for s in seeds)} ({len(seeds)} paired)" if seeds else "?"),
        ("Budget", str(meta.get("budget", "?"))),
        ("Metric", study.metric),
        ("Baseline arm", str(study.baseline_arm)),
        ("Wall time", fmt_seconds(meta.get("wall_s"))),
        ("Runs", f"{study.finished_runs} of {study.expected_runs} finished"),
        ("Git commit", str(meta.get("git_commit") or "unknown")),
        ("Versions", ", ".join(f"{k} {v}" for k, v in versions.items()) or "unknown"),
        ("Created / updated", f"{meta.get('created', '?')} / {meta.get('updated', '?')}"),
    ]


def _summary_table(study: Study, per_seed: pd.DataFrame) -> Table:
    """Stability and generalization gap per arm: the means arms.csv stores (effects.csv's columns, computed
    by the analysis), ± the sd over the seeds of :attr:`Study.seed_summaries` (points)."""
    stored = study.arms.set_index("arm") if "arm" in study.arms.columns else pd.DataFrame()
    rows = []
    for arm in study.arm_names:
        seeds = per_seed[per_seed["arm"] == arm]
        if not len(seeds):
            continue
        mean = stored.loc[arm] if arm in stored.index else {}
        sd = seeds[["stability", "gen_gap"]].std(ddof=1) if len(seeds) > 1 else {}
        rows.append([arm, fmt_int(len(seeds)), fmt_fixed(seeds["final_val_acc"].mean()),
                     _mean_sd(mean.get("stability"), sd.get("stability")),
                     _mean_sd(mean.get("gen_gap"), sd.get("gen_gap"))])
    classes = [BASELINE if r[0] == study.baseline_arm else "" for r in rows]
    return Table(["Arm", "Seeds", "Final val acc (%)", "Stability: sd of val acc, 2nd half (pts)",
                  "Gen. gap: train - val acc (pts)"], rows, classes, table_id="stability-table",
                 caption="Mean ± sd over finished seeds (diverged, failed and running runs left out); "
                         "lower stability = steadier training. " + _gen_gap_caption(study))


def _gen_gap_caption(study: Study) -> str:
    """The sentence saying which arms have no generalization gap, and why ('' when all have one)."""
    from augstudy.ablation.storage.schema import GEN_GAP_NA_MIXING, gen_gap_na

    arms = [str(a.get("arm")) for a in study.arm_specs if isinstance(a, dict) and gen_gap_na(a.get("config"))]
    return f"{', '.join(arms)}: {GEN_GAP_NA_MIXING}." if arms else ""


def _mean_sd(mean, sd) -> str:
    """``3.59 ± 0.13``; ``3.59`` with one seed; ``n/a`` when unknown."""
    if _num(mean) is None:
        return "n/a"
    return f"{fmt_fixed(mean)} ± {fmt_fixed(sd)}" if _num(sd) is not None else fmt_fixed(mean)


def _class_rows(frame: pd.DataFrame) -> list[list[str]]:
    return [[str(r["class_name"]), fmt_signed(r["effect_mean"]), f"[{fmt_signed(r['ci_low'])}, {fmt_signed(r['ci_high'])}]",
             fmt_p(r["p_value"]), fmt_p(r["q_value"]), "yes" if parse_bool(r["significant"]) else "no"]
            for r in frame.to_dict("records")]


CLASS_TABLE_COLUMNS = ["Class", "Change (pts)", "95% CI", "p", "BH q", "Significant"]


def _per_class_section(study: Study) -> Section:
    from augstudy.report.per_class import most_changed

    section = Section("per-class", "Per-class effects")
    per_class = study.class_effects
    if not len(per_class):
        section.paragraphs.append("No per-class effects yet: they need class_metrics.csv and at least two "
                                  "seeds finished in both an arm and the baseline.")
        return section
    n_classes = per_class["class_index"].nunique()
    arms = [a for a in study.arm_names if a in set(per_class["arm"])]
    section.paragraphs.append(
        f"Change in each class's val accuracy vs the baseline (paired seeds, last epoch, points), {n_classes} classes. "
        "p-values are sign-flip tests per class; q-values are Benjamini-Hochberg corrected over the classes "
        "of each arm; a class is significant when q < 0.05 and its 95% interval excludes 0. "
        "These tests count seed-to-seed noise on this val set's images of each class, not which images the "
        "val set happens to hold: a significant class changed on these images, and with few images per class "
        "(Tiny ImageNet: 50) that need not carry to new images of the class. The effect table's verdicts "
        "include that val-set term; these do not.")
    n_pairs = int(per_class["n_seeds"].max())
    if n_pairs < 6:
        section.paragraphs.append(
            f"With {n_pairs} paired seeds the smallest possible p-value is {fmt_p(2 / 2 ** n_pairs)}, so no single "
            "class can be significant after correction; read the changes as hints, and add seeds to confirm them.")
    section.figures.append(Figure(
        "per_class_heatmap", "Per-class accuracy change", figures.class_heatmap(per_class, arms),
        "Arms x classes; red = the arm lowers the class's accuracy, blue = raises it; colour centred at 0."))
    for arm in arms:
        hurt, helped = most_changed(per_class, arm, TOP_CLASSES)
        block = Section(f"per-class-{_slug(arm)}", arm)
        block.tables.append(Table(CLASS_TABLE_COLUMNS, _class_rows(hurt),
                                  [WORSE if parse_bool(s) else NOISE for s in hurt["significant"]],
                                  table_id=f"hurt-{_slug(arm)}", caption=f"Most hurt classes ({len(hurt)})"))
        block.tables.append(Table(CLASS_TABLE_COLUMNS, _class_rows(helped),
                                  [BETTER if parse_bool(s) else NOISE for s in helped["significant"]],
                                  table_id=f"helped-{_slug(arm)}", caption=f"Most helped classes ({len(helped)})"))
        section.blocks.append(block)
    return section


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-") or "arm"


def _preview_section(study: Study) -> Section:
    from augstudy.report.previews import preview_arms, preview_png

    section = Section("previews", "Policy previews")
    arms = preview_arms(study)
    if not arms:
        section.paragraphs.append("No arm of this study changes the augmentation policy.")
        return section
    section.paragraphs.append("Real images (rows) and augmented draws (columns) of each arm that changes augmentation.")
    for arm in arms:
        block = Section(f"preview-{_slug(arm)}", arm)
        png, note = preview_png(study, arm)
        if png is None:
            block.paragraphs.append(f"no preview ({note})")
        else:
            block.figures.append(Figure(f"preview_{_slug(arm)}", f"Preview: {arm}", png, note))
        section.blocks.append(block)
    return section


def study_content(study: Study) -> ReportContent:
    """Build the whole report for one study (figures rendered here, as PNG bytes).

    Shows a progress bar (stderr, one step per section): per-class statistics and
    figures take seconds on large studies.
    """
    from augstudy.progress import progress

    palette = figures.arm_palette(study.arm_names, study.baseline_arm)  # one colour per arm, every figure
    builders = [
        lambda: _warnings_section(study),
        lambda: _effects_section(study, palette),
        # each study design's own section (interaction, response curve, strength), in registry order
        *[lambda design=design: _design_section(study, design) for design in DESIGNS],
        lambda: _curves_section(study, palette),
        lambda: _stability_section(study, palette),
        lambda: _per_class_section(study),
        lambda: _preview_section(study),
    ]
    sections: list[Section] = []
    with progress(total=len(builders), desc="report", unit="section") as bar:
        for build in builders:
            section = build()
            if section is not None:
                sections.append(section)
            bar.update(1)
    return ReportContent(
        title=f"Ablation report: {study.factor} on {study.dataset}",
        subtitle=f"{study.path}",
        notice=study.progress,
        facts=_header_facts(study),
        sections=sections,
    )


def _design_section(study: Study, design: StudyDesign) -> Section | None:
    """The section ``design`` adds from what it read back from the folder (:attr:`Study.designs`), or
    None when the folder holds none of its files."""
    data = study.designs.get(design.name)
    return None if data is None else design.report_section(study, data)


def _warnings_section(study: Study) -> Section:
    findings = collect_findings(study)
    section = Section("warnings", "Warnings", findings=findings)
    if not findings:
        section.paragraphs.append("Nothing to warn about: every run finished, no effect is underpowered.")
    return section


def _effects_section(study: Study, palette: dict[str, str]) -> Section:
    section = Section("effects", "Ranked effects")
    if not study.effect_rows:
        section.paragraphs.append("No effects yet (effects.csv is missing): they are computed once the baseline and "
                                  "an arm have two finished seeds each.")
        return section
    section.paragraphs.extend(header_lines(study.meta.get("effect_header")))
    section.paragraphs.append("Green: the verdict is better; red: worse; grey: any other verdict.")
    section.paragraphs.extend(note_lines(study.effect_rows))
    section.tables.append(effect_table(study.effect_rows, study.arms, study.baseline_arm))
    floor = noise_floor_facts(study)
    if floor:
        section.tables.append(Table(["Noise floor", "Value"], [list(f) for f in floor], table_id="noise-floor",
                                    key_value=True,
                                    caption="Effects smaller than the minimum detectable effect cannot be "
                                            "told apart from seed noise with this many seeds."))
    section.figures.append(Figure("forest", "Forest plot", figures.forest_plot(
        study.effects, palette, metric=study.metric), "One row per arm: effect and its family-adjusted interval "
        "(the table's interval column); the vertical line is no effect. Filled markers are significant."))
    return section


def _curves_section(study: Study, palette: dict[str, str]) -> Section:
    section = Section("curves", "Learning curves")
    curves = study.curves
    if not len(curves):
        section.paragraphs.append("No epochs recorded yet (epochs.csv is missing).")
        return section
    section.paragraphs.append("Mean over seeds per epoch; the band spans the minimum to the maximum seed. "
                              "Each arm has the same colour in every figure.")
    section.figures.append(Figure("learning_curves", "Learning curves",
                                  figures.learning_curves(curves, study.arm_names, palette)))
    return section


def _stability_section(study: Study, palette: dict[str, str]) -> Section:
    section = Section("stability", "Stability and generalization gap")
    per_seed = study.seed_summaries
    if not len(per_seed):
        section.paragraphs.append("No finished runs yet.")
        return section
    section.tables.append(_summary_table(study, per_seed))
    section.figures.append(Figure("stability", "Stability and generalization gap",
                                  figures.stability_plot(per_seed, study.arm_names, palette),
                                  "Dots: seeds; bar: mean over seeds."))
    return section
