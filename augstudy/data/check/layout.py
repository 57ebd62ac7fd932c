"""Layout checks of image trees for ``augstudy data check``, reading the raw files only.

Two tree layouts are understood (the loader's own code is deliberately not used: the point is to
diagnose trees it would choke on):

- Tiny ImageNet: ``wnids.txt``, ``train/<wnid>/images/*.JPEG``,
  ``val/images/*.JPEG`` + ``val/val_annotations.txt`` (tab-separated: file, wnid, x0, y0, x1, y1).
- image folder: ``train/<class>/**/<image>``, ``val/<class>/**/<image>``.

:func:`scan_tree` returns every image file to decode (with its split and class) plus the layout
findings; it never decodes pixels.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from augstudy.data.check.findings import CheckFinding

#: file name endings the check decodes as images (lowercase); wider than the loader's
#: :data:`augstudy.data.sources.base.IMAGE_EXTENSIONS`, so stray formats are looked at too
CHECKED_IMAGE_EXTENSIONS = (".jpeg", ".jpg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
#: columns per ``val_annotations.txt`` line: file, wnid, x0, y0, x1, y1
ANNOTATION_COLUMNS = 6


@dataclass
class TreeScan:
    """Result of scanning a tree: files to decode and layout findings.

    ``files`` are paths relative to the dataset root (POSIX); ``splits`` holds ``"train"`` /
    ``"val"`` per file and ``labels`` the class index (into ``class_names``) or -1 when unknown.
    """

    layout: str
    class_names: list[str]
    files: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    findings: list[CheckFinding] = field(default_factory=list)

    def add(self, rel: str, split: str, label: int) -> None:
        self.files.append(rel)
        self.splits.append(split)
        self.labels.append(label)


def is_image_name(name: str) -> bool:
    return name.lower().endswith(CHECKED_IMAGE_EXTENSIONS)


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _images_under(folder: Path, root: Path) -> list[str]:
    """Image files anywhere under ``folder``, as sorted POSIX paths relative to ``root``.

    Plain strings, not ``Path`` objects: a Tiny ImageNet tree has 110,000 files.
    """
    images = []
    cut = len(str(root)) + 1
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        prefix = dirpath[cut:].replace(os.sep, "/") + "/"
        images += [prefix + name for name in sorted(filenames) if is_image_name(name)]
    return images


def detect_tree_layout(root: Path) -> str | None:
    """``"tiny-imagenet"``, ``"image-folder"`` or ``None`` (not a tree this module understands)."""
    if (root / "wnids.txt").is_file() or (root / "val" / "val_annotations.txt").is_file():
        return "tiny-imagenet"
    train = root / "train"
    if not train.is_dir():
        return None
    class_dirs = [d for d in train.iterdir() if d.is_dir()]
    if any((d / "images").is_dir() for d in class_dirs):
        return "tiny-imagenet"
    if class_dirs or (root / "val").is_dir():
        return "image-folder"
    return None


def scan_tree(root: Path, layout: str) -> TreeScan:
    """Scan ``root`` in ``layout`` (from :func:`detect_tree_layout`)."""
    root = Path(os.path.abspath(root))  # _images_under cuts this prefix off walked paths (even for ".")
    return _scan_tiny_imagenet(root) if layout == "tiny-imagenet" else _scan_image_folder(root)


# ----------------------------------------------------------------------------------------------

def _read_wnids(root: Path, findings: list[CheckFinding]) -> list[str] | None:
    path = root / "wnids.txt"
    if not path.is_file():
        findings.append(CheckFinding("missing_wnids", "error", ["wnids.txt"],
                                     "wnids.txt is missing: the class list is unknown (the class folders under "
                                     "train/ are used instead); restore it, one wnid per line"))
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()  # trailing blank lines are harmless
    wnids, bad, seen = [], [], set()
    for number, line in enumerate(lines, start=1):
        wnid = line.strip()
        if not wnid or len(wnid.split()) != 1 or wnid in seen:
            bad.append(f"wnids.txt:{number}")
            continue
        seen.add(wnid)
        wnids.append(wnid)
    if bad:
        findings.append(CheckFinding("malformed_wnids", "error", bad,
                                     f"wnids.txt has {len(bad)} blank, multi-word or repeated line(s); "
                                     f"keep exactly one wnid per line"))
    if not wnids:
        findings.append(CheckFinding("malformed_wnids", "error", ["wnids.txt"], "wnids.txt lists no classes; "
                                     "restore it, one wnid per line"))
        return None
    return wnids


def _scan_tiny_imagenet(root: Path) -> TreeScan:
    findings: list[CheckFinding] = []
    listed = _read_wnids(root, findings)
    train = root / "train"
    class_dirs = sorted(d for d in train.iterdir() if d.is_dir()) if train.is_dir() else []
    class_names = listed if listed is not None else [d.name for d in class_dirs]
    index = {w: i for i, w in enumerate(class_names)}
    scan = TreeScan("tiny-imagenet", class_names, findings=findings)

    unlisted, with_images = [], set()
    for d in class_dirs:
        folder = d / "images" if (d / "images").is_dir() else d
        images = _images_under(folder, root)
        if d.name not in index:
            unlisted.append(_rel(root, d) + "/")
        if images:
            with_images.add(d.name)
        for rel in images:
            scan.add(rel, "train", index.get(d.name, -1))
    if unlisted:
        findings.append(CheckFinding("unlisted_class", "error", unlisted,
                                     f"{len(unlisted)} class folder(s) under train/ are not listed in wnids.txt; "
                                     f"add them to wnids.txt or remove the folders"))
    empty = [f"train/{w}/images/" for w in class_names if w not in with_images]
    if empty and class_dirs:
        findings.append(CheckFinding("empty_class", "error", empty,
                                     f"{len(empty)} class(es) listed in wnids.txt have no train images; "
                                     f"restore their train/<wnid>/images/ folders or drop them from wnids.txt"))
    if not any(s == "train" for s in scan.splits):
        findings.append(CheckFinding("empty_split", "error", ["train/"],
                                     "the train split has no images (expected train/<wnid>/images/*.JPEG)"))
    _scan_tiny_val(root, scan, index)
    return scan


def _scan_tiny_val(root: Path, scan: TreeScan, index: dict[str, int]) -> None:
    findings = scan.findings
    images_dir = root / "val" / "images"
    val_images = _images_under(images_dir, root) if images_dir.is_dir() else []
    if not val_images:
        findings.append(CheckFinding("empty_split", "error", ["val/images/"],
                                     "the val split has no images (expected val/images/*.JPEG)"))
    on_disk = {rel.rsplit("/", 1)[-1]: rel for rel in val_images}
    ann_path = root / "val" / "val_annotations.txt"
    labels: dict[str, int] = {}
    if not ann_path.is_file():
        if val_images:
            findings.append(CheckFinding("missing_val_annotations", "error", ["val/val_annotations.txt"],
                                         "val/val_annotations.txt is missing: val images have no labels; restore it "
                                         "(tab-separated: file, wnid, x0, y0, x1, y1)"))
    else:
        malformed, unknown, missing = [], [], []
        lines = ann_path.read_text(encoding="utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            cols = line.split("\t")
            where = f"val/val_annotations.txt:{number}"
            if len(cols) != ANNOTATION_COLUMNS or not all(c.strip().lstrip("-").isdigit() for c in cols[2:]):
                malformed.append(where)
                continue
            name, wnid = cols[0].strip(), cols[1].strip()
            if wnid not in index:
                unknown.append(f"{where} ({wnid})")
            if name not in on_disk:
                missing.append(f"val/images/{name}")
                continue
            labels[name] = index.get(wnid, -1)
        if malformed:
            findings.append(CheckFinding("malformed_annotation", "error", malformed,
                                         f"{len(malformed)} line(s) of val/val_annotations.txt do not have "
                                         f"{ANNOTATION_COLUMNS} tab-separated columns (file, wnid, x0, y0, x1, y1)"))
        if unknown:
            findings.append(CheckFinding("annotation_unknown_wnid", "error", unknown,
                                         f"{len(unknown)} annotation(s) name a wnid not in wnids.txt; fix the wnid or "
                                         f"add the class"))
        if missing:
            findings.append(CheckFinding("annotation_missing_file", "error", missing,
                                         f"{len(missing)} annotation(s) name a val image that does not exist; restore "
                                         f"the files or delete those lines"))
        unannotated = [rel for name, rel in on_disk.items() if name not in labels]
        if unannotated:
            findings.append(CheckFinding("val_unannotated", "error", sorted(unannotated),
                                         f"{len(unannotated)} val image(s) have no line in val/val_annotations.txt; "
                                         f"add their labels or remove the files"))
    for rel in val_images:
        scan.add(rel, "val", labels.get(rel.rsplit("/", 1)[-1], -1))


def _scan_image_folder(root: Path) -> TreeScan:
    findings: list[CheckFinding] = []
    train, val = root / "train", root / "val"
    class_dirs = sorted(d for d in train.iterdir() if d.is_dir()) if train.is_dir() else []
    class_names = [d.name for d in class_dirs]
    index = {c: i for i, c in enumerate(class_names)}
    scan = TreeScan("image-folder", class_names, findings=findings)
    empty = []
    for d in class_dirs:
        images = _images_under(d, root)
        if not images:
            empty.append(_rel(root, d) + "/")
        for rel in images:
            scan.add(rel, "train", index[d.name])
    if empty:
        findings.append(CheckFinding("empty_class", "error", empty,
                                     f"{len(empty)} class folder(s) under train/ hold no images; add images or "
                                     f"remove the folders"))
    unlisted = []
    for d in sorted(x for x in val.iterdir() if x.is_dir()) if val.is_dir() else []:
        if d.name not in index:
            unlisted.append(_rel(root, d) + "/")
        for rel in _images_under(d, root):
            scan.add(rel, "val", index.get(d.name, -1))
    if unlisted:
        findings.append(CheckFinding("unlisted_class", "error", unlisted,
                                     f"{len(unlisted)} class folder(s) under val/ have no train/ counterpart; "
                                     f"rename or remove them"))
    for split in ("train", "val"):
        if split not in scan.splits:
            findings.append(CheckFinding("empty_split", "error", [f"{split}/"],
                                         f"the {split} split has no images (expected {split}/<class>/<image>)"))
    return scan
