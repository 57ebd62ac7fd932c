"""The building blocks of a report: :class:`Table`, :class:`Figure`, :class:`Section` and the cell classes.

Plain data, no heavy import: the report assembler (:mod:`augstudy.report.content`) and every
study design's report section (:mod:`augstudy.ablation.designs`) build sections from these;
``html.py`` and ``markdown.py`` lay them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from augstudy.ablation.terms import Verdict


if TYPE_CHECKING:  # pragma: no cover
    from augstudy.report.findings import Finding

# Cell classes: the renderers map them to colours (HTML) or markers (Markdown).
BETTER, WORSE, NOISE, BASELINE = "better", "worse", "noise", "baseline"


def verdict_cell_class(verdict: str) -> str:
    """A verdict's cell class: BETTER, WORSE, or NOISE for any other verdict."""
    return {Verdict.BETTER: BETTER, Verdict.WORSE: WORSE}.get(verdict, NOISE)


@dataclass
class Table:
    """A formatted table: ``rows`` of cell texts, ``row_classes`` one of BETTER/WORSE/NOISE/BASELINE/"" per row."""

    columns: list[str]
    rows: list[list[str]]
    row_classes: list[str] = field(default_factory=list)
    table_id: str = ""
    caption: str = ""
    #: a two-column label/value table: values are left-aligned even when numeric
    key_value: bool = False

    def verdict_index(self) -> int:
        """Position of the verdict column (shown as a badge or marker); -1 when there is none."""
        lowered = [c.lower() for c in self.columns]
        return lowered.index("verdict") if "verdict" in lowered else -1


@dataclass
class Figure:
    """A PNG figure; ``stem`` names its file in ``report_files/``."""

    stem: str
    title: str
    png: bytes
    caption: str = ""


@dataclass
class Section:
    """One report section (an entry of the table of contents)."""

    anchor: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    findings: list["Finding"] = field(default_factory=list)
    #: subsections: (heading, paragraphs, tables, figures) blocks, e.g. one per arm
    blocks: list["Section"] = field(default_factory=list)


__all__ = ["Table", "Figure", "Section", "BETTER", "WORSE", "NOISE", "BASELINE", "verdict_cell_class"]
