"""Executors: who trains a study's runs.  The interface, and the in-process local executor.

For whoever adds an executor (e.g. ``augstudy/ablation/execution/ray_executor.py``)::

    class Executor(Protocol):
        def run(self, jobs: list[RunJob], context: StudyContext,
                on_epoch: Callable[[RunJob, EpochResult, dict | None], None],
                on_done: Callable[[RunJob, RunOutcome], None]) -> None: ...

- ``jobs``: every run of the study that is not finished yet, in the study's order
  (seed-major: every arm of seed 0, then seed 1, ...).  It sizes progress and
  parallelism; it is NOT permission to train them.
- Work is pulled with ``context.claim_next()``: it atomically claims the next
  runnable job in the study store (other processes share the study), loads nothing
  heavy, and returns a :class:`RunJob` with ``start_epoch``, ``checkpoint_path`` and
  ``claim_token`` filled in (resume), or ``None`` when nothing is left for this process.  With
  ``wait=True`` (the default) it waits while other processes still train runs and
  returns ``None`` only when the study is finished.  A job that is claimed must end
  in exactly one ``on_done`` call; ``context.release(job)`` gives it back unfinished
  (e.g. on Ctrl-C) so a rerun resumes it.
- The job is trained by :func:`augstudy.ablation.execution.train.train_run`, a pure function::

      train_run(job.config, data, job.seed, device, checkpoint=context.load_checkpoint(job),
                on_epoch=lambda result, state: ..., on_step=...)

  plus ``**context.train_options(job)`` (precision, compile; locally also the checkpoint
  schedule and ``on_checkpoint``, which a remote worker leaves out: it hands a state out at
  every epoch end), where ``data = context.train_data(job.config)`` (a :class:`TrainData` of CPU tensors;
  ``train_run`` moves it to ``device``).  A remote worker may rebuild the same
  ``TrainData`` itself or receive it by value.
- The driver (:class:`~augstudy.ablation.execution.driver.StudyDriver`) is the only writer of the study directory:
  ``on_epoch(job, result, checkpoint_state)`` must be called in the driver process for
  every finished epoch, in order, with the dict ``train_run`` passed to its own
  ``on_epoch`` (``None`` for a diverged epoch); the driver saves the checkpoint
  atomically, writes the epoch rows in one transaction and re-exports the CSVs.
  ``on_done(job, outcome)`` records the run's end (``outcome.status`` in done |
  diverged | failed; ``failed`` carries ``outcome.error``, one line).
- Fencing: ``on_epoch`` and ``on_done`` raise :class:`~augstudy.ablation.storage.store.ClaimLost`
  when another process took the run over (this one was paused past the stale limit).
  The executor then stops training that run, calls ``context.claim_lost(job)`` (no
  ``on_done``) and goes on with the next claim.
- ``context.on_step(1)`` after each optimizer step drives the study's progress bar
  (optional for remote executors; call it with a whole epoch's steps instead).
- ``context.heartbeat_run(job)`` marks which run this process is training so its claim
  stays fresh (the driver refreshes heartbeats from a background thread); an executor
  training several runs at once calls ``context.refresh_claims(jobs)`` with every run in
  flight at least every ``heartbeat_every_s(store.stale_s)`` seconds.
"""

from __future__ import annotations

import sqlite3
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

from augstudy.ablation.storage.store import ClaimLost
from augstudy.ablation.execution.train import EpochResult, RunOutcome, train_run
from augstudy.errors import UserError


@dataclass
class RunJob:
    """One (arm config, seed) run to train.  ``start_epoch``: epochs already done (resume from
    ``checkpoint_path``); ``epochs``: total epochs; ``steps_per_epoch``: optimizer steps per epoch;
    ``claim_token``: the fencing token of this process's claim on the run."""

    run_id: str
    arm: str
    level: str
    seed: int
    config: dict
    config_hash: str
    epochs: int
    steps_per_epoch: int
    start_epoch: int = 0
    checkpoint_path: Path | None = None
    claim_token: int = 0


OnEpoch = Callable[[RunJob, EpochResult, "dict | None"], None]
OnDone = Callable[[RunJob, RunOutcome], None]


