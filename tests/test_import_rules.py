"""The layout's import rules, checked on the source (ast), so the folder map in ARCHITECTURE.md stays true.

Data flows one way: data -> policy -> models -> preview/measure -> ablation -> report -> api/cli.  Inside
``augstudy/ablation/`` the statistics know nothing of torch or the study folder, the spec knows nothing of
how runs train, and the report reads a study's files without deciding anything.  Every import counts,
at the top of a module or inside a function; the few that go against the flow on purpose are listed in
:data:`UPWARD_ON_PURPOSE`, each with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "augstudy"
FOUNDATIONS = {"errors", "atomic", "progress", "processes", "file_slug"}
MAX_MODULE_LINES = 500


def unit_of(module: str) -> str:
    """The layout unit a dotted module belongs to: ``augstudy.ablation.analysis.stats.core`` ->
    ``ablation.analysis.stats``, ``augstudy.ablation.storage.store`` -> ``ablation.storage``,
    ``augstudy.report.html`` -> ``report``."""
    parts = module.split(".")[1:]
    if not parts:
        return "augstudy"
    if parts[0] != "ablation" or len(parts) == 1:
        return parts[0]
    if parts[1:3] == ["analysis", "stats"]:
        return "ablation.analysis.stats"
    return f"ablation.{parts[1]}"


def module_name(path: Path) -> str:
    dotted = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every ``augstudy.*`` module ``path`` imports, with its line (relative imports resolved)."""
    found = []
    here = module_name(path).split(".")
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here if is_package else here[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((module, node.lineno))
            # ``from augstudy.ablation.analysis import stats`` imports the stats unit
            found += [(f"{module}.{alias.name}", node.lineno) for alias in node.names
                      if (PACKAGE.parent / (module.replace(".", "/") + f"/{alias.name}")).is_dir()
                      or (PACKAGE.parent / (module.replace(".", "/") + f"/{alias.name}.py")).is_file()]
    return [(name, line) for name, line in found if name == "augstudy" or name.startswith("augstudy.")]


def all_edges() -> list[tuple[str, str, str]]:
    """(importing module, imported module, 'file:line') for every import between two units."""
    edges = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = module_name(path)
        for target, line in imports_of(path):
            if unit_of(source) != unit_of(target):
                edges.append((source, target, f"{path.relative_to(PACKAGE.parent)}:{line}"))
    return edges


#: unit -> the units it may import (besides the foundations, which everything may import)
MAY_IMPORT = {
    **{name: FOUNDATIONS for name in FOUNDATIONS},
    "legacy_paths": set(),
    "data": set(),
    "models": set(),
    "policy": {"data"},
    "preview": {"data", "policy", "models"},
    "measure": {"data", "policy", "models"},
    # the statistics: numpy + scipy on plain arrays, nothing of a study
    "ablation.analysis.stats": set(),
    "ablation.spec": {"data", "policy", "models"},
    "ablation.storage": {"data", "policy", "models", "ablation.spec", "ablation.analysis", "ablation.analysis.stats",
                         "ablation.designs"},
    "ablation.analysis": {"ablation.analysis.stats", "ablation.storage", "ablation.spec"},
    "ablation.execution": {"data", "policy", "models", "preview", "ablation.spec", "ablation.storage",
                           "ablation.analysis", "ablation.analysis.stats"},
    "ablation.designs": {"data", "policy", "models", "measure", "preview", "ablation.spec", "ablation.storage",
                         "ablation.analysis", "ablation.analysis.stats", "ablation.execution"},
    "ablation.plan": {"ablation.analysis", "ablation.analysis.stats", "ablation.storage"},
    "ablation.runner": {"data", "policy", "models", "ablation.spec", "ablation.storage", "ablation.analysis",
                        "ablation.execution", "ablation.designs"},
    "ablation": set(),
    # the effect table's terms (Verdict, POINTS, the rank rule): standard library, imported by every reader
    "ablation.terms": set(),
    # the report reads a study folder: never the trainer, the spec resolution or the statistics
    "report": {"policy", "ablation.storage", "ablation.analysis", "ablation.designs"},
    # (ablation.execution: augstudy.preview(mixup=/cutmix=) draws the ablation's mix preview, execution/mix_preview.py)
    "api": {"data", "policy", "models", "preview", "measure", "ablation", "ablation.spec", "ablation.storage",
            "ablation.analysis", "ablation.execution", "ablation.plan", "ablation.runner", "report"},
}

# Everyone who writes or reads an effect table speaks its terms.
for _unit in MAY_IMPORT:
    if _unit.startswith("ablation.") and _unit != "ablation.terms" or _unit in ("report", "api"):
        MAY_IMPORT[_unit] = MAY_IMPORT[_unit] | {"ablation.terms"}

#: (importing unit, imported unit): why this one import goes against the flow
UPWARD_ON_PURPOSE = {
    ("ablation.runner", "report"): "run_study(report=True) ends by building the report (imported in the function)",
    ("ablation.designs", "report"): "a design's report section draws with the report's figure helpers",
    ("ablation.storage", "report"): "Study.report(), the API's shortcut from a loaded study to its report",
}


def violations(edges: list[tuple[str, str, str]]) -> list[str]:
    """The edges that break :data:`MAY_IMPORT` (and are not in :data:`UPWARD_ON_PURPOSE`), one line each."""
    broken = []
    for source, target, where in edges:
        src, dst = unit_of(source), unit_of(target)
        if src in ("cli", "augstudy", "__main__") or (dst in FOUNDATIONS and src not in FOUNDATIONS):
            continue   # the CLI sits on top of everything; everything may use the foundations
        if (src, dst) in UPWARD_ON_PURPOSE or dst == "augstudy":
            continue   # ``from augstudy import __version__``
        if src not in MAY_IMPORT:
            broken.append(f"{where}: {src} has no import rule (add it to MAY_IMPORT and ARCHITECTURE.md)")
        elif dst not in MAY_IMPORT[src]:
            broken.append(f"{where}: {source} imports {target} ({src} -> {dst})")
    return broken


def test_every_import_follows_the_layout():
    broken = violations(all_edges())
    assert not broken, "imports against the layout (ARCHITECTURE.md 'Where things are'):\n" + "\n".join(broken)


def test_no_module_uses_the_old_ablate_paths():
    """``augstudy.ablate.<module>`` resolves through augstudy/legacy_paths.py for old user code only."""
    offenders = [where for source, target, where in all_edges() if target.startswith("augstudy.ablate.")
                 or target == "augstudy.ablate"]
    assert not offenders, offenders


def test_statistics_import_no_torch_and_the_report_no_trainer():
    heavy = []
    for path in (PACKAGE / "ablation" / "analysis" / "stats").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            heavy += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("torch", "pandas", "matplotlib")]
    assert not heavy, heavy


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= MAX_MODULE_LINES, f"{path}: split it by concern"


def test_the_checker_sees_a_violation(tmp_path):
    """A statistics module importing the store, or a data module importing the report, is refused; the
    relative-import resolution finds the same module an absolute import names."""
    edges = [("augstudy.ablation.analysis.stats.core", "augstudy.ablation.storage.schema", "core.py:1"),
             ("augstudy.data.cache", "augstudy.report.html", "cache.py:2"),
             ("augstudy.report.content", "augstudy.ablation.analysis.stats.core", "content.py:3"),
             ("augstudy.ablation.storage.exporter", "augstudy.ablation.analysis.effects", "exporter.py:4")]
    assert [line.split(":")[0] for line in violations(edges)] == ["core.py", "cache.py", "content.py"]
    fake = PACKAGE / "ablation" / "analysis" / "stats" / "_probe_for_import_rules.py"
    try:
        fake.write_text("from ..effects import x\nfrom . import core\nimport augstudy.ablation.storage.store\n")
        assert [name for name, _ in imports_of(fake)] == [
            "augstudy.ablation.analysis.effects", "augstudy.ablation.analysis.stats",
            "augstudy.ablation.analysis.stats.core", "augstudy.ablation.storage.store"]
    finally:
        fake.unlink()
