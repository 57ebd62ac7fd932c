"""``augstudy.load_dataset``: any image source into the one in-memory form (``ImageDataset``).

A path, an ``ImageDataset``, uint8 tensors with labels and class names, or any torchvision-style
dataset: every ``data=`` argument of the Python API goes through :func:`load_dataset`, so a
dataset built in memory is accepted wherever a path is.  A path goes to
:func:`augstudy.data.dataset.load_dataset_folder` (decode once into the cache, memory-map after);
tensors and torchvision datasets to :mod:`augstudy.data.in_memory`.  The same function is
``augstudy.load_dataset``, ``augstudy.api.load_dataset`` and ``augstudy.data.load_dataset``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from augstudy.errors import UserError

if TYPE_CHECKING:  # pragma: no cover - names for annotations only
    from augstudy.data.dataset import ImageDataset

#: what a ``data=`` argument may be (see :func:`load_dataset`)
DataSource = Any

_TENSOR_KEYS = ("images", "labels", "class_names")


def is_path_like(source: Any) -> bool:
    """True for ``None`` (the default dataset), a ``str`` or an ``os.PathLike``."""
    return source is None or isinstance(source, (str, os.PathLike))


def load_dataset(source: DataSource = None, *, class_names: Sequence[str] | None = None, image_size: int = 64,
                 val_fraction: float = 0.1, seed: int = 0, cache_dir: str | os.PathLike | None = None,
                 progress: bool = True) -> "ImageDataset":
    """Any image source as an :class:`~augstudy.data.ImageDataset` (``uint8 [N, 3, S, S]`` images,
    ``int64 [N]`` labels, class names; S = ``image_size`` pixels).

    ``source`` may be

    - ``None``: the default dataset (``data/tiny-imagenet-200`` if present, else the embedded
      ``data/fashion-mnist-mini``);
    - a path (``str`` / ``Path``): Tiny ImageNet, image folders, IDX or CIFAR files, decoded once
      into a cache and memory-mapped afterwards;
    - an ``ImageDataset``: returned as is;
    - uint8 tensors or arrays: a tuple ``(images, labels, class_names)`` or a dict with those keys
      (optionally ``val_images``, ``val_labels``); ``images`` ``[N, 3, H, W]``, ``[N, 1, H, W]`` or
      ``[N, H, W]``, ``labels`` ints in ``[0, len(class_names))``; converted by
      :func:`augstudy.data.dataset_from_tensors` (without val images, a seeded ``val_fraction`` hold-out);
    - a torchvision-style dataset (``ds[i] -> (image, target)`` and ``len(ds)``), or a pair
      ``(train_ds, val_ds)`` of them: converted once by :func:`augstudy.data.dataset_from_torchvision`
      (class names from ``class_names=`` or the dataset's ``classes``).

    Raises :class:`~augstudy.errors.UserError` (one line naming the problem and the fix) otherwise.
    """
    # torch: imported on first call, so ``from augstudy.data import load_dataset`` stays cheap
    from augstudy.data.dataset import ImageDataset, load_dataset_folder
    from augstudy.data.in_memory import dataset_from_tensors, dataset_from_torchvision

    if isinstance(source, ImageDataset):
        return source
    if is_path_like(source):
        return load_dataset_folder(source, image_size=image_size, cache_dir=cache_dir, progress=progress)
    if isinstance(source, Mapping):
        absent = [k for k in _TENSOR_KEYS if k not in source and not (k == "class_names" and class_names)]
        if absent:
            raise UserError(f"data: a dict needs the keys {', '.join(_TENSOR_KEYS)} (missing: {', '.join(absent)})")
        return dataset_from_tensors(
            source["images"], source["labels"], source.get("class_names", class_names),
            val_images=source.get("val_images"), val_labels=source.get("val_labels"),
            val_fraction=val_fraction, seed=seed, image_size=image_size)
    if isinstance(source, tuple) and len(source) == 3 and _is_array(source[0]):
        images, labels, names = source
        return dataset_from_tensors(images, labels, names, val_fraction=val_fraction, seed=seed,
                                         image_size=image_size)
    if isinstance(source, tuple) and len(source) == 2 and all(_is_indexable(s) for s in source):
        return dataset_from_torchvision(source[0], source[1], class_names=class_names, val_fraction=val_fraction,
                                             seed=seed, image_size=image_size, progress=progress)
    if _is_indexable(source) and not _is_array(source):
        return dataset_from_torchvision(source, class_names=class_names, val_fraction=val_fraction, seed=seed,
                                             image_size=image_size, progress=progress)
    raise UserError(f"data: cannot read a {type(source).__name__}; pass a dataset path, an ImageDataset, "
                    f"(images, labels, class_names) uint8 tensors or a torchvision-style dataset")


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype")


def _is_indexable(value: Any) -> bool:
    return hasattr(value, "__getitem__") and hasattr(value, "__len__") and not isinstance(value, (str, bytes))


__all__ = ["load_dataset", "is_path_like", "DataSource"]
