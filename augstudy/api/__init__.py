"""The Python API: the functions behind augstudy's commands, for notebooks and scripts.

Import them from the top-level package (``import augstudy``); this package holds them, one
concern per module:

- :mod:`.data`: :func:`load_dataset` (a path, an ``ImageDataset``, uint8 tensors or a
  torchvision-style dataset; every ``data=`` argument goes through it);
- :mod:`.previews`: :func:`preview` -> a matplotlib ``Figure``;
- :mod:`.measurement`: :func:`measure` -> :class:`MeasureResult`;
- :mod:`.ablation`: :func:`ablate` -> :class:`Study`;
- :class:`Study` and :func:`load_study` (read-only handle on a study folder) are re-exported from
  :mod:`augstudy.ablation.storage.reader`, their home;
- :mod:`.planning`: :func:`plan` -> :class:`~augstudy.ablation.plan.PlanResult` (seeds, runs, hours).
"""

from __future__ import annotations

from augstudy.api.ablation import ablate
from augstudy.api.data import load_dataset
from augstudy.api.measurement import MeasureResult, measure
from augstudy.api.previews import preview
from augstudy.api.planning import plan
from augstudy.ablation.storage.reader import Study, load_study

__all__ = ["load_dataset", "preview", "measure", "MeasureResult", "ablate", "Study", "load_study", "plan"]
