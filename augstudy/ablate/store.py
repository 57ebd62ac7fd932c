"""The study store: ``OUT/study.sqlite`` (WAL mode), the source of truth of a study.

Tables (one row per run ``run_id = "<config_hash>-seed<k>"``, shared by every arm whose
resolved config has that hash):

- ``runs(run_id, arm, level, seed, config_hash, config_json, status, epochs_done, metric,
  wall_s, device, claimed_by, heartbeat, diverged_epoch, error, checkpoint, created, updated)``;
  ``status`` in pending | running | done | diverged | failed; ``claimed_by`` is
  ``"<host>:<pid>"``; ``heartbeat`` is Unix time (s);
- ``epochs(run_id, epoch, train_loss, train_acc, val_loss, val_acc, lr, wall_s)``, epoch from 1,
  accuracies as fractions;
- ``class_metrics(run_id, epoch, class_index, correct, n_val, val_acc)``;
- ``meta(key, value)`` with JSON values (versions, git commit, device, dataset, created...).

Safety: every change is one SQLite transaction, so a ``kill -9`` loses at most the
transaction in flight.  Several processes (one per GPU, say) share a study by
*claiming* runs: :meth:`StudyStore.claim_next` runs inside ``BEGIN IMMEDIATE`` (one
writer at a time) and takes a run that is pending, or running under a dead claim
(heartbeat older than ``stale_s`` or, on this host, a pid that is no longer alive).
A run is therefore trained by one process at a time, and a crashed one is reclaimed.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from augstudy.atomic import ensure_writable_folder
from augstudy.processes import pid_alive
from augstudy.errors import UnwritableError, UserError

#: a claim whose heartbeat is older than this (seconds) is considered dead
STALE_AFTER_S = 60.0
#: how often a claimed run's heartbeat is refreshed (seconds)
HEARTBEAT_EVERY_S = 10.0
FINISHED = ("done", "diverged")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY, arm TEXT, level TEXT, seed INTEGER, config_hash TEXT, config_json TEXT,
    status TEXT NOT NULL DEFAULT 'pending', epochs_done INTEGER NOT NULL DEFAULT 0, metric REAL,
    wall_s REAL, device TEXT, claimed_by TEXT, heartbeat REAL, diverged_epoch INTEGER, error TEXT,
    checkpoint TEXT, created REAL, updated REAL);
CREATE TABLE IF NOT EXISTS epochs (
    run_id TEXT NOT NULL, epoch INTEGER NOT NULL, train_loss REAL, train_acc REAL, val_loss REAL,
    val_acc REAL, lr REAL, wall_s REAL, PRIMARY KEY (run_id, epoch));
CREATE TABLE IF NOT EXISTS class_metrics (
    run_id TEXT NOT NULL, epoch INTEGER NOT NULL, class_index INTEGER NOT NULL, correct INTEGER,
    n_val INTEGER, val_acc REAL, PRIMARY KEY (run_id, epoch, class_index));
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


@contextmanager
def _opening(path: Path):
    """Turn SQLite's errors while opening ``path`` into one line: which file, that the exported
    CSVs beside it are intact, and how to recover (or how to make the folder writable)."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "readonly" in text or "unable to open" in text:
            raise UnwritableError(f"{path}: cannot be written ({text}); make {path.parent} and the file writable "
                                  f"(e.g. chmod u+w), or choose a writable place with --out") from None
        raise
    except sqlite3.DatabaseError as exc:
        raise UserError(
            f"{path}: not a readable study database ({exc}); the exported CSVs beside it (runs.csv, epochs.csv, "
            f"class_metrics.csv, study.json) are intact. To recover, move it aside (mv {path} {path}.corrupt) "
            f"and rerun the same command: the store is rebuilt from those CSVs and finished runs are kept") from None


def worker_id() -> str:
    """This process's claim name: ``"<hostname>:<pid>"``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_is_dead(claimed_by: str | None, heartbeat: float | None, now: float, stale_s: float) -> bool:
    """True when a ``running`` claim can be taken over."""
    if not claimed_by or heartbeat is None or now - heartbeat > stale_s:
        return True
    host, _, pid = claimed_by.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        return not pid_alive(int(pid))
    return False


def run_id_for(config_hash: str, seed: int) -> str:
    return f"{config_hash}-seed{seed}"


def _num(v):
    """SQLite stores NaN as NULL; keep NaN/inf out and read NULL back as NaN."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


