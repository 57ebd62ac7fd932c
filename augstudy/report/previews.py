"""Policy previews for the arms that change augmentation.

Prefer the PNG ``augstudy ablate`` wrote (``previews/<arm>.png``); otherwise, when
the arm's policy is in study.json and its dataset can be found, render one with
:func:`augstudy.preview.render_preview_grid` into a temporary folder (the study
directory is the runner's, the report does not add files to it); otherwise say why
there is no preview.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from augstudy.report.load import Study


def preview_arms(study: Study) -> list[str]:
    """Arms whose policy differs from the baseline's, plus any arm with a preview PNG, in study order."""
    base_policy = study.arm_spec(study.baseline_arm).get("policy") if study.baseline_arm else None
    arms = []
    for arm in study.arm_names:
        policy = study.arm_spec(arm).get("policy")
        changes = arm != study.baseline_arm and policy is not None and policy != base_policy
        if changes or study.preview_path(arm) is not None:
            arms.append(arm)
    return arms


def _dataset_path(study: Study) -> Path | None:
    """study.json's ``dataset_path`` as given (absolute or relative to the working folder), if it exists."""
    raw = study.meta.get("dataset_path")
    if not raw:
        return None
    path = Path(raw)
    return path if path.exists() else None


def preview_png(study: Study, arm: str, *, render_missing: bool = True) -> tuple[bytes | None, str]:
    """``(png_bytes, note)`` for ``arm``'s preview, or ``(None, reason)`` when there is none."""
    existing = study.preview_path(arm)
    if existing is not None:
        return existing.read_bytes(), f"previews/{existing.name}"
    policy = study.arm_spec(arm).get("policy")
    if policy is None:
        return None, "the arm's policy is not in study.json"
    if not render_missing:
        return None, f"previews/{arm}.png is missing"
    data = _dataset_path(study)
    if data is None:
        return None, f"previews/{arm}.png is missing and dataset {study.meta.get('dataset_path')!r} is not found"
    try:
        from augstudy.preview import render_preview_grid
    except ImportError as exc:  # the preview module is optional for a report
        return None, f"previews/{arm}.png is missing and augstudy.preview is unavailable ({exc})"
    seed = (study.seeds or [0])[0]
    with tempfile.TemporaryDirectory(prefix="augstudy-report-preview-") as tmp:
        out = Path(tmp) / "preview.png"
        try:
            render_preview_grid(policy, str(data), out, n=6, draws=4, seed=seed)
        except Exception as exc:  # noqa: BLE001 - a broken preview must not cost the whole report
            return None, f"rendering failed: {type(exc).__name__}: {exc}"
        return out.read_bytes(), f"rendered by the report from study.json's policy on {data} (seed {seed})"
