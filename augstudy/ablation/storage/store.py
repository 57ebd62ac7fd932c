"""The study store: ``OUT/study.sqlite`` (WAL mode), the source of truth of a study.

Tables (one row per run ``run_id = "<config_hash>-seed<k>"``, shared by every arm whose
resolved config has that hash):

- ``runs(run_id, arm, level, seed, config_hash, config_json, status, epochs_done, metric,
  wall_s, device, claimed_by, heartbeat, diverged_epoch, error, checkpoint, created, updated,
  claim_token)``; ``status`` is a :class:`~augstudy.ablation.storage.schema.RunStatus` value;
  ``claimed_by`` is ``"<host>:<pid>"``; ``heartbeat`` is Unix time (s); ``claim_token``
  counts the claims of the run (the fencing token of the current one);
- ``epochs(run_id, epoch, train_loss, train_acc, val_loss, val_acc, lr, wall_s)``, epoch from 1,
  accuracies as fractions;
- ``class_metrics(run_id, epoch, class_index, correct, n_val, val_acc)``;
- ``val_correct(run_id, epoch, n_val, bits)``: per-example correctness on the val subset,
  ``np.packbits`` of a bool ``[n_val]`` (read back with :meth:`StudyStore.val_correct`);
- ``meta(key, value)`` with JSON values (versions, git commit, device, dataset, created...).

Safety: every change is one SQLite transaction, so a ``kill -9`` loses at most the
transaction in flight.  Several processes (one per GPU, say) share a study by
*claiming* runs: :meth:`StudyStore.claim_next` runs inside ``BEGIN IMMEDIATE`` (one
writer at a time) and takes a run that is pending, or running under a dead claim
(heartbeat older than ``stale_s`` or, on this host, a pid that is no longer alive).

Fencing: each claim gets a new ``claim_token``, and every write for a run (epoch rows,
checkpoint publication, finish, release, heartbeat) checks in its own transaction that
this process still holds that token; a process that lost its claim (paused past
``stale_s`` while another took the run over) gets :class:`ClaimLost` and writes nothing,
so one run's rows always come from one claim.  ``AUGSTUDY_CLAIM_STALE_S`` overrides
``stale_s`` (tests use a few seconds).
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

from typing import Callable

import numpy as np

from augstudy.ablation.storage.schema import STUDY_SQLITE, RunStatus, unpack_correct
from augstudy.atomic import ensure_writable_folder
from augstudy.errors import UnwritableError, UserError
from augstudy.processes import pid_alive

#: a claim whose heartbeat is older than this (seconds) is considered dead
STALE_AFTER_S = 60.0
#: environment variable overriding :data:`STALE_AFTER_S` (seconds, > 0)
STALE_ENV = "AUGSTUDY_CLAIM_STALE_S"
#: how often a claimed run's heartbeat is refreshed (seconds; at most a sixth of the stale limit)
HEARTBEAT_EVERY_S = 10.0
#: how long a transaction waits for another process's write lock before giving up (seconds)
LOCK_TIMEOUT_S = 120.0
#: environment variable overriding :data:`LOCK_TIMEOUT_S` (seconds, > 0; tests use 1-2)
LOCK_TIMEOUT_ENV = "AUGSTUDY_LOCK_TIMEOUT_S"
#: the most a claim's release waits for the lock (it runs while an error or interrupt is on its way out)
RELEASE_WAIT_S = 10.0

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
CREATE TABLE IF NOT EXISTS val_correct (
    run_id TEXT NOT NULL, epoch INTEGER NOT NULL, n_val INTEGER NOT NULL, bits BLOB NOT NULL,
    PRIMARY KEY (run_id, epoch));
"""


class ClaimLost(Exception):
    """This process no longer holds the claim on ``run_id`` (another process took the run over)."""

    def __init__(self, run_id: str):
        super().__init__(f"run {run_id}: the claim was taken over by another process")
        self.run_id = run_id


class StoreLocked(UserError):
    """Another process held ``study.sqlite``'s write lock for the whole wait (one line: the file, the
    wait, the fix)."""

    def __init__(self, path: Path, waited_s: float):
        super().__init__(f"{path}: another process has held its write lock for over {waited_s:g} s (a process "
                         f"paused with Ctrl-Z or SIGSTOP, or a program keeping the file open?); resume it (fg, or "
                         f"kill -CONT PID) or end it, then rerun the same command: finished work is kept "
                         f"(${LOCK_TIMEOUT_ENV} sets the wait)")


