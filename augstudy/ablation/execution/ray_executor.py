"""``--executor ray``: train a study's runs as Ray tasks, several at once, on one machine or a cluster.

How a study meets Ray (see :mod:`augstudy.ablation.execution.executors` for the interface):

- **The driver stays the single writer.**  Each run is one Ray *streaming generator*
  task (:func:`train_epochs`) that yields one item per finished epoch: the
  :class:`~augstudy.ablation.execution.train.EpochResult` as a dict plus the checkpoint state
  (CPU tensors), then a final outcome item.  The driver multiplexes the active tasks
  with ``ray.wait`` and, for every item, calls ``on_epoch(job, result, state)`` (which
  saves the checkpoint atomically and commits the epoch rows) and, at the end,
  ``on_done(job, outcome)``.  Workers never touch the study folder, so the resume
  rules are those of the local executor: a rerun skips finished runs and resumes
  interrupted ones from their last checkpoint, whichever executor trained them.
- **The dataset travels once per node, not once per run.**  ``context.train_data(config)``
  is packed into plain numpy arrays and ``ray.put`` once per distinct ``data`` section
  of the run configs; every task gets the same ``ObjectRef``.  Ray's object store keeps
  one copy per node in shared memory and numpy arrays are deserialized zero-copy
  (read-only views), so N concurrent runs on a node share one copy of the images.
  The dataset therefore only needs to exist on the head node.
- **Resources.**  Every run asks for ``num_cpus=1`` and ``num_gpus=gpus_per_run``
  (fractional values let several small runs share one GPU; 0 on a CPU study).  The
  driver keeps ``capacity`` runs in flight: the cluster's GPUs / ``gpus_per_run``, or its
  CPUs on a CPU study.
- **Workers that die** (process killed, node lost, object lost...) have their run
  resubmitted from its latest streamed checkpoint (held in the driver's memory, and
  identical to the one on disk), at most ``max_retries`` times; then the run is
  recorded ``failed`` and the study goes on.  Ray's own task retries are off
  (``max_retries=0``): a Ray retry would restart the run from scratch.
- **Same numbers as local.**  A worker sets ``torch.set_num_threads`` to the driver's
  value, because CPU float reductions are split by thread count: with the same count,
  a run's metrics are bit-identical to the local executor's on the same device type.
- **Claims stay fresh.**  Several runs are trained at once, so the driver refreshes the
  heartbeat of every active run (``context.refresh_claims``) at least every
  ``heartbeat_every_s`` seconds.  A run whose claim another process took over
  (``on_epoch``/``on_done`` raise ``ClaimLost``) is cancelled and reported with
  ``context.claim_lost``.

Ray is optional: :class:`RayExecutor` raises :class:`~augstudy.errors.MissingDependencyError`
when ``import ray`` fails.  Nothing here imports ray or torch at module load.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

from augstudy.ablation.execution.executors import OnDone, OnEpoch, RunJob, StudyContext, failure_outcome
from augstudy.ablation.storage.store import ClaimLost, claim_stale_s, heartbeat_every_s
from augstudy.ablation.spec.options import DEFAULT_MAX_RETRIES  # noqa: F401 - --max-retries' default; public here too
from augstudy.errors import MissingDependencyError, UserError

MISSING_RAY_MESSAGE = "--executor ray needs Ray: pip install 'augstudy[ray]'"
#: CPUs each run asks Ray for (the training step itself uses ``num_threads`` torch threads)
CPUS_PER_RUN = 1

#: ``observer(job, result, worker_pid)``: called in the driver when an epoch arrives, before it is recorded
EpochObserver = Callable[[RunJob, "object", int], None]


def require_ray():
    """``import ray``, or :class:`MissingDependencyError` with the install command."""
    try:
        import ray
    except ImportError:
        raise MissingDependencyError(MISSING_RAY_MESSAGE) from None
    return ray


# ----------------------------------------------------------------------------- data shipping
def pack_train_data(data) -> dict:
    """A :class:`~augstudy.ablation.execution.train.TrainData` as a dict of contiguous numpy arrays on the CPU
    (uint8 images ``[N, 3, H, W]``, int64 labels/indices ``[N]``) plus ``num_classes``: the form
    Ray's object store shares zero-copy between the tasks of a node.  Memory-mapped or
    device tensors are copied into ordinary CPU memory first."""
    def host(t):
        return t.detach().to("cpu").contiguous().numpy()

    return {"train_images": host(data.train_images), "train_labels": host(data.train_labels),
            "train_indices": host(data.train_indices), "val_images": host(data.val_images),
            "val_labels": host(data.val_labels), "num_classes": int(data.num_classes)}


def unpack_train_data(packed: dict):
    """The ``TrainData`` of :func:`pack_train_data`'s dict, viewing its arrays without a copy.

    Arrays from the object store are read-only; training only reads them (every batch is an
    index copy), so torch's warning about non-writable arrays is silenced here."""
    import warnings

    import torch

    from augstudy.ablation.execution.train import TrainData

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        tensors = {k: torch.from_numpy(v) for k, v in packed.items() if k != "num_classes"}
    return TrainData(tensors["train_images"], tensors["train_labels"], tensors["train_indices"],
                     tensors["val_images"], tensors["val_labels"], packed["num_classes"])


