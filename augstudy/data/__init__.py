"""Datasets in one form: ``uint8 [N, 3, 64, 64]`` images, int64 labels, class names, conversions.

::

    from augstudy.data import load_dataset, resolve_data_path
    ds = load_dataset("data/tiny-imagenet-200")      # decodes once, then memory-maps the cache
    ds.train_images.shape                             # torch.Size([100000, 3, 64, 64]), uint8

Sources (detected from the folder, :mod:`augstudy.data.sources`): Tiny ImageNet's official
layout, image folders (``train/<class>/``, ``val/<class>/``), IDX files (MNIST, Fashion-MNIST) and
CIFAR-10/100 pickles; in memory, :func:`dataset_from_tensors` and :func:`dataset_from_torchvision`
build the same form (and ``load_dataset`` accepts their result wherever a path goes).
:mod:`augstudy.data.check` is ``augstudy data check``, :mod:`augstudy.data.fetch` is
``augstudy data fetch``.

``load_dataset`` (:mod:`.load`, also ``augstudy.load_dataset``) takes any source: a folder goes to
``load_dataset_folder`` (:mod:`.dataset`, with ``ImageDataset``), :mod:`.cache` (decode once,
memory-map after), :mod:`.decode` (parallel file decoding), :mod:`.convert` (pixels to the one
form, every change counted), :mod:`.paths` (the default dataset), :mod:`.in_memory`,
:mod:`.synthetic` (generated datasets for tests and benchmarks), :mod:`.stats` (per-channel mean/std).

Names that import torch are loaded lazily: ``from augstudy.data import resolve_data_path`` stays cheap.
"""

from __future__ import annotations

from augstudy.data.paths import DEFAULT_DATA_DIRS, EMBEDDED_DATASET, resolve_data_path

_LAZY = {"ImageDataset": "augstudy.data.dataset", "load_dataset": "augstudy.data.load",
         "load_dataset_folder": "augstudy.data.dataset",
         "DEFAULT_IMAGE_SIZE": "augstudy.data.dataset",
         "dataset_from_tensors": "augstudy.data.in_memory", "dataset_from_torchvision": "augstudy.data.in_memory"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'augstudy.data' has no attribute {name!r}")


__all__ = ["ImageDataset", "load_dataset", "load_dataset_folder", "resolve_data_path", "DEFAULT_DATA_DIRS", "EMBEDDED_DATASET",
           "DEFAULT_IMAGE_SIZE", "dataset_from_tensors", "dataset_from_torchvision"]
