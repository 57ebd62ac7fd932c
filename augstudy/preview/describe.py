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


def mix_slug(mix: dict) -> str:
    """``mixup-0.8-cutmix-1`` for a ``mix`` section (``prob`` added as ``p-0.5`` when not 1, ``switch_prob``
    as ``switch-0.3`` when both alphas are on and it is not 0.5: the run config's defaults)."""
    parts = [f"{name}-{float(mix[key]):g}" for name, key in (("mixup", "mixup_alpha"), ("cutmix", "cutmix_alpha"))
             if mix.get(key) is not None]
    if float(mix.get("prob", 1.0)) != 1.0:
        parts.append(f"p-{float(mix['prob']):g}")
    if len(parts) >= 2 and float(mix.get("switch_prob", 0.5)) != 0.5:
        parts.append(f"switch-{float(mix['switch_prob']):g}")
    return "-".join(file_slug(p) for p in parts)


def default_out_path(policy_names: Sequence[str], per_op: bool = False,
                     strengths: Sequence[float] | None = None, mix: dict | None = None) -> Path:
    """``reports/preview-<p>.png``, ``reports/preview-<p>-per-op.png``,
    ``reports/preview-<p1>-vs-<p2>.png``, ``reports/preview-<p>-strength-0-1-3.png`` or (MixUp/CutMix)
    ``reports/preview-<p>-mixup-0.8-cutmix-1.png`` (:func:`mix_slug`; relative to the current directory;
    names made file-safe by :func:`augstudy.file_slug.file_slug`)."""
    stem = "-vs-".join(file_slug(n) for n in policy_names)
    if strengths:
        stem += "-strength-" + "-".join(file_slug(f"{s:g}") for s in strengths)
    if mix:
        stem += "-" + mix_slug(mix)
    return Path("reports") / f"preview-{stem}{'-per-op' if per_op else ''}.png"


__all__ = ["describe_op", "describe_policy", "default_out_path", "mix_slug"]
