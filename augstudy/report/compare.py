"""Several studies on one ranked table and one forest plot, when they share a baseline.

Studies are comparable only when their baselines are the same configuration
(``config_hash`` of the baseline arm in study.json) on the same dataset with the
same metric; otherwise :func:`check_comparable` refuses with one line naming the
differing field.
"""

from __future__ import annotations

import pandas as pd

from augstudy.errors import UserError
from augstudy.report import figures
from augstudy.report.content import Figure, ReportContent, Section, Table, effect_table, noise_floor_facts
from augstudy.report.load import Study


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


def combined_effects(studies: list[Study]) -> pd.DataFrame:
    """All studies' effects.csv rows, relabelled ``<factor>: <arm>`` when arm names collide,
    re-ranked by effect across studies (column ``label``; ``study`` = directory)."""
    frames = []
    for study in studies:
        if not len(study.effects):
            continue
        frame = study.effects.copy()
        frame["study"] = str(study.path)
        frame["label"] = frame["arm"]
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["arm", "label", "study", "effect_mean", "ci_low", "ci_high"])
    data = pd.concat(frames, ignore_index=True)
    if data["label"].duplicated(keep=False).any():
        data["label"] = [f"{s}: {a}" for s, a in zip(data["study"], data["arm"])]
    order = data["effect_mean"].astype(float).rank(ascending=False, method="first")
    data["rank"] = order.where(data["effect_mean"].notna()).astype("Int64")
    return data


def compare_content(studies: list[Study]) -> ReportContent:
    """The comparison report: studies overview, one ranked table, one forest plot."""
    check_comparable(studies)
    first = studies[0]
    data = combined_effects(studies)
    arms_for_palette = list(data["label"])
    palette = figures.arm_palette(arms_for_palette)

    overview = Section("studies", "Studies")
    rows = []
    for study in studies:
        rows.append([str(study.path), study.factor, str(len(study.effects)),
                     f"{study.finished_runs} of {study.expected_runs}", study.progress_notice() or "complete"])
    overview.tables.append(Table(["Study", "Factor", "Arms with effects", "Runs finished", "Status"], rows,
                                 table_id="studies-table"))
    for study in studies:
        facts = noise_floor_facts(study)
        if facts:
            overview.tables.append(Table(["Noise floor", "Value"], [list(f) for f in facts], key_value=True,
                                         caption=f"{study.factor} ({study.path})"))

    effects = Section("effects", "Ranked effects across studies")
    effects.paragraphs.append(
        f"Every arm of every study vs the shared baseline {first.baseline_arm} (config {first.baseline_config_hash}), "
        f"in accuracy points of {first.metric}. Each study measured its own baseline runs; ranks are across studies.")
    effects.tables.append(effect_table(data.drop(columns=["arm"]).rename(columns={"label": "arm"}),
                                       first.arms, first.baseline_arm))
    if len(data):
        plot_data = data.drop(columns=["arm"]).rename(columns={"label": "arm"})
        effects.figures.append(Figure("compare_forest", "Forest plot across studies", figures.forest_plot(
            plot_data, palette, metric=first.metric, title="Effects across studies (filled = significant)"),
            "One row per arm of every study, with its 95% interval; the vertical line is no effect."))

    factors = ", ".join(s.factor for s in studies)
    return ReportContent(
        title=f"Comparison: {factors} on {first.dataset}",
        subtitle=" + ".join(str(s.path) for s in studies),
        notice=None if all(s.is_complete for s in studies) else "some studies are unfinished; their effects are provisional",
        facts=[("Studies", str(len(studies))), ("Dataset", first.dataset), ("Metric", first.metric),
               ("Baseline", f"{first.baseline_arm} (config_hash {first.baseline_config_hash})"),
               ("Seeds", "; ".join(f"{s.factor}: {', '.join(map(str, s.seeds))}" for s in studies))],
        sections=[effects, overview],
    )
