"""The one rendering of the ranked effect table: cells, header lines, terminal text and Markdown.

Every human view of the effect table -- the terminal table of ``augstudy ablate``,
``effects.md``, the report's HTML/Markdown table and ``augstudy report``'s summary -- is
built from :func:`display_cells` and :func:`header_lines`, so they show the same
numbers, signs, stars and verdicts.  Input: :class:`~augstudy.ablate.schema.EffectRow`
(accuracy points) and the study's noise floor (``study.json``'s ``noise_floor``).
Pure standard library: no numpy, no torch.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from augstudy.ablate.schema import METRICS, SEEDS_NEEDED_MAX, EffectRow, sort_by_rank

#: columns of every human effect table, in order
DISPLAY_COLUMNS = ("rank", "arm", "n", "effect (pts)", "95% CI", "p", "P(>base)", "verdict",
                   "metric", "stability", "gen gap", "diverged", "seeds needed")
#: columns aligned left in the terminal table (the rest are right-aligned numbers)
LEFT_COLUMNS = ("arm", "verdict")


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


def display_cells(row: EffectRow) -> dict[str, str]:
    """The cells of one arm's line, keyed by :data:`DISPLAY_COLUMNS` (``*`` marks significance)."""
    marker = "*" if row.significant else ""
    return {
        "rank": "-" if row.rank is None else str(row.rank),
        "arm": str(row.arm),
        "n": str(row.n_seeds),
        "effect (pts)": _num(row.effect_mean, signed=True) + marker,
        "95% CI": f"[{_num(row.ci_low, signed=True)}, {_num(row.ci_high, signed=True)}]",
        "p": _p(row.p_value),
        "P(>base)": _num(row.p_improve),
        "verdict": row.verdict or "-",
        "metric": f"{_num(row.metric_mean)} ± {_num(row.metric_std)}",
        "stability": _num(row.stability),
        "gen gap": _num(row.gen_gap),
        "diverged": str(row.n_diverged),
        "seeds needed": _seeds_needed_text(row.seeds_needed),
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
    return {"rank": "", "arm": f"{arm} (baseline)", "n": "" if n is None else str(int(n)), "effect (pts)": "0 (ref.)",
            "95% CI": "", "p": "", "P(>base)": "", "verdict": "baseline",
            "metric": f"{_num(num('metric_mean'))} ± {_num(num('metric_std'))}",
            "stability": _num(num("stability")), "gen gap": _num(num("gen_gap")),
            "diverged": "" if num("n_diverged") is None else str(int(num("n_diverged"))), "seeds needed": ""}


def header_lines(noise: Mapping | None, rows: Sequence[EffectRow], metric_name: str | None = None) -> list[str]:
    """What the table's numbers mean: metric, interval method, noise floor, p floor, 'within noise'."""
    noise = noise or {}
    methods = sorted({r.ci_method for r in rows if r.ci_method}) or [noise.get("ci_method", "")]
    metric_text = f"{metric_name} ({METRICS.get(metric_name, metric_name)}); " if metric_name else ""
    return [
        f"Metric: {metric_text}effects in accuracy points (100 x (arm - baseline)), paired by seed.",
        f"95% CI: {', '.join(methods)}.  * = interval excludes 0.",
        f"Noise floor: baseline seed-to-seed std {_num(noise.get('baseline_std'))} pts; "
        f"minimum detectable effect {_num(noise.get('mde'))} pts at n={noise.get('n_seeds')} seeds "
        f"(80% power, 5% two-sided; sd of differences {_num(noise.get('sd_diff'))}, "
        f"{noise.get('sd_diff_source', '')}).",
        f"p-value: sign-flip permutation test, two-sided; floor {_p(noise.get('p_floor'))} "
        f"(= 2/2^n at n={noise.get('n_seeds')}: no smaller p is possible with these seeds).",
        "'within noise': interval includes 0 and |effect| < MDE -- not a finding, whatever its rank.",
    ]


def ranked_cells(rows: Sequence[EffectRow]) -> list[dict[str, str]]:
    """:func:`display_cells` of every row, rank 1 first (unranked rows last)."""
    return [display_cells(r) for r in sort_by_rank(rows)]


def format_effect_table(rows: Sequence[EffectRow], noise: Mapping | None, metric_name: str | None = None) -> str:
    """The terminal table: header lines, then aligned columns sorted by rank."""
    cells = ranked_cells(rows)
    widths = {c: max([len(c)] + [len(row[c]) for row in cells]) for c in DISPLAY_COLUMNS}

    def line(values: Mapping[str, str]) -> str:
        return "  ".join(values[c].ljust(widths[c]) if c in LEFT_COLUMNS else values[c].rjust(widths[c])
                         for c in DISPLAY_COLUMNS).rstrip()

    out = header_lines(noise, rows, metric_name) + ["", line({c: c for c in DISPLAY_COLUMNS}),
                                                    line({c: "-" * widths[c] for c in DISPLAY_COLUMNS})]
    out += [line(row) for row in cells] or ["(no arms to compare yet)"]
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def effects_markdown(factor: str, baseline_arm: str, rows: Sequence[EffectRow], noise: Mapping | None,
                     metric_name: str | None = None) -> str:
    """``effects.md``: a title, the header lines as a list, and the table sorted by rank."""
    lines = [f"# Effects of {factor} vs baseline `{baseline_arm}`", ""]
    lines += [f"- {h}" for h in header_lines(noise, rows, metric_name)]
    lines += ["", "| " + " | ".join(DISPLAY_COLUMNS) + " |", "|" + "|".join("---" for _ in DISPLAY_COLUMNS) + "|"]
    for cells in ranked_cells(rows):
        lines.append("| " + " | ".join(_md_escape(cells[c]) for c in DISPLAY_COLUMNS) + " |")
    if not rows:
        lines.append("\n(no arms to compare yet)")
    return "\n".join(lines) + "\n"


__all__ = ["DISPLAY_COLUMNS", "LEFT_COLUMNS", "display_cells", "baseline_cells", "header_lines", "ranked_cells",
           "format_effect_table", "effects_markdown"]
