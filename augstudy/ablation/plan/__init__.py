"""``augstudy plan``: how many paired seeds (and GPU hours) a question needs, before spending them.

:func:`plan` takes the val-set size, the number of arms, the SESOI and a noise estimate (numbers,
or a pilot study folder) and answers, per question, by **simulating the study's own decision
code** on per-example correctness drawn from a data model matching the noise
(:mod:`.model`; :mod:`.simulate` calls :func:`augstudy.ablation.analysis.stats.decide` and
:func:`augstudy.ablation.analysis.stats.sequential.replay`, so the plan follows the statistics when they change):

- ``better at +X``: one arm truly +X points, the other ``arms - 1`` at 0 (Holm's family is the
  study's): the paired seeds at which it is called ``better`` in ``power`` of the studies;
- ``equivalent``: every arm truly 0: the seeds at which an arm is called ``equivalent`` inside
  +-SESOI in ``power`` of the cases;
- for each, the expected runs under ``--seeds auto`` and its rate of the same verdict, and the
  hours from a measured time per run.

Modules: :mod:`.model` (data model and its calibration), :mod:`.pilot` (noise from a study
folder), :mod:`.simulate` (simulated studies, seed search), :mod:`.result` (:class:`PlanResult`,
table, plan.json / plan.csv).
"""

from __future__ import annotations

import math
import numbers
import time
from pathlib import Path
from typing import Sequence

from augstudy.ablation.plan.model import DataModel, NoiseEstimate, calibrate
from augstudy.ablation.plan.result import PlanResult, PlanRow
from augstudy.ablation.terms import Verdict
from augstudy.errors import UserError

DEFAULT_EFFECTS = (1.0, 2.0)
DEFAULT_SIMS = 400
MIN_SIMS = 100
_WORK_PER_SIM = 10_000        # val images x runs per seed at which the default keeps DEFAULT_SIMS
DEFAULT_MAX_SEEDS = 50
DEFAULT_ACCURACY = 0.5


def default_sims(val_size: int, arms: int) -> int:
    """Simulated studies per seed count: 400 up to 10,000 val-image-runs per seed (2,000 images and
    4 arms), fewer above (at least 100) so that a plan stays within tens of seconds."""
    work = val_size * (arms + 1)
    return int(max(MIN_SIMS, min(DEFAULT_SIMS, round(DEFAULT_SIMS * _WORK_PER_SIM / work))))


def _check(name: str, value, ok: bool, fix: str) -> None:
    if not ok:
        raise UserError(f"{name} {value}: {fix}")


def _validate(val_size, arms, sesoi, effects, power, alpha, sims, max_seeds, seed_sd, accuracy, churn, val_sd,
              run_seconds, seed=0) -> None:
    _check("--val-size", val_size, val_size is None or (isinstance(val_size, numbers.Integral) and val_size > 1),
           "must be a whole number of val images above 1 (e.g. --val-size 2000)")
    _check("--arms", arms, arms is None or (isinstance(arms, numbers.Integral) and arms >= 1),
           "must be at least 1 (the non-baseline arms of the study, e.g. --arms 4)")
    _check("--sesoi", sesoi, sesoi is None or (math.isfinite(sesoi) and sesoi > 0),
           "must be a positive number of accuracy points (e.g. --sesoi 1)")
    for e in effects:
        _check("--effect", e, math.isfinite(e) and e > 0, "each effect must be a positive number of points")
    _check("--power", power, 0 < power < 1, "must be in (0, 1), e.g. --power 0.8")
    _check("--alpha", alpha, 0 < alpha < 0.5, "must be in (0, 0.5), e.g. --alpha 0.05")
    _check("--sims", sims, sims is None or (isinstance(sims, numbers.Integral) and sims >= 10),
           "must be at least 10 simulated studies (default: 100-400 by size)")
    _check("--max-seeds", max_seeds, isinstance(max_seeds, numbers.Integral) and max_seeds >= 3,
           "must be at least 3")
    _check("--seed", seed, isinstance(seed, numbers.Integral) and seed >= 0, "must be a whole number >= 0")
    _check("--seed-sd", seed_sd, seed_sd is None or (math.isfinite(seed_sd) and seed_sd > 0),
           "must be a positive number of accuracy points (the sd over seeds of arm - baseline)")
    _check("--accuracy", accuracy, accuracy is None or 0 < accuracy < 1,
           "must be the val accuracy as a fraction in (0, 1), e.g. --accuracy 0.48")
    _check("--churn", churn, churn is None or 0 < churn < 1,
           "must be the share of val examples two runs disagree on, in (0, 1), e.g. --churn 0.2")
    _check("--val-sd", val_sd, val_sd is None or (math.isfinite(val_sd) and val_sd >= 0),
           "must be 0 or a positive number of accuracy points")
    _check("--run-minutes", None if run_seconds is None else run_seconds / 60,
           run_seconds is None or run_seconds > 0, "must be a positive number of minutes per run")


