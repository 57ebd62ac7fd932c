"""The study-design registry: every design states every hook, file names have one owner, and the exporter,
the terminal, the reader and the report reach a design only through ``DESIGNS`` (a design registered
here, in a test, gets its export, final export, read-back, summary and report section called)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import augstudy
from augstudy.ablation.designs import DESIGNS, DesignExport, DesignFiles, StudyDesign
from augstudy.ablation.designs.base import DesignRegistry
from augstudy.ablation.spec.study_spec import Arm, resolve_study_arms
from augstudy.ablation.storage.schema import CORE_FILE_NAMES, StudyPaths
from augstudy.atomic import atomic_write_json, read_json_file
from augstudy.report.blocks import Section
from study_helpers import noise_dataset, write_specs

PACKAGE = Path(augstudy.__file__).resolve().parent
HOOKS = ("resolve_arms", "applies", "export", "export_final", "read", "summary", "report_section")


def _arms(factor: str, levels: list[str], baseline: str) -> list[Arm]:
    return [Arm(f"{factor}={lv}", factor, lv, lv == baseline, {}, f"h{k}") for k, lv in enumerate(levels)]


def test_every_design_states_every_hook_and_a_unique_name():
    assert DESIGNS.names() == ["one_factor", "factorial", "response", "strength"]   # summary / section order
    for design in DESIGNS:
        assert isinstance(design, StudyDesign) and isinstance(design.files, DesignFiles)
        assert not type(design).__abstractmethods__, design.name
        for hook in HOOKS:   # stated by the design itself, not inherited
            assert hook in vars(type(design)) and callable(getattr(design, hook)), (design.name, hook)


def test_which_designs_apply_follows_the_arms():
    named = _arms("crop", ["none", "baseline", "strong"], "baseline")
    numeric = _arms("lr", ["0.01", "0.05", "0.2"], "0.05")
    cells = [Arm(f"a={i},b={j}", "a-by-b", f"{i},{j}", i == j == 0, {}, f"h{i}{j}",
                 extra={"cell": ("a", str(i), "b", str(j))}) for i in range(2) for j in range(2)]
    strengths = resolve_study_arms("policy_strength", "smoke")

    def names(arms):
        return [d.name for d in DESIGNS.applying(arms)]

    assert names(named) == ["one_factor"]
    assert names(numeric) == ["one_factor", "response"]
    assert names(cells) == ["factorial"]
    assert names(strengths) == ["one_factor", "response", "strength"]


def test_the_planning_design_names_the_study_and_resolves_its_arms(tmp_path):
    specs = write_specs(tmp_path, {"a": {"baseline_level": 0.3, "levels": {0.3: {"model": {"dropout": 0.3}},
                                                                            0: {"model": {"dropout": 0.0}}}},
                                   "b": {"baseline_level": "on", "levels": {"on": {"optimizer": {"weight_decay": 5e-4}},
                                                                            "off": {"optimizer": {"weight_decay": 0}}}}})
    name, arms = DESIGNS.resolve_arms("a", None, "tiny", specs)
    assert name == "a" and [a.name for a in arms] == ["a=0.3", "a=0"]
    name, arms = DESIGNS.resolve_arms("a", "b", "tiny", specs)
    assert name == "a-by-b" and len(arms) == 4 and all("cell" in a.extra for a in arms)


def test_file_names_have_one_owner():
    names = DESIGNS.file_names()
    assert len(names) == len(set(names)) and not set(names) & set(CORE_FILE_NAMES)
    assert {"cells.csv", "interaction.json", "response.json", "strength.csv", "strength.json"} <= set(names)
    # a design's file name is spelled once, in its own module: no other module of augstudy spells it
    owner = {name: Path(type(d).__module__.replace(".", "/") + ".py").name for d in DESIGNS for name in d.files.values()}
    for path in PACKAGE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for name, module in owner.items():
            if f'"{name}"' in text or f"'{name}'" in text:
                assert path.name == module and path.parent.name == "designs", (name, path)
    # a study folder's checks see every design's files through the registry
    registry = DesignRegistry(tuple(DESIGNS))
    with pytest.raises(ValueError, match="cells.csv is already claimed by study design 'factorial'"):
        registry.register(_FakeDesign(DesignFiles(mine="cells.csv")))
    with pytest.raises(ValueError, match="effects.csv is already claimed by the core files of every study"):
        registry.register(_FakeDesign(DesignFiles(mine="effects.csv")))
    with pytest.raises(ValueError, match="needs a name no other design has"):
        registry.register(_FakeDesign(DesignFiles(), name="factorial"))


def test_the_report_assembler_and_the_ablation_machinery_import_no_design_module():
    """content.py reaches the designs only through the registry (no design module, no lazy import of
    one); augstudy/ablation outside designs/ imports the report nowhere but the runner's one lazy call."""
    def imports(path: Path) -> list[tuple[str, ast.AST]]:
        out = []
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                out += [(node.module, node)] + [(f"{node.module}.{a.name}", node) for a in node.names]
            elif isinstance(node, ast.Import):
                out += [(a.name, node) for a in node.names]
        return out

    for module, _ in imports(PACKAGE / "report" / "content.py"):
        assert not module.startswith("augstudy.ablation.designs.") or module in (
            "augstudy.ablation.designs.DESIGNS", "augstudy.ablation.designs.StudyDesign"), module
    report_users = []
    for path in (PACKAGE / "ablation").rglob("*.py"):
        if "designs" in path.relative_to(PACKAGE / "ablation").parts:
            continue
        report_users += [(path.name, m) for m, _ in imports(path) if m == "augstudy.report" or
                         m.startswith("augstudy.report.")]
    # the runner's lazy build_report call, and Study.report() (the API's shortcut from a loaded study)
    allowed = {("runner.py", "augstudy.report"), ("runner.py", "augstudy.report.build_report"),
               ("reader.py", "augstudy.report"), ("reader.py", "augstudy.report.build_report")}
    assert set(report_users) <= allowed and ("runner.py", "augstudy.report.build_report") in report_users


