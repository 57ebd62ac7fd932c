"""What a study draws once from its dataset, at study time, so the report never loads the dataset.

- :func:`data_check_findings`: the ``augstudy data check`` findings, kept in ``data_check.json``
  (a rerun reuses them) and copied into ``study.json``;
- :func:`write_previews`: ``previews/<safe arm name>.png`` (:meth:`StudyPaths.preview`) for the
  arms of :func:`preview_arm_names` (the one rule, the report's too), drawn by
  :func:`augstudy.preview.render_preview_grid` with :data:`PREVIEW_IMAGES` train images x
  :data:`PREVIEW_DRAWS` draws from seed :data:`PREVIEW_SEED` (the report shows these files as they are).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from augstudy.ablation.storage.schema import StudyPaths, mixes, preview_arm_names
from augstudy.ablation.spec.study_spec import Arm
from augstudy.atomic import atomic_write_json
from augstudy.errors import UserError

#: images (rows) per preview grid
PREVIEW_IMAGES = 8
#: augmented draws (columns) per image
PREVIEW_DRAWS = 4
#: the seed of the preview's image choice and draws
PREVIEW_SEED = 0
#: the split whose images are shown (augmentation applies to training images)
PREVIEW_SPLIT = "train"


def data_check_findings(paths: StudyPaths, dataset, echo: Callable[[str], None]) -> list[dict] | None:
    """The dataset's data-check findings (list of finding dicts), computed once per study folder
    (recomputed while the kept ones hold errors: the dataset may have been fixed since);
    ``None`` when the check itself fails (a warning says so; the study goes on)."""
    path = paths.data_check_json
    if path.is_file():
        try:
            kept = json.loads(path.read_text())["findings"]
            if not data_errors(kept):
                return kept
        except (ValueError, KeyError):
            pass  # unreadable: recompute below
    from augstudy.data.check import check_dataset

    try:
        report = check_dataset(dataset.root, image_size=dataset.image_size, progress=False)
    except Exception as exc:  # noqa: BLE001 - a failing check must not stop the study
        echo(f"warning: data check of {dataset.root} failed ({type(exc).__name__}: {exc}); "
             f"the report will not list its findings")
        return None
    payload = report.to_dict()
    atomic_write_json(path, payload)
    findings = payload["findings"]
    errors = sum(1 for f in findings if f.get("severity") == "error")
    echo(f"data check: {len(findings)} finding(s), {errors} error(s) "
         f"(augstudy data check --data {dataset.root} for details)")
    return findings


def data_errors(findings: list[dict] | None) -> list[dict]:
    """The findings of severity ``error`` ([] for None: a check that could not run)."""
    return [f for f in findings or [] if f.get("severity") == "error"]


def refuse_data_errors(findings: list[dict] | None, root) -> None:
    """Raise a UserError naming the dataset and its error kinds when ``findings`` hold errors."""
    errors = data_errors(findings)
    if errors:
        kinds = ", ".join(dict.fromkeys(str(f.get("kind", "?")) for f in errors))
        raise UserError(f"{root}: data check found {len(errors)} error finding(s) ({kinds}); fix the dataset "
                        f"(`augstudy data check --data {root}` lists them) or pass --allow-data-errors to train "
                        f"on it anyway")



def preview_arms(arms: list[Arm]) -> list[Arm]:
    """The arms of :func:`preview_arm_names`, baseline first."""
    by_name = {a.name: a for a in arms}
    specs = [{"arm": a.name, "is_baseline": a.is_baseline, "policy": a.policy, "config": a.config} for a in arms]
    return [by_name[name] for name in preview_arm_names(specs)]


def write_previews(paths: StudyPaths, arms: list[Arm], dataset, echo: Callable[[str], None]) -> list[Path]:
    """Render the missing ``previews/<arm>.png`` of :func:`preview_arms`; returns the files written.
    A preview that fails is skipped with a line saying why (it never stops the study)."""
    from augstudy.ablation.execution.mix_preview import write_mix_preview
    from augstudy.preview import render_preview_grid

    written = []
    for arm in preview_arms(arms):
        target = paths.preview(arm.name)
        if target.is_file():
            continue
        try:
            if mixes(arm.config):   # the pairs and lambdas this arm trains on (its policy applied first)
                written.append(write_mix_preview(arm.config, dataset, target, n=PREVIEW_IMAGES, seed=PREVIEW_SEED))
                continue
            written.append(render_preview_grid(arm.policy, dataset, target, n=PREVIEW_IMAGES, draws=PREVIEW_DRAWS,
                                               seed=PREVIEW_SEED, split=PREVIEW_SPLIT))
        except Exception as exc:  # noqa: BLE001 - a preview must never stop a study
            echo(f"previews: {arm.name}: {type(exc).__name__}: {exc}; skipped")
    return written


__all__ = ["data_check_findings", "preview_arm_names", "preview_arms", "write_previews", "PREVIEW_IMAGES", "PREVIEW_DRAWS",
           "PREVIEW_SEED", "PREVIEW_SPLIT"]
