"""Response curves of numeric one-factor studies, and the policy-strength study's measurements."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from augstudy.ablation.designs.response import export_response, numeric_levels, response_analysis, response_markdown
from augstudy.ablation.storage.schema import StudyPaths
from augstudy.ablation.spec.study_spec import Arm
from augstudy.ablation.designs.strength import STRENGTH_COLUMNS, policy_strength, strength_levels
from study_helpers import noise_dataset, write_specs


def _arms(factor: str, levels: list[str], baseline: str) -> list[Arm]:
    return [Arm(f"{factor}={lv}", factor, lv, lv == baseline, {}, f"h{k}") for k, lv in enumerate(levels)]


def _records(arms: list[Arm], values: np.ndarray) -> list[dict]:
    """``values[seed, level]`` fractions, every run done."""
    return [{"arm": a.name, "seed": s, "status": "done", "metric": float(values[s, k])}
            for s in range(values.shape[0]) for k, a in enumerate(arms)]


def test_best_at_the_edge_warns_and_renders_in_effects_md_and_the_report(tmp_path):
    rng = np.random.default_rng(0)
    arms = _arms("weight_decay", ["1e-3", "1e-4", "3e-4"], "1e-4")   # file order is not level order
    true = np.array([0.60, 0.50, 0.55])                             # best at the top of the range
    values = true + rng.normal(0, 0.005, size=(6, 3))
    analysis = response_analysis(arms, _records(arms, values))
    assert analysis["levels"] == [1e-4, 3e-4, 1e-3] and analysis["level_names"] == ["1e-4", "3e-4", "1e-3"]
    assert analysis["log_axis"] and analysis["best_name"] == "1e-3" and analysis["best_share"][2] > 0.95
    assert analysis["edge_warning"].startswith("extend the range above 1e-4..1e-3: 1e-3 is above its neighbour 3e-4")
    assert analysis["means"][0] == pytest.approx(100 * values[:, 1].mean())
    assert all(lo < m < hi for lo, m, hi in zip(analysis["ci_low"], analysis["means"], analysis["ci_high"]))
    md = response_markdown(analysis, "last3")
    assert "**Warning:** extend the range" in md and "| 1e-4 (baseline) |" in md and "**best**" in md
    # the report draws it from response.json
    files, section_md, exported = export_response(StudyPaths(tmp_path), arms, _records(arms, values), "last3")
    assert json.loads(files["response_json"].read_text())["best_name"] == "1e-3" and section_md == md
    from augstudy.ablation.designs.response import DESIGN, response_plot

    assert response_plot(analysis)[:8] == b"\x89PNG\r\n\x1a\n"
    read_back = DESIGN.read(tmp_path)
    assert read_back == exported and read_back["metric"] == "last3"
    section = DESIGN.report_section(None, read_back)
    assert section is not None and any(p.startswith("Warning: extend the range") for p in section.paragraphs)
    assert [r[0] for r in section.tables[0].rows] == ["1e-4 (baseline)", "3e-4", "1e-3"]


def test_best_inside_the_range_does_not_warn_and_zero_keeps_a_log_axis():
    rng = np.random.default_rng(1)
    arms = _arms("weight_decay", ["0", "5e-5", "5e-4", "5e-3"], "5e-4")
    values = np.array([0.50, 0.52, 0.56, 0.51]) + rng.normal(0, 0.005, size=(5, 4))
    analysis = response_analysis(arms, _records(arms, values))
    assert analysis["best_name"] == "5e-4" and analysis["edge_warning"] is None
    assert analysis["log_axis"]          # 5e-5, 5e-4, 5e-3 are geometric; 0 is drawn one step left
    assert sum(analysis["best_share"]) == pytest.approx(1.0)


def test_unsure_best_level_has_split_shares():
    rng = np.random.default_rng(2)
    arms = _arms("dropout", ["0", "0.1", "0.3", "0.5"], "0.3")
    values = 0.5 + rng.normal(0, 0.01, size=(4, 4))            # no true differences
    analysis = response_analysis(arms, _records(arms, values))
    assert max(analysis["best_share"]) < 0.9 and not analysis["log_axis"]
    assert "overstates certainty" in analysis["sentence"]          # 4 seeds: the share is flagged


def test_best_share_over_many_seeds_is_not_flagged():
    rng = np.random.default_rng(3)
    arms = _arms("dropout", ["0", "0.1", "0.3"], "0.3")
    values = np.array([0.50, 0.55, 0.52]) + rng.normal(0, 0.005, size=(12, 3))
    analysis = response_analysis(arms, _records(arms, values))
    assert analysis["best_name"] == "0.1" and "overstates" not in analysis["sentence"]


def test_only_numeric_one_factor_studies_have_a_curve():
    assert numeric_levels(_arms("crop", ["none", "baseline", "strong"], "baseline")) is None
    assert numeric_levels(_arms("lr", ["0.01", "0.05", "0.2"], "0.05")) == [0.01, 0.05, 0.2]
    from augstudy.ablation.designs.response import curve_arms

    assert curve_arms(_arms("crop", ["none", "baseline", "strong"], "baseline")) == ([], None)
    named_base = _arms("randaugment_magnitude", ["off", "5", "9", "15"], "off")   # only the baseline is a name
    covered, note = curve_arms(named_base)
    assert [a.level for a in covered] == ["5", "9", "15"] and "'off' is not a number" in note
    rng = np.random.default_rng(3)
    analysis = response_analysis(named_base, _records(named_base, 0.5 + rng.normal(0, 0.01, size=(4, 4))))
    assert analysis["levels"] == [5.0, 9.0, 15.0] and "left out of the curve" in analysis["sentence"]
    assert curve_arms(_arms("m", ["off", "5"], "off")) == ([], None)     # one numeric level is no curve
    cells = [Arm("a=1,b=2", "a-by-b", "1,2", True, {}, "h", extra={"cell": ("a", "1", "b", "2")})]
    assert numeric_levels(cells * 2) is None


def test_policy_strength_of_resolved_policies():
    from augstudy.ablation.spec.study_spec import resolve_study_arms

    assert policy_strength({"name": "final@0.25"}) == 0.25 and policy_strength({"name": "final"}) == 1.0
    strengths = strength_levels(resolve_study_arms("policy_strength", "smoke"))
    assert sorted(strengths.values()) == [0, 0.25, 0.5, 1, 1.5, 2, 3]
    assert strength_levels(resolve_study_arms("dropout", "smoke")) is None   # one policy, one strength


@pytest.mark.usefixtures("one_torch_thread")
def test_tiny_strength_study_reports_accuracy_affinity_diversity_and_pixel_shift(tmp_path):
    from augstudy.ablation.runner import run_study

    factor = {"baseline_level": 1, "levels": {0: {"augment": {"policy": "final", "strength": 0}},
                                              1: {"augment": {"policy": "final"}},
                                              3: {"augment": {"policy": "final", "strength": 3}}}}
    specs = write_specs(tmp_path / "specs", {"strength": factor},
                        budgets={"tiny": {"train": {"epochs": 1, "batch_size": 8},
                                          "data": {"train_subset": None, "val_subset": None}}})
    out = tmp_path / "study"
    lines: list[str] = []
    result = run_study("strength", seeds=1, budget="tiny", dataset=noise_dataset(16, 16), device="cpu", out=out,
                       specs_dir=specs, report=True, echo=lines.append)
    assert result.complete
    with open(out / "strength.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(STRENGTH_COLUMNS) and [r["strength"] for r in rows] == ["0", "1", "3"]
    zero, _, three = rows
    # strength 0 is the identity policy: the clean model sees the clean images
    assert float(zero["affinity"]) == 1.0 and float(zero["ssim"]) == pytest.approx(1.0)
    assert float(zero["diversity"]) == 1.0 and float(zero["mean_shift"]) == 0.0
    assert float(three["ssim"]) < 0.9 and three["affinity"] != "" and three["diversity"] != ""
    assert all(r["metric_mean"] != "" for r in rows)
    summary = json.loads((out / "strength.json").read_text())
    assert summary["clean_model"].startswith("strength=0 seed 0")
    assert any(line.startswith("policy strength: accuracy next to affinity") for line in lines)
    report = (out / "report.md").read_text()
    assert "## Policy strength: accuracy, affinity, diversity" in report and "## Response curve: strength" in report
    assert "## Response curve: last3 against strength" in (out / "effects.md").read_text()


def test_too_much_augmentation_is_the_first_strength_clearly_below_the_unaugmented_level():
    from augstudy.ablation.designs.strength import strength_plot, too_much_sentence

    rows = [{"strength": s, "metric_mean": m, "ci_low": m - 1.5, "ci_high": m + 1.5, "affinity": a}
            for s, m, a in ((0, 50, 1.0), (0.5, 55, 0.9), (1, 56, 0.8), (2, 49.5, 0.6), (3, 40, 0.3))]
    text = too_much_sentence({"rows": rows})
    # s = 2 is under 50 but its interval reaches 51: not "clearly" below; s = 3 is
    assert text.startswith("Accuracy peaks at s = 1 (56.00 pts); from s = 3 on (40.00 pts)")
    rows[-1]["ci_high"] = 51.0
    assert "no strength tried falls clearly below" in too_much_sentence({"rows": rows})
    assert strength_plot({"rows": rows, "n_images": 8, "draw_seed": 0})[:4] == b"\x89PNG"