# ----------------------------------------------------------------------------- a design registered in a test
class _FakeDesign(StudyDesign):
    """Writes ``fake.json`` (how many records it got), adds to effects.md, and marks each hook it ran."""

    def __init__(self, files: DesignFiles | None = None, name: str = "fake"):
        self.name = name
        self.files = DesignFiles(fake_json="fake.json") if files is None else files
        self.calls: list[str] = []

    def resolve_arms(self, factor, by, budget, specs_dir=None, budget_override=None):
        return None

    def applies(self, arms):
        return True

    def export(self, ctx):
        self.calls.append("export")
        data = {"n_records": len(ctx.records), "metric": ctx.metric, "written_by": "export"}
        path = atomic_write_json(self.files.path(ctx.paths.root, "fake_json"), data)
        return DesignExport({"fake_json": path}, data, "\n## Fake design\n")

    def export_final(self, ctx):
        self.calls.append("export_final")
        assert ctx.dataset is not None and ctx.device is not None
        return DesignExport({}, {**ctx.data[self.name], "final": True})

    def read(self, study_dir):
        self.calls.append("read")
        return read_json_file(self.files.path(study_dir, "fake_json"))

    def summary(self, data):
        self.calls.append("summary")
        return f"fake summary: {data['n_records']} records, final={data.get('final')}"

    def report_section(self, study, data):
        self.calls.append("report_section")
        return Section("fake", "Fake design", paragraphs=[f"fake section from {data['written_by']}: "
                                                          f"{data['n_records']} records of {study.factor}"])


@pytest.mark.usefixtures("one_torch_thread")
def test_a_registered_design_is_exported_summarized_read_and_reported(tmp_path):
    from augstudy.ablation.runner import run_study
    from augstudy.ablation.storage.reader import load_study

    specs = write_specs(tmp_path / "specs", {"drop": {"baseline_level": "on",
                                                      "levels": {"on": {"model": {"dropout": 0.3}},
                                                                 "off": {"model": {"dropout": 0.0}}}}},
                        budgets={"tiny": {"train": {"epochs": 1, "batch_size": 8},
                                          "data": {"train_subset": None, "val_subset": None}}})
    fake = DESIGNS.register(_FakeDesign())
    try:
        out = tmp_path / "study"
        lines: list[str] = []
        result = run_study("drop", seeds=1, budget="tiny", dataset=noise_dataset(16, 16), device="cpu", out=out,
                           specs_dir=specs, report=True, echo=lines.append)
        assert result.complete
        # exporter: its file, listed, and its section of effects.md; no design that does not apply wrote
        assert json.loads((out / "fake.json").read_text())["n_records"] == 2
        assert result.files["fake_json"] == out / "fake.json"
        assert (out / "effects.md").read_text().endswith("\n## Fake design\n")
        assert not (out / "cells.csv").exists() and not (out / "response.json").exists()
        # terminal: its summary after the effect table, before the files
        summary = lines.index("fake summary: 2 records, final=True")
        assert lines.index(result.table) < summary < lines.index("files:")
        # reader and report: read back from the folder, drawn in the report
        assert "## Fake design" in (out / "report.md").read_text()
        assert "fake section from export: 2 records of drop" in (out / "report.md").read_text()
        assert load_study(out).designs["fake"] == {"n_records": 2, "metric": "last3", "written_by": "export"}
        assert out / "fake.json" in StudyPaths(out).marker_files(DESIGNS.file_names())
        assert StudyPaths(out).owns(out / "fake.json", DESIGNS.file_names())
        assert fake.calls.count("export_final") == 1 and fake.calls.count("summary") == 1
        assert {"export", "read", "report_section"} <= set(fake.calls)
    finally:
        DESIGNS.unregister("fake")
    assert DESIGNS.names() == ["one_factor", "factorial", "response", "strength"]
