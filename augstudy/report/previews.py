"""Policy previews for the arms that change augmentation: the PNGs ``augstudy ablate`` drew.

The previews are drawn once, at study time, by :func:`augstudy.ablation.execution.assets.write_previews`
into ``previews/<safe arm name>.png`` (:meth:`augstudy.ablation.storage.schema.StudyPaths.preview`).
The report shows those files as they are and never loads the dataset; an arm without its
file gets a sentence saying how to draw it.
"""

from __future__ import annotations

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


def preview_png(study: Study, arm: str) -> tuple[bytes | None, str]:
    """``(png_bytes, note)`` for ``arm``'s preview, or ``(None, reason)`` when its file is missing."""
    existing = study.preview_path(arm)
    if existing is not None:
        return existing.read_bytes(), f"{existing.parent.name}/{existing.name}"
    target = study.paths.preview(arm)
    return None, (f"{target.parent.name}/{target.name} is missing; rerun 'augstudy ablate' on this study "
                  f"to draw it")
