"""TensorBoard event files of a study: ``OUT/tb/<arm>/seed<k>/`` with exactly four scalar tags.

Tags (the report's): ``Accuracy/train``, ``Accuracy/val`` (fractions in [0, 1]) and
``Loss/train``, ``Loss/val`` (mean cross-entropy, nats), one point per epoch (step =
epoch, from 1).  Events are appended by ``torch.utils.tensorboard.SummaryWriter`` and
flushed after every epoch.

The event files are derived data: they follow the store.  The store commits an epoch
before its events are flushed, so a ``kill -9`` in between would lose that epoch's
points, and a resume from a checkpoint older than the last stored epoch retrains (and
would log again) the epochs after it.  So whenever a run is claimed,
:meth:`TensorBoardLog.reset_run` deletes the run's event files and writes its stored
history again into one new file; each epoch trained afterwards is appended to it.
"""

from __future__ import annotations

import math
from pathlib import Path

from augstudy.ablation.storage.schema import StudyPaths, arm_path_name

#: tag -> EpochResult attribute
TAGS = {"Accuracy/train": "train_acc", "Accuracy/val": "val_acc", "Loss/train": "train_loss", "Loss/val": "val_loss"}


def run_log_dir(out_dir: str | Path, arm: str, seed: int) -> Path:
    """``OUT/tb/<arm_path_name(arm)>/seed<k>`` (:func:`augstudy.ablation.storage.schema.arm_path_name`)."""
    return StudyPaths(out_dir).tb_dir / arm_path_name(arm) / f"seed{seed}"


class TensorBoardLog:
    """One SummaryWriter per (arm, seed), opened on first use."""

    def __init__(self, out_dir: str | Path):
        self.out_dir = Path(out_dir)
        self._writers: dict[tuple[str, int], object] = {}

    def reset_run(self, arm: str, seed: int, history) -> None:
        """Make the run's event files hold exactly ``history`` (the stored epochs, a list of
        :class:`~augstudy.ablation.execution.train.EpochResult`): delete every event file of the run, then write
        ``history`` into a new one (none when ``history`` is empty)."""
        self.close_run(arm, seed)
        folder = run_log_dir(self.out_dir, arm, seed)
        for old in folder.glob("events.out.tfevents.*"):
            old.unlink(missing_ok=True)
        for result in history:
            self.log_epoch(arm, seed, result, flush=False)
        writer = self._writers.get((arm, seed))
        if writer is not None:
            writer.flush()

    def log_epoch(self, arm: str, seed: int, result, flush: bool = True) -> None:
        """Write the four tags of one :class:`~augstudy.ablation.execution.train.EpochResult` (and flush).
        Non-finite values (a diverged epoch) are skipped: TensorBoard plots them badly."""
        writer = self._writers.get((arm, seed))
        if writer is None:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(log_dir=str(run_log_dir(self.out_dir, arm, seed)))
            self._writers[(arm, seed)] = writer
        for tag, attr in TAGS.items():
            value = float(getattr(result, attr))
            if math.isfinite(value):
                writer.add_scalar(tag, value, global_step=result.epoch)
        if flush:
            writer.flush()

    def close_run(self, arm: str, seed: int) -> None:
        writer = self._writers.pop((arm, seed), None)
        if writer is not None:
            writer.close()

    def close(self) -> None:
        for key in list(self._writers):
            self.close_run(*key)


def read_scalars(log_dir: str | Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar tag in ``log_dir`` -> ``[(step, value), ...]`` (via TensorBoard's EventAccumulator)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(log_dir))
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


__all__ = ["TAGS", "TensorBoardLog", "run_log_dir", "read_scalars"]
