"""Datasets built in memory, from tensors or a torchvision-style dataset, in augstudy's one form.

::

    from augstudy.data import dataset_from_tensors, dataset_from_torchvision
    ds = dataset_from_tensors(images, labels, ["cat", "dog"])        # uint8 [N, 3, H, W] or [N, H, W]
    ds = dataset_from_torchvision(torchvision.datasets.CIFAR10("c", download=False),
                                  torchvision.datasets.CIFAR10("c", train=False))

The result is an :class:`~augstudy.data.dataset.ImageDataset` like one loaded from disk, converted
once with the loader's own conversions (recorded in ``conversions`` and ``grayscale_fraction``):

- tensors go the array sources' way (IDX, CIFAR): single-channel images replicated to 3 channels,
  non-square images center-cropped to a square, batched antialiased resize to ``image_size``;
- torchvision items (PIL images, ``[C, H, W]`` tensors, ``[H, W(, C)]`` arrays) go the image
  files' way, one at a time through the same function that converts decoded files, so the same
  images give the same tensors as an image folder on disk.

Every function taking a dataset path also takes the result (``load_dataset`` returns it as is).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from augstudy.data.convert import CENTER_CROP, GRAYSCALE, RESIZE, ConversionLog, is_gray_batch, pil_to_chw, resize_batch
from augstudy.data.dataset import DEFAULT_IMAGE_SIZE, ImageDataset
from augstudy.data.sources.base import labels_out_of_range, out_of_range_message
from augstudy.errors import UserError

#: ``source_kind`` of every dataset built here
IN_MEMORY_KIND = "in-memory"
#: share of the images held out for validation when no val split is given
DEFAULT_VAL_FRACTION = 0.1
#: images converted per batched resize (bounded memory: 4096 x 3 x 64 x 64 floats = 200 MB at most)
_BATCH = 4096


def dataset_from_tensors(images: torch.Tensor | np.ndarray, labels: torch.Tensor | np.ndarray | Sequence[int],
                         class_names: Sequence[str], *, val_images: torch.Tensor | np.ndarray | None = None,
                         val_labels: torch.Tensor | np.ndarray | Sequence[int] | None = None,
                         val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0, name: str = IN_MEMORY_KIND,
                         image_size: int = DEFAULT_IMAGE_SIZE) -> ImageDataset:
    """An :class:`ImageDataset` from uint8 image tensors and integer labels.

    Args:
        images: uint8 ``[N, 3, H, W]`` (RGB) or ``[N, H, W]`` / ``[N, 1, H, W]`` (grayscale), torch or numpy.
        labels: ``[N]`` class indices in ``[0, len(class_names))``.
        class_names: one name per class (label ``i`` is ``class_names[i]``).
        val_images, val_labels: the validation split in the same form; when omitted, a
            ``val_fraction`` share of ``images`` (chosen by ``seed``, at least one image) is held out.
        name: the dataset's name in reports.
        image_size: output side S in pixels (every split becomes ``uint8 [n, 3, S, S]``).

    Raises :class:`UserError` naming the argument on a wrong dtype, shape, label or split size.
    """
    class_names = _class_names(class_names)
    train_x, train_y = _as_arrays(images, labels, "images", "labels", len(class_names))
    if (val_images is None) != (val_labels is None):
        raise UserError("val_images and val_labels: pass both (a validation split) or neither "
                        "(hold out val_fraction of images)")
    if val_images is None:
        train_x, train_y, val_x, val_y = _hold_out(train_x, train_y, val_fraction, seed)
    else:
        val_x, val_y = _as_arrays(val_images, val_labels, "val_images", "val_labels", len(class_names))
    log = ConversionLog()
    splits = {"train": _convert_arrays(train_x, image_size, log), "val": _convert_arrays(val_x, image_size, log)}
    return _dataset(name, "in-memory tensors", class_names, splits, {"train": train_y, "val": val_y}, log)


def dataset_from_torchvision(train_ds: Any, val_ds: Any = None, *, class_names: Sequence[str] | None = None,
                             val_fraction: float = DEFAULT_VAL_FRACTION, seed: int = 0, name: str | None = None,
                             image_size: int = DEFAULT_IMAGE_SIZE, progress: bool = True) -> ImageDataset:
    """An :class:`ImageDataset` from any torchvision-style dataset (``ds[i] -> (image, target)``, ``len(ds)``).

    Images may be PIL images, ``[C, H, W]`` tensors (uint8, or float in [0, 1]) or ``[H, W]`` /
    ``[H, W, C]`` uint8 arrays; targets ints (or 0-d tensors).  Class names come from
    ``class_names``, else the dataset's ``classes`` attribute, else ``"0"``, ``"1"``, ...
    ``val_ds`` is the validation split; when omitted a ``val_fraction`` share of ``train_ds``
    (chosen by ``seed``) is held out.  ``progress``: show a bar while converting.
    """
    names = class_names if class_names is not None else getattr(train_ds, "classes", None)
    log = ConversionLog()
    train_x, train_y = _convert_items(train_ds, "train_ds", image_size, log, progress)
    if val_ds is None:
        train_x, train_y, val_x, val_y = _hold_out(train_x, train_y, val_fraction, seed)
    else:
        val_x, val_y = _convert_items(val_ds, "val_ds", image_size, log, progress)
    if names is None:
        top = max([int(train_y.max(initial=-1)), int(val_y.max(initial=-1))])
        names = [str(i) for i in range(top + 1)]
    names = _class_names(names)
    for label_array, what in ((train_y, "train_ds"), (val_y, "val_ds" if val_ds is not None else "train_ds")):
        _check_labels(label_array, len(names), f"{what} targets")
    return _dataset(name or type(train_ds).__name__, f"torchvision-style dataset {type(train_ds).__name__}",
                    names, {"train": train_x, "val": val_x}, {"train": train_y, "val": val_y}, log)


# ----------------------------------------------------------------------------------------------
# checking the inputs

def _class_names(class_names: Sequence[str]) -> list[str]:
    if isinstance(class_names, str) or not len(class_names):
        raise UserError(f"class_names: expected a non-empty list of names, got {class_names!r}")
    return [str(n) for n in class_names]


def _check_labels(labels: np.ndarray, n_classes: int, what: str) -> None:
    bad = labels_out_of_range(labels, n_classes)
    if bad.any():
        raise UserError(f"{what}: {out_of_range_message(labels, bad, n_classes)}; fix the labels or pass "
                        f"every class name")


def _as_arrays(images, labels, images_name: str, labels_name: str, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """``(uint8 [N, C, H, W] with C in {1, 3}, int64 [N])`` from the user's tensors."""
    x = images.detach().cpu().numpy() if isinstance(images, torch.Tensor) else np.asarray(images)
    if x.dtype != np.uint8:
        raise UserError(f"{images_name}: expected uint8 pixels (0..255), got {x.dtype}; convert with "
                        f"(x * 255).round().to(torch.uint8) for floats in [0, 1]")
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise UserError(f"{images_name}: expected shape [N, 3, H, W], [N, 1, H, W] or [N, H, W], got "
                        f"{list(x.shape)}; channels-last images need .permute(0, 3, 1, 2)")
    y = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if y.ndim != 1 or len(y) != len(x) or not (np.issubdtype(y.dtype, np.integer) or len(y) == 0):
        raise UserError(f"{labels_name}: expected {len(x)} integer labels (one per image), got "
                        f"{y.dtype} {list(y.shape)}")
    if len(x) == 0:
        raise UserError(f"{images_name}: no images")
    y = y.astype(np.int64)
    _check_labels(y, n_classes, labels_name)
    return x, y


