"""Checkpoints by time, written in the background: the resume guarantees hold, whatever the clock says.

A fake clock (one tick per call) makes the schedule deterministic and independent of machine
load; a tiny model keeps every study to seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from augstudy.ablation.execution.checkpoint_schedule import CheckpointSchedule, CheckpointWriter
from augstudy.ablation.runner import run_study
from augstudy.errors import InterruptedByUser
from study_helpers import DROPOUT_FACTOR, REPO, noise_dataset, write_specs

pytestmark = pytest.mark.usefixtures("one_torch_thread")
#: 32 images at batch 4: 8 steps per epoch, 3 epochs, 2 runs (dropout 0.3 and 0): 48 steps in all
BUDGET = {"train": {"epochs": 3, "batch_size": 4}}


class TickClock:
    """A clock that advances one second per call: the schedule sees time pass with the steps only."""

    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        self.t += 1.0
        return self.t


def _specs(folder):
    return write_specs(folder, {"drop": DROPOUT_FACTOR}, baseline_changes={"model": {"name": "user_models:tiny_cnn"}})


def _study(specs, out, lines=None, **kwargs):
    kwargs = {"checkpoint_every": 5, "checkpoint_clock": TickClock(), "keep_checkpoints": True, **kwargs}
    return run_study("drop", seeds=1, budget="tiny", dataset=noise_dataset(32, 16), device="cpu", out=out,
                     specs_dir=specs, report=False, echo=(lines.append if lines is not None else lambda s: None),
                     budget_override=BUDGET, **kwargs)


def _epoch_rows(out) -> list[tuple]:
    """Every stored epoch's metrics (not its wall time), by run and epoch."""
    import sqlite3

    with sqlite3.connect(out / "study.sqlite") as db:
        return db.execute("SELECT run_id, epoch, train_loss, train_acc, val_loss, val_acc, lr FROM epochs "
                          "ORDER BY run_id, epoch").fetchall()


def _weights(out) -> dict[str, dict[str, torch.Tensor]]:
    return {p.name: torch.load(p, map_location="cpu", weights_only=True)["model"]
            for p in sorted((out / "checkpoints").glob("*.pt"))}


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(a[k].keys() == b[k].keys() and all(torch.equal(a[k][n], b[k][n])
                                                                          for n in a[k]) for k in a)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, one_torch_thread):
    """The uninterrupted study's final weights per run."""
    folder = tmp_path_factory.mktemp("reference")
    _study(_specs(folder / "specs"), folder / "study")
    return {"weights": _weights(folder / "study"), "epochs": _epoch_rows(folder / "study")}


KILLED = textwrap.dedent('''
    import os, sys
    import torch
    torch.set_num_threads(1)
    from augstudy.ablation.execution import driver
    from augstudy.ablation.runner import run_study
    from study_helpers import noise_dataset
    from test_checkpoint_by_time import BUDGET, TickClock
    steps = [0]
    on_step = driver.StudyDriver.on_step
    def counting(self, n):
        on_step(self, n)
        steps[0] += n
        if steps[0] == int(sys.argv[3]):
            self.writer.flush()      # the last due checkpoint has landed: die between it and the next
            os._exit(137)            # no cleanup at all, like kill -9
    driver.StudyDriver.on_step = counting
    run_study("drop", seeds=1, budget="tiny", dataset=noise_dataset(32, 16), device="cpu", out=sys.argv[2],
              specs_dir=sys.argv[1], report=False, echo=lambda s: None, budget_override=BUDGET,
              checkpoint_every=5, checkpoint_clock=TickClock(), keep_checkpoints=True)
''')


