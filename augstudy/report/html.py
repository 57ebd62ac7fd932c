"""Lay a :class:`~augstudy.report.content.ReportContent` out as ONE self-contained HTML file.

Every image is a base64 ``data:image/png`` URI, the CSS is inline, there is no
JavaScript and no external resource (no CDN, no web font: a system font stack),
so the file reads the same offline, attached to an e-mail or years later.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import re

from augstudy import __version__
from augstudy.report.content import BASELINE, BETTER, NOISE, WORSE, Figure, ReportContent, Section, Table
from augstudy.report.findings import Finding

_NUMERIC = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+|inf)([eE][+-]?\d+)?$")

CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --soft:#f6f8fa;
        --green:#1a7f37; --green-bg:#dafbe1; --red:#cf222e; --red-bg:#ffebe9;
        --grey:#6e7781; --grey-bg:#f3f4f6; --blue-bg:#ddf4ff; --amber-bg:#fff8c5; --amber:#9a6700; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
       font: 15px/1.55 -apple-system, "Segoe UI", "Helvetica Neue", Helvetica, Arial, "Liberation Sans",
             "DejaVu Sans", sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 60px; }
h1 { font-size: 26px; margin: 0 0 4px; letter-spacing: -0.01em; }
h2 { font-size: 20px; margin: 40px 0 12px; padding-bottom: 6px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 24px 0 8px; }
p { margin: 8px 0; max-width: 880px; }
.subtitle { color: var(--muted); margin: 0 0 16px; font-family: ui-monospace, "DejaVu Sans Mono", monospace;
            font-size: 13px; }
.notice { background: var(--amber-bg); border: 1px solid #d4a72c; color: #4d2d00; border-radius: 6px;
          padding: 10px 14px; margin: 14px 0; font-weight: 600; }
nav.toc { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 10px 18px;
          margin: 18px 0; display: inline-block; min-width: 320px; }
nav.toc h2 { font-size: 14px; text-transform: uppercase; letter-spacing: 0.06em; color: var(--muted);
             border: 0; margin: 4px 0 6px; padding: 0; }
nav.toc ol { margin: 0; padding-left: 22px; columns: 2; column-gap: 36px; }
nav.toc a { color: #0969da; text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
table { border-collapse: collapse; margin: 10px 0 6px; font-size: 13.5px; }
caption { caption-side: top; text-align: left; color: var(--muted); font-size: 13px; padding: 0 0 6px; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
th { background: var(--soft); font-weight: 600; border-bottom: 2px solid var(--line); white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums;
         font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 13px; }
tr.better td { background: var(--green-bg); }
tr.better td:first-child { box-shadow: inset 4px 0 0 var(--green); }
tr.worse td { background: var(--red-bg); }
tr.worse td:first-child { box-shadow: inset 4px 0 0 var(--red); }
tr.noise td { background: var(--grey-bg); color: #424a53; }
tr.noise td:first-child { box-shadow: inset 4px 0 0 #afb8c1; }
tr.baseline td { background: var(--blue-bg); font-style: italic; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         white-space: nowrap; }
.badge.better { background: var(--green); color: #fff; }
.badge.worse { background: var(--red); color: #fff; }
.badge.noise { background: #afb8c1; color: #1f2328; }
.badge.baseline { background: #54aeff; color: #fff; }
figure { margin: 14px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
figure.preview img { max-width: 560px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; max-width: 880px; }
ul.findings { list-style: none; padding: 0; margin: 8px 0; }
ul.findings li { padding: 6px 10px; margin: 4px 0; border-left: 4px solid #afb8c1; background: var(--grey-bg);
                 border-radius: 0 4px 4px 0; }
ul.findings li.diverged, ul.findings li.failed { border-left-color: var(--red); background: var(--red-bg); }
ul.findings li.progress, ul.findings li.grayscale-noop, ul.findings li.data-check {
  border-left-color: #d4a72c; background: var(--amber-bg); }
.tag { font-size: 11px; text-transform: uppercase; letter-spacing: 0.05em; color: var(--muted);
       font-weight: 700; margin-right: 8px; }
.block { margin-left: 0; }
.pair { display: flex; flex-wrap: wrap; gap: 0 28px; }
footer { margin-top: 48px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line);
         padding-top: 10px; }
@media print { nav.toc { display: none; } h2 { break-before: auto; } figure { break-inside: avoid; } }
"""