def plan(from_study: str | Path | None = None, *, val_size: int | None = None, arms: int | None = None,
         sesoi: float | None = None, seed_sd: float | None = None, accuracy: float | None = None,
         churn: float | None = None, val_sd: float | None = None, effects: Sequence[float] = DEFAULT_EFFECTS,
         power: float = 0.8, alpha: float = 0.05, sims: int | None = None, seed: int = 0,
         max_seeds: int = DEFAULT_MAX_SEEDS, auto: bool = True, run_minutes: float | None = None,
         device: str | None = None, out: str | Path | None = None, progress: bool = True) -> PlanResult:
    """Paired seeds, runs and hours a study needs, by simulating its own decision rule.

    Args:
        from_study: a pilot study folder (its seed sd, accuracy, churn, val-set sd, val size, arm
            count, SESOI and measured run time; every explicit argument below overrides it).
        val_size: val images of the planned study; arms: its non-baseline arms.
        sesoi: equivalence margin, accuracy points (default: the pilot's, else 1).
        seed_sd: sd over seeds of the per-seed paired difference (arm - baseline), points, at
            ``val_size`` images (the pilot's is rescaled from its own val size).
        accuracy: val accuracy level, fraction (default 0.5 without a pilot).
        churn: share of val examples two runs of one arm disagree on (default: the largest the
            seed sd allows, the most val-set noise consistent with it).
        val_sd: sd of an arm's effect from which val images were drawn, points (default 0).
        effects: the "better at +X" questions, points.
        power: the rate to reach; alpha: the study's family-wise level.
        sims: simulated studies per seed count (default :func:`default_sims`); seed: their seed.
        max_seeds: the largest fixed design searched.
        auto: also simulate ``--seeds auto`` (its default schedule).
        run_minutes / device: time per run and where (default: the pilot's measurement).
        out: a folder to write ``plan.json`` and ``plan.csv`` into.
        progress: a progress bar with ETA on stderr (``AUGSTUDY_NO_PROGRESS=1`` silences it).
    Returns:
        :class:`PlanResult` (``.table()`` is what ``augstudy plan`` prints).
    """
    effects = tuple(float(e) for e in effects)
    run_seconds = None if run_minutes is None else float(run_minutes) * 60.0
    time_source = "given"
    _validate(val_size, arms, sesoi, effects, power, alpha, sims, max_seeds, seed_sd, accuracy, churn, val_sd,
              run_seconds, seed)
    val_size = None if val_size is None else int(val_size)
    arms = None if arms is None else int(arms)
    if out is not None:
        from augstudy.atomic import ensure_writable_folder

        ensure_writable_folder(Path(out))        # refuse an unwritable --out before any work
    t0 = time.perf_counter()
    notes: list[str] = []
    pilot = None
    if from_study is not None:
        from augstudy.ablation.plan.pilot import read_pilot

        pilot = read_pilot(from_study)
        notes += pilot.notes
        base = pilot.noise
        noise = NoiseEstimate(accuracy=base.accuracy if accuracy is None else accuracy,
                              churn=base.churn if churn is None else churn,
                              seed_sd=base.seed_sd if seed_sd is None else seed_sd,
                              val_sd=base.val_sd if val_sd is None else val_sd,
                              ref_val=base.ref_val if seed_sd is None else (val_size or base.ref_val))
        top = 2 * noise.accuracy * (1 - noise.accuracy)
        if churn is None and noise.churn is not None and noise.churn > top:
            notes.append(f"the pilot's churn {noise.churn:.3g} exceeds 2p(1-p) = {top:.3g} at its accuracy "
                         f"{noise.accuracy:.3g} (runs that disagree more than chance): capped there")
            noise = NoiseEstimate(noise.accuracy, top, noise.seed_sd, noise.val_sd, noise.ref_val)
        val_size = val_size or pilot.n_val
        arms = arms or max(pilot.n_arms, 1)
        sesoi = sesoi if sesoi is not None else (pilot.sesoi or 1.0)
        if run_seconds is None and pilot.seconds_per_run is not None:
            run_seconds, time_source = pilot.seconds_per_run, "measured in the pilot"
        device = device or pilot.device
        source = f"pilot {pilot.path}, {pilot.n_seeds} paired seeds, metric {pilot.metric}"
        if pilot.n_seeds < 5:
            notes.append(f"the seed sd comes from {pilot.n_seeds} paired seeds: itself uncertain by about "
                         f"+-{100 / math.sqrt(2 * max(pilot.n_seeds - 1, 1)):.0f}% (one sd); a pilot with more "
                         f"seeds plans better")
    else:
        missing = [name for name, v in (("--val-size", val_size), ("--arms", arms), ("--seed-sd", seed_sd))
                   if v is None]
        if missing:
            raise UserError(f"missing {', '.join(missing)}: give the planned study's numbers (e.g. --val-size "
                            f"2000 --arms 4 --seed-sd 0.8), or a pilot study folder with --from reports/<study>")
        if accuracy is None:
            notes.append(f"val accuracy not given: {DEFAULT_ACCURACY:g} assumed (--accuracy)")
        noise = NoiseEstimate(accuracy=DEFAULT_ACCURACY if accuracy is None else accuracy, churn=churn,
                              seed_sd=seed_sd, val_sd=val_sd or 0.0, ref_val=val_size)
        sesoi = 1.0 if sesoi is None else sesoi
        source = "numbers"
    if pilot is None and churn is None:
        notes.append("churn not measured: taken as the largest the seed sd allows (--churn to set it)")
    model = calibrate(noise, val_size, strict=pilot is None or seed_sd is not None)
    implied = model.seed_sd * math.sqrt(val_size / noise.ref_val) if noise.ref_val else model.seed_sd
    if pilot is not None and noise.seed_sd < model.seed_floor * math.sqrt(val_size / noise.ref_val) * 0.999:
        notes.append(f"the pilot's seed sd {noise.seed_sd:.3g} pts is below what its churn alone gives on "
                     f"{noise.ref_val:,} images; the churn's {implied:.3g} pts used (the seed sd of few seeds "
                     f"is the noisier estimate)")
    sims = sims or default_sims(val_size, arms)
    rows, sim_n, auto_n, schedule = _simulate(model, arms, sesoi, alpha, power, effects, sims, seed, max_seeds,
                                              auto, progress)
    for r in rows:
        if run_seconds is not None:
            r.hours = None if r.runs is None else r.runs * run_seconds / 3600.0
            r.auto_hours = None if r.auto_runs is None else r.auto_runs * run_seconds / 3600.0
    res = PlanResult(rows=rows, arms=arms, val_size=val_size, sesoi=float(sesoi), alpha=alpha, power=power,
                     sims=sim_n, auto_sims=auto_n, seed=seed, max_seeds=max_seeds, noise=noise.to_dict(),
                     model=model.to_dict(), source=source, seconds_per_run=run_seconds, device=device,
                     elapsed_s=time.perf_counter() - t0, auto_schedule=schedule, notes=notes,
                     run_time_source=time_source,
                     pilot=None if pilot is None else pilot.to_dict())
    if out is not None:
        res.write(out)
    return res


