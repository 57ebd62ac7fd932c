"""Tiny ImageNet's official layout (``tiny-imagenet-200.zip`` unpacked).

::

    wnids.txt                         one wnid per line (200)
    words.txt                         wnid <TAB> comma-separated names
    train/<wnid>/images/*.JPEG        500 per class
    val/images/*.JPEG                 10,000
    val/val_annotations.txt           file <TAB> wnid <TAB> x0 <TAB> y0 <TAB> x1 <TAB> y1

Labels index the wnids sorted alphabetically (as ``torchvision.datasets.ImageFolder``
would); the class name is the first comma-separated name in ``words.txt``.
``test/`` is unlabelled and ignored.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

from augstudy.data.sources.base import SourceScan, list_images, list_images_in, load_file_split, stat_files
from augstudy.errors import UserError

KIND = "tiny-imagenet"
DESCRIPTION = "Tiny ImageNet layout (wnids.txt, train/<wnid>/images, val/val_annotations.txt)"


def detect(root: Path) -> bool:
    return (root / "wnids.txt").is_file()


def read_wnids(root: Path) -> list[str]:
    """The wnids of ``wnids.txt`` in file order; UserError when empty or duplicated."""
    path = root / "wnids.txt"
    wnids = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not wnids:
        raise UserError(f"{path}: empty; expected one wnid per line (e.g. n01443537)")
    dupes = sorted(w for w, n in Counter(wnids).items() if n > 1)
    if dupes:
        raise UserError(f"{path}: duplicated wnid {dupes[0]}; each class must appear once")
    return wnids


def read_class_names(root: Path, wnids: list[str]) -> list[str]:
    """Human names for ``wnids`` from ``words.txt`` (first comma-separated name); the wnid
    itself when ``words.txt`` is missing or lacks it.  Duplicate names get their wnid appended."""
    words: dict[str, str] = {}
    path = root / "words.txt"
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            wnid, _, names = line.partition("\t")
            if names.strip():
                words[wnid.strip()] = names.split(",")[0].strip()
    names = [words.get(w, w) for w in wnids]
    seen = Counter(names)
    return [f"{n} ({w})" if seen[n] > 1 else n for n, w in zip(names, wnids)]


def _read_val_annotations(root: Path, index: dict[str, int]) -> dict[str, int]:
    """``{file name: label}`` from ``val/val_annotations.txt``."""
    path = root / "val" / "val_annotations.txt"
    if not path.is_file():
        raise UserError(f"{path}: missing; Tiny ImageNet's val split needs it "
                        f"(lines: file<TAB>wnid<TAB>x0<TAB>y0<TAB>x1<TAB>y1)")
    labels = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 2:
            raise UserError(f"{path}: line {lineno}: expected file<TAB>wnid<TAB>box, got {line[:60]!r}")
        name, wnid = parts[0].strip(), parts[1].strip()
        if wnid not in index:
            raise UserError(f"{path}: line {lineno}: wnid {wnid} is not in wnids.txt; "
                            f"add it there or fix the annotation")
        labels[name] = index[wnid]
    return labels


def scan(root: Path) -> SourceScan:
    wnids_in_file = read_wnids(root)
    wnids = sorted(wnids_in_file)
    index = {w: i for i, w in enumerate(wnids)}
    class_names = read_class_names(root, wnids)

    train_paths, train_labels, files = [], [], []
    folders = [root / "train" / wnid / "images" for wnid in wnids]
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"{folder}: missing; every wnid in wnids.txt needs train/<wnid>/images/*.JPEG")
    for wnid, (paths, stats) in zip(wnids, list_images_in(folders, root)):
        train_paths += paths
        train_labels += [index[wnid]] * len(paths)
        files += stats
    if not train_paths:
        raise UserError(f"{root / 'train'}: no training images found under train/<wnid>/images/")

    val_folder = root / "val" / "images"
    if not val_folder.is_dir():
        raise UserError(f"{val_folder}: missing; expected val/images/*.JPEG with val/val_annotations.txt")
    annotations = _read_val_annotations(root, index)
    paths, stats = list_images(val_folder, root)
    val_paths, val_labels = [], []
    for p, st in zip(paths, stats):
        name = os.path.basename(p)
        if name not in annotations:
            raise UserError(f"{p}: not listed in val/val_annotations.txt; add its line or remove the file")
        val_paths.append(p)
        val_labels.append(annotations[name])
        files.append(st)
    missing = set(annotations) - {os.path.basename(p) for p in val_paths}
    if missing:
        first = sorted(missing)[0]
        raise UserError(f"{root / 'val' / 'val_annotations.txt'}: lists {len(missing)} file(s) missing "
                        f"from val/images/ (first: {first}); restore them or re-download the dataset")
    meta = [root / n for n in ("wnids.txt", "words.txt", "val/val_annotations.txt") if (root / n).is_file()]
    files = stat_files(root, meta) + files
    return SourceScan(KIND, DESCRIPTION, root, class_names, files, load_file_split,
                      {"train": (train_paths, train_labels), "val": (val_paths, val_labels)})
