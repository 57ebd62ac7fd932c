"""Policy previews for the arms that change augmentation: the PNGs ``augstudy ablate`` drew.

The previews are drawn once, at study time, by :func:`augstudy.ablation.execution.assets.write_previews`
into ``previews/<safe arm name>.png`` (:meth:`augstudy.ablation.storage.schema.StudyPaths.preview`),
for the arms of :func:`augstudy.ablation.storage.schema.preview_arm_names`; the report shows the
same arms (one rule), those files as they are, and never loads the dataset; an arm without its
file gets a sentence saying how to draw it.
"""

from __future__ import annotations

from augstudy.ablation.storage.schema import preview_arm_names
from augstudy.ablation.storage.reader import Study


def preview_arms(study: Study) -> list[str]:
    """The arms ``augstudy ablate`` draws a preview for (baseline first), in study order."""
    return preview_arm_names([s for s in study.arm_specs if isinstance(s, dict) and "arm" in s])


def preview_png(study: Study, arm: str) -> tuple[bytes | None, str]:
    """``(png_bytes, note)`` for ``arm``'s preview, or ``(None, reason)`` when its file is missing."""
    existing = study.preview_path(arm)
    if existing is not None:
        return existing.read_bytes(), f"{existing.parent.name}/{existing.name}"
    target = study.paths.preview(arm)
    return None, (f"{target.parent.name}/{target.name} is missing; rerun 'augstudy ablate' on this study "
                  f"to draw it")