def _simulate(model: DataModel, arms: int, sesoi: float, alpha: float, power: float, effects: tuple,
              sims: int, seed: int, max_seeds: int, auto: bool, show: bool) -> tuple[list, int, int, list]:
    """The questions' rows, the studies simulated (fixed, auto) and the auto schedule; one progress
    bar over every simulated study-seed, its total re-estimated after each question (ETA)."""
    from augstudy.ablation.plan.simulate import Scenario, Simulator, seeds_needed
    from augstudy.ablation.analysis.stats import sequential as stats_sequential
    from augstudy.progress import progress as progress_bar

    scenarios = [Scenario(f"better at +{e:g} pts", (e,) + (0.0,) * (arms - 1), Verdict.BETTER, key=i + 1)
                 for i, e in enumerate(effects)]
    scenarios.append(Scenario(f"equivalent inside +-{sesoi:g} (truth 0)", (0.0,) * arms, Verdict.EQUIVALENT, key=0))
    auto_sims = max(MIN_SIMS // 2, sims // 2)
    bar = progress_bar(total=1, desc="plan: simulating studies", unit="study-seed",
                       disable=None if show else True)
    done = [0]

    def tick(k: int) -> None:
        done[0] += k
        bar.update(k)

    sim = Simulator(model, arms, sesoi, alpha, seed, tick)
    sims, auto_sims = sim.round_sims(sims), sim.round_sims(auto_sims)
    auto_work = auto_sims * stats_sequential.MAX_SEEDS if auto else 0
    guess = lambda left: left * (sims * 40 + auto_work)      # a search visits about 40 seed-units
    bar.total = guess(len(scenarios))
    rows = []
    try:
        for i, sc in enumerate(scenarios):
            n, curve = seeds_needed(lambda n_, s_: sim.fixed_rate(sc, n_, s_), sims, power, 2, max_seeds)
            at = n if n is not None else max_seeds
            k, t = sim.fixed_rate(sc, at, sims)
            rate = k / t
            row = PlanRow(question=sc.name, target=sc.target, effect=sc.effects[0], seeds=n,
                          runs=None if n is None else (arms + 1) * n, power=rate,
                          power_se=math.sqrt(max(rate * (1 - rate), 1e-12) / t), hours=None,
                          curve={int(key): float(v) for key, v in sorted(curve.items())},
                          false_any=sim.false_any(sc, at))
            if auto:
                a = sim.auto(sc, auto_sims)
                row.auto_runs, row.auto_runs_se, row.auto_power = a["runs_mean"], a["runs_se"], a["rate"]
                row.auto_power_se = math.sqrt(max(a["rate"] * (1 - a["rate"]), 1e-12) / a["trials"])
                row.auto_false_any = a["false_any"]
            rows.append(row)
            bar.total = done[0] + round(done[0] / (i + 1) * (len(scenarios) - i - 1))   # the finished ones' mean
            bar.refresh()
    finally:
        bar.close()
    schedule = list(stats_sequential.look_schedule(stats_sequential.START_SEEDS, stats_sequential.BATCH,
                                                   stats_sequential.MAX_SEEDS))
    return rows, sims, auto_sims if auto else 0, schedule


__all__ = ["plan", "PlanResult", "PlanRow", "NoiseEstimate", "DataModel", "calibrate", "default_sims"]
