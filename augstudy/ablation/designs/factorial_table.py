"""Text of a two-factor study: the A x B table of cell means with the interaction verdicts under it.

Input: the JSON-ready analysis of :func:`augstudy.ablation.designs.factorial.factorial_effects`
(``interaction.json``); accuracy points.  Pure standard library.  The terminal table of
``augstudy ablate A --by B`` and ``interaction.md`` come from here, so both say the same.
"""

from __future__ import annotations

import math
from typing import Sequence

from augstudy.ablation.terms import Verdict


def format_number(x, signed: bool = False) -> str:
    if x is None:
        return "-"
    if isinstance(x, str):
        return "+inf" if x == "inf" else "-inf"
    if isinstance(x, float) and math.isnan(x):
        return "-"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def format_seeds(x) -> str:
    return "-" if x in (None, "") else (">200" if isinstance(x, (int, float)) and x > 200 else str(x))


def interval_text(c: dict) -> str:
    """``[-0.40, +2.80]``: a contrast's family-adjusted interval."""
    return f"[{format_number(c['ci_low'], True)}, {format_number(c['ci_high'], True)}]"


def _effect_text(c: dict) -> str:
    """``+1.20 [-0.40, +2.80] inconclusive``: a contrast's effect, interval and verdict."""
    return f"{format_number(c['effect_mean'], True)} {interval_text(c)} {c['verdict']}"


def cell_grid(analysis: dict) -> list[list[str]]:
    """Rows of the A x B table: a header row (``A \\ B``, B's levels, ``A effect (main)``) then one row per
    A level with its cell means ± half-width of the 95% interval, and the main effect of A averaged over B."""
    a, b = analysis["factor_a"], analysis["factor_b"]
    levels_a, levels_b = analysis["levels_a"], analysis["levels_b"]
    means = analysis.get("cell_means") or []
    low, high = analysis.get("cell_low") or [], analysis.get("cell_high") or []
    main = {c["a_level"]: c for c in analysis.get("contrasts", []) if c["kind"] == "main"}
    rows = [[f"{a} \\ {b}"] + [f"{lb}" + (" (base)" if j == 0 else "") for j, lb in enumerate(levels_b)]
            + [f"main effect of {a}"]]
    for i, la in enumerate(levels_a):
        cells = [f"{la}" + (" (base)" if i == 0 else "")]
        for j in range(len(levels_b)):
            if not means:
                cells.append("-")
                continue
            m, lo, hi = means[i][j], low[i][j], high[i][j]
            half = (hi - lo) / 2 if all(isinstance(v, (int, float)) for v in (lo, hi)) else None
            cells.append(f"{format_number(m)} ± {format_number(half)}" if half is not None else f"{format_number(m)}")
        c = main.get(la)
        cells.append("(ref.)" if i == 0 else (_effect_text(c) if c else "-"))
        rows.append(cells)
    return rows


def contrast_lines(analysis: dict, kinds: Sequence[str] = ("interaction",)) -> list[str]:
    """One line per contrast of ``kinds``: name, effect, interval, adjusted p, verdict, seeds needed."""
    out = []
    for c in analysis.get("contrasts", []):
        if c["kind"] not in kinds:
            continue
        needed = f", seeds needed {format_seeds(c['seeds_needed'])}" if c["verdict"] == Verdict.INCONCLUSIVE else ""
        p = "-" if c.get("p_adjusted") is None else f"{c['p_adjusted']:.3g}"
        out.append(f"{c['contrast']}: {format_number(c['effect_mean'], True)} pts "
                   f"{interval_text(c)}, adj. p {p} -> {c['verdict']}{needed}")
    return out


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        lines.append("  ".join(cell.ljust(w) if k == 0 else cell.rjust(w) for k, (cell, w) in
                               enumerate(zip(r, widths))).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def format_interaction_table(analysis: dict) -> str:
    """The terminal view: title, the A x B table of cell means (points, ± 95% half-width), the
    interaction contrasts with their verdicts, and the one-sentence summary."""
    a, b = analysis["factor_a"], analysis["factor_b"]
    lines = [f"{a} x {b}: cell means of {analysis.get('metric', 'the metric')} (accuracy points, ± 95% "
             f"half-width over {analysis.get('n_seeds', 0)} paired seeds)", ""]
    lines += _aligned(cell_grid(analysis))
    lines += ["", f"interaction contrasts (difference of differences vs {a}={analysis['levels_a'][0]} "
                  f"at {b}={analysis['levels_b'][0]}; Holm over the family):"]
    lines += ["  " + line for line in contrast_lines(analysis)] or ["  (needs >= 2 seeds finished in every cell)"]
    lines += ["", analysis.get("sentence", "")]
    return "\n".join(lines) + "\n"


def _md_row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"


def interaction_markdown(analysis: dict) -> str:
    """``interaction.md``: the sentence, the A x B table, and every contrast (interaction, main, simple)."""
    a, b = analysis["factor_a"], analysis["factor_b"]
    grid = cell_grid(analysis)
    lines = [f"# {a} x {b}", "", analysis.get("sentence", ""), ""]
    lines += [f"- {h}" for h in analysis.get("header", [])]
    lines += ["", f"Cell means of {analysis.get('metric', 'the metric')} (accuracy points, ± 95% half-width):", "",
              _md_row(grid[0]), "|" + "|".join("---" for _ in grid[0]) + "|"]
    lines += [_md_row(r) for r in grid[1:]]
    columns = ["kind", "contrast", "effect (pts)", "CI", "adj. p", "verdict", "seeds needed"]
    lines += ["", _md_row(columns), "|" + "|".join("---" for _ in columns) + "|"]
    for c in analysis.get("contrasts", []):
        lines.append(_md_row([c["kind"], c["contrast"], format_number(c["effect_mean"], True),
                              interval_text(c),
                              "-" if c.get("p_adjusted") is None else f"{c['p_adjusted']:.3g}", c["verdict"],
                              format_seeds(c["seeds_needed"]) if c["verdict"] == Verdict.INCONCLUSIVE else "-"]))
    return "\n".join(lines) + "\n"


__all__ = ["format_number", "format_seeds", "interval_text", "cell_grid", "contrast_lines", "format_interaction_table",
           "interaction_markdown"]
