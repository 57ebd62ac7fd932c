"""Decode many image files in parallel into one ``uint8 [N, 3, S, S]`` array.

Workers write straight into the output array (usually a memory-mapped ``.npy`` in the
cache's temporary folder), so no pixels are pickled or copied between them.  Small jobs
use threads (Pillow releases the GIL while it decodes); large file-backed jobs use worker
processes, which also parallelize the per-image Python around Pillow.
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Sequence

import numpy as np

from augstudy.data.convert import ConversionLog, pil_to_chw
from augstudy.errors import UserError
from augstudy.progress import progress

#: files per task: large enough to amortize scheduling, small enough for a smooth progress bar
CHUNK = 128
#: files per task in worker processes (bigger: each task costs a round trip between processes)
PROCESS_CHUNK = 512
#: below this many images, threads win (starting worker processes takes about a second)
PROCESS_MIN_IMAGES = 4000
#: environment variable overriding the number of decode workers
WORKERS_ENV = "AUGSTUDY_DECODE_WORKERS"


def decode_worker_count() -> int:
    """Decode workers: ``AUGSTUDY_DECODE_WORKERS`` or the CPU count (at most 16)."""
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
                 show_progress: bool = True, desc: str = "decode", workers: int | None = None,
                 processes: bool | None = None) -> None:
    """Decode ``paths[i]`` into ``out[i]`` (``uint8 [N, 3, size, size]``), counting conversions in ``log``.

    ``workers`` (default :func:`decode_worker_count`) threads, or worker processes when
    ``processes`` is True (default: when ``out`` is a file-backed ``np.memmap``, there are at
    least :data:`PROCESS_MIN_IMAGES` images and more than one worker: processes sidestep the GIL,
    which the per-image Python around Pillow otherwise holds about half the time).  Each process
    maps the same ``.npy`` file and writes its own rows.  Shows a progress bar with ETA unless
    ``show_progress`` is False.
    """
    n = len(paths)
    if out.shape != (n, 3, size, size) or out.dtype != np.uint8:
        raise ValueError(f"out must be uint8 {(n, 3, size, size)}, got {out.dtype} {out.shape}")
    workers = workers or decode_worker_count()
    file_backed = isinstance(out, np.memmap) and getattr(out, "filename", None) is not None
    if processes is None:
        processes = file_backed and n >= PROCESS_MIN_IMAGES and workers > 1 and _can_fork()
    if processes and not file_backed:
        raise ValueError("processes=True needs `out` to be a file-backed np.memmap")

    def work(start: int) -> int:
        counts: Counter[str] = Counter()
        gray = 0
        stop = min(start + CHUNK, n)
        for i in range(start, stop):
            out[i], was_gray = decode_one(paths[i], size, counts)
            gray += was_gray
        log.merge(counts, gray, stop - start)
        return stop - start

    bar = progress(total=n, desc=desc, unit="img", disable=None if show_progress else True)
    try:
        if processes:
            _decode_in_processes(paths, out, size, log, workers, bar)
        elif workers == 1 or n <= CHUNK:
            for start in range(0, n, CHUNK):
                bar.update(work(start))
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="augstudy-decode") as pool:
                _drain([pool.submit(work, start) for start in range(0, n, CHUNK)], bar, lambda done: done)
    finally:
        bar.close()


def _can_fork() -> bool:
    import multiprocessing

    return "fork" in multiprocessing.get_all_start_methods()


def _drain(futures, bar, on_result) -> None:
    """Wait for ``futures`` updating ``bar``; on any error cancel the rest and re-raise."""
    try:
        for fut in as_completed(futures):
            bar.update(on_result(fut.result()))
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


def _decode_in_processes(paths, out: np.memmap, size: int, log: ConversionLog, workers: int, bar) -> None:
    import multiprocessing

    out.flush()
    target = (str(out.filename), int(out.offset), tuple(out.shape))
    # "fork", like DataLoader workers: the children only run Pillow and numpy (no torch, no
    # OpenMP), and unlike "spawn" it never re-imports the user's __main__ script
    ctx = multiprocessing.get_context("fork")
    tasks = [(target, start, [str(p) for p in paths[start:start + PROCESS_CHUNK]], size)
             for start in range(0, len(paths), PROCESS_CHUNK)]

    def merge(result) -> int:
        counts, gray, done = result
        log.merge(counts, gray, done)
        return done

    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        _drain([pool.submit(_decode_rows, *t) for t in tasks], bar, merge)


def _decode_rows(target: tuple[str, int, tuple], start: int, paths: list[str], size: int):
    """Worker process: decode ``paths`` into rows ``start...`` of the ``.npy`` file ``target``."""
    filename, offset, shape = target
    out = np.memmap(filename, dtype=np.uint8, mode="r+", offset=offset, shape=shape)
    counts: Counter[str] = Counter()
    gray = 0
    for i, path in enumerate(paths):
        out[start + i], was_gray = decode_one(path, size, counts)
        gray += was_gray
    out.flush()
    del out
    return counts, gray, len(paths)


__all__ = ["decode_files", "decode_one", "decode_worker_count", "CHUNK"]
