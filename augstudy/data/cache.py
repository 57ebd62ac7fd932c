"""The decode-once cache: uint8 ``.npy`` arrays plus a JSON manifest, memory-mapped on reuse.

Layout of one cache folder (``<location>/size<S>/``)::

    train_images.npy   uint8 [N, 3, S, S]
    train_labels.npy   int64 [N]
    val_images.npy     uint8 [M, 3, S, S]
    val_labels.npy     int64 [M]
    manifest.json      format version, image size, source fingerprint, class names, conversions...

The fingerprint hashes every source file's relative name, size and mtime (``stat``
only, never contents), the cache format version and the image size: adding,
removing or touching a source file invalidates the cache.

Crash safety: a new cache is written into a hidden temporary folder beside the
target and renamed into place only after every file is complete and fsynced, so
a crash or ``kill -9`` leaves either the old cache, no cache, or the new one, and
the leftovers of a dead writer are removed by the next one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from augstudy.atomic import atomic_write_json
from augstudy.processes import pid_alive
from augstudy.data.sources.base import SPLITS, SourceScan

#: bump when the cache's content or layout changes; old caches are then rebuilt
CACHE_FORMAT_VERSION = 1
#: environment variable naming a folder for all caches (overrides the per-dataset default)
CACHE_DIR_ENV = "AUGSTUDY_CACHE_DIR"
#: the cache folder's name inside a writable dataset root
IN_ROOT_CACHE_NAME = ".augstudy-cache"
MANIFEST = "manifest.json"


def fingerprint(scan: SourceScan, image_size: int) -> str:
    """SHA-256 over the source files' (relative name, size, mtime_ns), the source kind, the
    cache format version and the image size."""
    h = hashlib.sha256()
    h.update(f"augstudy-cache v{CACHE_FORMAT_VERSION} {scan.kind} size={image_size}\n".encode())
    h.update("".join(f"{rel}\t{size}\t{mtime_ns}\n" for rel, size, mtime_ns in sorted(scan.files)).encode())
    return h.hexdigest()


def _root_hash(root: Path) -> str:
    return hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]


def _user_cache_home() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "augstudy"


def _writable(folder: Path) -> bool:
    """True when a file can be created in ``folder`` (creating it if needed, as the cache will)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{uuid.uuid4().hex}"
        probe.touch()
        probe.unlink()
        return True
    except OSError:
        return False