def data_uri(png: bytes) -> str:
    """``data:image/png;base64,...`` for PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def render_table(table: Table) -> str:
    """One ``<table>``: rows get their significance class, numeric cells are right-aligned, the
    verdict column is a badge."""
    attrs = (f' id="{_e(table.table_id)}"' if table.table_id else "") + (' class="kv"' if table.key_value else "")
    out = [f"<table{attrs}>"]
    if table.caption:
        out.append(f"<caption>{_e(table.caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{_e(c)}</th>" for c in table.columns) + "</tr></thead><tbody>")
    verdict_col = table.verdict_index()
    for i, row in enumerate(table.rows):
        cls = table.row_classes[i] if i < len(table.row_classes) else ""
        cells = []
        for j, cell in enumerate(row):
            if j == verdict_col and cls in (BETTER, WORSE, NOISE, BASELINE):
                cells.append(f'<td><span class="badge {cls}">{_e(cell)}</span></td>')
            elif not table.key_value and _NUMERIC.match(cell.strip()):
                cells.append(f'<td class="num">{_e(cell)}</td>')
            else:
                cells.append(f"<td>{_e(cell)}</td>")
        out.append(f'<tr class="{cls}">' if cls else "<tr>")
        out.append("".join(cells) + "</tr>")
    if not table.rows:
        out.append(f'<tr><td colspan="{len(table.columns)}">(none)</td></tr>')
    out.append("</tbody></table>")
    return "\n".join(out)


def render_figure(fig: Figure) -> str:
    caption = f"<figcaption>{_e(fig.caption)}</figcaption>" if fig.caption else ""
    cls = ' class="preview"' if fig.stem.startswith("preview_") else ""
    return f'<figure{cls}><img alt="{_e(fig.title)}" src="{data_uri(fig.png)}">{caption}</figure>'


def render_findings(findings: list[Finding]) -> str:
    items = [f'<li class="{_e(f.kind)}"><span class="tag">{_e(f.kind)}</span>{_e(f.message)}</li>' for f in findings]
    return '<ul class="findings">' + "".join(items) + "</ul>"


def _body(section: Section, level: int) -> list[str]:
    out = [f"<p>{_e(p)}</p>" for p in section.paragraphs]
    if section.findings:
        out.append(render_findings(section.findings))
    if len(section.tables) == 2 and all(t.caption.startswith("Most") for t in section.tables):
        out.append('<div class="pair">' + "".join(f"<div>{render_table(t)}</div>" for t in section.tables) + "</div>")
    else:
        out.extend(render_table(t) for t in section.tables)
    out.extend(render_figure(f) for f in section.figures)
    for block in section.blocks:
        out.append(f'<div class="block" id="{_e(block.anchor)}"><h{level + 1}>{_e(block.title)}</h{level + 1}>')
        out.extend(_body(block, level + 1))
        out.append("</div>")
    return out


def render_html(content: ReportContent) -> str:
    """The complete HTML document as a string."""
    toc = [("overview", "Overview")] + [(s.anchor, s.title) for s in content.sections]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(content.title)}</title>",
        f"<style>{CSS}</style>",
        "</head><body><main>",
        f"<h1>{_e(content.title)}</h1>",
        f'<p class="subtitle">{_e(content.subtitle)}</p>',
    ]
    if content.notice:
        parts.append(f'<div class="notice" id="notice">{_e(content.notice[0].upper() + content.notice[1:])}</div>')
    parts.append('<nav class="toc"><h2>Contents</h2><ol>' +
                 "".join(f'<li><a href="#{_e(a)}">{_e(t)}</a></li>' for a, t in toc) + "</ol></nav>")
    parts.append('<section id="overview"><h2>Overview</h2><dl class="facts">' +
                 "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in content.facts) + "</dl></section>")
    for section in content.sections:
        parts.append(f'<section id="{_e(section.anchor)}"><h2>{_e(section.title)}</h2>')
        parts.extend(_body(section, 2))
        parts.append("</section>")
    stamp = _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    parts.append(f"<footer>Generated by augstudy {_e(__version__)} on {_e(stamp)}. "
                 "Self-contained: no scripts, no external resources.</footer>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"
