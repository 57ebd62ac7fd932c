"""What every dataset source provides, and which source a folder holds.

A source module (``tinyimagenet``, ``folders``, ``idx``, ``cifar``) exposes
``KIND``, ``DESCRIPTION``, ``detect(root) -> bool`` and ``scan(root) -> SourceScan``.
Scanning only lists files and reads small metadata (fast, no pixel decoding); the
scan's ``load_split`` then fills the split's arrays.  The scan's ``files`` (relative
name, size, mtime) are the cache fingerprint.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

from augstudy.data.convert import ConversionLog
from augstudy.errors import UserError

SPLITS = ("train", "val")

#: image file extensions the loader reads from folders (compared lower-case)
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class Allocate(Protocol):
    """Give the arrays a split is written into: ``(images uint8 [n, 3, S, S], labels int64 [n])``."""

    def __call__(self, split: str, n: int) -> tuple[np.ndarray, np.ndarray]: ...


#: load_split(scan, split, image_size, allocate, log, show_progress) fills one split
LoadSplit = Callable[["SourceScan", str, int, Allocate, ConversionLog, bool], None]


#: one source file as the fingerprint sees it, no contents read:
#: (path relative to the dataset root, "/"-separated; size in bytes; mtime in nanoseconds).
#: A plain tuple: 110,000 of them are built on every load, so construction cost matters.
FileStat = tuple[str, int, int]


@dataclass
class SourceScan:
    """The result of scanning a dataset folder: enough to fingerprint and to load it."""

    kind: str                       # "tiny-imagenet" | "image-folder" | "idx" | "cifar"
    description: str                # e.g. "Tiny ImageNet layout (wnids.txt)"
    root: Path
    class_names: list[str]
    files: list[FileStat]
    load_split: LoadSplit
    plan: dict = field(default_factory=dict)   # source-specific: per-split file lists, array files...


def stat_files(root: Path, paths: list[Path]) -> list[FileStat]:
    """Fingerprint entries for explicit ``paths`` (one ``stat`` each)."""
    out = []
    for p in paths:
        st = p.stat()
        out.append((p.relative_to(root).as_posix(), st.st_size, st.st_mtime_ns))
    return out


def list_images(folder: Path, root: Path) -> tuple[list[str], list[FileStat]]:
    """Image files directly in ``folder`` (sorted by name): their paths (``str``) and fingerprint entries.

    Uses ``os.scandir``: one directory read plus one ``stat`` per file, never the contents.
    Paths stay strings (building 110,000 ``Path`` objects costs seconds), so listing the
    110,000 files of Tiny ImageNet takes well under a second.
    """
    with os.scandir(folder) as it:
        entries = [e for e in it if e.name[e.name.rfind("."):].lower() in IMAGE_EXTENSIONS
                   and not e.name.startswith(".") and e.is_file()]
    entries.sort(key=lambda e: e.name)
    prefix = folder.relative_to(root).as_posix() + "/"
    stats = [(prefix + e.name, (st := e.stat()).st_size, st.st_mtime_ns) for e in entries]
    return [e.path for e in entries], stats


def list_images_in(folders: list[Path], root: Path) -> list[tuple[list[str], list[FileStat]]]:
    """:func:`list_images` for many folders, in threads (``stat`` releases the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    if len(folders) < 8:
        return [list_images(f, root) for f in folders]
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 1) * 2)) as pool:
        return list(pool.map(lambda f: list_images(f, root), folders))


def load_file_split(scan: SourceScan, split: str, image_size: int, allocate: Allocate,
                    log: ConversionLog, show_progress: bool) -> None:
    """``load_split`` for file-based sources: ``scan.plan[split]`` is ``(paths, labels)``."""
    from augstudy.data.decode import decode_files

    paths, labels = scan.plan[split]
    images_out, labels_out = allocate(split, len(paths))
    labels_out[:] = np.asarray(labels, dtype=np.int64)
    decode_files(paths, images_out, image_size, log, show_progress=show_progress,
                 desc=f"decode {split}")


def labels_out_of_range(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """bool ``[N]``: labels outside ``[0, n_classes)``."""
    labels = np.asarray(labels, dtype=np.int64)
    return (labels < 0) | (labels >= n_classes)


def out_of_range_message(labels: np.ndarray, bad: np.ndarray, n_classes: int) -> str:
    """``"3 label(s) outside 0..9 (e.g. 200) for 10 classes"``."""
    example = int(np.asarray(labels)[bad][0])
    return (f"{int(bad.sum())} label(s) outside 0..{n_classes - 1} (e.g. {example}) for {n_classes} "
            f"class{'es' if n_classes != 1 else ''}")


def source_modules():
    """The source modules in detection order (imported lazily: they import this module)."""
    from augstudy.data.sources import cifar, folders, idx, tinyimagenet

    return (tinyimagenet, idx, cifar, folders)


def detect_source(root: Path):
    """The source module whose layout ``root`` holds; :class:`UserError` when none matches."""
    if not root.exists():
        raise UserError(f"{root}: dataset path not found; pass --data PATH to an existing folder "
                        f"(or run 'augstudy data fetch')")
    if not root.is_dir():
        raise UserError(f"{root}: not a folder; pass the dataset's folder (the one holding wnids.txt, "
                        f"train/ and val/, IDX files or CIFAR pickles)")
    for module in source_modules():
        if module.detect(root):
            return module
    raise UserError(f"{root}: no dataset found: expected wnids.txt (Tiny ImageNet), train/<class>/ and "
                    f"val/<class>/ folders, IDX files (train-images-idx3-ubyte[.gz]) or CIFAR pickles "
                    f"(data_batch_1..5, test_batch)")


__all__ = ["SPLITS", "IMAGE_EXTENSIONS", "FileStat", "SourceScan", "Allocate", "stat_files",
           "list_images", "list_images_in", "load_file_split", "detect_source", "source_modules",
           "labels_out_of_range", "out_of_range_message"]
