"""TensorBoard event files are derived data: they follow the store, whatever moment a kill hits.

The store commits an epoch before its events are flushed; a kill in between used to lose that
epoch's points for good (the resumed run starts after it).  A claimed run's events are now
rewritten from the store, so the gap is filled and nothing is logged twice.
"""

from __future__ import annotations

import pytest

from augstudy.ablation.runner import run_study
from augstudy.ablation.execution.tensorboard import TensorBoardLog, read_scalars, run_log_dir
from study_helpers import DROPOUT_FACTOR, noise_dataset, write_specs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _specs(folder):
    return write_specs(folder, {"drop": DROPOUT_FACTOR}, baseline_changes={"model": {"name": "user_models:tiny_cnn"}})


def test_a_kill_between_the_epoch_commit_and_the_events_flush_loses_no_event(tmp_path, monkeypatch):
    specs, out = _specs(tmp_path / "specs"), tmp_path / "study"
    kwargs = dict(seeds=1, budget="tiny", dataset=noise_dataset(16, 8), device="cpu", out=out, specs_dir=specs,
                  report=False, echo=lambda s: None, budget_override={"train": {"epochs": 3}})
    original = TensorBoardLog.log_epoch

    def killed_before_flush(self, arm, seed, result, flush=True):
        if result.epoch == 2:      # the store holds epoch 2 (and its checkpoint): die before its events
            raise KeyboardInterrupt
        original(self, arm, seed, result, flush)

    monkeypatch.setattr(TensorBoardLog, "log_epoch", killed_before_flush)
    with pytest.raises(KeyboardInterrupt):
        run_study("drop", **kwargs)
    first = run_log_dir(out, "drop=0.3", 0)
    assert [s for s, _ in read_scalars(first)["Loss/train"]] == [1]     # the lost point
    monkeypatch.setattr(TensorBoardLog, "log_epoch", original)
    run_study("drop", **kwargs)
    for arm in ("drop=0.3", "drop=0"):
        scalars = read_scalars(run_log_dir(out, arm, 0))
        assert {tag: [s for s, _ in points] for tag, points in scalars.items()} == \
            {tag: [1, 2, 3] for tag in ("Accuracy/train", "Accuracy/val", "Loss/train", "Loss/val")}
    assert len(list(first.glob("events.out.tfevents.*"))) == 1          # rewritten into one file


def test_reset_run_writes_exactly_the_given_history(tmp_path):
    from augstudy.ablation.execution.train import EpochResult

    log = TensorBoardLog(tmp_path)
    history = [EpochResult(e, 1.0 / e, 0.5, 2.0, 0.25, 0.1, 1.0) for e in (1, 2, 3)]
    for h in history:
        log.log_epoch("a", 0, h)
    log.reset_run("a", 0, history[:2])                  # a checkpoint older than the last logged epoch
    log.log_epoch("a", 0, history[2])                   # retrained
    log.close()
    assert read_scalars(run_log_dir(tmp_path, "a", 0))["Loss/train"] == [(1, 1.0), (2, 0.5), (3, pytest.approx(1 / 3))]
    log.reset_run("a", 0, [])                           # no checkpoint: nothing of the run is kept
    assert not list(run_log_dir(tmp_path, "a", 0).glob("events.out.tfevents.*"))
