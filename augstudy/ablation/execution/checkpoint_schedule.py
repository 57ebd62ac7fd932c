"""Checkpoints by time, off the critical path: when ``train_run`` hands its state out, and who writes it.

Why by time.  A full checkpoint of the fixed CNN at 200 classes (weights + SGD momentum) is
208 MB; ``torch.save`` + rename took 0.33-1.02 s on this project's disk, while a Tiny ImageNet
epoch on one H100 takes about 1 s.  Checkpointing every epoch would double a GPU study;
checkpointing every :data:`DEFAULT_CHECKPOINT_EVERY_S` seconds costs one host copy of the state
per interval (about 0.1 s on a CPU, tens of ms from a GPU: under 0.1% of the step) and risks
at most that interval of training to a ``kill -9`` or a power cut.  SIGTERM and Ctrl-C
checkpoint at once, so a preempted machine (which is sent SIGTERM first) loses nothing.

- :class:`CheckpointSchedule` answers ``due()`` after every optimizer step and at every epoch end:
  when ``every_s`` seconds of its ``clock`` (injectable: tests use a fake one) have passed since
  the last checkpoint, or a SIGINT/SIGTERM arrived.  ``every_s = 0`` checkpoints at every epoch end
  and never mid-epoch (the behaviour before checkpoints went by time).  While a run trains,
  :meth:`CheckpointSchedule.deferring_signals` turns SIGINT/SIGTERM into a request: the step in
  flight finishes, its state is checkpointed, then ``InterruptedByUser`` is raised (a second
  signal raises at once).  So the state saved is always a step boundary, never a half-applied
  optimizer step.
- :class:`CheckpointWriter` writes from one background thread: ``submit`` takes a state already
  copied to host memory and returns at once; a newer state of the same run replaces one still
  waiting (newest wins, so a slow disk skips checkpoints instead of stalling training);
  ``flush`` waits until everything submitted is on disk and re-raises a write error in the
  caller's thread.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Callable

# seconds between checkpoints by default (``--checkpoint-every``, see the module docstring): an option
from augstudy.ablation.spec.options import DEFAULT_CHECKPOINT_EVERY_S  # noqa: F401 - public here too
from augstudy.errors import InterruptedByUser

_SIGNALS = {signal.SIGINT: "SIGINT", signal.SIGTERM: "SIGTERM"}


class CheckpointSchedule:
    """When a run's state is checkpointed (see the module docstring).  ``every_s``: seconds (>= 0);
    ``clock``: seconds, monotonic (default ``time.monotonic``).  ``stop``: the name of the signal
    that asked training to stop (None: none)."""

    def __init__(self, every_s: float = DEFAULT_CHECKPOINT_EVERY_S, clock: Callable[[], float] = time.monotonic):
        if not every_s >= 0:
            raise ValueError(f"checkpoint interval must be >= 0 s, got {every_s}")
        self.every_s, self.clock = float(every_s), clock
        self.stop: str | None = None
        self._last: float | None = None

    def start(self) -> None:
        """A run starts (or resumes): the interval counts from now."""
        self._last = self.clock()

    def due(self, epoch_end: bool) -> bool:
        """True when a checkpoint is due now (after a step, or at an epoch end when ``epoch_end``)."""
        if self.stop is not None:
            return True
        if self.every_s == 0:
            return epoch_end
        if self._last is None:
            self.start()
        return self.clock() - self._last >= self.every_s

    def saved(self) -> None:
        """A checkpoint was handed out: the next one is due ``every_s`` from now."""
        self._last = self.clock()

    @contextmanager
    def deferring_signals(self):
        """SIGINT/SIGTERM set :attr:`stop` instead of raising while the block runs (main thread only;
        a signal ignored by the caller stays ignored).  On leaving after a stop was requested (the
        block raised ``InterruptedByUser`` after its checkpoint, or finished), the signal goes to the
        handler that was there before -- the CLI's ignores later signals while cleanup runs, then
        raises ``InterruptedByUser`` -- or, where that handler is not a Python function,
        ``InterruptedByUser`` is raised here."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {}

        def request(signum, frame):
            if self.stop is not None:   # asked twice: stop now, checkpoint or not
                raise InterruptedByUser(_SIGNALS[signum])
            self.stop = _SIGNALS[signum]

        for signum in _SIGNALS:
            handler = signal.getsignal(signum)
            if handler is not signal.SIG_IGN and handler is not None:   # None: not Python's to restore
                previous[signum] = handler
                signal.signal(signum, request)
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if self.stop is not None:
                fired = next(n for n, name in _SIGNALS.items() if name == self.stop)
                handler = previous.get(fired)
                if callable(handler):
                    handler(fired, None)
                raise InterruptedByUser(self.stop)


class CheckpointWriter:
    """Writes checkpoints from one background thread (see the module docstring).

    ``write(key, payload)`` does the work (stage, publish); it runs in the writer thread, one
    at a time.  ``on_exit`` runs in the thread before it ends (e.g. closing its store connection).
    """

    def __init__(self, write: Callable[[str, object], None], on_exit: Callable[[], None] | None = None):
        self._write, self._on_exit = write, on_exit
        self._cond = threading.Condition()
        self._pending: dict[str, object] = {}
        self._busy: str | None = None
        self._error: BaseException | None = None
        self._closing = False
        self._thread: threading.Thread | None = None

    def submit(self, key: str, payload) -> None:
        """Queue ``payload`` for ``key`` (replacing one not started yet); returns at once."""
        self._raise_error()
        with self._cond:
            self._pending.pop(key, None)
            self._pending[key] = payload
            if self._thread is None:
                self._closing = False
                self._thread = threading.Thread(target=self._loop, name="augstudy-checkpoints", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, key: str | None = None) -> None:
        """Wait until ``key``'s (None: every) submitted checkpoint is written; re-raise a write error."""
        def idle() -> bool:
            if key is None:
                return not self._pending and self._busy is None
            return key not in self._pending and self._busy != key

        with self._cond:
            self._cond.wait_for(idle)
        self._raise_error()

    def discard(self, key: str) -> None:
        """Forget ``key``'s checkpoint if it has not started (a claim lost to another process)."""
        with self._cond:
            self._pending.pop(key, None)

    def close(self) -> None:
        """Write what is queued, then end the thread (re-raises a write error)."""
        thread = self._thread
        if thread is not None:
            with self._cond:
                self._closing = True
                self._cond.notify_all()
            thread.join()
            self._thread = None
        self._raise_error()

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    self._cond.wait_for(lambda: self._pending or self._closing)
                    if not self._pending:
                        return
                    key = next(iter(self._pending))
                    payload = self._pending.pop(key)
                    self._busy = key
                try:
                    self._write(key, payload)
                except BaseException as exc:  # noqa: BLE001 - handed to the training thread at its next call
                    self._error = exc
                finally:
                    with self._cond:
                        self._busy = None
                        self._cond.notify_all()
        finally:
            if self._on_exit is not None:
                self._on_exit()


__all__ = ["DEFAULT_CHECKPOINT_EVERY_S", "CheckpointSchedule", "CheckpointWriter"]