class StudyStore:
    """``study.sqlite`` in ``out_dir``.  One connection per thread; every write is a transaction."""

    def __init__(self, out_dir: str | Path, stale_s: float = STALE_AFTER_S):
        self.out_dir = Path(out_dir)
        ensure_writable_folder(self.out_dir)  # one line naming the folder and the fix
        self.path = self.out_dir / "study.sqlite"
        self.stale_s = stale_s
        self.worker = worker_id()
        self._local = threading.local()
        with _opening(self.path):
            self.db.executescript(_SCHEMA)  # CREATE ... IF NOT EXISTS: safe when two processes start together
            health = self.db.execute("PRAGMA quick_check").fetchone()[0]
            if health != "ok":
                raise sqlite3.DatabaseError(health)

    # -- connections ------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=120.0, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA busy_timeout=120000")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self):
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error): one writer at a time."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- meta -------------------------------------------------------------------------
    def set_meta(self, values: dict) -> None:
        with self.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                           [(k, json.dumps(v, default=str)) for k, v in values.items()])

    def meta(self) -> dict:
        return {r["key"]: json.loads(r["value"]) for r in self.db.execute("SELECT key, value FROM meta")}

    # -- runs -------------------------------------------------------------------------
    def register_runs(self, runs: list[dict]) -> None:
        """Insert missing runs as pending (``run_id, arm, level, seed, config_hash, config``);
        runs that ``failed`` before go back to pending so a rerun retries them."""
        now = time.time()
        with self.transaction() as db:
            for r in runs:
                db.execute(
                    "INSERT OR IGNORE INTO runs(run_id, arm, level, seed, config_hash, config_json, status, "
                    "epochs_done, created, updated) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
                    (r["run_id"], r["arm"], r["level"], r["seed"], r["config_hash"],
                     json.dumps(r["config"], sort_keys=True), now, now))
                db.execute("UPDATE runs SET status='pending', error=NULL, claimed_by=NULL, updated=? "
                           "WHERE run_id=? AND status='failed'", (now, r["run_id"]))

    def claim_next(self, run_ids: list[str], device: str) -> dict | None:
        """Atomically claim the first claimable run of ``run_ids`` (in that order) for this process."""
        now = time.time()
        with self.transaction() as db:
            marks = ",".join("?" * len(run_ids))
            rows = {r["run_id"]: r for r in db.execute(
                f"SELECT * FROM runs WHERE run_id IN ({marks}) AND status IN ('pending', 'running')", run_ids)}
            for run_id in run_ids:
                row = rows.get(run_id)
                if row is None:
                    continue
                if row["status"] == "running" and (row["claimed_by"] == self.worker or not claim_is_dead(
                        row["claimed_by"], row["heartbeat"], now, self.stale_s)):
                    continue
                cur = db.execute(
                    "UPDATE runs SET status='running', claimed_by=?, heartbeat=?, device=?, updated=? "
                    "WHERE run_id=? AND status=? AND claimed_by IS ?",
                    (self.worker, now, device, now, run_id, row["status"], row["claimed_by"]))
                if cur.rowcount == 1:
                    return dict(db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone())
        return None

    def heartbeat(self, run_id: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET heartbeat=? WHERE run_id=? AND claimed_by=? AND status='running'",
                       (time.time(), run_id, self.worker))

    def record_epoch(self, run_id: str, result, checkpoint: str | None) -> None:
        """One transaction: the epoch row, its per-class rows, and the run's progress."""
        now = time.time()
        with self.transaction() as db:
            self._write_epoch(db, run_id, result)
            db.execute("UPDATE runs SET epochs_done=?, checkpoint=COALESCE(?, checkpoint), heartbeat=?, updated=? "
                       "WHERE run_id=?", (result.epoch, checkpoint, now, now, run_id))

    @staticmethod
    def _write_epoch(db, run_id: str, r) -> None:
        db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, r.epoch, _num(r.train_loss), _num(r.train_acc), _num(r.val_loss), _num(r.val_acc),
                    _num(r.lr), _num(r.wall_s)))
        db.executemany("INSERT OR REPLACE INTO class_metrics VALUES (?, ?, ?, ?, ?, ?)",
                       [(run_id, r.epoch, i, c, t, (c / t) if t else None)
                        for i, (c, t) in enumerate(zip(r.class_correct, r.class_total))])

    def sync_history(self, run_id: str, history: list) -> None:
        """Make the run's epoch rows exactly ``history`` (a resumed checkpoint's epochs): rows the
        checkpoint has but the store lacks (a kill between the two writes) are added, rows past it
        are dropped (they will be retrained)."""
        last = history[-1].epoch if history else 0
        with self.transaction() as db:
            for r in history:
                self._write_epoch(db, run_id, r)
            db.execute("DELETE FROM epochs WHERE run_id=? AND epoch>?", (run_id, last))
            db.execute("DELETE FROM class_metrics WHERE run_id=? AND epoch>?", (run_id, last))
            db.execute("UPDATE runs SET epochs_done=? WHERE run_id=?", (last, run_id))

    def finish_run(self, run_id: str, status: str, *, metric: float | None = None, wall_s: float | None = None,
                   diverged_epoch: int | None = None, error: str | None = None) -> None:
        now = time.time()
        with self.transaction() as db:
            db.execute("UPDATE runs SET status=?, metric=?, wall_s=?, diverged_epoch=?, error=?, claimed_by=NULL, "
                       "heartbeat=?, updated=? WHERE run_id=?",
                       (status, _num(metric), _num(wall_s), diverged_epoch, error, now, now, run_id))

    def release(self, run_id: str) -> None:
        """Give an unfinished claim back (status pending) so another process or a rerun takes it."""
        with self.transaction() as db:
            db.execute("UPDATE runs SET status='pending', claimed_by=NULL, updated=? "
                       "WHERE run_id=? AND claimed_by=? AND status='running'", (time.time(), run_id, self.worker))

    # -- reads ------------------------------------------------------------------------
    def runs(self, run_ids: list[str] | None = None) -> dict[str, dict]:
        if run_ids is None:
            rows = self.db.execute("SELECT * FROM runs")
        else:
            rows = self.db.execute(f"SELECT * FROM runs WHERE run_id IN ({','.join('?' * len(run_ids))})", run_ids)
        return {r["run_id"]: dict(r) for r in rows}

    def epochs(self, run_ids: list[str]) -> list[dict]:
        marks = ",".join("?" * len(run_ids))
        return [dict(r) for r in self.db.execute(
            f"SELECT * FROM epochs WHERE run_id IN ({marks}) ORDER BY run_id, epoch", run_ids)]

    def class_metrics(self, run_ids: list[str]) -> list[dict]:
        marks = ",".join("?" * len(run_ids))
        return [dict(r) for r in self.db.execute(
            f"SELECT * FROM class_metrics WHERE run_id IN ({marks}) ORDER BY run_id, epoch, class_index", run_ids)]

    def snapshot(self, run_ids: list[str]) -> tuple[dict, list[dict], list[dict]]:
        """Runs, epochs and class metrics read in ONE read transaction (a consistent view)."""
        db = self.db
        db.execute("BEGIN")
        try:
            return self.runs(run_ids), self.epochs(run_ids), self.class_metrics(run_ids)
        finally:
            db.execute("COMMIT")

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]


class Heartbeat:
    """A daemon thread refreshing the heartbeat of the run this process trains (its own connection),
    so a long epoch is not mistaken for a dead claim."""

    def __init__(self, store: StudyStore, every_s: float = HEARTBEAT_EVERY_S):
        self.store, self.every_s = store, every_s
        self.run_id: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="augstudy-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self):
        while not self._stop.wait(self.every_s):
            run_id = self.run_id
            if run_id is not None:
                try:
                    self.store.heartbeat(run_id)
                except sqlite3.Error:
                    pass  # a busy store: the next beat retries; the stale limit is 6 beats away
        self.store.close()


__all__ = ["StudyStore", "Heartbeat", "worker_id", "run_id_for", "claim_is_dead", "STALE_AFTER_S", "FINISHED"]