# ----------------------------------------------------------------------------- the worker side
def train_epochs(config: dict, packed_data: dict, seed: int, device: str, checkpoint: dict | None,
                 num_threads: int, precision: str | None = None, compile: bool = False):
    """Train one run, yielding as it goes (the body of the Ray task; plain Python, testable alone).

    Yields ``{"kind": "epoch", "pid", "result": EpochResult dict, "state": checkpoint dict or None}``
    after every finished epoch (``state`` holds CPU tensors; None for a diverged epoch), then
    ``{"kind": "outcome", "pid", "status", "epochs_done", "diverged_epoch", "wall_s", "history"}``.
    ``pid`` is this worker's process id.  ``train_run`` runs in a helper thread that hands each
    epoch over through a queue, because a callback cannot ``yield`` for its caller.
    """
    import queue
    import threading

    import torch

    from augstudy.ablation.execution.train import train_run

    data = unpack_train_data(packed_data)
    items: queue.Queue = queue.Queue()

    def work() -> None:
        # the thread count is per OS thread under OpenMP: set it in the thread that trains
        torch.set_num_threads(num_threads)
        try:
            outcome = train_run(config, data, seed, device, checkpoint=checkpoint, precision=precision,
                                compile=compile, on_epoch=lambda result, state: items.put(("epoch", result, state)))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the task's own thread below
            items.put(("error", exc, None))
        else:
            items.put(("outcome", outcome, None))

    torch.set_num_threads(num_threads)
    thread = threading.Thread(target=work, name="augstudy-train", daemon=True)
    thread.start()
    pid = os.getpid()
    while True:
        kind, payload, state = items.get()
        if kind == "error":
            raise payload
        if kind == "epoch":
            yield {"kind": "epoch", "pid": pid, "result": payload.to_dict(), "state": state}
            continue
        thread.join()
        yield {"kind": "outcome", "pid": pid, "status": payload.status, "epochs_done": payload.epochs_done,
               "diverged_epoch": payload.diverged_epoch, "wall_s": payload.wall_s,
               "history": [h.to_dict() for h in payload.history]}
        return


_REMOTE_TRAIN = None


def _remote_train_epochs():
    """:func:`train_epochs` as a Ray streaming-generator task (made once, on first use)."""
    global _REMOTE_TRAIN
    if _REMOTE_TRAIN is None:
        ray = require_ray()
        _REMOTE_TRAIN = ray.remote(num_returns="streaming", max_retries=0)(train_epochs)
    return _REMOTE_TRAIN


# ----------------------------------------------------------------------------- the driver side
def _cancel(ray, gen) -> None:
    """Cancel a run's task, best effort (what matters afterwards is the claim's release or loss)."""
    try:
        ray.cancel(gen, force=True)
    except Exception:  # noqa: BLE001 - the task may be finished or its worker gone already
        pass


@dataclass
class _ActiveRun:
    """A run in flight: its job, the latest checkpoint state the driver holds, and attempts so far."""

    job: RunJob
    state: dict | None
    attempt: int = 0
    pid: int | None = None


@dataclass
class RetryRecord:
    """One resubmission of a run whose worker died: which run, why, from which epoch."""

    arm: str
    seed: int
    attempt: int
    from_epoch: int
    error: str


