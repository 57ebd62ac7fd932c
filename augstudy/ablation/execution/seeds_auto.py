"""``--seeds auto``: train seeds in batches, only for the arms still undecided, until every arm has a verdict.

The decisions are :func:`augstudy.ablation.analysis.stats.sequential.sequential_step`'s (group-sequential
alpha spending with Holm recycling across arms, so optional stopping keeps the error rates);
this module only turns them into runs:

1. every arm starts with the plan's ``start`` seeds (0 .. start-1);
2. after each batch the study is exported, and the effects replay every look from the stored
   results alone (stateless): arms with a verdict stop, each undecided arm gets the seeds of
   the next look, the baseline the most any arm needs;
3. before each batch one line says what it costs (runs, and minutes from the measured mean
   wall time of the finished runs).

Because the replay reads only the store, a rerun of the same command (resume), the Ray
executor and several processes on one study all compute the same schedule: the plan
(``start``, ``batch``, ``max``) and the SESOI are stored in the study's meta and a rerun
with another plan is refused.
"""

from __future__ import annotations

from typing import Callable

from augstudy.ablation.analysis.effects import SequentialPlan
from augstudy.ablation.storage.exporter import StudyDescription
from augstudy.ablation.storage.schema import RunStatus
from augstudy.ablation.storage.store import StudyStore, run_id_for
from augstudy.errors import UserError

PLAN_META_KEY = "seeds_plan"
SESOI_META_KEY = "sesoi_auto"


def pin_plan(store: StudyStore, plan: SequentialPlan, sesoi: float, out_dir) -> None:
    """Store the plan and SESOI in the study's meta; refuse a rerun that asks for another one
    (the replay of earlier looks depends on both)."""
    meta = store.meta()
    held, held_sesoi = meta.get(PLAN_META_KEY), meta.get(SESOI_META_KEY)
    if held is not None and held != plan.to_dict():
        raise UserError(f"{out_dir}: this study runs --seeds auto with start {held['start']}, batch "
                        f"{held['batch']}, max {held['max']}; rerun with --start-seeds {held['start']} "
                        f"--seed-batch {held['batch']} --max-seeds {held['max']}, or pass --out DIR for a new study")
    if held_sesoi is not None and float(held_sesoi) != float(sesoi):
        raise UserError(f"{out_dir}: this study runs --seeds auto with SESOI {held_sesoi:g}; rerun with "
                        f"--sesoi {held_sesoi:g}, or pass --out DIR for a new study")
    store.set_meta({PLAN_META_KEY: plan.to_dict(), SESOI_META_KEY: float(sesoi)})


def next_seeds(desc: StudyDescription, sequential) -> dict[str, list[int]] | None:
    """Each arm's seeds for the next look of ``sequential`` (a ``SequentialResult``), or None when done.

    Undecided arms get ``range(target_seeds)``, the baseline ``range(baseline_seeds)``; arms with
    a verdict keep what they have."""
    if sequential is None or sequential.done:
        return None
    seeds_of = {a.name: desc.arm_seeds(a) for a in desc.arms}
    for arm in sequential.arms:
        if not arm.final:
            have = seeds_of[arm.effect.arm]
            seeds_of[arm.effect.arm] = sorted(set(have) | set(range(arm.target_seeds)))
    base = desc.baseline.name
    seeds_of[base] = sorted(set(seeds_of[base]) | set(range(sequential.baseline_seeds)))
    return seeds_of


def register(store: StudyStore, desc: StudyDescription) -> None:
    """Add every (arm, seed) of ``desc`` to the store as pending (existing runs are kept)."""
    runs = {}
    for seed, arm in desc.pairs():
        rid = run_id_for(arm.config_hash, seed)
        runs.setdefault(rid, {"run_id": rid, "arm": arm.name, "level": arm.level, "seed": seed,
                              "config_hash": arm.config_hash, "config": arm.config})
    store.register_runs(list(runs.values()))


def seconds_per_run(store: StudyStore) -> float | None:
    """Mean wall time of the study's finished (done) runs, seconds; None before the first one."""
    times = [r["wall_s"] for r in store.runs().values() if r["status"] == RunStatus.DONE and r["wall_s"]]
    return sum(times) / len(times) if times else None


def run_auto(driver, store: StudyStore, executor, echo: Callable[[str], None]):
    """Train batch after batch until every arm has its verdict (or ``max`` seeds); returns the last export.

    ``driver``: a :class:`~augstudy.ablation.execution.driver.StudyDriver` whose ``desc`` holds the plan
    (``desc.sequential``) and the start seeds (``desc.seeds_of``)."""
    desc: StudyDescription = driver.desc
    exported = driver.export()
    while True:
        seeds_of = next_seeds(desc, exported.effects.sequential)
        if seeds_of is None:
            echo(exported.effects.sequential.plan_text(0))
            return exported
        grown = seeds_of != {a.name: desc.arm_seeds(a) for a in desc.arms}
        desc.seeds_of = seeds_of
        register(store, desc)
        driver.refresh_order()
        pending = driver.pending_jobs()
        if not grown and not pending:
            echo("seeds auto: the next look needs results that are missing (failed runs?); "
                 "rerun the command to retry them")
            return exported
        runs = store.runs(driver.order)
        base_has = sum(1 for s in desc.arm_seeds(desc.baseline)
                       if RunStatus.parse(runs[run_id_for(desc.baseline.config_hash, s)]["status"]).has_result)
        if pending:
            echo(exported.effects.sequential.plan_text(base_has, seconds_per_run(store)))
        driver.run(executor)
        exported = driver.export()


__all__ = ["pin_plan", "next_seeds", "register", "seconds_per_run", "run_auto",
           "PLAN_META_KEY", "SESOI_META_KEY"]
