"""IDX files (MNIST, Fashion-MNIST), raw or gzipped.

::

    train-images-idx3-ubyte[.gz]   uint8 [N, H, W]
    train-labels-idx1-ubyte[.gz]   uint8 [N]
    t10k-images-idx3-ubyte[.gz]    the val split
    t10k-labels-idx1-ubyte[.gz]

Class names come from ``classes.txt`` (one per line) or ``meta.json``
(``{"classes": [...]}``) in the folder; else Fashion-MNIST's names when the path
mentions "fashion"; else the digits 0-9.  Images are single-channel: they are
resized in batches with torch and replicated to 3 channels.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np

from augstudy.data.convert import GRAYSCALE, RESIZE, ConversionLog
from augstudy.data.sources.base import Allocate, SourceScan, labels_out_of_range, out_of_range_message, stat_files
from augstudy.errors import UserError

KIND = "idx"
DESCRIPTION = "IDX files (MNIST / Fashion-MNIST format)"

FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(d) for d in range(10)]

#: split -> (images stems, labels stems); the second spelling is MNIST's mirror variant
IDX_STEMS = {
    "train": (("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
              ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte")),
    "val": (("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
            ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte")),
}
#: images converted per torch interpolation call (bounded memory: 4096 x 64 x 64 floats = 64 MB)
_BATCH = 4096
_UINT8_TYPE_CODE = 0x08


def find_idx_file(root: Path, stems: tuple[str, ...]) -> Path | None:
    """The first of ``stems`` present in ``root``, raw or ``.gz``; None when none is."""
    for stem in stems:
        for name in (stem, stem + ".gz"):
            if (root / name).is_file():
                return root / name
    return None


def detect(root: Path) -> bool:
    return find_idx_file(root, IDX_STEMS["train"][0]) is not None


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (``.gz`` or raw) of unsigned bytes: ``uint8`` array of the header's shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError) as exc:
        raise UserError(f"{path}: cannot read ({exc}); re-download the file") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise UserError(f"{path}: not an IDX file (bad magic number); expected MNIST-format data")
    if data[2] != _UINT8_TYPE_CODE:
        raise UserError(f"{path}: IDX element type 0x{data[2]:02x} not supported; expected unsigned bytes (0x08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(f"{path}: the IDX header is cut short ({len(data)} bytes; {ndim} dimensions need "
                        f"{header}); re-download the file")
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    problem = idx_size_problem(shape, len(data) - header)
    if problem:
        raise UserError(f"{path}: {problem}; re-download it")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def idx_size_problem(shape: tuple[int, ...], body_bytes: int) -> str | None:
    """What is wrong when an IDX header announces ``shape`` (uint8) but ``body_bytes`` follow it;
    None when they agree.  E.g. "the header says 2000 images of 28x28 (1568000 bytes of pixels)
    but the file holds only 0 bytes of pixels"."""
    expected = int(np.prod(shape)) if shape else 0
    if body_bytes == expected:
        return None
    if len(shape) == 3:
        what, unit = f"{shape[0]} images of {shape[1]}x{shape[2]}", "pixels"
    elif len(shape) == 1:
        what, unit = f"{shape[0]} labels", "labels"
    else:
        what, unit = f"an array of shape {'x'.join(map(str, shape))}", "data"
    amount = "only " if body_bytes < expected else ""
    state = "truncated" if body_bytes < expected else "corrupt (longer than its header says)"
    return (f"{state}: the header says {what} ({expected} bytes of {unit}) but the file holds {amount}"
            f"{body_bytes} bytes of {unit}")


def read_class_names(root: Path) -> list[str]:
    """Names from ``classes.txt`` / ``meta.json``, else Fashion-MNIST's if the path says "fashion",
    else the digits."""
    if (root / "classes.txt").is_file():
        names = [n.strip() for n in (root / "classes.txt").read_text(encoding="utf-8").splitlines() if n.strip()]
        if names:
            return names
    if (root / "meta.json").is_file():
        try:
            meta = json.loads((root / "meta.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise UserError(f"{root / 'meta.json'}: invalid JSON ({exc}); fix or delete it") from None
        names = meta.get("classes") if isinstance(meta, dict) else None
        if isinstance(names, list) and names:
            return [str(n) for n in names]
    if "fashion" in str(root.resolve()).lower():
        return list(FASHION_MNIST_CLASSES)
    return list(DIGIT_CLASSES)


def _split_files(root: Path) -> dict[str, tuple[Path, Path]]:
    out = {}
    for split, (image_stems, label_stems) in IDX_STEMS.items():
        images, labels = find_idx_file(root, image_stems), find_idx_file(root, label_stems)
        if images is None or labels is None:
            want = image_stems[0] if images is None else label_stems[0]
            raise UserError(f"{root}: IDX dataset lacks {want}[.gz]; expected train-images/train-labels and "
                            f"t10k-images/t10k-labels files")
        out[split] = (images, labels)
    return out


def scan(root: Path) -> SourceScan:
    split_files = _split_files(root)
    meta = [root / n for n in ("classes.txt", "meta.json") if (root / n).is_file()]
    paths = [p for pair in split_files.values() for p in pair] + meta
    return SourceScan(KIND, DESCRIPTION, root, read_class_names(root), stat_files(root, paths),
                      load_split, {"files": split_files})


def load_split(scan: SourceScan, split: str, image_size: int, allocate: Allocate,
               log: ConversionLog, show_progress: bool) -> None:
    from augstudy.data.convert import resize_batch
    from augstudy.progress import progress

    images_path, labels_path = scan.plan["files"][split]
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3:
        raise UserError(f"{images_path}: expected a 3-d image array [N, H, W], got shape {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise UserError(f"{labels_path}: {labels.shape} labels for {len(images)} images in "
                        f"{images_path.name}; the two files must match")
    bad = labels_out_of_range(labels, len(scan.class_names))
    if bad.any():
        raise UserError(f"{labels_path}: {out_of_range_message(labels, bad, len(scan.class_names))}; fix the "
                        f"labels file, or list every class name in classes.txt / meta.json "
                        f"('augstudy data check' lists them)")
    n, h, w = images.shape
    images_out, labels_out = allocate(split, n)
    labels_out[:] = labels.astype(np.int64)
    with progress(total=n, desc=f"convert {split}", unit="img",
                  disable=None if show_progress else True) as bar:
        for start in range(0, n, _BATCH):
            chunk = resize_batch(images[start:start + _BATCH, None], image_size)  # [B, 1, S, S]
            images_out[start:start + len(chunk)] = chunk  # broadcasts 1 channel to 3
            bar.update(len(chunk))
    log.add(GRAYSCALE, n)
    if (h, w) != (image_size, image_size):
        log.add(RESIZE.format(w=w, h=h, size=image_size), n)
    log.merge({}, n, n)