@dataclass
class RayExecutor:
    """Trains a study's runs as Ray tasks (see the module docstring).

    ``address``: None starts a local Ray instance sized to this machine
    (``num_cpus=os.cpu_count()``); ``"auto"`` or ``"HOST:PORT"`` joins a running cluster.
    ``gpus_per_run``: GPUs each run asks for (None: 1 on a CUDA study, 0 on a CPU one).
    ``max_retries``: resubmissions of a run whose worker died, from its last checkpoint.
    ``num_threads``: torch threads per run (None: the driver's ``torch.get_num_threads()``,
    which keeps CPU results identical to the local executor).  ``observer`` sees every
    streamed epoch with the worker's pid (monitoring; the tests kill a worker from it).
    ``heartbeat_every_s``: how often the claims of the runs in flight are refreshed (None: a
    sixth of the stale-claim limit, at most 10 s).
    ``retries`` lists the resubmissions made; ``datasets_shipped`` counts ``ray.put`` calls of
    training data (one per distinct ``data`` section).  ``debug``: Ray's logs and the workers'
    output reach this terminal, and lost runs print their traceback.  Raises
    ``MissingDependencyError`` when Ray is not installed.
    """

    address: str | None = None
    gpus_per_run: float | None = None
    max_retries: int = DEFAULT_MAX_RETRIES
    num_threads: int | None = None
    observer: EpochObserver | None = None
    echo: Callable[[str], None] = print
    debug: bool = False
    heartbeat_every_s: float | None = None
    retries: list[RetryRecord] = field(default_factory=list)
    datasets_shipped: int = 0

    def __post_init__(self):
        require_ray()
        if self.heartbeat_every_s is None:
            self.heartbeat_every_s = heartbeat_every_s(claim_stale_s())
        if self.max_retries < 0:
            raise UserError(f"--max-retries {self.max_retries}: must be 0 or more")
        if self.gpus_per_run is not None:
            g = float(self.gpus_per_run)
            if g < 0 or (g > 1 and not g.is_integer()):
                raise UserError(f"--gpus-per-run {self.gpus_per_run}: must be a fraction in [0, 1] or a whole "
                                f"number of GPUs")

    # -- Ray session ------------------------------------------------------------------
    def _connect(self):
        """Initialize Ray unless this process already did; returns (ray, started_here)."""
        ray = require_ray()
        if ray.is_initialized():
            return ray, False
        quiet = {"logging_level": logging.INFO if self.debug else logging.ERROR, "log_to_driver": self.debug}
        try:
            if self.address:
                ray.init(address=self.address, **quiet)
            else:
                ray.init(num_cpus=os.cpu_count(), include_dashboard=False, **quiet)
        except ConnectionError as exc:
            where = f"--ray-address {self.address}" if self.address else "--executor ray"
            raise UserError(f"{where}: cannot reach a Ray cluster ({str(exc).splitlines()[0]}); start one with "
                            f"`ray start --head` or leave out --ray-address for a local instance") from None
        return ray, True

    def _resources(self, ray, device_type: str) -> tuple[float, int]:
        """(GPUs per run, runs in flight at once) for this cluster and study device."""
        gpus = self.gpus_per_run
        if gpus is None:
            gpus = 1.0 if device_type == "cuda" else 0.0
        gpus = float(gpus)
        if device_type == "cuda" and gpus == 0:
            raise UserError("--gpus-per-run 0 on a CUDA study: the runs would see no GPU; give each run a "
                            "share (e.g. --gpus-per-run 0.5) or pass --device cpu")
        if device_type != "cuda" and gpus > 0:
            raise UserError(f"--gpus-per-run {gpus:g} on a CPU study: pass --device cuda to train on the "
                            f"cluster's GPUs, or leave --gpus-per-run out")
        total = ray.cluster_resources()
        if gpus > 0:
            n_gpus = float(total.get("GPU", 0.0))
            if n_gpus < gpus:
                raise UserError(f"--gpus-per-run {gpus:g}: the Ray cluster has {n_gpus:g} GPU(s); add GPU nodes "
                                f"or lower --gpus-per-run")
            return gpus, max(1, int(n_gpus / gpus + 1e-9))
        return 0.0, max(1, int(float(total.get("CPU", 1.0)) // CPUS_PER_RUN))

    # -- Executor ---------------------------------------------------------------------
    def run(self, jobs: list[RunJob], context: StudyContext, on_epoch: OnEpoch, on_done: OnDone) -> None:
        import torch

        from augstudy.ablation.spec.study_spec import canonical_json
        from augstudy.ablation.execution.train import EpochResult, RunOutcome

        if not jobs:  # every run of the study is finished: no need for a cluster
            return
        ray, started_here = self._connect()
        try:
            device_type = torch.device(context.device).type
            gpus, capacity = self._resources(ray, device_type)
            capacity = max(1, min(capacity, len(jobs) or 1))
            threads = self.num_threads or torch.get_num_threads()
            task = _remote_train_epochs().options(num_cpus=CPUS_PER_RUN, num_gpus=gpus)
            worker_device = "cuda" if device_type == "cuda" else "cpu"  # Ray maps the granted GPU to cuda:0
            data_refs: dict[str, object] = {}
            active: dict[object, _ActiveRun] = {}
            self.echo(f"ray: {capacity} run(s) at once, {gpus:g} GPU and {CPUS_PER_RUN} CPU each, "
                      f"{threads} torch thread(s) per run")

            def submit(run: _ActiveRun) -> None:
                key = canonical_json(run.job.config["data"])
                if key not in data_refs:  # once per distinct data subset: shared by every task on a node
                    data_refs[key] = ray.put(pack_train_data(context.train_data(run.job.config)))
                    self.datasets_shipped += 1
                options = context.train_options(run.job)   # only the plain values travel to the worker
                gen = task.remote(run.job.config, data_refs[key], run.job.seed, worker_device, run.state, threads,
                                  options.get("precision"), bool(options.get("compile", False)))
                active[gen] = run

            def claim_and_submit(wait: bool) -> bool:
                job = context.claim_next(wait=wait)
                if job is None:
                    return False
                submit(_ActiveRun(job, context.load_checkpoint(job)))
                return True

            def lost(gen, run: _ActiveRun, exc: BaseException) -> None:
                del active[gen]
                cause = getattr(exc, "cause", None)
                if isinstance(cause, UserError):  # bad input, not a lost worker: stop like the local executor
                    context.release(run.job)
                    raise cause
                reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
                if self.debug:
                    traceback.print_exception(exc)
                if run.attempt < self.max_retries:
                    run.attempt += 1
                    self.retries.append(RetryRecord(run.job.arm, run.job.seed, run.attempt, run.job.start_epoch,
                                                    reason))
                    self.echo(f"ray: run {run.job.arm} seed {run.job.seed} lost its worker ({reason}); "
                              f"retry {run.attempt}/{self.max_retries} from epoch {run.job.start_epoch}")
                    submit(run)
                else:
                    try:
                        on_done(run.job, failure_outcome(run.job, cause if isinstance(cause, BaseException) else exc))
                    except ClaimLost:
                        context.claim_lost(run.job)

            def receive(gen, run: _ActiveRun) -> None:
                try:
                    item = ray.get(next(gen))
                except StopIteration:  # finished without an outcome item: treat as a lost worker
                    lost(gen, run, RuntimeError("the task ended without reporting an outcome"))
                    return
                except ray.exceptions.RayError as exc:
                    lost(gen, run, exc)
                    return
                run.pid = item["pid"]
                job = run.job
                if item["kind"] == "epoch":
                    result = EpochResult(**item["result"])
                    if self.observer is not None:
                        self.observer(job, result, run.pid)
                    try:
                        on_epoch(job, result, item["state"])
                    except ClaimLost:
                        del active[gen]
                        _cancel(ray, gen)
                        context.claim_lost(job)
                        return
                    context.on_step(job.steps_per_epoch)
                    job.start_epoch = result.epoch  # a retry resumes after this epoch
                    if item["state"] is not None:
                        run.state = item["state"]
                    return
                del active[gen]
                try:
                    on_done(job, RunOutcome(item["status"], item["epochs_done"], item["diverged_epoch"],
                                            item["wall_s"], [EpochResult(**h) for h in item["history"]]))
                except ClaimLost:
                    context.claim_lost(job)

            last_beat = time.monotonic()
            try:
                while True:
                    while len(active) < capacity and claim_and_submit(wait=False):
                        pass
                    if not active:  # nothing left to claim now: wait for runs other processes hold
                        if not claim_and_submit(wait=True):
                            break
                        continue
                    ready, _ = ray.wait(list(active), num_returns=1, timeout=self.heartbeat_every_s)
                    for gen in ready:
                        receive(gen, active[gen])
                    if time.monotonic() - last_beat >= self.heartbeat_every_s and active:
                        context.refresh_claims([run.job for run in active.values()])
                        last_beat = time.monotonic()
            except BaseException:
                for gen, run in list(active.items()):
                    _cancel(ray, gen)
                    context.release(run.job)
                raise
        finally:
            if started_here:
                ray.shutdown()


__all__ = ["RayExecutor", "RetryRecord", "require_ray", "train_epochs", "pack_train_data",
           "unpack_train_data", "MISSING_RAY_MESSAGE", "DEFAULT_MAX_RETRIES"]
