"""The outcome of ``augstudy data check``: :class:`CheckReport` and its readable table."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from augstudy.data.check.findings import CheckFinding


@dataclass
class CheckReport:
    """The outcome of :func:`check_dataset`."""

    dataset: str
    path: Path
    layout: str
    findings: list[CheckFinding]
    stats: dict = field(default_factory=dict)

    @property
    def n_errors(self) -> int:
        return sum(f.severity == "error" for f in self.findings)

    @property
    def n_warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    @property
    def exit_code(self) -> int:
        """0 when no errors (warnings allowed), 1 when errors were found."""
        return 1 if self.n_errors else 0

    def to_dict(self) -> dict:
        """``{"dataset", "path", "layout", "findings": [{"kind", "severity", "files", "message", "count"}],
        "stats", "errors", "warnings", "exit_code"}``: JSON-ready."""
        return {"dataset": self.dataset, "path": str(self.path), "layout": self.layout,
                "findings": [f.to_dict() for f in self.findings], "stats": self.stats,
                "errors": self.n_errors, "warnings": self.n_warnings, "exit_code": self.exit_code}


def _example_items(finding: CheckFinding) -> list[str]:
    """What the table lists for a finding: pairs / groups where the finding has them, else files
    (with the decoder's reason for undecodable ones)."""
    details = finding.details
    if finding.kind == "near_duplicate":
        return [f"{p['val']} ~ {p['train']} ({p['cosine']:.4f})" for p in details["pairs"]]
    if "pairs" in details:
        return [" = ".join(pair) for pair in details["pairs"]]
    if "groups" in details:
        return [" = ".join(group) for group in details["groups"]]
    reasons = details.get("reasons", {})
    return [f"{name} [{reasons[name]}]" if name in reasons else name for name in finding.files]


def format_report(report: CheckReport, examples: int = 3) -> str:
    """One line per finding (severity, kind, count, message) plus up to ``examples`` files, then a
    stats block and a one-line verdict."""
    lines = [f"data check: {report.dataset} ({report.layout}) at {report.path}",
             f"{report.stats.get('n_train', 0)} train / {report.stats.get('n_val', 0)} val items, "
             f"{report.stats.get('n_classes', 0)} classes", ""]
    width = max([len(f.kind) for f in report.findings] + [4])
    lines.append(f"{'SEVERITY':<8}  {'KIND':<{width}}  {'COUNT':>6}  MESSAGE")
    for f in report.findings:
        lines.append(f"{f.severity.upper():<8}  {f.kind:<{width}}  {f.count:>6}  {f.message}")
        items = _example_items(f)
        if items:
            shown = items[:examples]
            more = f" ... and {len(items) - len(shown)} more (all in --json)" if len(items) > len(shown) else ""
            lines.append(f"{'':<8}  {'':<{width}}  {'':>6}    e.g. {', '.join(shown)}{more}")
    s = report.stats
    if s.get("train_mean") is None:
        moments = "unknown (no decodable train image)"
    else:
        moments = f"{tuple(s['train_mean'])}, std = {tuple(s['train_std'])}  ({s.get('units', '')})"
    lines += ["", "stats:", f"  train mean (R, G, B) = {moments}"]
    if "modes" in s:
        lines.append(f"  modes: {s['modes']}   sizes: {s['sizes']}")
    if "array_shapes" in s:
        lines.append(f"  arrays [N, C, H, W]: {s['array_shapes']}")
    near = s.get("near_duplicates", {})
    if near:
        lines.append(f"  near-duplicates: {near.get('rule')}; {near.get('pairs', 0)} pair(s), "
                     f"{near.get('skipped_flat', 0)} flat image(s) skipped")
    lines.append(f"  checked in {s.get('seconds', 0):.1f} s")
    verdict = "FAILED" if report.n_errors else "OK"
    lines.append(f"\n{verdict}: {report.n_errors} error(s), {report.n_warnings} warning(s)")
    return "\n".join(lines)


__all__ = ["CheckReport", "format_report"]
