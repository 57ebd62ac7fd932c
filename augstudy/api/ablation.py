"""``augstudy.ablate``: a paired-seed ablation from Python, returning a :class:`~augstudy.ablation.storage.reader.Study`.

Collects its keyword arguments into a :class:`~augstudy.ablation.spec.options.StudyOptions` (the same
validator as ``augstudy ablate``'s flags; a refusal names the keyword) and calls
:func:`augstudy.ablation.runner.run_study`, the function behind ``augstudy ablate``: same folder,
same files, same resume rules (rerunning the same call skips finished runs).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, Callable, Sequence

from augstudy.api.data import DataSource, is_path_like, load_dataset
from augstudy.ablation.storage.reader import Study

#: a model: ``"final"``, ``"first"``, ``"timm:<name>"``, ``"package.module:function"`` or a callable
ModelSpec = Any
#: keywords of ``**options`` that are runtime objects, not options (``executor`` too when it is an object)
RUNTIME_KEYWORDS = ("dataset", "checkpoint_clock")


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
        **options: any other option of :class:`~augstudy.ablation.spec.options.StudyOptions`, by the
            name of its field (``specs_dir``, ``budget_override``, ``by``, ``sesoi``, ``start_seeds``,
            ``prune_checkpoints``, ``precision``, ``executor="ray"``, ``gpus_per_run``, ...); or, passed
            to :func:`~augstudy.ablation.runner.run_study` as they are, ``executor=`` an executor object,
            ``dataset=`` a loaded dataset, ``checkpoint_clock=``.  A bad value is one UserError naming
            the keyword.

    Returns a read-only :class:`Study` on the folder (``.effects``, ``.runs``, ``.curves``, ``.verdicts``).
    """
    from augstudy.ablation.runner import run_study
    from augstudy.ablation.spec.options import StudyOptions

    runtime = {key: options.pop(key) for key in RUNTIME_KEYWORDS if key in options}
    if not isinstance(options.get("executor", ""), str):
        runtime["executor"] = options.pop("executor")
    if isinstance(seeds, Iterable) and not isinstance(seeds, str):
        seeds = list(seeds)   # explicit seeds, from any iterable (a range, a numpy array)
    collected = StudyOptions.collect({
        "factor": factor, "seeds": seeds, "budget": budget, "data": data if is_path_like(data) else None,
        "device": device, "out": out, "model": model, "metric": metric, "report": report, **options})
    if not is_path_like(data):   # in memory: loaded once, never written
        runtime["dataset"] = load_dataset(data)
    if echo is None:
        echo = print if verbose else _silent
    result = run_study(collected, echo=echo, **runtime)
    return Study(result.out_dir)


def _silent(message: str) -> None:
    """An ``echo`` that prints nothing."""


__all__ = ["ablate", "ModelSpec", "RUNTIME_KEYWORDS"]
