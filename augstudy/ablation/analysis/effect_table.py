"""The one rendering of the ranked effect table: cells, header lines, terminal text and Markdown.

Every human view of the effect table -- the terminal table of ``augstudy ablate``,
``effects.md``, the report's HTML/Markdown table and ``augstudy report``'s summary -- is
built from :func:`display_cells` and :func:`header_lines`, so they show the same
numbers, signs, stars and verdicts.  Input: :class:`~augstudy.ablation.storage.schema.EffectRow`
(accuracy points, as stored) and the stored header sentences (``study.json``'s
``effect_header``); nothing here recomputes a statistic.
Pure standard library: no numpy, no torch.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from augstudy.ablation.storage.schema import EffectRow, sort_by_rank
from augstudy.ablation.terms import SEEDS_NEEDED_MAX

#: columns of every human effect table, in order
DISPLAY_COLUMNS = ("rank", "arm", "n", "effect (pts)", "interval (level)", "p adj", "p equiv", "P(>base) [95%]",
                   "d_z [95%]", "verdict", "seeds needed", "metric", "stability", "gen gap", "diverged")
#: columns aligned left in the terminal table (the rest are right-aligned numbers)
LEFT_COLUMNS = ("arm", "verdict")
#: printed under the header sentences of every view
MARKER_LINE = "* = significant: adjusted p < alpha, so the interval excludes 0."
LEGACY_HEADER = ("This effects.csv was written by an older augstudy without verdict columns; rerun the "
                 "study's `augstudy ablate` command to recompute it.")


def _num(x: Any, digits: int = 2, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if math.isinf(x):
        return "+inf" if x > 0 else "-inf"
    return f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"


def _p(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.3g}"   # 3 significant digits: 0.0625 stays 0.0625, 0.000488 stays readable


def _seeds_needed_text(n: Any) -> str:
    if n is None:
        return "-"
    return f">{SEEDS_NEEDED_MAX}" if n > SEEDS_NEEDED_MAX else str(n)


def _pair(low: Any, high: Any, digits: int = 2, signed: bool = False) -> str:
    return f"[{_num(low, digits, signed)}, {_num(high, digits, signed)}]"


def _level(level: Any) -> str:
    if level is None or (isinstance(level, float) and math.isnan(level)):
        return ""
    return f" {100 * level:.4g}%"


def display_cells(row: EffectRow) -> dict[str, str]:
    """The cells of one arm's line, keyed by :data:`DISPLAY_COLUMNS` (``*`` marks significance)."""
    marker = "*" if row.significant else ""
    return {
        "rank": "-" if row.rank is None else str(row.rank),
        "arm": str(row.arm),
        "n": str(row.n_seeds),
        "effect (pts)": _num(row.effect_mean, signed=True) + marker,
        "interval (level)": _pair(row.ci_low, row.ci_high, signed=True) + _level(row.ci_level),
        "p adj": _p(row.p_adjusted),
        "p equiv": _p(row.tost_p),
        "P(>base) [95%]": f"{_num(row.p_improve)} {_pair(row.p_improve_low, row.p_improve_high)}",
        "d_z [95%]": f"{_num(row.d_z, 1, True)} {_pair(row.d_z_low, row.d_z_high, 1, True)}",
        "verdict": row.verdict or "-",
        "seeds needed": _seeds_needed_text(row.seeds_needed),
        "metric": f"{_num(row.metric_mean)} ± {_num(row.metric_std)}",
        "stability": _num(row.stability),
        "gen gap": _num(row.gen_gap),
        "diverged": str(row.n_diverged),
    }


def baseline_cells(arm: str, summary: Mapping[str, Any]) -> dict[str, str]:
    """The cells of the baseline's reference line (the report shows it above the arms);
    ``summary``: the baseline's ``arms.csv`` values (``n_seeds, metric_mean, metric_std, ...``)."""
    def num(key: str) -> float | None:
        value = summary.get(key)
        try:
            return None if value in (None, "") else float(value)
        except (TypeError, ValueError):
            return None

    n = num("n_seeds")
    cells = {c: "" for c in DISPLAY_COLUMNS}
    cells.update({"arm": f"{arm} (baseline)", "n": "" if n is None else str(int(n)), "effect (pts)": "0 (ref.)",
                  "verdict": "baseline", "metric": f"{_num(num('metric_mean'))} ± {_num(num('metric_std'))}",
                  "stability": _num(num("stability")), "gen gap": _num(num("gen_gap")),
                  "diverged": "" if num("n_diverged") is None else str(int(num("n_diverged")))})
    return cells


def header_lines(header: Sequence[str] | None) -> list[str]:
    """The sentences above every view of the table: the stored header (``study.json``'s
    ``effect_header``, from :meth:`FamilyResult.header_lines`) and the significance marker.
    A folder written before verdicts were stored gets one line saying to recompute it."""
    if not header:
        return [LEGACY_HEADER]
    return list(header) + [MARKER_LINE]


def note_lines(rows: Sequence[EffectRow]) -> list[str]:
    """One ``arm: note`` line per row with a note (rank order): what a cell cannot say."""
    return [f"{r.arm}: {r.note}" for r in sort_by_rank(rows) if r.note]


def ranked_cells(rows: Sequence[EffectRow]) -> list[dict[str, str]]:
    """:func:`display_cells` of every row, rank 1 first (unranked rows last)."""
    return [display_cells(r) for r in sort_by_rank(rows)]


def format_effect_table(rows: Sequence[EffectRow], header: Sequence[str] | None) -> str:
    """The terminal table: header lines, aligned columns sorted by rank, then the arms' notes."""
    cells = ranked_cells(rows)
    widths = {c: max([len(c)] + [len(row[c]) for row in cells]) for c in DISPLAY_COLUMNS}

    def line(values: Mapping[str, str]) -> str:
        return "  ".join(values[c].ljust(widths[c]) if c in LEFT_COLUMNS else values[c].rjust(widths[c])
                         for c in DISPLAY_COLUMNS).rstrip()

    out = header_lines(header) + ["", line({c: c for c in DISPLAY_COLUMNS}),
                                  line({c: "-" * widths[c] for c in DISPLAY_COLUMNS})]
    out += [line(row) for row in cells] or ["(no arms to compare yet)"]
    notes = note_lines(rows)
    if notes:
        out += ["", "notes:"] + [f"  {n}" for n in notes]
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def effects_markdown(factor: str, baseline_arm: str, rows: Sequence[EffectRow], header: Sequence[str] | None) -> str:
    """``effects.md``: a title, the header lines as a list, the table sorted by rank, the notes."""
    lines = [f"# Effects of {factor} vs baseline `{baseline_arm}`", ""]
    lines += [f"- {h}" for h in header_lines(header)]
    lines += ["", "| " + " | ".join(DISPLAY_COLUMNS) + " |", "|" + "|".join("---" for _ in DISPLAY_COLUMNS) + "|"]
    for cells in ranked_cells(rows):
        lines.append("| " + " | ".join(_md_escape(cells[c]) for c in DISPLAY_COLUMNS) + " |")
    if not rows:
        lines.append("\n(no arms to compare yet)")
    notes = note_lines(rows)
    if notes:
        lines += ["", "Notes:", ""] + [f"- {_md_escape(n)}" for n in notes]
    return "\n".join(lines) + "\n"


__all__ = ["DISPLAY_COLUMNS", "LEFT_COLUMNS", "MARKER_LINE", "display_cells", "baseline_cells", "header_lines",
           "note_lines", "ranked_cells", "format_effect_table", "effects_markdown"]
