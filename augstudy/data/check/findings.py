"""The record every ``augstudy data check`` test produces: one :class:`CheckFinding` per problem kind."""

from __future__ import annotations

from dataclasses import dataclass, field

#: severities, most serious first; "error" makes the check exit 1
SEVERITIES = ("error", "warning", "info")


@dataclass
class CheckFinding:
    """One line of the check report.

    ``kind`` is a stable identifier (``"leak_exact"``, ``"undecodable"`` ...), ``files`` names every
    file involved (paths relative to the dataset root, ``wnids.txt:3`` for a line, ``train[i]`` for
    an array row), ``count`` is how many items the finding covers (defaults to ``len(files)``).
    """

    kind: str
    severity: str
    files: list[str]
    message: str
    count: int | None = None
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, got {self.severity!r}")
        if self.count is None:
            self.count = len(self.files)

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "severity": self.severity, "files": list(self.files), "message": self.message,
               "count": self.count}
        if self.details:
            out["details"] = self.details
        return out


def sort_findings(findings: list[CheckFinding]) -> list[CheckFinding]:
    """Errors first, then warnings, then info; stable within a severity."""
    return sorted(findings, key=lambda f: SEVERITIES.index(f.severity))
