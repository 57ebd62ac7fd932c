"""Parallel decode of image files into the compact per-image features the checks need.

Each file is read once, ``verify()``-ed (where the format implements it: PNG's CRCs; Pillow's
``verify()`` is a no-op for JPEG), then fully decoded with ``load()`` from the same bytes
(``ImageFile.LOAD_TRUNCATED_IMAGES`` forced to ``False`` so a truncated JPEG is an error, not a grey
bottom).  A decoded image yields:

- its PIL mode and size;
- a 16-byte blake2b digest of its RGB pixels and size (exact duplicates);
- a 16x16 grayscale thumbnail, ``uint8 [256]`` (box-averaged; near-duplicates);
- for train images, the per-channel RGB histogram, summed per chunk (mean/std, exact integers).

Files go to a process pool in chunks (``imap``), so per-file Python overhead stays in the workers
and only ~300 bytes per image come back.
"""

from __future__ import annotations

import hashlib
import io
import multiprocessing
import os
import re
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: side of the grayscale thumbnail used for near-duplicate search (pixels)
THUMB_SIDE = 16
#: files per task sent to a worker
CHUNK_FILES = 256
#: below this many files, decoding runs in-process (a pool's start-up would cost more)
SERIAL_BELOW = 1500
#: PIL names the in-memory buffer in some messages ("cannot identify image file <_io.BytesIO ...>"):
#: the file's own name replaces it
_BUFFER_REPR = re.compile(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>")


@dataclass
class DecodedFiles:
    """Features of N files, aligned with the input order.

    ``ok`` bool [N]; ``errors`` index -> "ExcType: message" for files that failed;
    ``modes`` list[str] (PIL mode, "" if failed); ``sizes`` int32 [N, 2] (width, height);
    ``digests`` list[bytes] (16 bytes, b"" if failed); ``thumbs`` uint8 [N, 256];
    ``train_hist`` int64 [3, 256]: pixel counts per RGB channel and level over decoded train files.
    """

    ok: np.ndarray
    errors: dict[int, str]
    modes: list[str]
    sizes: np.ndarray
    digests: list[bytes]
    thumbs: np.ndarray
    train_hist: np.ndarray


def usable_cpus() -> int:
    """CPUs this process may use (respects affinity / container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _thumbnail(gray) -> bytes:
    """16x16 box-averaged thumbnail of a PIL "L" image, as 256 bytes."""
    from PIL import Image

    w, h = gray.size
    if w % THUMB_SIDE == 0 and h % THUMB_SIDE == 0:
        small = gray.reduce((w // THUMB_SIDE, h // THUMB_SIDE))  # exact block mean, fastest path
    else:
        small = gray.resize((THUMB_SIDE, THUMB_SIDE), Image.BOX)
    return small.tobytes()


def decode_chunk(task: tuple[str, list[str], list[bool]]) -> dict:
    """Worker: decode ``task = (root, relative paths, is_train flags)``; returns plain arrays/lists."""
    from PIL import Image, ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file must fail, not be padded
    root, rels, train_flags = task
    n = len(rels)
    modes, digests, errors = [""] * n, [b""] * n, {}
    sizes = np.zeros((n, 2), np.int32)
    thumbs = np.zeros((n, THUMB_SIDE * THUMB_SIDE), np.uint8)
    hists = []
    for i, rel in enumerate(rels):
        try:
            with open(os.path.join(root, rel), "rb") as fh:
                data = fh.read()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # palette-transparency and EXIF notes are not findings
                image = Image.open(io.BytesIO(data))
                if type(image).verify is not ImageFile.ImageFile.verify:
                    # the format has a real integrity check (PNG: chunk CRCs); for the others
                    # (JPEG included) Pillow's verify() is a no-op, and reopening costs ~0.3 ms
                    image.verify()
                    image = Image.open(io.BytesIO(data))
                image.load()
                rgb = image if image.mode == "RGB" else image.convert("RGB")
        except Exception as exc:  # noqa: BLE001 - every decoder failure is a finding, never a crash
            errors[i] = f"{type(exc).__name__}: {_BUFFER_REPR.sub(repr(rel), str(exc))}"
            continue
        modes[i] = image.mode
        sizes[i] = image.size
        digest = hashlib.blake2b(rgb.tobytes(), digest_size=16)
        digest.update(struct.pack("<II", *image.size))
        digests[i] = digest.digest()
        thumbs[i] = np.frombuffer(_thumbnail(rgb.convert("L")), np.uint8)
        if train_flags[i]:
            hists.append(rgb.histogram())  # 768 counts: R levels, G levels, B levels
    hist = np.asarray(hists, np.int64).sum(0).reshape(3, 256) if hists else np.zeros((3, 256), np.int64)
    return {"n": n, "modes": modes, "digests": digests, "errors": errors, "sizes": sizes, "thumbs": thumbs,
            "hist": hist}


def decode_features(root: Path, rels: list[str], is_train: list[bool], *, workers: int | None = None,
                 progress: bool = True) -> DecodedFiles:
    """Decode every file (paths relative to ``root``) with ``workers`` processes (default: all CPUs)."""
    from augstudy.progress import progress as progress_bar

    n = len(rels)
    workers = usable_cpus() if workers is None else max(1, workers)
    tasks = [(str(root), rels[i:i + CHUNK_FILES], is_train[i:i + CHUNK_FILES]) for i in range(0, n, CHUNK_FILES)]
    out = DecodedFiles(ok=np.zeros(n, bool), errors={}, modes=[""] * n, sizes=np.zeros((n, 2), np.int32),
                       digests=[b""] * n, thumbs=np.zeros((n, THUMB_SIDE * THUMB_SIDE), np.uint8),
                       train_hist=np.zeros((3, 256), np.int64))
    pool = None
    if workers > 1 and n >= SERIAL_BELOW:
        # fork: workers inherit the imports (no re-import of numpy/PIL per worker); they run only
        # PIL/numpy/hashlib code, no threads of the parent are needed in them
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        pool = multiprocessing.get_context(method).Pool(workers)
        results = pool.imap(decode_chunk, tasks)
    else:
        results = map(decode_chunk, tasks)
    start = 0
    bar = progress_bar(total=n, desc="decode", unit="img", disable=None if progress else True)
    try:
        for result in results:
            stop = start + result["n"]
            out.modes[start:stop] = result["modes"]
            out.digests[start:stop] = result["digests"]
            out.sizes[start:stop] = result["sizes"]
            out.thumbs[start:stop] = result["thumbs"]
            out.train_hist += result["hist"]
            for i, message in result["errors"].items():
                out.errors[start + i] = message
            bar.update(result["n"])
            start = stop
    finally:
        bar.close()
        if pool is not None:
            pool.terminate()
            pool.join()
    out.ok[:] = True
    out.ok[list(out.errors)] = False
    return out
