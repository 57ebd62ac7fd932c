"""Image folders: ``ROOT/train/<class>/*.{jpg,jpeg,png}`` and ``ROOT/val/<class>/...``.

Classes are the ``train/`` sub-folders sorted by name (``torchvision.datasets.ImageFolder``'s
order); ``val/`` (or ``valid/``, ``test/`` when there is no ``val/``) may hold a subset of
them.  Any mode and size is accepted and converted (see :mod:`augstudy.data.convert`).
"""

from __future__ import annotations

from pathlib import Path

from augstudy.data.sources.base import SourceScan, list_images_in, load_file_split
from augstudy.errors import UserError

KIND = "image-folder"
DESCRIPTION = "image folders (train/<class>/, val/<class>/)"
VAL_FOLDER_NAMES = ("val", "valid", "test")


def _class_dirs(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def detect(root: Path) -> bool:
    train = root / "train"
    return train.is_dir() and any(p.is_dir() for p in train.iterdir())


def _val_folder(root: Path) -> Path:
    for name in VAL_FOLDER_NAMES:
        if (root / name).is_dir():
            return root / name
    raise UserError(f"{root}: has train/<class>/ but no val/<class>/ folders; create val/ with the same "
                    f"class sub-folders holding held-out images")


def scan(root: Path) -> SourceScan:
    class_dirs = _class_dirs(root / "train")
    class_names = [p.name for p in class_dirs]
    index = {name: i for i, name in enumerate(class_names)}
    val_root = _val_folder(root)
    plan, files = {}, []
    for split, folder in (("train", root / "train"), ("val", val_root)):
        paths_all, labels_all = [], []
        class_dirs = _class_dirs(folder)
        for class_dir in class_dirs:
            if class_dir.name not in index:
                raise UserError(f"{class_dir}: class '{class_dir.name}' has no train/{class_dir.name}/ folder; "
                                f"every {folder.name}/ class must also exist in train/")
        for class_dir, (paths, stats) in zip(class_dirs, list_images_in(class_dirs, root)):
            paths_all += paths
            labels_all += [index[class_dir.name]] * len(paths)
            files += stats
        if not paths_all:
            raise UserError(f"{folder}: no images found; expected {folder.name}/<class>/*.jpg|jpeg|png")
        plan[split] = (paths_all, labels_all)
    return SourceScan(KIND, DESCRIPTION, root, class_names, files, load_file_split, plan)
