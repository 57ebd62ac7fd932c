"""Decode many image files in parallel into one ``uint8 [N, 3, S, S]`` array.

Threads, not processes: Pillow releases the GIL while it decodes and resizes, and
threads write straight into the output array (often a memory-mapped ``.npy`` in the
cache's temporary folder), so nothing is pickled or copied between workers.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Sequence

import numpy as np

from augstudy.data.convert import ConversionLog, pil_to_chw
from augstudy.errors import UserError
from augstudy.progress import progress

#: files per task: large enough to amortize scheduling, small enough for a smooth progress bar
CHUNK = 128
#: environment variable overriding the number of decode threads
WORKERS_ENV = "AUGSTUDY_DECODE_WORKERS"


def default_workers() -> int:
    """Decode threads: ``AUGSTUDY_DECODE_WORKERS`` or the CPU count (at most 16)."""
    env = os.environ.get(WORKERS_ENV)
    if env:
        return max(1, int(env))
    return max(1, min(16, os.cpu_count() or 1))


def decode_one(path: str | Path, size: int, counts: Counter) -> tuple[np.ndarray, bool]:
    """Decode one file to ``uint8 [3, size, size]``; returns ``(array, was_grayscale)``.

    Raises :class:`UserError` naming the file when it cannot be decoded.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            source_size = img.size
            if img.format == "JPEG" and min(source_size) >= 2 * size:
                # let libjpeg decode at 1/2, 1/4 or 1/8 scale: big photos decode several times faster
                img.draft(img.mode, (size, size))
            img.load()
            return pil_to_chw(img, size, counts, source_size=source_size)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise UserError(f"{path}: cannot decode image ({exc}); delete or replace the file") from None


def decode_files(paths: Sequence[str | Path], out: np.ndarray, size: int, log: ConversionLog,
                 show_progress: bool = True, desc: str = "decode", workers: int | None = None) -> None:
    """Decode ``paths[i]`` into ``out[i]`` (``uint8 [N, 3, size, size]``), counting conversions in ``log``.

    Uses a thread pool of ``workers`` (default :func:`default_workers`) and shows a
    progress bar with ETA unless ``show_progress`` is False.
    """
    n = len(paths)
    if out.shape != (n, 3, size, size) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 {(n, 3, size, size)}, got {out.dtype} {out.shape}")

    def work(start: int) -> int:
        counts: Counter[str] = Counter()
        gray = 0
        stop = min(start + CHUNK, n)
        for i in range(start, stop):
            out[i], was_gray = decode_one(paths[i], size, counts)
            gray += was_gray
        log.merge(counts, gray, stop - start)
        return stop - start

    workers = workers or default_workers()
    bar = progress(total=n, desc=desc, unit="img", disable=None if show_progress else True)
    try:
        if workers == 1 or n <= CHUNK:
            for start in range(0, n, CHUNK):
                bar.update(work(start))
            return
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="augstudy-decode") as pool:
            futures = [pool.submit(work, start) for start in range(0, n, CHUNK)]
            try:
                for fut in as_completed(futures):
                    bar.update(fut.result())
            except BaseException:
                for fut in futures:
                    fut.cancel()
                raise
    finally:
        bar.close()


__all__ = ["decode_files", "decode_one", "default_workers", "CHUNK"]
