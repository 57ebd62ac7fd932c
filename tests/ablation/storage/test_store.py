"""The study store: atomic claims between processes, dead-claim takeover, fencing, history sync,
per-example val correctness, and stores written before those tables/columns existed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from augstudy.ablation.storage.schema import pack_correct
from augstudy.ablation.storage.store import ClaimLost, StudyStore, claim_is_dead, claim_stale_s
from augstudy.ablation.execution.train import EpochResult
from augstudy.errors import UserError


def _runs(n=3):
    return [{"run_id": f"h{i}-seed0", "arm": f"a={i}", "level": str(i), "seed": 0, "config_hash": f"h{i}",
             "config": {"i": i}} for i in range(n)]


def _epoch(e, acc=0.5, correct=None):
    """An epoch of a 4-image val set (2 classes x 2 images); ``correct``: its per-example mask."""
    bits = pack_correct(correct) if correct is not None else None
    return EpochResult(e, 0.7, acc, 0.69, acc, 0.01, 1.0, [1, 2], [2, 2], bits)


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
    a.finish_run(ids[0], first["claim_token"], "done", metric=0.5, wall_s=1.0)
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
    token = store.claim_next(["h0-seed0"], "cpu")["claim_token"]
    for e in (1, 2, 3):
        store.record_epoch("h0-seed0", token, _epoch(e, correct=[e % 2, 1, 0, 1]), "checkpoints/h0-seed0.pt")
    store.sync_history("h0-seed0", token, [_epoch(1, correct=[1, 1, 1, 0]), _epoch(2, acc=0.75)])   # a checkpoint from epoch 2
    rows = store.epochs(["h0-seed0"])
    assert [r["epoch"] for r in rows] == [1, 2] and rows[1]["val_acc"] == 0.75
    assert store.runs()["h0-seed0"]["epochs_done"] == 2
    assert len(store.class_metrics(["h0-seed0"])) == 4
    # per-example rows follow the history: epoch 1 rewritten, epoch 2 kept, epoch 3 dropped
    assert store.val_correct("h0-seed0", 1).tolist() == [True, True, True, False]
    assert store.val_correct("h0-seed0", 2).tolist() == [False, True, False, True]
    assert store.val_correct("h0-seed0").tolist() == [False, True, False, True]   # the last epoch recorded
    with pytest.raises(KeyError, match="epoch 3"):
        store.val_correct("h0-seed0", 3)
    nan = EpochResult(3, float("nan"), 0.0, float("inf"), 0.0, 0.01, 1.0, [0, 0], [2, 2])
    store.record_epoch("h0-seed0", token, nan, None)
    assert store.epochs(["h0-seed0"])[-1]["train_loss"] is None        # NaN/inf stored as NULL
    with sqlite3.connect(tmp_path / "study.sqlite") as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_val_correct_round_trips_any_length(tmp_path):
    store = StudyStore(tmp_path)
    store.register_runs(_runs(1))
    token = store.claim_next(["h0-seed0"], "cpu")["claim_token"]
    mask = np.random.default_rng(0).random(1003) < 0.6   # not a multiple of 8
    result = EpochResult(1, 0.7, 0.5, 0.69, float(mask.mean()), 0.01, 1.0, [int(mask.sum())], [1003],
                         pack_correct(mask))
    store.record_epoch("h0-seed0", token, result, None)
    back = StudyStore(tmp_path).val_correct("h0-seed0", 1)
    assert back.dtype == bool and back.shape == (1003,) and np.array_equal(back, mask)
    assert list(store.val_correct_epochs("h0-seed0")) == [1]
    size = store.db.execute("SELECT length(bits) FROM val_correct").fetchone()[0]
    assert size == 126                                       # ceil(1003 / 8) bytes: packed


def test_a_writer_that_lost_its_claim_writes_nothing(tmp_path):
    """Fencing: A is paused past the stale limit, B takes the run over; every later write of A
    (epoch, finish, heartbeat, release) is refused and B's rows stay as B wrote them."""
    a, b = StudyStore(tmp_path, stale_s=0.2), StudyStore(tmp_path, stale_s=0.2)
    b.worker = "otherhost:2"
    a.register_runs(_runs(1))
    token_a = a.claim_next(["h0-seed0"], "cpu")["claim_token"]
    a.record_epoch("h0-seed0", token_a, _epoch(1, acc=0.1), None)
    assert b.claim_next(["h0-seed0"], "cpu") is None          # A's heartbeat is fresh
    time.sleep(0.3)                                            # A "paused" past the limit
    token_b = b.claim_next(["h0-seed0"], "cpu")["claim_token"]
    assert token_b == token_a + 1
    b.sync_history("h0-seed0", token_b, [_epoch(1, acc=0.2)])
    published = []
    with pytest.raises(ClaimLost):
        a.record_epoch("h0-seed0", token_a, _epoch(2, acc=0.9), None, publish=lambda: published.append(1))
    assert published == []                                     # the checkpoint is not moved into place
    assert not a.heartbeat("h0-seed0", token_a) and not a.holds_claim("h0-seed0", token_a)
    a.release("h0-seed0", token_a)                             # a no-op: not A's claim any more
    b.record_epoch("h0-seed0", token_b, _epoch(2, acc=0.3), None)
    with pytest.raises(ClaimLost):
        a.finish_run("h0-seed0", token_a, "done", metric=0.9)
    b.finish_run("h0-seed0", token_b, "done", metric=0.25)
    rows = b.epochs(["h0-seed0"])
    assert [(r["epoch"], r["val_acc"]) for r in rows] == [(1, 0.2), (2, 0.3)]
    run = b.runs()["h0-seed0"]
    assert run["status"] == "done" and run["metric"] == 0.25 and run["epochs_done"] == 2


