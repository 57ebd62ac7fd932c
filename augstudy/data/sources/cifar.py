"""CIFAR-10 / CIFAR-100 "python version" pickles.

::

    CIFAR-10:  data_batch_1 .. data_batch_5, test_batch, batches.meta (label_names)
    CIFAR-100: train, test, meta (fine_label_names); the fine labels are used

Each batch is a dict with ``b"data"`` ``uint8 [N, 3072]`` (R, G, B planes of 32x32)
and ``b"labels"`` (CIFAR-10) or ``b"fine_labels"`` (CIFAR-100).  Pickles are read
with a restricted unpickler that only builds numpy arrays and plain containers, so
a tampered file cannot run code.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from augstudy.data.convert import RESIZE, ConversionLog, is_gray_batch
from augstudy.data.sources.base import Allocate, SourceScan, labels_out_of_range, out_of_range_message, stat_files
from augstudy.errors import UserError

KIND = "cifar"
DESCRIPTION = "CIFAR python pickles"

CIFAR10_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
_BATCH = 4096
_SIDE = 32

#: the only globals a CIFAR pickle may reference (numpy array reconstruction, numpy 1 and 2 spellings)
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"global {module}.{name} is not allowed in a CIFAR pickle")


def read_pickle(path: Path) -> dict:
    """Load one CIFAR pickle safely; keys stay ``bytes`` as in the original files."""
    try:
        obj = _SafeUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as exc:
        raise UserError(f"{path}: not a readable CIFAR pickle ({exc}); re-download the dataset") from None
    if not isinstance(obj, dict):
        raise UserError(f"{path}: expected a dict with b'data' and labels, got {type(obj).__name__}")
    return obj


def _variant(root: Path) -> str | None:
    if (root / "data_batch_1").is_file() and (root / "test_batch").is_file():
        return "cifar10"
    if (root / "train").is_file() and (root / "test").is_file() and (root / "meta").is_file():
        return "cifar100"
    return None


def detect(root: Path) -> bool:
    return _variant(root) is not None


def _names(meta: dict, key: bytes, path: Path) -> list[str]:
    names = meta.get(key)
    if not names:
        raise UserError(f"{path}: has no {key.decode()} list; re-download the dataset")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def scan(root: Path) -> SourceScan:
    variant = _variant(root)
    if variant == "cifar10":
        train = [root / n for n in CIFAR10_TRAIN if (root / n).is_file()]
        val = [root / "test_batch"]
        meta_path, names_key, labels_key = root / "batches.meta", b"label_names", b"labels"
        class_names = (_names(read_pickle(meta_path), names_key, meta_path) if meta_path.is_file()
                       else None)
    else:
        train, val = [root / "train"], [root / "test"]
        meta_path, names_key, labels_key = root / "meta", b"fine_label_names", b"fine_labels"
        class_names = _names(read_pickle(meta_path), names_key, meta_path)
    if class_names is None:
        raise UserError(f"{meta_path}: missing; CIFAR-10 needs batches.meta for its class names")
    files = stat_files(root, train + val + [meta_path])
    return SourceScan(KIND, f"{DESCRIPTION} ({'CIFAR-10' if variant == 'cifar10' else 'CIFAR-100'})",
                      root, class_names, files, load_split,
                      {"train": train, "val": val, "labels_key": labels_key})


def _read_batches(paths: list[Path], labels_key: bytes) -> tuple[np.ndarray, np.ndarray]:
    datas, labels = [], []
    for path in paths:
        batch = read_pickle(path)
        if b"data" not in batch or labels_key not in batch:
            raise UserError(f"{path}: lacks b'data' or {labels_key!r}; is this the python version of CIFAR?")
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3 * _SIDE * _SIDE:
            raise UserError(f"{path}: b'data' has shape {data.shape}; expected [N, 3072] (3x32x32)")
        lab = np.asarray(batch[labels_key], dtype=np.int64)
        if len(lab) != len(data):
            raise UserError(f"{path}: {len(lab)} labels for {len(data)} images")
        datas.append(data)
        labels.append(lab)
    return np.concatenate(datas), np.concatenate(labels)


def load_split(scan: SourceScan, split: str, image_size: int, allocate: Allocate,
               log: ConversionLog, show_progress: bool) -> None:
    from augstudy.data.convert import resize_batch
    from augstudy.progress import progress

    data, labels = _read_batches(scan.plan[split], scan.plan["labels_key"])
    bad = labels_out_of_range(labels, len(scan.class_names))
    if bad.any():
        raise UserError(f"{scan.plan[split][0]}: {out_of_range_message(labels, bad, len(scan.class_names))} "
                        f"of the meta file; re-download the dataset")
    n = len(data)
    images = data.reshape(n, 3, _SIDE, _SIDE)
    images_out, labels_out = allocate(split, n)
    labels_out[:] = labels
    gray = 0
    with progress(total=n, desc=f"convert {split}", unit="img",
                  disable=None if show_progress else True) as bar:
        for start in range(0, n, _BATCH):
            chunk = images[start:start + _BATCH]
            gray += int(is_gray_batch(chunk).sum())
            images_out[start:start + len(chunk)] = resize_batch(chunk, image_size)
            bar.update(len(chunk))
    if image_size != _SIDE:
        log.add(RESIZE.format(w=_SIDE, h=_SIDE, size=image_size), n)
    log.merge({}, gray, n)
