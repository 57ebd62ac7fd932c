"""Policies and previews in words: one-line policy descriptions and default file names."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from augstudy.file_slug import file_slug


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_format_value(v) for v in value) + ")"
    return str(value)


def describe_op(op) -> str:
    """``ColorJitter(brightness=0.2, hue=0.05) p=0.8`` for an OpSpec (p omitted when 1)."""
    params = ", ".join(f"{k}={_format_value(v)}" for k, v in (op.params or {}).items())
    text = f"{op.op}({params})" if params else op.op
    return text if float(op.p) >= 1.0 else f"{text} p={float(op.p):g}"


def describe_policy(policy) -> str:
    """``light: RandomCrop(size=64, padding=4) · HorizontalFlip p=0.5`` (``none`` when no ops)."""
    ops = " · ".join(describe_op(op) for op in policy.ops) or "no ops (identity)"
    whole_p = float(getattr(policy, "p", 1.0))
    return f"{policy.name}: {ops}" + (f" (whole policy p={whole_p:g})" if whole_p < 1.0 else "")


def default_out_path(policy_names: Sequence[str], per_op: bool = False,
                     strengths: Sequence[float] | None = None) -> Path:
    """``reports/preview-<p>.png``, ``reports/preview-<p>-per-op.png``,
    ``reports/preview-<p1>-vs-<p2>.png`` or ``reports/preview-<p>-strength-0-1-3.png``
    (relative to the current directory; names made file-safe by :func:`augstudy.file_slug.file_slug`)."""
    stem = "-vs-".join(file_slug(n) for n in policy_names)
    if strengths:
        stem += "-strength-" + "-".join(file_slug(f"{s:g}") for s in strengths)
    return Path("reports") / f"preview-{stem}{'-per-op' if per_op else ''}.png"


__all__ = ["describe_op", "describe_policy", "default_out_path"]
