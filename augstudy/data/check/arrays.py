"""Array datasets (IDX files such as Fashion-MNIST, CIFAR pickles) for ``augstudy data check``.

They hold arrays, not image files, so only the pixel-level checks apply; items are named
``train[i]`` / ``val[j]`` (val = the IDX ``t10k`` files / CIFAR ``test_batch``).  The raw readers
are the loader's (:func:`augstudy.data.sources.idx.read_idx`, :func:`augstudy.data.sources.cifar.read_pickle`);
nothing is resized or cached here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from augstudy.data.check.features import THUMB_SIDE
from augstudy.data.check.findings import CheckFinding
from augstudy.data.sources.base import labels_out_of_range, out_of_range_message
from augstudy.data.sources.idx import IDX_STEMS, find_idx_file
from augstudy.errors import UserError

_CIFAR10 = {"train": [f"data_batch_{i}" for i in range(1, 6)], "val": ["test_batch"]}
_CIFAR100 = {"train": ["train"], "val": ["test"]}
#: images per vectorised thumbnail step (bounded memory: 4096 x 32 x 32 float32 = 16 MB)
_BATCH = 4096


@dataclass
class ArraySplits:
    """Images ``uint8 [N, C, H, W]`` (C = 1 or 3) and labels ``int64 [N]`` per split."""

    layout: str
    class_names: list[str]
    images: dict[str, np.ndarray] = field(default_factory=dict)
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    findings: list[CheckFinding] = field(default_factory=list)


def detect_array_layout(root: Path) -> str | None:
    """``"idx"``, ``"cifar"`` or ``None``."""
    if find_idx_file(root, IDX_STEMS["train"][0]) or find_idx_file(root, IDX_STEMS["val"][0]):
        return "idx"
    if (root / "data_batch_1").is_file() or (root / "test_batch").is_file() or \
            ((root / "train").is_file() and (root / "meta").is_file()):
        return "cifar"
    return None


def load_arrays(root: Path, layout: str) -> ArraySplits:
    """Read both splits; unreadable or inconsistent files become error findings, not exceptions."""
    return _load_idx(root) if layout == "idx" else _load_cifar(root)


def _load_idx(root: Path) -> ArraySplits:
    from augstudy.data.sources.idx import read_class_names, read_idx

    out = ArraySplits("idx", read_class_names(root))
    for split, (image_stems, label_stems) in IDX_STEMS.items():
        images_path, labels_path = find_idx_file(root, image_stems), find_idx_file(root, label_stems)
        if images_path is None or labels_path is None:
            missing = image_stems[0] if images_path is None else label_stems[0]
            out.findings.append(CheckFinding("missing_file", "error", [f"{missing}[.gz]"],
                                             f"the {split} split lacks {missing}[.gz]; restore it"))
            continue
        arrays = {}
        for path in (images_path, labels_path):  # read both, so each broken file is named on its own
            try:
                arrays[path] = read_idx(path)
            except UserError as exc:
                out.findings.append(CheckFinding("undecodable", "error", [path.name], str(exc)))
        if len(arrays) < 2:
            continue
        images, labels = arrays[images_path], arrays[labels_path]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            out.findings.append(CheckFinding("malformed_arrays", "error", [images_path.name, labels_path.name],
                                             f"{split}: images {images.shape} and labels {labels.shape} do not match "
                                             f"(expected [N, H, W] and [N])"))
            continue
        out.images[split] = images[:, None]
        out.labels[split] = _checked_labels(labels, len(out.class_names), labels_path.name, out.findings)
    return out


def _checked_labels(labels: np.ndarray, n_classes: int, file_name: str, findings: list[CheckFinding]) -> np.ndarray:
    """``labels`` as int64, with those outside ``[0, n_classes)`` reported as one error finding
    naming ``file_name`` and set to -1 (unknown), so no class count includes them."""
    labels = np.asarray(labels, dtype=np.int64)
    bad = labels_out_of_range(labels, n_classes)
    if not bad.any():
        return labels
    findings.append(CheckFinding(
        "label_out_of_range", "error", [file_name],
        f"{file_name}: {out_of_range_message(labels, bad, n_classes)}; the loader refuses this split: fix the "
        f"labels, or list every class name (classes.txt / meta.json for IDX)", count=int(bad.sum()),
        details={"labels": sorted({int(v) for v in labels[bad]})[:20]}))
    labels = labels.copy()
    labels[bad] = -1
    return labels


def _load_cifar(root: Path) -> ArraySplits:
    from augstudy.data.sources.cifar import read_pickle

    variant = _CIFAR100 if (root / "train").is_file() else _CIFAR10
    meta_name, names_key, labels_key = (("meta", b"fine_label_names", b"fine_labels") if variant is _CIFAR100
                                        else ("batches.meta", b"label_names", b"labels"))
    class_names: list[str] = []
    out = ArraySplits("cifar", class_names)
    try:
        meta = read_pickle(root / meta_name)
        class_names += [n.decode() if isinstance(n, bytes) else str(n) for n in meta.get(names_key, [])]
    except (UserError, OSError) as exc:
        out.findings.append(CheckFinding("missing_file", "error", [meta_name], f"{meta_name}: {exc}"))
    for split, names in variant.items():
        datas, labels = [], []
        for name in names:
            path = root / name
            if not path.is_file():
                out.findings.append(CheckFinding("missing_file", "error", [name], f"the {split} split lacks {name}; "
                                                                            f"restore it"))
                continue
            try:
                batch = read_pickle(path)
                data = np.asarray(batch[b"data"], np.uint8).reshape(-1, 3, 32, 32)
                lab = np.asarray(batch[labels_key], np.int64)
            except (UserError, KeyError, ValueError) as exc:
                out.findings.append(CheckFinding("undecodable", "error", [name],
                                                 f"{name}: unreadable CIFAR batch ({exc})"))
                continue
            if len(lab) != len(data):
                out.findings.append(CheckFinding("malformed_arrays", "error", [name],
                                                 f"{name}: {len(lab)} labels for {len(data)} images"))
                continue
            datas.append(data)
            labels.append(_checked_labels(lab, len(class_names), name, out.findings) if class_names else lab)
        if datas:
            out.images[split] = np.concatenate(datas)
            out.labels[split] = np.concatenate(labels)
    if not class_names:
        n = max((int(v.max()) + 1 for v in out.labels.values() if len(v)), default=0)
        class_names += [str(i) for i in range(n)]
    return out


def _area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """float32 [n_out, n_in]: box (area) resampling weights, rows sum to 1."""
    edges = np.linspace(0, n_in, n_out + 1)
    m = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        for j in range(n_in):
            m[i, j] = max(0.0, min(edges[i + 1], j + 1) - max(edges[i], j))
    return m / m.sum(axis=1, keepdims=True)


def array_features(images: np.ndarray) -> tuple[list[bytes], np.ndarray, np.ndarray]:
    """For ``images`` uint8 [N, C, H, W]: (16-byte digests [N], thumbnails uint8 [N, 256],
    RGB histogram int64 [3, 256]; a 1-channel source counts as 3 equal channels, as the loader replicates it)."""
    n, c, h, w = images.shape
    shape_tag = f"{w}x{h}x{c}".encode()
    digests = [hashlib.blake2b(images[i].tobytes() + shape_tag, digest_size=16).digest() for i in range(n)]
    rows, cols = _area_matrix(h, THUMB_SIDE), _area_matrix(w, THUMB_SIDE)
    thumbs = np.zeros((n, THUMB_SIDE * THUMB_SIDE), np.uint8)
    for start in range(0, n, _BATCH):
        batch = images[start:start + _BATCH].astype(np.float32)
        # ITU-R 601-2 luma, the weights PIL's convert("L") uses
        gray = batch[:, 0] if c == 1 else 0.299 * batch[:, 0] + 0.587 * batch[:, 1] + 0.114 * batch[:, 2]
        small = np.einsum("ih,nhw,jw->nij", rows, gray, cols, optimize=True)
        thumbs[start:start + len(batch)] = np.clip(np.rint(small), 0, 255).reshape(len(batch), -1).astype(np.uint8)
    hist = np.stack([np.bincount(images[:, ch].ravel(), minlength=256) for ch in range(c)]).astype(np.int64)
    if c == 1:
        hist = np.repeat(hist, 3, axis=0)
    return digests, thumbs, hist
