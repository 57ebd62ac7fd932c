"""Small synthetic datasets on disk in each supported layout, for tests and benchmarks.

Every image is a pure function of ``(seed, class, index)``: a class-specific colour
and stripe orientation plus per-image noise, so a CNN can learn the classes and
tests can predict pixels.  Nothing here is imported by the library itself.

- :func:`make_tiny_imagenet_tree`: Tiny ImageNet's official layout (JPEG).
- :func:`make_image_folder_tree`: ``train/<class>/``, ``val/<class>/`` (PNG or JPEG).
- :func:`write_idx` / :func:`make_idx_dataset`: MNIST-format IDX files, raw or gzipped.
- :func:`write_cifar_pickles`: CIFAR-10 or CIFAR-100 python pickles.
"""

from __future__ import annotations

import gzip
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def synthetic_image(class_index: int, n_classes: int, index: int, seed: int, size: int = 64) -> np.ndarray:
    """``uint8 [size, size, 3]`` (H, W, C): class colour and stripe angle, per-image noise and phase."""
    rng = np.random.default_rng([seed, class_index, index])
    hue = class_index / max(n_classes, 1)
    base = 255 * (0.5 + 0.4 * np.cos(2 * np.pi * (hue + np.array([0.0, 1 / 3, 2 / 3]))))
    angle = np.pi * class_index / max(n_classes, 1)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    phase = rng.uniform(0, 2 * np.pi)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * (2 * np.pi / 12) + phase)
    img = base[None, None, :] * (0.65 + 0.35 * stripes[..., None]) + rng.normal(0, 12, (size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def synthetic_batch(labels: np.ndarray, n_classes: int, seed: int, size: int) -> np.ndarray:
    """``uint8 [N, size, size, 3]`` for ``labels`` (image i uses index i)."""
    return np.stack([synthetic_image(int(c), n_classes, i, seed, size) for i, c in enumerate(labels)]) \
        if len(labels) else np.zeros((0, size, size, 3), np.uint8)


def write_image(path: str | os.PathLike, image_hwc: np.ndarray, mode: str = "RGB", quality: int = 90) -> Path:
    """Save ``uint8 [H, W, 3]`` as ``mode`` (``RGB``, ``L``, ``CMYK``, ``P``, ``RGBA``); format from the suffix."""
    from PIL import Image

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(image_hwc, "RGB")
    if mode == "P":
        img = img.quantize(colors=16)
    elif mode != "RGB":
        img = img.convert(mode)
    fmt = "JPEG" if path.suffix.lower() in (".jpg", ".jpeg") else None
    img.save(path, format=fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return path


def _write_tiny_class(args) -> None:
    root, wnid, class_index, n_classes, n, seed, size, grayscale_every, offset, quality = args
    folder = Path(root) / "train" / wnid / "images"
    folder.mkdir(parents=True, exist_ok=True)
    boxes = []
    for i in range(n):
        name = f"{wnid}_{i}.JPEG"
        gray = grayscale_every and (offset + i) % grayscale_every == grayscale_every - 1
        write_image(folder / name, synthetic_image(class_index, n_classes, i, seed, size),
                    "L" if gray else "RGB", quality)
        boxes.append(f"{name}\t0\t0\t{size - 1}\t{size - 1}")
    (Path(root) / "train" / wnid / f"{wnid}_boxes.txt").write_text("\n".join(boxes) + "\n")


def make_tiny_imagenet_tree(root: str | os.PathLike, n_classes: int = 4, train_per_class: int = 6,
                            val_per_class: int = 2, seed: int = 0, grayscale_every: int = 0,
                            size: int = 64, quality: int = 90, workers: int = 1) -> Path:
    """Write a Tiny-ImageNet-layout tree at ``root`` and return it.

    ``wnids.txt`` (``n00000000``...), ``words.txt`` ("class0, alias0"), ``train/<wnid>/images/
    <wnid>_<i>.JPEG`` (+ ``<wnid>_boxes.txt``), ``val/images/val_<k>.JPEG`` with
    ``val/val_annotations.txt``.  ``grayscale_every=k`` saves every k-th image (train then val,
    counted per class) as a single-channel JPEG.  ``workers > 1`` writes classes in parallel.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    wnids = [f"n{9000000 + c:08d}" for c in range(n_classes)]
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (root / "words.txt").write_text("".join(f"{w}\tclass{c}, alias{c}\n" for c, w in enumerate(wnids)))
    jobs = [(str(root), w, c, n_classes, train_per_class, seed, size, grayscale_every, 0, quality)
            for c, w in enumerate(wnids)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_write_tiny_class, jobs))
    else:
        for job in jobs:
            _write_tiny_class(job)
    val_dir = root / "val" / "images"
    val_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    k = 0
    for c, w in enumerate(wnids):
        for i in range(val_per_class):
            name = f"val_{k}.JPEG"
            gray = grayscale_every and (train_per_class + i) % grayscale_every == grayscale_every - 1
            img = synthetic_image(c, n_classes, 1_000_000 + i, seed, size)
            write_image(val_dir / name, img, "L" if gray else "RGB", quality)
            lines.append(f"{name}\t{w}\t0\t0\t{size - 1}\t{size - 1}")
            k += 1
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return root


def make_image_folder_tree(root: str | os.PathLike, n_classes: int = 3, train_per_class: int = 4,
                           val_per_class: int = 2, seed: int = 0, size: int = 64, ext: str = ".png") -> Path:
    """Write ``root/train/class<c>/<i><ext>`` and ``root/val/class<c>/<i><ext>`` RGB images."""
    root = Path(root)
    for split, n, offset in (("train", train_per_class, 0), ("val", val_per_class, 1_000_000)):
        for c in range(n_classes):
            for i in range(n):
                write_image(root / split / f"class{c}" / f"{i:04d}{ext}",
                            synthetic_image(c, n_classes, offset + i, seed, size))
    return root


def write_idx(path: str | os.PathLike, array: np.ndarray) -> Path:
    """Write a ``uint8`` array (1-d labels or 3-d ``[N, H, W]`` images) in IDX format; gzipped when
    ``path`` ends in ``.gz`` (with a fixed mtime, so the bytes are reproducible)."""
    path = Path(path)
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".gz":
        with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(data)
    else:
        path.write_bytes(data)
    return path


def make_idx_dataset(root: str | os.PathLike, n_train: int = 20, n_val: int = 10, n_classes: int = 10,
                     size: int = 28, seed: int = 0, gz: bool = True) -> Path:
    """Write the four MNIST-style IDX files (grayscale synthetic images) at ``root``."""
    root = Path(root)
    suffix = ".gz" if gz else ""
    rng = np.random.default_rng(seed)
    for prefix, n, offset in (("train", n_train, 0), ("t10k", n_val, 1_000_000)):
        labels = (np.arange(n) % n_classes).astype(np.uint8)
        rng.shuffle(labels)
        rgb = np.stack([synthetic_image(int(c), n_classes, offset + i, seed, size) for i, c in enumerate(labels)])
        write_idx(root / f"{prefix}-images-idx3-ubyte{suffix}", rgb.mean(axis=-1).astype(np.uint8))
        write_idx(root / f"{prefix}-labels-idx1-ubyte{suffix}", labels)
    return root


def write_cifar_pickles(root: str | os.PathLike, variant: str = "cifar10", per_batch: int = 10,
                        n_test: int = 10, n_classes: int | None = None, seed: int = 0) -> Path:
    """Write CIFAR python pickles: ``cifar10`` (5 ``data_batch_*`` of ``per_batch`` images,
    ``test_batch``, ``batches.meta``) or ``cifar100`` (``train`` of ``5 * per_batch``, ``test``,
    ``meta``).  Images are ``uint8 [N, 3072]`` R, G, B planes of 32x32, as in the originals."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    n_classes = n_classes or (10 if variant == "cifar10" else 100)
    names = [f"class{c}".encode() for c in range(n_classes)]
    labels_key = b"labels" if variant == "cifar10" else b"fine_labels"

    def batch(n: int, offset: int) -> dict:
        labels = [(offset + i) % n_classes for i in range(n)]
        imgs = np.stack([synthetic_image(c, n_classes, offset + i, seed, 32) for i, c in enumerate(labels)])
        out = {b"data": imgs.transpose(0, 3, 1, 2).reshape(n, -1), labels_key: labels}
        if variant == "cifar100":
            out[b"coarse_labels"] = [c % 20 for c in labels]
        return out

    def dump(name: str, obj) -> None:
        with open(root / name, "wb") as fh:
            pickle.dump(obj, fh, protocol=2)

    if variant == "cifar10":
        for b in range(5):
            dump(f"data_batch_{b + 1}", batch(per_batch, b * per_batch))
        dump("test_batch", batch(n_test, 1_000_000))
        dump("batches.meta", {b"label_names": names, b"num_cases_per_batch": per_batch})
    elif variant == "cifar100":
        dump("train", batch(5 * per_batch, 0))
        dump("test", batch(n_test, 1_000_000))
        dump("meta", {b"fine_label_names": names, b"coarse_label_names": [f"super{c}".encode() for c in range(20)]})
    else:
        raise ValueError(f"variant must be 'cifar10' or 'cifar100', got {variant!r}")
    return root


__all__ = ["synthetic_image", "synthetic_batch", "write_image", "make_tiny_imagenet_tree",
           "make_image_folder_tree", "write_idx", "make_idx_dataset", "write_cifar_pickles"]
