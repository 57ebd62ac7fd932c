"""Helpers of the fault suite (no tests here): the real ``augstudy`` console script in
subprocesses, polling a study's SQLite store, read-only places, the suite's budgets and factors
(image folders, spec folders and CSV reading are in :mod:`study_helpers`, shared with the other tests).

Every study here trains the fixed CNN on a tiny image folder (8 train / 8 val noise images,
2 classes) for 1-2 one-step epochs, so a process-level fault case takes seconds.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: the console script of the repo's virtualenv, else the one beside this interpreter (a worktree
#: without its own .venv runs the shared one; PYTHONPATH still picks this checkout's package)
AUGSTUDY = next((p for p in (REPO / ".venv" / "bin" / "augstudy", Path(sys.executable).parent / "augstudy")
                 if p.exists()), REPO / ".venv" / "bin" / "augstudy")
#: quiet, one thread per process (2 cores shared), fixed summation order
ENV = {**os.environ, "AUGSTUDY_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
       "AUGSTUDY_DECODE_WORKERS": "1"}
ENV.pop("AUGSTUDY_DEBUG", None)

#: epochs of the ``tiny`` budget: enough to interrupt a run after its first epoch
EPOCHS = 2
#: the tiny budget every fault study uses: every image, one step per epoch
TINY_BUDGET = {"data": {"train_subset": None, "val_subset": None},
               "train": {"epochs": EPOCHS, "batch_size": 8, "eval_batch_size": 16},
               "schedule": {"warmup": 0.0}}
#: the fault suite's budgets for :func:`study_helpers.write_specs`: ``tiny`` (2 epochs), ``tiny1`` (1 epoch)
FAULT_BUDGETS = {"tiny": TINY_BUDGET, "tiny1": {**TINY_BUDGET, "train": {**TINY_BUDGET["train"], "epochs": 1}}}
DROP_FACTOR = {"baseline_level": 0.3, "levels": {0.3: {"model": {"dropout": 0.3}}, 0: {"model": {"dropout": 0.0}}}}
#: a factor sharing ``drop``'s baseline run, whose other arm (dropout 0.5) ``drop`` does not have
OTHER_FACTOR = {"baseline_level": 0.3, "levels": {0.3: {"model": {"dropout": 0.3}}, 0.5: {"model": {"dropout": 0.5}}}}
#: the fault suite's factors: ``drop`` and its twin ``drop2`` (dropout 0.3 baseline vs 0), ``other``
FAULT_FACTORS = {"drop": DROP_FACTOR, "drop2": DROP_FACTOR, "other": OTHER_FACTOR}


def augstudy_cmd(*args: str) -> list[str]:
    return [str(AUGSTUDY), *args]


def ablate_args(specs: Path, data: Path, out: Path, *extra: str, factor: str = "drop",
                budget: str = "tiny", seeds: int = 1) -> list[str]:
    """``augstudy ablate FACTOR`` on the tiny data, CPU, no report (the report is tested apart)."""
    return augstudy_cmd("ablate", factor, "--specs", str(specs), "--budget", budget, "--data", str(data),
                        "--out", str(out), "--seeds", str(seeds), "--device", "cpu", "--no-report", *extra)


def run(cmd: list[str], timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=REPO, env={**ENV, **(env or {})}, capture_output=True, text=True,
                          timeout=timeout)


def start(cmd: list[str], env: dict | None = None) -> subprocess.Popen:
    """A background process, stdout+stderr merged into one text pipe."""
    return subprocess.Popen(cmd, cwd=REPO, env={**ENV, **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: float = 300) -> str:
    """Wait for ``proc`` and return its whole output (killed if it overruns ``timeout``)."""
    try:
        return proc.communicate(timeout=timeout)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0] + "\n[killed: timeout]"


def rows(db_path: Path, sql: str, args=()) -> list[tuple]:
    """Rows of ``sql`` on a study store; [] while the file or its tables do not exist yet."""
    if not Path(db_path).exists():
        return []
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30) as db:
            return db.execute(sql, args).fetchall()
    except sqlite3.OperationalError:
        return []


def write_locked(db_path: Path) -> bool:
    """True when some process holds the study store's write lock right now (e.g. a process
    frozen by SIGSTOP in the middle of a transaction)."""
    db = sqlite3.connect(db_path, timeout=0, isolation_level=None)
    try:
        db.execute("BEGIN IMMEDIATE")
        db.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return True
        raise
    finally:
        db.close()


def wait_for(predicate, proc: subprocess.Popen | None = None, timeout: float = 180, what: str = "") -> None:
    """Poll ``predicate()`` every 20 ms until true; fail when ``proc`` exits first or time runs out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"process ended (rc {proc.returncode}) before {what}:\n{proc.stdout.read()}")
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def copy_study(src: Path, dst: Path, ignore=None) -> Path:
    shutil.copytree(src, dst, ignore=ignore)
    return dst