def test_kill_9_between_two_timed_checkpoints_then_resume_gives_the_uninterrupted_weights(tmp_path, reference):
    specs, out = _specs(tmp_path / "specs"), tmp_path / "study"
    script = tmp_path / "killed.py"
    script.write_text(KILLED)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests"), str(Path(__file__).resolve().parent)]), "OMP_NUM_THREADS": "1"}
    killed = subprocess.run([sys.executable, str(script), str(specs), str(out), "18"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == 137, killed.stderr
    # the first run (dropout 0.3: the resume must replay its dropout masks) was killed 2 steps into epoch 3;
    # its last checkpoint (every 5 ticks of the fake clock) is 7 steps into epoch 2, OLDER than the last
    # epoch the store holds: the resume trains epoch 2's last step again and re-records epoch 2
    import sqlite3
    with sqlite3.connect(out / "study.sqlite") as db:
        status = sorted(r[0] for r in db.execute("SELECT status FROM runs"))
        assert db.execute("SELECT epoch FROM epochs").fetchall() == [(1,), (2,)]   # rows reach the store each epoch
    assert status == ["pending", "running"]
    lines: list[str] = []
    _study(specs, out, lines)
    resumed = [line for line in lines if line.startswith("resuming")]
    # the last checkpoint before the kill, mid-epoch (epoch 1's end was one too, and later)
    assert resumed == ["resuming drop=0.3 seed 0 after epoch 1/3, 7/8 steps into epoch 2"], lines
    assert _same(_weights(out), reference["weights"])                           # bit-identical
    assert _epoch_rows(out) == reference["epochs"]      # every epoch once, the retrained ones with equal values


@pytest.fixture
def default_sigterm():
    """SIGTERM at the OS default while the test runs, as in a fresh `augstudy` process, whatever an
    earlier test left installed (``ray.init`` installs a SIGTERM handler that exits); restored after."""
    previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_sigterm_checkpoints_at_once_and_the_resume_is_exact(tmp_path, reference, monkeypatch, default_sigterm):
    from augstudy.ablation.execution import driver

    specs, out = _specs(tmp_path / "specs"), tmp_path / "study"
    steps = [0]
    on_step = driver.StudyDriver.on_step

    def terminated_at_step_11(self, n):
        on_step(self, n)
        steps[0] += n
        if steps[0] == 11:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(driver.StudyDriver, "on_step", terminated_at_step_11)
    with pytest.raises(InterruptedByUser) as stopped:   # no timed checkpoint could be due: 1 hour
        _study(specs, out, checkpoint_every=3600, checkpoint_clock=None)
    assert stopped.value.signal_name == "SIGTERM"
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL                 # handler given back
    (ckpt,) = (out / "checkpoints").glob("*.pt")
    state = torch.load(ckpt, map_location="cpu", weights_only=True)
    assert state["epoch"] == 1 and state["partial"]["epoch"] == 2 and state["partial"]["step"] == 3
    assert [h["epoch"] for h in state["history"]] == [1]
    monkeypatch.setattr(driver.StudyDriver, "on_step", on_step)
    lines: list[str] = []
    _study(specs, out, lines)
    assert any("after epoch 1/3, 3/8 steps into epoch 2" in line for line in lines), lines
    assert _same(_weights(out), reference["weights"]) and _epoch_rows(out) == reference["epochs"]


def test_finished_runs_keep_only_the_clean_arms_weights_unless_asked(tmp_path):
    specs = write_specs(tmp_path / "specs", {"aug": {"baseline_level": "final", "levels": {
        "final": {}, "none": {"augment": {"policy": "none"}}}}},
        baseline_changes={"model": {"name": "user_models:tiny_cnn"}})
    lines: list[str] = []
    run_study("aug", seeds=1, budget="tiny", dataset=noise_dataset(16, 8), device="cpu", out=tmp_path / "a",
              specs_dir=specs, report=False, echo=lines.append, budget_override={"train": {"epochs": 1}})
    from augstudy.ablation.spec.study_spec import resolve_study_arms

    arms = resolve_study_arms("aug", "tiny", specs, {"train": {"epochs": 1}})
    clean = next(a for a in arms if a.level == "none")
    kept = [p.name for p in (tmp_path / "a" / "checkpoints").glob("*.pt")]
    assert kept == [f"{clean.config_hash}-seed0.pt"]                 # affinity's clean model only
    assert "optimizer" not in torch.load(tmp_path / "a" / "checkpoints" / kept[0], weights_only=True)
    disk = [line for line in lines if line.startswith("disk: ")]
    assert len(disk) == 1 and "checkpoints" in disk[0] and " MB" in disk[0]
    run_study("aug", seeds=1, budget="tiny", dataset=noise_dataset(16, 8), device="cpu", out=tmp_path / "b",
              specs_dir=specs, report=False, echo=lambda s: None, budget_override={"train": {"epochs": 1}},
              keep_checkpoints=True)
    assert len(list((tmp_path / "b" / "checkpoints").glob("*.pt"))) == 2


def test_schedule_is_due_by_clock_or_signal_and_every_epoch_at_zero():
    clock = TickClock()
    s = CheckpointSchedule(3, clock)
    s.start()                                      # t=1
    assert [s.due(False), s.due(False), s.due(False)] == [False, False, True]   # t=2, 3, 4
    s.saved()                                      # t=5
    assert not s.due(True)
    s.stop = "SIGINT"
    assert s.due(False)
    zero = CheckpointSchedule(0, clock)
    assert not zero.due(False) and zero.due(True)


def test_writer_keeps_the_newest_state_and_hands_errors_to_the_caller():
    import threading

    started, gate, written = threading.Event(), threading.Event(), []

    def write(key, payload):
        started.set()
        gate.wait(60)
        if payload == "bad":
            raise OSError(28, "No space left on device")
        written.append((key, payload))

    writer = CheckpointWriter(write)
    writer.submit("r", 1)
    assert started.wait(60)                        # 1 is in flight (waits on the gate)
    for state in (2, 3, 4):                        # queued behind it: only the newest is kept
        writer.submit("r", state)
    gate.set()
    writer.flush("r")
    assert written == [("r", 1), ("r", 4)]
    writer.submit("r", "bad")
    with pytest.raises(OSError, match="No space"):
        writer.flush()
    writer.close()


def test_a_mid_epoch_resume_is_exact_with_mixing_ema_and_bf16(tmp_path):
    """The loop around the step carries the other regularizers' state too (MixUp/CutMix partners keyed,
    the EMA copy in the checkpoint), under bf16 autocast."""
    from augstudy.ablation.spec.study_spec import resolve_study_arms
    from augstudy.ablation.execution.train import prepare_train_data, train_run

    specs = write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR}, baseline_changes={
        "model": {"name": "user_models:tiny_cnn"}, "mix": {"mixup_alpha": 0.2, "cutmix_alpha": 1.0},
        "ema": {"horizon": 0.2}, "optimizer": {"label_smoothing": 0.1}})
    config = resolve_study_arms("drop", "tiny", specs, BUDGET)[0].config
    data = prepare_train_data(noise_dataset(32, 16), config)
    mid: list[dict] = []
    full = [None]

    def keep(result, state):
        if state is not None:
            full[0] = state

    train_run(config, data, 0, "cpu", precision="bf16", schedule=CheckpointSchedule(5, TickClock()),
              on_checkpoint=mid.append, on_epoch=keep)
    state = next(s for s in mid if s["partial"]["epoch"] == 2)
    assert "ema" in state and state["partial"]["step"] < 8
    resumed = [None]
    train_run(config, data, 0, "cpu", precision="bf16", checkpoint=state,
              on_epoch=lambda r, s: resumed.__setitem__(0, s) if s is not None else None)
    for part in ("model", "ema"):
        assert _same({"x": resumed[0][part]}, {"x": full[0][part]}), part
    assert [h["train_loss"] for h in resumed[0]["history"]] == [h["train_loss"] for h in full[0]["history"]]


def test_a_deferred_signal_reaches_the_previous_handler_after_the_block():
    """The CLI's handler (ignore later signals while cleanup runs, then raise) still gets the signal,
    once the step in flight is done and checkpointed."""
    import time

    calls: list[int] = []

    def app_handler(signum, frame):
        calls.append(signum)
        raise InterruptedByUser("SIGINT")

    old = signal.signal(signal.SIGINT, app_handler)
    try:
        schedule = CheckpointSchedule(3600)
        with pytest.raises(InterruptedByUser):
            with schedule.deferring_signals():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.05)                       # the handler runs: it only records the request
                assert schedule.stop == "SIGINT" and calls == [] and schedule.due(False)
        assert calls == [signal.SIGINT] and signal.getsignal(signal.SIGINT) is app_handler
    finally:
        signal.signal(signal.SIGINT, old)
