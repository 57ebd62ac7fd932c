"""Lay a :class:`~augstudy.report.content.ReportContent` out as Markdown.

Images are separate PNG files linked relative to the Markdown file
(``<stem>_files/<figure>.png``, i.e. ``report_files/`` for ``report.md``); the
caller writes them.  Markdown has no colours, so significance is a text marker
in the verdict column (``▲ better``, ``▼ worse``, ``· `` any other verdict).
"""

from __future__ import annotations

from augstudy.report.content import BETTER, NOISE, WORSE, Figure, ReportContent, Section, Table
from augstudy.report.findings import Finding

_MARKERS = {BETTER: "▲ ", WORSE: "▼ ", NOISE: "· "}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_table(table: Table) -> str:
    lines = []
    if table.caption:
        lines += [f"*{_cell(table.caption)}*", ""]
    lines.append("| " + " | ".join(_cell(c) for c in table.columns) + " |")
    lines.append("|" + "|".join("---" for _ in table.columns) + "|")
    verdict_col = table.verdict_index()
    for i, row in enumerate(table.rows):
        cls = table.row_classes[i] if i < len(table.row_classes) else ""
        cells = [(_MARKERS.get(cls, "") + c) if j == verdict_col else c for j, c in enumerate(row)]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    if not table.rows:
        lines.append("| (none) |" + " |" * (len(table.columns) - 1))
    return "\n".join(lines)


def figure_filename(fig: Figure) -> str:
    return f"{fig.stem}.png"


def render_figure(fig: Figure, files_dir: str) -> str:
    caption = f"\n\n*{fig.caption}*" if fig.caption else ""
    return f"![{fig.title}]({files_dir}/{figure_filename(fig)}){caption}"


def render_findings(findings: list[Finding]) -> str:
    return "\n".join(f"- **{f.kind}**: {f.message}" for f in findings)


def _body(section: Section, level: int, files_dir: str) -> list[str]:
    out = list(section.paragraphs)
    if section.findings:
        out.append(render_findings(section.findings))
    out.extend(render_table(t) for t in section.tables)
    out.extend(render_figure(f, files_dir) for f in section.figures)
    for block in section.blocks:
        out.append(f"{'#' * (level + 1)} {block.title}")
        out.extend(_body(block, level + 1, files_dir))
    return out


def render_markdown(content: ReportContent, files_dir: str = "report_files") -> str:
    """The Markdown document; figure links point into ``files_dir`` (relative to the .md file)."""
    parts = [f"# {content.title}", f"`{content.subtitle}`"]
    if content.notice:
        parts.append(f"> **{content.notice[0].upper() + content.notice[1:]}**")
    toc = [("overview", "Overview")] + [(s.anchor, s.title) for s in content.sections]
    parts.append("**Contents:** " + " · ".join(f"[{t}](#{a})" for a, t in toc))
    parts.append('<a id="overview"></a>\n\n## Overview')
    parts.append("\n".join(f"- **{k}:** {v}" for k, v in content.facts))
    for section in content.sections:
        parts.append(f'<a id="{section.anchor}"></a>\n\n## {section.title}')
        parts.extend(_body(section, 2, files_dir))
    return "\n\n".join(parts) + "\n"