def _hold_out(x, y, val_fraction: float, seed: int):
    """Split ``(x, y)`` into train and val by a seeded permutation; both keep their original order."""
    n = len(y)
    if not 0.0 < val_fraction < 1.0:
        raise UserError(f"val_fraction: must be in (0, 1), got {val_fraction}")
    n_val = max(1, round(n * val_fraction))
    if n_val >= n:
        raise UserError(f"images: {n} image(s) cannot be split into train and val; pass more images or "
                        f"val_images/val_labels")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(int(seed))).numpy()
    val_idx, train_idx = np.sort(perm[:n_val]), np.sort(perm[n_val:])
    return x[train_idx], y[train_idx], x[val_idx], y[val_idx]


# ----------------------------------------------------------------------------------------------
# converting

def _convert_arrays(x: np.ndarray, size: int, log: ConversionLog) -> np.ndarray:
    """uint8 ``[N, C, H, W]`` (C = 1 or 3) -> uint8 ``[N, 3, size, size]``, the array sources' way."""
    n, channels, h, w = x.shape
    if h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        x = x[:, :, top:top + s, left:left + s]
        log.add(CENTER_CROP.format(w=w, h=h, s=s), n)
    side = x.shape[-1]
    out = np.empty((n, 3, size, size), np.uint8)
    gray = 0
    for start in range(0, n, _BATCH):
        chunk = x[start:start + _BATCH]
        if channels == 3:
            gray += int(is_gray_batch(chunk).sum())
        out[start:start + len(chunk)] = resize_batch(chunk, size)  # 1 channel broadcasts to 3
    if channels == 1:
        log.add(GRAYSCALE, n)
        gray = n
    if side != size:
        log.add(RESIZE.format(w=side, h=side, size=size), n)
    log.merge(Counter(), gray, n)
    return out