def test_claim_timeout_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("AUGSTUDY_CLAIM_STALE_S", "2.5")
    assert claim_stale_s() == 2.5 and StudyStore(tmp_path).stale_s == 2.5
    monkeypatch.setenv("AUGSTUDY_CLAIM_STALE_S", "soon")
    with pytest.raises(UserError, match="AUGSTUDY_CLAIM_STALE_S"):
        StudyStore(tmp_path)


def test_a_store_from_before_fencing_and_val_correct_still_opens(tmp_path):
    """A study.sqlite without ``runs.claim_token`` and without the ``val_correct`` table."""
    with sqlite3.connect(tmp_path / "study.sqlite") as db:
        db.executescript("""
            CREATE TABLE runs (run_id TEXT PRIMARY KEY, arm TEXT, level TEXT, seed INTEGER, config_hash TEXT,
                config_json TEXT, status TEXT NOT NULL DEFAULT 'pending', epochs_done INTEGER NOT NULL DEFAULT 0,
                metric REAL, wall_s REAL, device TEXT, claimed_by TEXT, heartbeat REAL, diverged_epoch INTEGER,
                error TEXT, checkpoint TEXT, created REAL, updated REAL);
            CREATE TABLE epochs (run_id TEXT NOT NULL, epoch INTEGER NOT NULL, train_loss REAL, train_acc REAL,
                val_loss REAL, val_acc REAL, lr REAL, wall_s REAL, PRIMARY KEY (run_id, epoch));
            CREATE TABLE class_metrics (run_id TEXT NOT NULL, epoch INTEGER NOT NULL, class_index INTEGER NOT NULL,
                correct INTEGER, n_val INTEGER, val_acc REAL, PRIMARY KEY (run_id, epoch, class_index));
            CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
            INSERT INTO runs(run_id, arm, level, seed, config_hash, config_json, status, epochs_done)
                VALUES ('h0-seed0', 'a=0', '0', 0, 'h0', '{}', 'done', 1);
            INSERT INTO epochs VALUES ('h0-seed0', 1, 0.7, 0.5, 0.69, 0.5, 0.01, 1.0);
        """)
    store = StudyStore(tmp_path)
    assert store.runs()["h0-seed0"]["status"] == "done" and store.runs()["h0-seed0"]["claim_token"] == 0
    assert [r["epoch"] for r in store.epochs(["h0-seed0"])] == [1]
    with pytest.raises(KeyError):
        store.val_correct("h0-seed0")