def one_error_line(stderr: str) -> str:
    """The single ``error: ...`` line of a failed command; fails on a traceback or several lines."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr, stderr
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    return errors[0]


def readonly_run(cmd: list[str], readonly: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``cmd`` with ``readonly`` (a folder) mounted read-only for that process only: a bind
    mount in a private user+mount namespace, so it is really read-only even for root (for whom
    ``chmod`` changes nothing)."""
    script = ('mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" || exit 97; shift; exec "$@"')
    return run(["unshare", "--map-root-user", "--mount", "sh", "-c", script, "sh", str(readonly), *cmd],
               timeout=timeout)


def link_study(src: Path, dst: Path) -> Path:
    """A copy of a study folder whose checkpoints (100 MB each) are hard links, the rest real copies.
    Nothing rewrites a checkpoint in place (every write is a rename), so the source stays intact;
    a test that damages a checkpoint must replace the file (see :func:`replace_bytes`)."""
    def copy(s, d):
        return os.link(s, d) if str(s).endswith(".pt") else shutil.copy2(s, d)

    shutil.copytree(src, dst, copy_function=copy)
    return dst


def replace_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` as a new file at ``path`` (never through a hard link to another copy)."""
    path.unlink()
    path.write_bytes(data)


def cli_args(cmd: list[str]) -> list[str]:
    """The arguments of an ``augstudy`` command line, for click's in-process runner."""
    return [str(a) for a in cmd[1:]]


# ----------------------------------------------------------------------------- models of a bad day
def plus_three_logits(num_classes: int, dropout: float = 0.3):
    """A working CNN whose head has ``num_classes + 3`` outputs (trains, means nothing)."""
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Dropout(dropout), nn.Linear(16, num_classes + 3))


def small_cnn(num_classes: int, dropout: float = 0.3):
    """A right-shaped model small enough that an epoch and its checkpoint take milliseconds."""
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Dropout(dropout), nn.Linear(16, num_classes))


def fat_head(num_classes: int, dropout: float = 0.3):
    """A right-shaped model with a 3 MB head: its first checkpoint (weights + SGD momentum, about
    6 MB) cannot fit a 4 MB disk, while its epoch takes milliseconds."""
    from torch import nn

    return nn.Sequential(nn.AdaptiveAvgPool2d(16), nn.Flatten(), nn.Dropout(dropout), nn.Linear(768, 1024),
                         nn.ReLU(), nn.Linear(1024, num_classes))


def one_logit(num_classes: int, dropout: float = 0.3):
    """A model returning ``[B]`` (a squeezed single output) instead of ``[B, num_classes]``."""
    from torch import nn

    return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout), nn.Linear(3, 1), nn.Flatten(0))


def fails_in_epoch_2(num_classes: int, dropout: float = 0.3):
    """A right-shaped model whose second training step raises (every run fails after 1 recorded epoch)."""
    import torch
    from torch import nn

    class FailsLater(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(dropout),
                                      nn.Linear(3, num_classes))
            self.steps = 0

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.training:
                self.steps += 1
                if self.steps >= 2:
                    raise RuntimeError("the GPU fell off the bus")
            return self.head(x)

    return FailsLater()


def model_budget(name: str, epochs: int = 1) -> dict:
    """The tiny budget with the model ``fault_helpers:<name>`` (the ``drop`` factor sets its dropout)."""
    return {**TINY_BUDGET, "train": {**TINY_BUDGET["train"], "epochs": epochs},
            "model": {"name": f"fault_helpers:{name}"}}