def _to_pil(image, where: str):
    """A PIL image from a PIL image, a ``[C, H, W]`` tensor or a ``[H, W(, C)]`` uint8 array."""
    from PIL import Image

    if isinstance(image, Image.Image):
        return image
    if isinstance(image, torch.Tensor):
        t = image.detach().cpu()
        if t.is_floating_point():
            t = (t.clamp(0, 1) * 255).round().to(torch.uint8)
        if t.dtype != torch.uint8 or t.ndim != 3 or t.shape[0] not in (1, 3):
            raise UserError(f"{where}: expected a [C, H, W] image tensor (C = 1 or 3, uint8 or float in [0, 1]), "
                            f"got {t.dtype} {list(t.shape)}")
        array = t.permute(1, 2, 0).numpy()
        return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
    array = np.asarray(image)
    if array.dtype != np.uint8 or array.ndim not in (2, 3):
        raise UserError(f"{where}: expected a PIL image, a [C, H, W] tensor or a [H, W(, C)] uint8 array, "
                        f"got {type(image).__name__}")
    return Image.fromarray(array)


def _convert_items(ds, what: str, size: int, log: ConversionLog, show_progress: bool) -> tuple[np.ndarray, np.ndarray]:
    """Every ``(image, target)`` of ``ds`` -> (uint8 ``[N, 3, size, size]``, int64 ``[N]``), the image files' way."""
    from augstudy.progress import progress

    try:
        n = len(ds)
    except TypeError:
        raise UserError(f"{what}: expected a dataset with len() and ds[i] -> (image, target), got "
                        f"{type(ds).__name__}") from None
    if n == 0:
        raise UserError(f"{what}: the dataset is empty")
    out = np.empty((n, 3, size, size), np.uint8)
    labels = np.empty(n, np.int64)
    counts: Counter[str] = Counter()
    gray = 0
    for i in progress(range(n), desc=f"convert {what}", unit="img", disable=None if show_progress else True):
        item = ds[i]
        if not isinstance(item, (tuple, list)) or len(item) < 2:
            raise UserError(f"{what}[{i}]: expected an (image, target) pair, got {type(item).__name__}")
        image, target = item[0], item[1]
        try:
            labels[i] = int(target)
        except (TypeError, ValueError):
            raise UserError(f"{what}[{i}]: target {target!r} is not a class index") from None
        pil = _to_pil(image, f"{what}[{i}]")
        out[i], was_gray = pil_to_chw(pil, size, counts)
        gray += was_gray
    log.merge(counts, gray, n)
    return out, labels


def _dataset(name: str, description: str, class_names: list[str], images: dict[str, np.ndarray],
             labels: dict[str, np.ndarray], log: ConversionLog) -> ImageDataset:
    return ImageDataset(
        name=name, source_kind=IN_MEMORY_KIND, root=Path(f"<{IN_MEMORY_KIND}>"),
        train_images=torch.from_numpy(np.ascontiguousarray(images["train"])),
        train_labels=torch.from_numpy(np.ascontiguousarray(labels["train"])),
        val_images=torch.from_numpy(np.ascontiguousarray(images["val"])),
        val_labels=torch.from_numpy(np.ascontiguousarray(labels["val"])),
        class_names=class_names, conversions=log.lines(), cache_path=None,
        grayscale_fraction=log.grayscale_fraction, source_description=description)


__all__ = ["dataset_from_tensors", "dataset_from_torchvision", "IN_MEMORY_KIND", "DEFAULT_VAL_FRACTION"]
