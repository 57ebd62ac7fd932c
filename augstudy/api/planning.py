"""``plan``: the paired seeds, runs and hours a study needs (``augstudy plan``), as a function.

A thin re-export of :func:`augstudy.ablation.plan.plan` with the progress bar off by default
(a notebook wants the result, not a bar): returns a :class:`~augstudy.ablation.plan.PlanResult`
(``rows``, ``table()``, ``to_dict()``, ``write(dir)``); ``out=`` writes plan.json and plan.csv.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from augstudy.ablation.plan import DEFAULT_EFFECTS, DEFAULT_MAX_SEEDS, PlanResult, plan as _plan


def plan(from_study: str | Path | None = None, *, val_size: int | None = None, arms: int | None = None,
         sesoi: float | None = None, seed_sd: float | None = None, accuracy: float | None = None,
         churn: float | None = None, val_sd: float | None = None, effects: Sequence[float] = DEFAULT_EFFECTS,
         power: float = 0.8, sims: int | None = None, seed: int = 0, max_seeds: int = DEFAULT_MAX_SEEDS,
         auto: bool = True, run_minutes: float | None = None, device: str | None = None,
         out: str | Path | None = None, progress: bool = False) -> PlanResult:
    """Seeds needed for 80% power to call ``better`` at each of ``effects`` (points) and
    ``equivalent`` inside +-``sesoi``, runs under ``--seeds auto`` and hours, by simulating the
    study's own decision rule (arguments: :func:`augstudy.ablation.plan.plan`).

    Either a pilot study folder (``from_study``) or the numbers ``val_size``, ``arms``, ``seed_sd``
    (points; ``accuracy``, ``churn``, ``val_sd`` optional).
    """
    return _plan(from_study, val_size=val_size, arms=arms, sesoi=sesoi, seed_sd=seed_sd, accuracy=accuracy,
                 churn=churn, val_sd=val_sd, effects=effects, power=power, sims=sims, seed=seed,
                 max_seeds=max_seeds, auto=auto, run_minutes=run_minutes, device=device, out=out,
                 progress=progress)
