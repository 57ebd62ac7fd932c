"""Several studies on one ranked table and one forest plot, when they share a baseline.

Studies are comparable only when their baselines are the same configuration
(``config_hash`` of the baseline arm in study.json) on the same dataset with the
same metric; otherwise :func:`check_comparable` refuses with one line naming the
differing field.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from augstudy.ablation.storage.schema import EFFECT_COLUMNS, EffectRow
from augstudy.errors import UserError
from augstudy.report import figures
from augstudy.report.content import Figure, ReportContent, Section, Table, effect_table, noise_floor_facts
from augstudy.ablation.storage.reader import Study


def check_comparable(studies: list[Study]) -> None:
    """Raise :class:`UserError` unless every study has the first one's baseline config_hash, dataset and metric."""
    if len(studies) < 2:
        raise UserError("--compare needs two or more study directories, e.g. "
                        "'augstudy report --compare reports/dropout-x reports/augment-x'")
    first = studies[0]
    for study in studies:
        if not study.baseline_config_hash:
            raise UserError(f"{study.path}/study.json: the baseline arm has no config_hash; "
                            "rerun 'augstudy ablate' with this augstudy version to record it")
    for other in studies[1:]:
        for field, a, b in (("baseline config_hash", first.baseline_config_hash, other.baseline_config_hash),
                            ("dataset", first.dataset, other.dataset),
                            ("metric", first.metric, other.metric)):
            if a != b:
                raise UserError(f"cannot compare {first.path} and {other.path}: {field} differs ({a} vs {b}); "
                                "compare only studies run from the same baseline configuration, dataset and metric")


def combined_effects(studies: list[Study]) -> list[EffectRow]:
    """Every study's effect rows, labelled ``<study dir>: <arm>`` when arm names collide, ranked
    across studies as each study ranks its own (:func:`augstudy.ablation.analysis.stats.verdicts.assign_ranks`):
    by the mean effect, arms with one seed last; rows without an effect stay unranked."""
    from augstudy.ablation.terms import assign_ranks

    tagged = [(study, row) for study in studies for row in study.effect_rows]
    names = [row.arm for _, row in tagged]
    clash = len(set(names)) < len(names)
    rows = [replace(row, arm=f"{study.path}: {row.arm}" if clash else row.arm, rank=None) for study, row in tagged]
    assign_ranks(rows)
    return rows


def compare_content(studies: list[Study]) -> ReportContent:
    """The comparison report: studies overview, one ranked table, one forest plot."""
    check_comparable(studies)
    first = studies[0]
    rows = combined_effects(studies)
    palette = figures.arm_palette([r.arm for r in rows])

    overview = Section("studies", "Studies")
    overview_rows = []
    for study in studies:
        overview_rows.append([str(study.path), study.factor, str(len(study.effect_rows)),
                              f"{study.finished_runs} of {study.expected_runs}", study.progress or "complete"])
    overview.tables.append(Table(["Study", "Factor", "Arms with effects", "Runs finished", "Status"], overview_rows,
                                 table_id="studies-table"))
    for study in studies:
        facts = noise_floor_facts(study)
        if facts:
            overview.tables.append(Table(["Noise floor", "Value"], [list(f) for f in facts], key_value=True,
                                         caption=f"{study.factor} ({study.path})"))

    effects = Section("effects", "Ranked effects across studies")
    effects.paragraphs.append(
        f"Every arm of every study vs the shared baseline {first.baseline_arm} (config {first.baseline_config_hash}), "
        f"in accuracy points of {first.metric}. Each study measured its own baseline runs; ranks are across studies "
        "(by the mean effect, as each study ranks its own). Verdicts, intervals and adjusted p-values are each "
        "study's own, corrected within its own family, not across these studies.")
    effects.tables.append(effect_table(rows, first.arms, first.baseline_arm))
    if rows:
        plot_data = pd.DataFrame([r.to_dict() for r in rows], columns=list(EFFECT_COLUMNS))
        effects.figures.append(Figure("compare_forest", "Forest plot across studies", figures.forest_plot(
            plot_data, palette, metric=first.metric, title="Effects across studies (filled = significant)"),
            "One row per arm of every study, with its study's adjusted interval; the vertical line is no effect."))

    factors = ", ".join(s.factor for s in studies)
    return ReportContent(
        title=f"Comparison: {factors} on {first.dataset}",
        subtitle=" + ".join(str(s.path) for s in studies),
        notice=None if all(s.complete for s in studies) else "some studies are unfinished; their effects are provisional",
        facts=[("Studies", str(len(studies))), ("Dataset", first.dataset), ("Metric", first.metric),
               ("Baseline", f"{first.baseline_arm} (config_hash {first.baseline_config_hash})"),
               ("Seeds", "; ".join(f"{s.factor}: {', '.join(map(str, s.seeds))}" for s in studies))],
        sections=[effects, overview],
    )
