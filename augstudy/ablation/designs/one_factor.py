"""The one-factor design (the default, ``augstudy ablate FACTOR``): every level of one factor (or of every
factor, ``all``) against the baseline, on paired seeds.

Its arms come from :func:`augstudy.ablation.spec.study_spec.resolve_study_arms`.  Its files are the core
files every study has (``effects.csv``, ``effects.md``, ``arms.csv``, ... named in
:mod:`augstudy.ablation.storage.schema`, written by :mod:`augstudy.ablation.storage.exporter`), and its
report sections are the report's own (effects, curves, stability, per-class, previews): it adds
no file, summary line or section of its own.  A numeric factor's response curve and a policy-strength
study's measurements are designs of their own (:mod:`.response`, :mod:`.strength`) that apply on top
of these arms.
"""

from __future__ import annotations

from pathlib import Path

from augstudy.ablation.designs.base import DesignExport, DesignFiles, ExportContext, StudyDesign
from augstudy.ablation.designs.factorial import is_factorial
from augstudy.ablation.spec.study_spec import Arm, resolve_study_arms


class OneFactorDesign(StudyDesign):
    """``augstudy ablate FACTOR``: plans every invocation without ``--by``."""

    name = "one_factor"
    files = DesignFiles()   # the core files of every study: augstudy.ablation.storage.schema

    def resolve_arms(self, factor: str, by: str | None, budget: str | None, specs_dir=None,
                     budget_override: dict | None = None) -> tuple[str, list[Arm]] | None:
        if by is not None:
            return None
        return factor, resolve_study_arms(factor, budget, specs_dir, budget_override)

    def applies(self, arms: list[Arm]) -> bool:
        return not is_factorial(arms)

    def export(self, ctx: ExportContext) -> DesignExport:
        return DesignExport()   # effects.csv, effects.md, arms.csv: the exporter's core files

    def export_final(self, ctx: ExportContext) -> DesignExport:
        return DesignExport()

    def read(self, study_dir: Path) -> None:
        return None             # the reader loads the core files itself

    def summary(self, data) -> None:
        return None             # the runner prints the effect table of every study

    def report_section(self, study, data) -> None:
        return None


DESIGN = OneFactorDesign()

__all__ = ["OneFactorDesign", "DESIGN"]
