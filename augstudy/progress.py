"""Progress bars for long work: a tqdm bar on stderr with rate and ETA.

Set ``AUGSTUDY_NO_PROGRESS=1`` to silence every bar (the test suite does; so
can scripts that capture stderr).  tqdm is imported lazily so importing this
module costs nothing.
"""

from __future__ import annotations

import os
import sys
from typing import Iterable

#: environment variable that disables all progress bars when set to "1" (or any non-empty, non-"0" value)
NO_PROGRESS_ENV = "AUGSTUDY_NO_PROGRESS"


def progress_disabled() -> bool:
    """True when ``AUGSTUDY_NO_PROGRESS`` asks for silence."""
    return os.environ.get(NO_PROGRESS_ENV, "").strip() not in ("", "0")


def progress(iterable: Iterable | None = None, total: int | None = None, desc: str = "",
             unit: str = "it", disable: bool | None = None, leave: bool = False, initial: int = 0):
    """A tqdm bar on stderr showing count, rate and ETA.

    Use it as an iterable wrapper (``for x in progress(items, desc="decode")``) or
    as a counter (``bar = progress(total=n, unit="img"); bar.update(k); bar.close()``,
    or in a ``with`` block); ``progress(n, ...)`` with an int is the same as ``total=n``.  ``disable=None`` follows ``AUGSTUDY_NO_PROGRESS``;
    ``disable=True`` always hides it (the bar object still works, it just prints nothing).
    ``unit="B"`` counts bytes, shown scaled (KiB, MiB, ...); ``initial`` starts the count there
    (a resumed download).
    """
    from tqdm import tqdm

    if isinstance(iterable, int) and total is None:  # progress(1000, desc=...) counts to 1000
        iterable, total = None, iterable
    if disable is None:
        disable = progress_disabled()
    scale = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable,
                leave=leave, dynamic_ncols=True, smoothing=0.1, initial=initial, **scale)


__all__ = ["progress", "progress_disabled", "NO_PROGRESS_ENV"]
