"""The study store: atomic claims between processes, dead-claim takeover, history sync."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from augstudy.ablate.store import StudyStore, claim_is_dead
from augstudy.ablate.train import EpochResult


def _runs(n=3):
    return [{"run_id": f"h{i}-seed0", "arm": f"a={i}", "level": str(i), "seed": 0, "config_hash": f"h{i}",
             "config": {"i": i}} for i in range(n)]


def _epoch(e, acc=0.5):
    return EpochResult(e, 0.7, acc, 0.69, acc, 0.01, 1.0, [1, 2], [2, 2])


def test_claims_are_exclusive_between_stores(tmp_path):
    a, b = StudyStore(tmp_path), StudyStore(tmp_path)
    b.worker = "otherhost:1"   # a live claim elsewhere: only a stale heartbeat frees it
    a.register_runs(_runs())
    ids = [r["run_id"] for r in _runs()]
    first = a.claim_next(ids, "cpu")
    second = b.claim_next(ids, "cpu")
    third = a.claim_next(ids, "cpu")
    assert [first["run_id"], second["run_id"], third["run_id"]] == ids
    assert b.claim_next(ids, "cpu") is None
    a.finish_run(ids[0], "done", metric=0.5, wall_s=1.0)
    a.register_runs(_runs())                      # re-registering keeps progress
    assert a.runs(ids)[ids[0]]["status"] == "done"
    assert a.integrity_check() == "ok"


def test_dead_pid_or_stale_heartbeat_is_reclaimable(tmp_path):
    store = StudyStore(tmp_path)
    store.register_runs(_runs(1))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    import socket

    with store.transaction() as db:
        db.execute("UPDATE runs SET status='running', claimed_by=?, heartbeat=?",
                   (f"{socket.gethostname()}:{dead.pid}", time.time()))
    assert claim_is_dead(f"{socket.gethostname()}:{dead.pid}", time.time(), time.time(), 60)
    assert not claim_is_dead("elsewhere:1", time.time(), time.time(), 60)
    assert claim_is_dead("elsewhere:1", time.time() - 120, time.time(), 60)
    claimed = store.claim_next(["h0-seed0"], "cpu")
    assert claimed is not None and claimed["claimed_by"] == store.worker


def test_epochs_and_history_sync(tmp_path):
    store = StudyStore(tmp_path)
    store.register_runs(_runs(1))
    for e in (1, 2, 3):
        store.record_epoch("h0-seed0", _epoch(e), "checkpoints/h0-seed0.pt")
    store.sync_history("h0-seed0", [_epoch(1), _epoch(2, acc=0.75)])   # a checkpoint from epoch 2
    rows = store.epochs(["h0-seed0"])
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["val_acc"] == 0.75
    assert store.runs()["h0-seed0"]["epochs_done"] == 2
    assert len(store.class_metrics(["h0-seed0"])) == 4
    nan = EpochResult(3, float("nan"), 0.0, float("inf"), 0.0, 0.01, 1.0, [0, 0], [2, 2])
    store.record_epoch("h0-seed0", nan, None)
    assert store.epochs(["h0-seed0"])[-1]["train_loss"] is None        # NaN/inf stored as NULL
    with sqlite3.connect(tmp_path / "study.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
