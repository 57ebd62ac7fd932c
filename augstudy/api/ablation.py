"""``augstudy.ablate``: a paired-seed ablation from Python, returning a :class:`~augstudy.ablation.storage.reader.Study`.

Calls :func:`augstudy.ablation.runner.run_study`, the function behind ``augstudy ablate``: same
folder, same files, same resume rules (rerunning the same call skips finished runs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from augstudy.api.data import DataSource, is_path_like, load_dataset
from augstudy.ablation.storage.reader import Study

#: a model: ``"final"``, ``"first"``, ``"timm:<name>"``, ``"package.module:function"`` or a callable
ModelSpec = Any


def ablate(factor: str, *, seeds: int | str | Sequence[int] = 3, budget: str = "smoke", data: DataSource = None,
           device: str = "auto", out: str | Path | None = None, model: ModelSpec = None, metric: str = "last3",
           report: bool = True, verbose: bool = True, echo: Callable[[str], None] | None = None,
           **options: Any) -> Study:
    """Train every level of ``factor`` x ``seeds`` paired seeds and return the study's handle.

    Args:
        factor: a factor file in ``ablations/`` (``augstudy ablate --list``), or ``"all"``.
        seeds: a count N (seeds 0..N-1) or explicit seeds; seed s fixes initialization, data
            order and augmentation draws in every arm.
        budget: ``"smoke"`` (minutes on a CPU), ``"short"``, ``"full"``, or any budget of the specs.
        data: anything :func:`augstudy.load_dataset` takes: a path (default: the default dataset),
            an ``ImageDataset``, ``(images, labels, class_names)`` uint8 tensors or a torchvision-style
            dataset (converted once, in memory; never written to disk).
        device: ``"auto"`` (cuda if available), ``"cpu"``, ``"cuda"`` or ``"cuda:K"``.
        out: the study folder (default ``reports/<factor>-<dataset>``).
        model: replaces the recipe's ``model.name`` in every arm: ``"final"``, ``"first"``,
            ``"timm:<name>"``, ``"package.module:function"`` or a callable (a function or
            ``nn.Module`` class defined at the top level of a module or notebook) called as
            ``model(num_classes=N, **knobs_it_declares)``.  A level setting a knob the model does
            not declare is refused before any training.
        metric: per-run metric: ``"last3"`` (mean val accuracy of the last 3 epochs), ``"best"``, ``"final"``.
        report: build ``report.html`` / ``report.md`` at the end.
        verbose: print progress and the effect table (``echo`` replaces ``print``).
        **options: passed on to :func:`augstudy.ablation.runner.run_study` (``specs_dir``,
            ``budget_override``, ``executor``, ``prune_checkpoints``, ``allow_data_errors``, ``by``, ...).

    Returns a read-only :class:`Study` on the folder (``.effects``, ``.runs``, ``.curves``, ``.verdicts``).
    """
    from augstudy.ablation.runner import run_study

    if model is not None:
        from augstudy.ablation.spec.study_spec import deep_merge
        from augstudy.models import model_reference

        options["budget_override"] = deep_merge(options.get("budget_override") or {},
                                                {"model": {"name": model_reference(model)}})
    if not is_path_like(data):
        options["dataset"] = load_dataset(data)
        data = None
    if echo is None:
        echo = print if verbose else _silent
    result = run_study(factor, seeds=seeds if isinstance(seeds, (int, str)) else list(seeds), budget=budget, data=data,
                       device=device, metric=metric, out=out, report=report, echo=echo, **options)
    return Study(result.out_dir)


def _silent(message: str) -> None:
    """An ``echo`` that prints nothing."""


__all__ = ["ablate", "ModelSpec"]