def _env_seconds(name: str, default: float) -> float:
    """``$name`` as a number of seconds > 0, or ``default`` when unset; UserError otherwise."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise UserError(f"{name}={raw!r}: must be a number of seconds > 0; unset it for the default {default:g}")
    return value


def claim_stale_s() -> float:
    """The stale-claim limit in seconds: ``$AUGSTUDY_CLAIM_STALE_S`` or :data:`STALE_AFTER_S`."""
    return _env_seconds(STALE_ENV, STALE_AFTER_S)


def lock_timeout_s() -> float:
    """How long a transaction waits for the write lock: ``$AUGSTUDY_LOCK_TIMEOUT_S`` or :data:`LOCK_TIMEOUT_S`."""
    return _env_seconds(LOCK_TIMEOUT_ENV, LOCK_TIMEOUT_S)


def _is_lock_error(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def heartbeat_every_s(stale_s: float) -> float:
    """How often to refresh a claim so that it never looks stale: a sixth of ``stale_s``, at most
    :data:`HEARTBEAT_EVERY_S`."""
    return min(HEARTBEAT_EVERY_S, stale_s / 6.0)


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
        if _is_lock_error(exc):
            raise StoreLocked(path, lock_timeout_s()) from None
        raise
    except sqlite3.DatabaseError as exc:
        raise UserError(
            f"{path}: not a readable study database ({exc}); the exported CSVs beside it (runs.csv, epochs.csv, "
            f"class_metrics.csv, study.json) are intact. To recover, move it and its -wal/-shm files aside "
            f"(mkdir {path.parent / 'corrupt'} && mv {path}* {path.parent / 'corrupt'}/) and rerun the same "
            f"command: the store is rebuilt from those CSVs and finished runs are kept") from None


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

    def __init__(self, out_dir: str | Path, stale_s: float | None = None):
        self.out_dir = Path(out_dir)
        ensure_writable_folder(self.out_dir)  # one line naming the folder and the fix
        self.path = self.out_dir / STUDY_SQLITE
        self.stale_s = claim_stale_s() if stale_s is None else float(stale_s)
        self.lock_timeout_s = lock_timeout_s()
        self.worker = worker_id()
        self._local = threading.local()
        with _opening(self.path):
            self.db.executescript(_SCHEMA)  # CREATE ... IF NOT EXISTS: safe when two processes start together
            self._migrate()
            health = self.db.execute("PRAGMA quick_check").fetchone()[0]
            if health != "ok":
                raise sqlite3.DatabaseError(health)

    def _migrate(self) -> None:
        """Bring a store written by an older augstudy up to this schema (``runs.claim_token``)."""
        with self.transaction() as db:
            columns = {r["name"] for r in db.execute("PRAGMA table_info(runs)")}
            if "claim_token" not in columns:
                db.execute("ALTER TABLE runs ADD COLUMN claim_token INTEGER NOT NULL DEFAULT 0")

    # -- connections ------------------------------------------------------------------
    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self.lock_timeout_s, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute(f"PRAGMA busy_timeout={int(self.lock_timeout_s * 1000)}")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, wait_s: float | None = None):
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error): one writer at a time.  Waits up to
        ``wait_s`` (default :attr:`lock_timeout_s`) for another process's write lock, then raises
        :class:`StoreLocked` (one line) with nothing written."""
        db = self.db
        waited = self.lock_timeout_s if wait_s is None else float(wait_s)
        if waited != self.lock_timeout_s:
            db.execute(f"PRAGMA busy_timeout={int(waited * 1000)}")
        try:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if _is_lock_error(exc):
                    raise StoreLocked(self.path, waited) from None
                raise
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            try:
                db.execute("COMMIT")
            except sqlite3.OperationalError as exc:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                if _is_lock_error(exc):
                    raise StoreLocked(self.path, waited) from None
                raise
        finally:
            if waited != self.lock_timeout_s:
                db.execute(f"PRAGMA busy_timeout={int(self.lock_timeout_s * 1000)}")

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
        """Atomically claim the first claimable run of ``run_ids`` (in that order) for this process;
        returns its row, whose ``claim_token`` every later write for the run must pass."""
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
                    "UPDATE runs SET status='running', claimed_by=?, heartbeat=?, device=?, updated=?, "
                    "claim_token=claim_token+1 WHERE run_id=? AND status=? AND claimed_by IS ?",
                    (self.worker, now, device, now, run_id, row["status"], row["claimed_by"]))
                if cur.rowcount == 1:
                    return dict(db.execute("SELECT * FROM runs WHERE run_id=?", (run_id,)).fetchone())
        return None

    def _check_claim(self, db, run_id: str, token: int) -> None:
        """Raise :class:`ClaimLost` unless this process holds claim ``token`` on ``run_id`` (inside a
        write transaction, so the answer holds until it commits)."""
        row = db.execute("SELECT status, claimed_by, claim_token FROM runs WHERE run_id=?", (run_id,)).fetchone()
        if (row is None or row["status"] != RunStatus.RUNNING or row["claimed_by"] != self.worker
                or row["claim_token"] != token):
            raise ClaimLost(run_id)

    def holds_claim(self, run_id: str, token: int) -> bool:
        """True while this process holds claim ``token`` on ``run_id``."""
        try:
            self._check_claim(self.db, run_id, token)
        except ClaimLost:
            return False
        return True

    def heartbeat(self, run_id: str, token: int) -> bool:
        """Refresh the claim's heartbeat; False when the claim is no longer this process's."""
        with self.transaction() as db:
            cur = db.execute("UPDATE runs SET heartbeat=? WHERE run_id=? AND claimed_by=? AND claim_token=? "
                             "AND status='running'", (time.time(), run_id, self.worker, token))
            return cur.rowcount == 1

    def record_epoch(self, run_id: str, token: int, result, checkpoint: str | None,
                     publish: Callable[[], None] | None = None) -> None:
        """One transaction: check the claim, ``publish()`` (e.g. move the epoch's checkpoint into
        place), then the epoch row, its per-class and per-example rows, and the run's progress.
        Raises :class:`ClaimLost` (nothing written, nothing published) when the claim is gone."""
        now = time.time()
        with self.transaction() as db:
            self._check_claim(db, run_id, token)
            if publish is not None:
                publish()
            self._write_epoch(db, run_id, result)
            db.execute("UPDATE runs SET epochs_done=?, checkpoint=COALESCE(?, checkpoint), heartbeat=?, updated=? "
                       "WHERE run_id=?", (result.epoch, checkpoint, now, now, run_id))

    def publish_checkpoint(self, run_id: str, token: int, checkpoint: str, publish: Callable[[], None]) -> None:
        """One transaction: check the claim, ``publish()`` (move a staged checkpoint into place) and
        record its path.  Raises :class:`ClaimLost` (nothing published) when the claim is gone."""
        with self.transaction() as db:
            self._check_claim(db, run_id, token)
            publish()
            db.execute("UPDATE runs SET checkpoint=?, updated=? WHERE run_id=?", (checkpoint, time.time(), run_id))

    @staticmethod
    def _write_epoch(db, run_id: str, r) -> None:
        db.execute("INSERT OR REPLACE INTO epochs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (run_id, r.epoch, _num(r.train_loss), _num(r.train_acc), _num(r.val_loss), _num(r.val_acc),
                    _num(r.lr), _num(r.wall_s)))
        db.executemany("INSERT OR REPLACE INTO class_metrics VALUES (?, ?, ?, ?, ?, ?)",
                       [(run_id, r.epoch, i, c, t, (c / t) if t else None)
                        for i, (c, t) in enumerate(zip(r.class_correct, r.class_total))])
        bits = getattr(r, "val_correct", None)
        if bits is not None:
            db.execute("INSERT OR REPLACE INTO val_correct VALUES (?, ?, ?, ?)",
                       (run_id, r.epoch, int(sum(r.class_total)), bytes(bits)))

    def sync_history(self, run_id: str, token: int, history: list) -> None:
        """Make the run's epoch rows exactly ``history`` (a resumed checkpoint's epochs): rows the
        checkpoint has but the store lacks (a kill between the two writes) are added, rows past it
        are dropped (they will be retrained).  Raises :class:`ClaimLost` when the claim is gone."""
        last = history[-1].epoch if history else 0
        with self.transaction() as db:
            self._check_claim(db, run_id, token)
            for r in history:
                self._write_epoch(db, run_id, r)
            for table in ("epochs", "class_metrics", "val_correct"):
                db.execute(f"DELETE FROM {table} WHERE run_id=? AND epoch>?", (run_id, last))
            db.execute("UPDATE runs SET epochs_done=? WHERE run_id=?", (last, run_id))

    def finish_run(self, run_id: str, token: int, status: str, *, metric: float | None = None,
                   wall_s: float | None = None, diverged_epoch: int | None = None, error: str | None = None) -> None:
        """Record the run's end; raises :class:`ClaimLost` when the claim is gone."""
        now = time.time()
        with self.transaction() as db:
            self._check_claim(db, run_id, token)
            db.execute("UPDATE runs SET status=?, metric=?, wall_s=?, diverged_epoch=?, error=?, claimed_by=NULL, "
                       "heartbeat=?, updated=? WHERE run_id=?",
                       (str(RunStatus(status).value), _num(metric), _num(wall_s), diverged_epoch, error, now, now,
                        run_id))

    def release(self, run_id: str, token: int) -> None:
        """Give an unfinished claim back (status pending) so another process or a rerun takes it;
        a claim this process no longer holds is left alone.  Waits at most :data:`RELEASE_WAIT_S` for
        the lock (it runs on the way out of an error or an interrupt)."""
        with self.transaction(wait_s=RELEASE_WAIT_S) as db:
            db.execute("UPDATE runs SET status='pending', claimed_by=NULL, updated=? "
                       "WHERE run_id=? AND claimed_by=? AND claim_token=? AND status='running'",
                       (time.time(), run_id, self.worker, token))

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

    def val_correct(self, run_id: str, epoch: int | None = None) -> np.ndarray:
        """Per-example correctness of run ``run_id`` on its val subset at ``epoch`` (None: the last
        epoch recorded): bool ``[n_val]``, index i = the i-th image of the run's val subset (the
        same images, in the same order, for every run with the same ``data`` config).
        Raises KeyError when the store has none for that run/epoch (a diverged epoch, a run
        recovered from CSV files, or a study recorded before this table existed)."""
        if epoch is None:
            row = self.db.execute("SELECT n_val, bits FROM val_correct WHERE run_id=? ORDER BY epoch DESC LIMIT 1",
                                  (run_id,)).fetchone()
        else:
            row = self.db.execute("SELECT n_val, bits FROM val_correct WHERE run_id=? AND epoch=?",
                                  (run_id, int(epoch))).fetchone()
        if row is None:
            raise KeyError(f"run {run_id}: no per-example val correctness"
                           + ("" if epoch is None else f" at epoch {epoch}"))
        return unpack_correct(row["bits"], row["n_val"])

    def val_correct_epochs(self, run_id: str) -> dict[int, np.ndarray]:
        """``{epoch: bool [n_val]}`` of every epoch of ``run_id`` that has per-example correctness."""
        return {r["epoch"]: unpack_correct(r["bits"], r["n_val"]) for r in self.db.execute(
            "SELECT epoch, n_val, bits FROM val_correct WHERE run_id=? ORDER BY epoch", (run_id,))}

    def is_empty(self) -> bool:
        """True when the store holds no run and no meta (new, or created but never registered)."""
        return (self.db.execute("SELECT 1 FROM runs LIMIT 1").fetchone() is None
                and self.db.execute("SELECT 1 FROM meta LIMIT 1").fetchone() is None)

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
    so a long epoch is not mistaken for a dead claim.  ``claim``: ``(run_id, token)`` or None;
    ``lost`` collects the run ids whose claim went to another process (seen at a beat)."""

    def __init__(self, store: StudyStore, every_s: float | None = None):
        self.store = store
        self.every_s = heartbeat_every_s(store.stale_s) if every_s is None else every_s
        self.claim: tuple[str, int] | None = None
        self.lost: set[str] = set()
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
            claim = self.claim
            if claim is not None:
                try:
                    if not self.store.heartbeat(*claim):
                        self.lost.add(claim[0])
                except (sqlite3.Error, StoreLocked):
                    pass  # a busy store: the next beat retries; the stale limit is 6 beats away
        self.store.close()


__all__ = ["StudyStore", "Heartbeat", "ClaimLost", "StoreLocked", "worker_id", "run_id_for", "claim_is_dead",
           "claim_stale_s", "lock_timeout_s", "heartbeat_every_s", "STALE_AFTER_S", "STALE_ENV", "HEARTBEAT_EVERY_S",
           "LOCK_TIMEOUT_S", "LOCK_TIMEOUT_ENV", "RELEASE_WAIT_S"]
