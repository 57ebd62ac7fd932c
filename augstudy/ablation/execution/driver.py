"""The study driver: the executor's :class:`~augstudy.ablation.execution.executors.StudyContext`, over the store.

:class:`StudyDriver` is the single writer of the study folder for this process.  It claims
runs from the :class:`~augstudy.ablation.storage.store.StudyStore` (resuming them from their
checkpoint), keeps the claims' heartbeats fresh, and records what the executor reports:

- ``on_epoch``: write the epoch's rows in one store transaction (after the claim check), hand
  a checkpoint state, when the schedule made one due, to the background
  :class:`~augstudy.ablation.execution.checkpoint_schedule.CheckpointWriter`, then re-export the progress
  files (runs.csv, epochs.csv, class_metrics.csv) at most every :data:`EXPORT_EVERY_S` seconds
  (they are derived from the store), and runs.csv alone at a run's first epoch;
- ``on_checkpoint``: a mid-epoch state, to the same writer.  The writer stages the file, then
  publishes it (the rename) inside a store transaction that checks the claim, so a process
  that lost its claim never replaces the new owner's file;
- ``on_done``: wait for the run's checkpoint to be on disk, record the run's end (same claim
  check), keep only the weights a later command reads (:func:`keeps_weights`; all of them with
  ``keep_checkpoints``, none with ``prune_checkpoints``), print its line and re-export every
  file (effects and study.json included).

A write for a run whose claim another process took over raises
:class:`~augstudy.ablation.storage.store.ClaimLost`; the executor stops that run and calls
:meth:`StudyDriver.claim_lost`, which says so on stderr.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable

from augstudy.ablation.execution.checkpoint_schedule import DEFAULT_CHECKPOINT_EVERY_S, CheckpointSchedule, CheckpointWriter
from augstudy.ablation.execution.checkpoints import load_resumable, slim_checkpoint, stage_checkpoint
from augstudy.ablation.analysis.effects import metric_from_epochs
from augstudy.ablation.execution.executors import LocalExecutor, RunJob
from augstudy.ablation.storage.exporter import (ExportResult, StoreSnapshot, StudyDescription, export_progress, export_runs,
                                     export_study)
from augstudy.ablation.storage.schema import RunStatus, StudyPaths, is_finished
from augstudy.ablation.spec.study_spec import Arm, canonical_json
from augstudy.ablation.storage.store import ClaimLost, Heartbeat, StudyStore, run_id_for
from augstudy.ablation.execution.tensorboard import TensorBoardLog
from augstudy.ablation.execution.train import EpochResult, RunOutcome, prepare_train_data, steps_per_epoch
from augstudy.errors import UserError

#: seconds between claim attempts while other processes finish the last runs
WAIT_POLL_S = 2.0
#: the exported files are re-written at most this often while runs train (seconds; runs.csv alone also
#: at a run's first epoch), and always at an interrupt and at the end of the study.  At the end of a
#: Tiny ImageNet study (12 runs x 30 epochs) one export of the progress files takes 0.6 s of CPU
#: (class_metrics.csv holds 200 rows per epoch) while a GPU epoch takes about 0.9 s: exporting every
#: epoch cost 70% of it, every 300 s costs 0.2% (benchmarks/bench_loop_overhead.py).  The store gets
#: every epoch at once, and TensorBoard (the live view) every epoch too.
EXPORT_EVERY_S = 300.0


def _stderr(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class StudyDriver:
    """Drives one invocation of a study (see the module docstring).

    ``desc``: what is studied; ``dataset``: the loaded ``ImageDataset`` (subsets are cut per
    distinct ``data`` config and cached on ``device``); ``echo``: progress lines (stdout);
    ``warn``: lines for stderr (a lost claim, a compile fallback).  ``checkpoint_every``: seconds
    between checkpoints (0: every epoch end); ``clock``: the schedule's time source (tests);
    ``precision`` (``fp32`` | ``bf16``; None: by device) and ``compile``: how runs compute.
    """

    def __init__(self, desc: StudyDescription, *, dataset, device, store: StudyStore, paths: StudyPaths,
                 echo: Callable[[str], None], warn: Callable[[str], None] = _stderr,
                 prune_checkpoints: bool = False, keep_checkpoints: bool = False,
                 checkpoint_every: float = DEFAULT_CHECKPOINT_EVERY_S, clock: Callable[[], float] | None = None,
                 precision: str | None = None, compile: bool = False):
        self.desc, self.dataset, self.store, self.paths = desc, dataset, store, paths
        self.device_obj = device
        self.device = str(device)
        self.echo, self.warn = echo, warn
        self.prune_checkpoints, self.keep_checkpoints = prune_checkpoints, keep_checkpoints
        self.schedule = CheckpointSchedule(checkpoint_every, *([clock] if clock is not None else []))
        self.writer = CheckpointWriter(self._write_checkpoint, on_exit=store.close)
        self.precision, self.compile = precision, compile
        self.tb = TensorBoardLog(paths.root)
        self.order: list[str] = []
        self.job_info: dict[str, tuple[Arm, int]] = {}
        self.refresh_order()
        self._data_cache: dict[str, object] = {}
        self._checkpoints: dict[str, dict | None] = {}
        self._heartbeat: Heartbeat | None = None
        self._bar = None
        self._waiting_said = False
        self.last_export: ExportResult | None = None
        self._exported_at = -float("inf")   # time.monotonic() of the last export (any kind)
        self._exported_runs: set[str] = set()

    # -- jobs -------------------------------------------------------------------------
    def refresh_order(self) -> None:
        """Re-read the study's (seed, arm) pairs from ``desc`` (``--seeds auto`` adds seeds per batch)."""
        self.order = self.desc.run_order
        for seed, arm in self.desc.pairs():
            self.job_info.setdefault(run_id_for(arm.config_hash, seed), (arm, seed))

    def pending_jobs(self) -> list[RunJob]:
        """Every run of the study not finished yet, in study order (``start_epoch`` from the store)."""
        runs = self.store.runs(self.order)
        return [self._job(rid, runs[rid]["epochs_done"]) for rid in self.order
                if not is_finished(runs[rid]["status"])]

    def _job(self, run_id: str, start_epoch: int = 0, claim_token: int = 0) -> RunJob:
        arm, seed = self.job_info[run_id]
        data = self.train_data(arm.config)
        return RunJob(run_id, arm.name, arm.level, seed, arm.config, arm.config_hash, arm.config["train"]["epochs"],
                      steps_per_epoch(data.n_train, arm.config["train"]["batch_size"]), start_epoch,
                      self.paths.checkpoint(arm.config_hash, seed), claim_token)

    def label(self, job: RunJob) -> str:
        """``dropout=0.3 (baseline) seed 1``: how lines name a run."""
        arm = self.job_info[job.run_id][0].label if job.run_id in self.job_info else job.arm
        return f"{arm} seed {job.seed}"

    # -- StudyContext -----------------------------------------------------------------
    def train_data(self, config: dict):
        key = canonical_json(config["data"])
        if key not in self._data_cache:
            self._data_cache[key] = prepare_train_data(self.dataset, config).to(self.device_obj)
        return self._data_cache[key]

    def claim_next(self, wait: bool = True) -> RunJob | None:
        while True:
            row = self.store.claim_next(self.order, self.device)
            if row is not None:
                try:
                    return self._resume(row)
                except ClaimLost:
                    continue  # taken over between the claim and the resume: look for another run
            if not wait:
                return None
            busy = [r for r in self.store.runs(self.order).values() if not is_finished(r["status"])]
            if not busy:
                return None
            if not self._waiting_said:
                self.echo(f"waiting for {len(busy)} run(s) that other processes are training...")
                self._waiting_said = True
            time.sleep(WAIT_POLL_S)

    def _resume(self, row: dict) -> RunJob:
        """The claimed run as a job: from its checkpoint's epoch (the store is synced to the
        checkpoint's history), or from scratch when there is none."""
        job = self._job(row["run_id"], claim_token=row["claim_token"])

        def unreadable(message: str) -> None:
            self.echo(f"warning: {message}; retraining {job.arm} seed {job.seed} from scratch")

        checkpoint = load_resumable(job.checkpoint_path, unreadable)
        history = [EpochResult(**h) for h in checkpoint["history"]] if checkpoint else []
        self.store.sync_history(job.run_id, job.claim_token, history)
        self.tb.reset_run(job.arm, job.seed, history)  # events follow the store (a kill may have lost some)
        job.start_epoch = history[-1].epoch if history else 0
        self._checkpoints[job.run_id] = checkpoint
        partial = (checkpoint or {}).get("partial")
        if job.start_epoch or partial:
            within = f", {partial['step']}/{job.steps_per_epoch} steps into epoch {partial['epoch']}" if partial else ""
            self.echo(f"resuming {job.arm} seed {job.seed} after epoch {job.start_epoch}/{job.epochs}{within}")
        return job

    def load_checkpoint(self, job: RunJob) -> dict | None:
        return self._checkpoints.pop(job.run_id, None)

    def train_options(self, job: RunJob) -> dict:
        """The keyword arguments of ``train_run`` this study adds for ``job`` (precision, compile,
        the checkpoint schedule and where its mid-epoch states go)."""
        return {"precision": self.precision, "compile": self.compile, "schedule": self.schedule,
                "on_checkpoint": lambda state: self.on_checkpoint(job, state), "warn": self.warn}

    def release(self, job: RunJob) -> None:
        """Give the claim back once the run's last checkpoint (an interrupt's) is on disk."""
        try:
            self.writer.flush(job.run_id)
        except Exception as exc:  # noqa: BLE001 - the claim must go back whatever the disk did
            self.warn(f"warning: the checkpoint of {self.label(job)} could not be written ({exc})")
        self.store.release(job.run_id, job.claim_token)

    def on_step(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def heartbeat_run(self, job: RunJob | None) -> None:
        if self._heartbeat is not None:
            self._heartbeat.claim = (job.run_id, job.claim_token) if job else None

    def refresh_claims(self, jobs: list[RunJob]) -> None:
        """Refresh now the heartbeat of every run in ``jobs``: an executor training several runs at
        once (the Ray executor) calls this every ``heartbeat_every_s``; the background thread
        keeps only the one run of ``heartbeat_run`` fresh."""
        for job in jobs:
            self.store.heartbeat(job.run_id, job.claim_token)

    def claim_lost(self, job: RunJob) -> None:
        """Another process took ``job`` over (this one was paused past the stale limit): forget
        it here and say so on stderr.  Nothing of this process's was written for it since."""
        self._checkpoints.pop(job.run_id, None)
        self.writer.discard(job.run_id)
        self.tb.close_run(job.arm, job.seed)
        self.warn(f"run {self.label(job)} was taken over by another process after a pause; stopping it here")

    # -- driver callbacks -------------------------------------------------------------
    def on_epoch(self, job: RunJob, result: EpochResult, state: dict | None) -> None:
        """Record one finished epoch (see the module docstring); raises ClaimLost."""
        self.store.record_epoch(job.run_id, job.claim_token, result, None)
        try:  # derived files first: the checkpoint's background write must not fill the disk under them
            self.tb.log_epoch(job.arm, job.seed, result)
            if time.monotonic() - self._exported_at >= EXPORT_EVERY_S:
                self.export_progress()
            elif job.run_id not in self._exported_runs:   # runs.csv says at once that the run trains
                export_runs(self.paths, self.desc, StoreSnapshot(self.store.runs(self.order),
                                                                 self.store.epochs(self.order), []))
        except OSError:
            self.writer.flush()   # a checkpoint's failed write (a full disk) is the error to report
            raise
        self._exported_runs.add(job.run_id)
        if state is not None:
            self.on_checkpoint(job, state)

    def on_checkpoint(self, job: RunJob, state: dict) -> None:
        """Hand ``state`` (host memory already) to the background writer; returns at once."""
        self.writer.submit(job.run_id, (job, state))

    def _write_checkpoint(self, run_id: str, payload) -> None:
        """In the writer thread: stage the file, publish it if the claim still holds (else drop it)."""
        job, state = payload
        staged = stage_checkpoint(job.checkpoint_path, state)
        try:
            self.store.publish_checkpoint(job.run_id, job.claim_token,
                                          str(job.checkpoint_path.relative_to(self.paths.root)), staged.publish)
        except ClaimLost:
            pass  # the training thread finds out at its next store write
        finally:
            staged.discard()  # a no-op once published

    def on_done(self, job: RunJob, outcome: RunOutcome) -> None:
        """Record the run's end, then slim (or prune) its checkpoint and re-export; raises ClaimLost."""
        self.writer.flush(job.run_id)  # a run is finished only once its final weights are on disk
        metric = None
        finite = [h.to_dict() for h in outcome.history if h.finite]
        if finite:
            metric = metric_from_epochs(finite, self.desc.metric)
        self.store.finish_run(job.run_id, job.claim_token, outcome.status, metric=metric, wall_s=outcome.wall_s,
                              diverged_epoch=outcome.diverged_epoch, error=outcome.error)
        self.tb.close_run(job.arm, job.seed)
        if outcome.status != RunStatus.FAILED:  # a failed run resumes from its checkpoint when retried
            if self.prune_checkpoints or not (self.keep_checkpoints or keeps_weights(job.config)):
                job.checkpoint_path.unlink(missing_ok=True)
            elif outcome.status == RunStatus.DONE:
                slim_checkpoint(job.checkpoint_path)
        done_text = {"done": f"{self.desc.metric} val acc {100 * metric:.2f}%" if metric is not None else "no metric",
                     "diverged": f"DIVERGED at epoch {outcome.diverged_epoch} (loss NaN/inf)",
                     "failed": f"FAILED: {outcome.error}"}[outcome.status]
        self._write_line(f"run {self.label(job)}: {done_text}; {outcome.epochs_done}/{job.epochs} epochs, "
                         f"{outcome.wall_s:.1f} s")
        if time.monotonic() - self._exported_at >= EXPORT_EVERY_S:
            self.export()        # else the next one (or the runner's export at the end) shows it

    def _write_line(self, text: str) -> None:
        if self._bar is not None and not self._bar.disable:
            self._bar.write(text, file=sys.stdout)
        else:
            self.echo(text)

    # -- exports ----------------------------------------------------------------------
    def _snapshot(self) -> StoreSnapshot:
        return StoreSnapshot.read(self.store, self.order)

    def export_progress(self) -> dict[str, Path]:
        """runs.csv, epochs.csv and class_metrics.csv from one read of the store."""
        self._exported_at = time.monotonic()
        return export_progress(self.paths, self.desc, self._snapshot())

    def export(self) -> ExportResult:
        """Every plain file of the study folder from one read of the store."""
        self._exported_at = time.monotonic()
        snap = StoreSnapshot.read(self.store, self.order, with_correct=True)
        self.last_export = export_study(self.paths, self.desc, snap)
        return self.last_export

    # -- the loop ---------------------------------------------------------------------
    def run(self, executor=None) -> None:
        """Train every unfinished run with ``executor`` (default: :class:`LocalExecutor`)."""
        from augstudy.progress import progress

        executor = executor or LocalExecutor()
        jobs = self.pending_jobs()
        total = sum((j.epochs - j.start_epoch) * j.steps_per_epoch for j in jobs)
        n_arms, n_pairs = len(self.desc.arms), len(self.desc.pairs())
        shape = (f"{n_arms} arms x {len(self.desc.seeds)} seeds" if self.desc.seeds_of is None
                 else f"{n_arms} arms, {n_pairs} arm-seed pairs")
        self.echo(f"{len(self.order)} runs ({shape}"
                  f"{', shared runs counted once' if len(self.order) < n_pairs else ''}): "
                  f"{len(self.order) - len(jobs)} finished, {len(jobs)} to train")
        self._bar = progress(total=total, desc=f"ablate {self.desc.factor}", unit="step")
        finished = False
        try:
            with Heartbeat(self.store) as heartbeat:
                self._heartbeat = heartbeat
                executor.run(jobs, self, self.on_epoch, self.on_done)
            finished = True
        except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (the CLI raises the same for it)
            self._interrupted(exc)
            raise
        except UserError:  # a study-wide stop (locked store, disk full): the files show the released runs
            try:
                self.export()
            except Exception:  # noqa: BLE001 - the error on its way out says what happened
                pass
            raise
        finally:
            self._heartbeat = None
            self._bar.close()
            self._bar = None
            self.tb.close()
            try:
                self.writer.close()
            except Exception:
                if finished:
                    raise
                self.warn("warning: a checkpoint could not be written while stopping")

    def _interrupted(self, exc: KeyboardInterrupt) -> None:
        """The executor released this process's claims: export, so runs.csv shows them pending
        rather than running, and say what is kept."""
        self.export()
        finished = sum(1 for r in self.store.runs(self.order).values() if is_finished(r["status"]))
        name = getattr(exc, "signal_name", "SIGINT")
        self._write_line(f"interrupted ({name}): {finished} finished run(s) and every started run's epochs up to "
                         f"its last checkpoint are kept in {self.paths.root}; rerun the same command to resume")


def keeps_weights(config: dict) -> bool:
    """True when a finished run of ``config`` keeps its (slim) weights by default: its policy never
    changes an image, so it is the clean model affinity needs (a strength study's s = 0 arm,
    ``augstudy measure --model`` after a ``policy`` study's ``none`` arm)."""
    from augstudy.policy import load_policy
    from augstudy.policy.ops import OPS

    policy = load_policy(config["augment"]["policy"])
    side = policy.image_size
    return policy.p == 0 or all(op.p == 0 or OPS[op.op].is_identity(op.params, side) for op in policy.ops)


__all__ = ["StudyDriver", "WAIT_POLL_S", "EXPORT_EVERY_S", "keeps_weights"]
