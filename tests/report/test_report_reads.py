"""The report reads, never decides: per-class effects, stability and the gap, and the preview arms
come from what ``augstudy ablate`` stored, decided once on the ablation side.

- a study's export writes class_effects.csv (the analysis' rows) and the report's per-class tables
  are those rows;
- no module of ``augstudy/report`` imports the statistics (checked on the source);
- a folder exported before class_effects.csv existed still reports, the same per-class effects
  (computed by the reader with the exporter's function);
- the stability table's means are arms.csv's (effects.csv's columns), which agree with the per-run
  values the reader shows;
- the report shows previews for the arms ablate draws them for (one rule, in assets).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from augstudy.ablation.storage.reader import load_study
from augstudy.report import build_report
from report_study_factory import make_study
from study_helpers import DROPOUT_FACTOR, noise_dataset, read_csv, write_specs
from test_report import parse_html

REPORT_DIR = Path(__file__).resolve().parents[2] / "augstudy" / "report"
#: modules whose import would let the report compute statistics
STATISTICS = ("augstudy.ablation.analysis.stats", "augstudy.ablation.analysis.class_effects",
              "augstudy.ablation.analysis.effects", "scipy")


def _shown_class_rows(html: Path) -> dict[tuple[str, str], list[str]]:
    """{(arm slug, class name): cells} of every most-hurt / most-helped table of the report."""
    page = parse_html(html)
    shown = {}
    for table_id, rows in page.tables.items():
        match = re.fullmatch(r"(hurt|helped)-(.+)", table_id)
        for _, cells in rows if match else ():
            shown[(match.group(2), cells[0])] = cells
    return shown


def _expected_cells(row: dict) -> list[str]:
    from augstudy.report.content import fmt_p, fmt_signed

    return [row["class_name"], fmt_signed(row["effect_mean"]),
            f"[{fmt_signed(row['ci_low'])}, {fmt_signed(row['ci_high'])}]", fmt_p(row["p_value"]),
            fmt_p(row["q_value"]), "yes" if row["significant"] == "True" else "no"]


def _slug(arm: str) -> str:
    from augstudy.report.content import _slug

    return _slug(arm)


def test_report_modules_import_no_statistics():
    offenders = []
    for path in sorted(REPORT_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            offenders += [f"{path.name}: {n}" for n in names if any(n == s or n.startswith(s + ".") for s in STATISTICS)]
    assert offenders == []
    assert len(list(REPORT_DIR.rglob("*.py"))) >= 10      # the scan saw the package


@pytest.mark.usefixtures("one_torch_thread")
def test_a_study_export_writes_class_effects_and_the_report_shows_them(tmp_path, monkeypatch):
    from augstudy.ablation.analysis import class_effects
    from augstudy.ablation.runner import run_study

    specs = write_specs(tmp_path / "specs", {"dropout": DROPOUT_FACTOR},
                        budgets={"tiny": {"train": {"epochs": 1, "batch_size": 8, "eval_batch_size": 16},
                                          "data": {"train_subset": None, "val_subset": None}}})
    out = tmp_path / "study"
    result = run_study("dropout", seeds=2, budget="tiny", dataset=noise_dataset(16, 16, classes=3), device="cpu",
                       out=out, specs_dir=specs, report=False, echo=lambda *_: None)
    assert result.complete
    written = read_csv(out / "class_effects.csv")
    runs = read_csv(out / "runs.csv")
    done = {(r["arm"], int(r["seed"])) for r in runs if r["status"] == "done"}
    metrics = [{**r, "seed": int(r["seed"])} for r in read_csv(out / "class_metrics.csv")]
    expected = class_effects.class_effect_rows(metrics, done, "dropout=0.3", ["dropout=0.3", "dropout=0"],
                                               ["0", "1", "2"])
    assert [r["arm"] for r in written] == ["dropout=0"] * 3 and [int(r["class_index"]) for r in written] == [0, 1, 2]
    for got, want in zip(written, expected):
        assert float(got["effect_mean"]) == pytest.approx(want["effect_mean"], rel=1e-5, abs=1e-9)
        assert got["significant"] == str(want["significant"])

    # the report reads the file: the statistics are not called, and every row it shows is a row of the file
    def no_statistics(*args, **kwargs):
        raise AssertionError("the report computed per-class effects")

    monkeypatch.setattr(class_effects, "class_effect_rows", no_statistics)
    _assert_report_shows_the_file(out)


def _assert_report_shows_the_file(folder: Path, at_least: int = 0) -> None:
    """Every most-hurt / most-helped row of the report is its class_effects.csv row, formatted."""
    written = read_csv(folder / "class_effects.csv")
    shown = _shown_class_rows(build_report(folder, fmt="html")["html"])
    shown = {key: cells for key, cells in shown.items() if cells != ["(none)"]}   # an empty table's placeholder
    by_key = {(_slug(r["arm"]), r["class_name"]): r for r in written}
    assert len(shown) >= at_least and set(shown) <= set(by_key)
    for key, cells in shown.items():
        assert cells == _expected_cells(by_key[key])


def test_the_per_class_section_is_class_effects_csv(tmp_path, monkeypatch):
    from augstudy.ablation.analysis import class_effects

    folder = make_study(tmp_path / "s", previews=False)
    monkeypatch.setattr(class_effects, "class_effect_rows", lambda *a, **k: pytest.fail("recomputed"))
    _assert_report_shows_the_file(folder, at_least=20)   # 3 arms x (up to 5 hurt + 5 helped)


def test_a_folder_without_class_effects_still_reports_the_same_per_class_effects(tmp_path):
    new = make_study(tmp_path / "new", previews=False)
    old = make_study(tmp_path / "old", previews=False, class_effects=False)
    assert (new / "class_effects.csv").is_file() and not (old / "class_effects.csv").exists()
    computed, stored = load_study(old).class_effects, load_study(new).class_effects
    assert len(computed) == 30 and list(computed.columns) == list(stored.columns)
    for column in ("effect_mean", "ci_low", "ci_high", "p_value", "q_value"):
        assert computed[column].to_numpy() == pytest.approx(stored[column].to_numpy(), rel=1e-5)
    assert computed["significant"].tolist() == stored["significant"].tolist()
    reports = [build_report(folder, fmt="md")["md"].read_text() for folder in (new, old)]
    sections = [text[text.index("## Per-class effects"):].split("\n## ")[0] for text in reports]
    assert "BH q" in sections[0]
    # the same text, but for a last digit: class_effects.csv holds 6 significant digits (csv_cell), so
    # -11.855 read back may show as -11.85 where the full float showed -11.86
    tokens = [re.split(r"([-+]?\d+\.\d+)", text) for text in sections]
    assert len(tokens[0]) == len(tokens[1]) > 100
    for a, b in zip(*tokens):
        assert a == b or abs(float(a) - float(b)) <= 0.011, (a, b)
    assert not (old / "class_effects.csv").exists()       # the reader writes nothing


def test_a_damaged_class_effects_file_is_one_line(tmp_path):
    from augstudy.errors import UserError

    study = make_study(tmp_path / "s", previews=False)
    lines = (study / "class_effects.csv").read_text().splitlines(keepends=True)
    (study / "class_effects.csv").write_text("".join(lines[:-3]))       # cut at a line end: rows lost
    with pytest.raises(UserError, match=r"class_effects.csv: holds 7 of the 10 class rows of augment=heavy"):
        load_study(study)
    (study / "class_effects.csv").write_text("".join(lines[:11]))       # one whole arm left
    with pytest.raises(UserError, match=r"class_effects.csv: has no row for arm augment=jitter"):
        load_study(study)


def test_stability_and_gap_are_read_from_the_stored_summary(tmp_path):
    study_dir = make_study(tmp_path / "s", previews=False)
    study = load_study(study_dir)
    arms = {r["arm"]: r for r in read_csv(study_dir / "arms.csv")}
    effects = {r["arm"]: r for r in read_csv(study_dir / "effects.csv")}
    per_seed = study.seed_summaries
    for arm, row in arms.items():   # the values agree: the stored means are the means of the per-run values
        seeds = per_seed[per_seed["arm"] == arm]
        assert float(row["stability"]) == pytest.approx(seeds["stability"].mean(), abs=1e-5)
        assert float(row["gen_gap"]) == pytest.approx(seeds["gen_gap"].mean(), abs=1e-5)
        if arm in effects:
            assert effects[arm]["stability"] == row["stability"] and effects[arm]["gen_gap"] == row["gen_gap"]
    # the table shows the stored mean: change it in arms.csv and the report follows
    text = (study_dir / "arms.csv").read_text()
    crop = arms["augment=crop"]
    (study_dir / "arms.csv").write_text(text.replace(f",{crop['stability']},", ",9.87,", 1))
    page = parse_html(build_report(study_dir, fmt="html")["html"])
    shown = {cells[0]: cells for _, cells in page.tables["stability-table"]}
    assert shown["augment=crop"][3].startswith("9.87 ± ")
    assert shown["augment=none"][3].startswith(f"{float(arms['augment=none']['stability']):.2f} ± ")


def test_the_report_shows_previews_for_the_arms_ablate_draws():
    from augstudy.ablation.execution.assets import preview_arms
    from augstudy.ablation.storage.schema import preview_arm_names
    from augstudy.ablation.spec.study_spec import Arm

    def arm(name, base=False, policy=None, mix=None):
        config = {"augment": {"policy": policy}, **({"mix": mix} if mix else {})}
        return Arm(name, "f", name, base, config, name)

    arms = [arm("base", True), arm("same"), arm("crop", policy={"ops": [{"op": "RandomCrop"}]}),
            arm("mix", mix={"mixup_alpha": 0.2})]
    specs = [{"arm": a.name, "is_baseline": a.is_baseline, "policy": a.policy, "config": a.config} for a in arms]
    assert [a.name for a in preview_arms(arms)] == preview_arm_names(specs) == ["base", "crop", "mix"]
    assert preview_arm_names(specs[:2]) == []      # nothing changes the images: no previews at all
