"""Run checkpoints on disk: ``checkpoints/<config_hash>-seed<k>.pt`` (see :class:`~augstudy.ablation.storage.schema.StudyPaths`).

A checkpoint is the dict ``train_run`` hands to ``on_epoch`` (model, optimizer, scheduler,
epoch, history, config, input normalization; CPU tensors).  Every write is atomic:

- :func:`stage_checkpoint` writes the state to a temporary file beside the target, and
  :meth:`StagedCheckpoint.publish` renames it into place -- the driver publishes inside the
  store transaction that records the epoch, after the claim check, so a process that lost
  its claim never replaces the new owner's file;
- :func:`slim_checkpoint` rewrites a finished run's file without optimizer and scheduler
  state (half the size: SGD momentum is as big as the model), keeping what
  ``augstudy measure --model`` reads;
- :func:`load_resumable` returns a checkpoint a run can resume from, or None.
"""

from __future__ import annotations

import errno
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from augstudy.errors import UnwritableError

#: keys a finished run's checkpoint no longer needs
TRAINING_ONLY_KEYS = ("optimizer", "scheduler")


@dataclass
class StagedCheckpoint:
    """A checkpoint written to ``tmp`` and not yet visible at ``target``."""

    target: Path
    tmp: Path

    def publish(self) -> None:
        """Rename the staged file onto ``target`` (atomic on one filesystem)."""
        os.replace(self.tmp, self.target)

    def discard(self) -> None:
        self.tmp.unlink(missing_ok=True)


def stage_checkpoint(path: Path, state: dict) -> StagedCheckpoint:
    """Write ``state`` to a temporary file beside ``path`` (created folders included), named like
    :mod:`augstudy.atomic`'s temporaries (``.<name>.<random>.w<pid>@<host>.tmp``) so that
    :func:`augstudy.atomic.remove_stale_temporaries` recognizes one whose writer was killed."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".w{os.getpid()}@{socket.gethostname()}.tmp",
                                dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        torch.save(state, tmp)
        umask = os.umask(0)  # mkstemp makes 0600 files: give the checkpoint a plain open()'s mode
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
    except BaseException as exc:
        full = isinstance(exc, Exception) and disk_full(exc, path.parent)  # before the unlink frees space
        tmp.unlink(missing_ok=True)
        if full:
            raise UnwritableError(f"no space left on {path.parent} (writing checkpoint {path.name}); free some "
                                  f"space there or move the study folder to a larger disk, then rerun the same "
                                  f"command to resume (finished work is kept)") from None
        raise
    return StagedCheckpoint(path, tmp)


#: torch.save's texts for a write the file system refused (its RuntimeError names no errno)
_TORCH_WRITE_FAILED = ("unexpected pos", "file write failed", "No space left")
#: free bytes under which a failed write is taken for a full disk
FULL_BELOW_BYTES = 1 << 20


def disk_full(exc: BaseException, folder: Path) -> bool:
    """True when ``exc`` (raised while writing into ``folder``) is a full disk: ENOSPC, or torch's
    write error while the file system has less than :data:`FULL_BELOW_BYTES` free."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    if not any(text in str(exc) for text in _TORCH_WRITE_FAILED):
        return False
    try:
        return shutil.disk_usage(folder).free < FULL_BELOW_BYTES
    except OSError:
        return False


def host_copy(obj):
    """A deep copy of a state dict with every tensor on the CPU: the host copy a checkpoint is
    written from (so the training step may go on changing the originals) and loads anywhere."""
    import torch

    if isinstance(obj, torch.Tensor):
        return obj.detach().to("cpu", copy=True)
    if isinstance(obj, dict):
        return {k: host_copy(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(host_copy(v) for v in obj)
    return obj


def rng_state(device) -> dict:
    """The global RNG state dropout draws from: ``{"cpu": ...}``, plus ``"cuda"`` on a CUDA device."""
    import torch

    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def set_rng_state(state: dict, device) -> None:
    """Restore :func:`rng_state`'s state (a mid-epoch resume replays the epoch's dropout masks)."""
    import torch

    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def save_checkpoint(path: Path, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically (stage, then publish)."""
    stage_checkpoint(path, state).publish()
    return Path(path)


def load_resumable(path: Path, warn: Callable[[str], None]) -> dict | None:
    """The checkpoint at ``path`` if a run can resume from it: None when there is no file, when it
    cannot be read (``warn`` says so; the run retrains from scratch) or when it is slim."""
    path = Path(path)
    if not path.is_file():
        return None
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unreadable (truncated, other torch version): retrain
        warn(f"{path}: cannot be read ({type(exc).__name__})")
        return None
    if not isinstance(state, dict) or "optimizer" not in state:
        return None  # a slim, weights-only file: not resumable
    return state


def slim_checkpoint(path: Path) -> bool:
    """Rewrite ``path`` without :data:`TRAINING_ONLY_KEYS`, atomically; False when there was
    nothing to slim (no file, or already slim)."""
    path = Path(path)
    if not path.is_file():
        return False
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True)
    if not any(k in state for k in TRAINING_ONLY_KEYS):
        return False
    save_checkpoint(path, {k: v for k, v in state.items() if k not in TRAINING_ONLY_KEYS})
    return True


__all__ = ["StagedCheckpoint", "stage_checkpoint", "disk_full", "save_checkpoint", "load_resumable", "slim_checkpoint",
           "TRAINING_ONLY_KEYS", "host_copy", "rng_state", "set_rng_state"]