def cache_location(root: Path, image_size: int, cache_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder for dataset ``root`` at ``image_size``.

    ``cache_dir`` (else env ``AUGSTUDY_CACHE_DIR``): ``<cache_dir>/<root name>-<path hash>/size<S>``;
    else ``<root>/.augstudy-cache/size<S>`` when the root is writable, else
    ``~/.cache/augstudy/<path hash>/size<S>``.
    """
    size_dir = f"size{image_size}"
    cache_dir = cache_dir or os.environ.get(CACHE_DIR_ENV) or None
    if cache_dir:
        return Path(cache_dir).expanduser() / f"{root.resolve().name}-{_root_hash(root)}" / size_dir
    in_root = root / IN_ROOT_CACHE_NAME
    if _writable(in_root):  # a real probe: os.access says yes to root even on a read-only mount
        return in_root / size_dir
    return _user_cache_home() / _root_hash(root) / size_dir


def read_cache(folder: Path, expected_fingerprint: str) -> tuple[dict, dict[str, np.ndarray]] | None:
    """``(manifest, arrays)`` when ``folder`` holds a complete cache with that fingerprint, else None.

    Arrays are memory-mapped copy-on-write (``mmap_mode="c"``): nothing is read until used,
    the tensors built on them are writable without a warning, and a write only changes the
    process's private copy of that page, never the cache file.
    """
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if (manifest.get("format_version") != CACHE_FORMAT_VERSION
            or manifest.get("fingerprint") != expected_fingerprint):
        return None
    size = manifest.get("image_size")
    arrays = {}
    try:
        for split in SPLITS:
            n = manifest["splits"][split]
            images = _load(folder / f"{split}_images.npy")
            labels = _load(folder / f"{split}_labels.npy")
            if images.shape != (n, 3, size, size) or images.dtype != np.uint8 \
                    or labels.shape != (n,) or labels.dtype != np.int64:
                return None
            arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return manifest, arrays


def _load(path: Path) -> np.ndarray:
    header_only = np.load(path, mmap_mode=None, allow_pickle=False) if path.stat().st_size < 256 else None
    if header_only is not None and header_only.size == 0:
        return header_only  # a zero-length array cannot be memory-mapped
    return np.load(path, mmap_mode="c", allow_pickle=False)


def _remove_dead_leftovers(target: Path) -> None:
    """Delete temporary / old folders beside ``target`` whose writer process is gone."""
    for p in target.parent.glob(f".{target.name}.*-*"):
        pid_text = p.name.rsplit("-", 2)[-2] if p.name.count("-") >= 2 else ""
        if not pid_text.isdigit() or not pid_alive(int(pid_text)):
            shutil.rmtree(p, ignore_errors=True)


@contextlib.contextmanager
def cache_writer(target: Path) -> Iterator[tuple[Path, Callable]]:
    """Write a new cache for ``target`` crash-safely.

    Yields ``(temp_folder, allocate)`` where ``allocate(split, n, image_size)`` returns writable
    memory-mapped ``(images uint8 [n, 3, S, S], labels int64 [n])`` arrays in the temporary folder.  The caller fills them and writes the manifest; on a clean
    exit the files are fsynced and the folder replaces ``target``; on an exception it is deleted.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_dead_leftovers(target)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    opened: list[np.memmap] = []

    def allocate(split: str, n: int, image_size: int) -> tuple[np.ndarray, np.ndarray]:
        images = _open_array(tmp / f"{split}_images.npy", np.uint8, (n, 3, image_size, image_size))
        labels = _open_array(tmp / f"{split}_labels.npy", np.int64, (n,))
        opened.extend(a for a in (images, labels) if isinstance(a, np.memmap))
        return images, labels

    try:
        yield tmp, allocate
        for array in opened:
            array.flush()
        opened.clear()
        for f in tmp.iterdir():
            with open(f, "rb") as fh:
                os.fsync(fh.fileno())
        _swap_into_place(tmp, target)
    except BaseException:
        opened.clear()
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _open_array(path: Path, dtype, shape: tuple[int, ...]) -> np.ndarray:
    if 0 in shape:  # mmap cannot map zero bytes: save an empty array instead
        np.save(path, np.zeros(shape, dtype=dtype))
        return np.zeros(shape, dtype=dtype)
    return np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` onto ``target``: the old folder is moved aside first (a folder cannot be
    replaced atomically while non-empty), then deleted."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(target, old)
        except FileNotFoundError:  # another process swapped it away just now
            old = None
    try:
        os.rename(tmp, target)
    except OSError:
        # another process put a cache there in the meantime: keep theirs, drop ours
        if not (target / MANIFEST).is_file():
            raise
        shutil.rmtree(tmp, ignore_errors=True)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def write_manifest(folder: Path, manifest: dict) -> None:
    """Write ``manifest.json`` (atomically) into a cache folder; written last, it marks completeness."""
    atomic_write_json(folder / MANIFEST, {"format_version": CACHE_FORMAT_VERSION, **manifest})


def remove_cache(folder: Path) -> bool:
    """Delete a cache folder; True if there was one."""
    if folder.is_dir():
        shutil.rmtree(folder)
        return True
    return False


__all__ = ["CACHE_FORMAT_VERSION", "CACHE_DIR_ENV", "IN_ROOT_CACHE_NAME", "fingerprint",
           "cache_location", "read_cache", "cache_writer", "write_manifest", "remove_cache"]
