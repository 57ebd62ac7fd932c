"""What a preview figure shows: columns of uint8 images, row labels, a title, and the replay record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class PreviewColumn:
    """One figure column.

    ``images``: uint8 ``[n, 3, H, W]`` (one per row); ``notes``: optional per-row text shown above
    each cell (per-op: ``"ColorJitter (skipped, p=0.5)"``); ``group``: policy name (compare).
    """

    header: str
    images: torch.Tensor
    notes: list[str] | None = None
    group: str | None = None


@dataclass
class Preview:
    """Everything a preview figure shows plus the JSON record that replays it."""

    title: str
    row_labels: list[str]
    columns: list[PreviewColumn]
    record: dict[str, Any] = field(default_factory=dict)
    #: per policy op: (policy name, op position from 1, op name, p, cells where it applied, cells)
    applied: list[tuple[str, int, str, float, int, int]] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the image grid."""
        return len(self.row_labels), len(self.columns)


__all__ = ["Preview", "PreviewColumn"]