class StudyContext(Protocol):
    """Everything an executor may ask of the running study (implemented by
    :class:`augstudy.ablation.execution.driver.StudyDriver`)."""

    #: the study's device, e.g. ``"cpu"`` or ``"cuda:0"``
    device: str

    def claim_next(self, wait: bool = True) -> RunJob | None:
        """Claim the next runnable run (None: nothing left; with ``wait``, only once no other
        process trains one either)."""

    def train_options(self, job: RunJob) -> dict:
        """Keyword arguments for ``train_run`` of ``job``: ``precision``, ``compile`` (plain values a
        remote worker can take) and, in this process, ``schedule``, ``on_checkpoint``, ``warn``."""

    def release(self, job: RunJob) -> None:
        """Give a claimed, unfinished run back (pending) so a rerun resumes it (after its last
        checkpoint is written)."""

    def load_checkpoint(self, job: RunJob) -> dict | None:
        """The checkpoint to resume ``job`` from (None: from scratch); once per claim."""

    def train_data(self, config: dict):
        """The :class:`~augstudy.ablation.execution.train.TrainData` of ``config``'s data section."""

    def on_step(self, n: int) -> None:
        """``n`` optimizer steps were taken (progress)."""

    def heartbeat_run(self, job: RunJob | None) -> None:
        """The run this process trains now (its claim is kept fresh in the background); None: none."""

    def refresh_claims(self, jobs: list[RunJob]) -> None:
        """Refresh now the claims of every run in ``jobs`` (an executor with several in flight)."""

    def claim_lost(self, job: RunJob) -> None:
        """``on_epoch``/``on_done`` raised ClaimLost for ``job``: forget it and say so."""


class Executor(Protocol):
    def run(self, jobs: list[RunJob], context: StudyContext, on_epoch: OnEpoch, on_done: OnDone) -> None: ...


def failure_outcome(job: RunJob, exc: BaseException, epochs_done: int | None = None) -> RunOutcome:
    """A ``failed`` outcome whose ``error`` is one line naming the exception; ``epochs_done``: the
    epochs recorded for the run (default: those it started from)."""
    message = f"{type(exc).__name__}: {exc}".splitlines()[0] if str(exc) else type(exc).__name__
    done = job.start_epoch if epochs_done is None else max(job.start_epoch, int(epochs_done))
    return RunOutcome("failed", done, None, 0.0, [], error=message)


def release_quietly(context: "StudyContext", job: RunJob) -> None:
    """Give ``job`` back on the way out of an error or interrupt; when even that cannot reach the
    store (its lock still held), the claim dies with this process and a rerun takes it over at once
    (same host: its pid is gone), so the error on its way out is the one to show."""
    try:
        context.release(job)
    except (UserError, OSError, sqlite3.Error):
        pass


class LocalExecutor:
    """Trains claimed runs one after another in this process, on ``context.device``."""

    def __init__(self, debug: bool = False):
        self.debug = debug

    def run(self, jobs: list[RunJob], context: StudyContext, on_epoch: OnEpoch, on_done: OnDone) -> None:
        while (job := context.claim_next()) is not None:
            context.heartbeat_run(job)
            recorded = [job.start_epoch]  # the last epoch on_epoch recorded (a failure reports it)

            def record(result, state, job=job, recorded=recorded):
                on_epoch(job, result, state)
                recorded[0] = result.epoch

            try:
                outcome = train_run(job.config, context.train_data(job.config), job.seed, context.device,
                                    checkpoint=context.load_checkpoint(job), on_epoch=record,
                                    on_step=context.on_step, **context.train_options(job))
            except ClaimLost:
                context.claim_lost(job)
                continue
            except (KeyboardInterrupt, UserError):
                release_quietly(context, job)
                raise
            except Exception as exc:  # noqa: BLE001 - one failed run must not end the study
                if self.debug:
                    traceback.print_exc()
                outcome = failure_outcome(job, exc, recorded[0])
            finally:
                context.heartbeat_run(None)
            try:
                on_done(job, outcome)
            except ClaimLost:
                context.claim_lost(job)


def make_executor(name: str, *, address: str | None = None, gpus_per_run: float | None = None,
                  max_retries: int | None = None, echo: Callable[[str], None] = print, debug: bool = False):
    """The executor ``--executor`` names: ``local`` -> :class:`LocalExecutor`, ``ray`` ->
    :class:`~augstudy.ablation.execution.ray_executor.RayExecutor` (``max_retries`` None: its default).
    The options were validated by :class:`~augstudy.ablation.spec.options.StudyOptions` (Ray-only
    options with ``local`` are refused there)."""
    if name == "local":
        return LocalExecutor(debug=debug)
    if name == "ray":
        from augstudy.ablation.execution.ray_executor import DEFAULT_MAX_RETRIES, RayExecutor

        return RayExecutor(address=address, gpus_per_run=gpus_per_run, echo=echo, debug=debug,
                           max_retries=DEFAULT_MAX_RETRIES if max_retries is None else max_retries)
    raise ValueError(f"executor {name!r}: must be local or ray")


__all__ = ["RunJob", "StudyContext", "Executor", "LocalExecutor", "OnEpoch", "OnDone", "failure_outcome",
           "release_quietly",
           "make_executor"]
