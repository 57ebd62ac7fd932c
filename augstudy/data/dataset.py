"""One in-memory form for every dataset source, and the loader that builds it (decode once, then cache).

``load_dataset_folder(path)`` detects the source (Tiny ImageNet, image folders, IDX,
CIFAR), and returns an :class:`ImageDataset` of ``uint8 [N, 3, S, S]`` tensors.
The first load decodes and writes the cache; later loads memory-map it.  The public
``load_dataset`` (:mod:`augstudy.data.load`: any source, a folder among them) calls it for paths.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

import numpy as np
import torch

from augstudy import __version__
from augstudy.data.cache import cache_location, cache_writer, fingerprint, read_cache, write_manifest
from augstudy.data.convert import ConversionLog
from augstudy.data.paths import resolve_data_path
from augstudy.data.sources.base import SPLITS, SourceScan, detect_source
from augstudy.errors import UserError

#: the image side every source is converted to, in pixels (the report's CNN takes 64x64)
DEFAULT_IMAGE_SIZE = 64
_MIN_IMAGE_SIZE = 8


@dataclass(repr=False)
class ImageDataset:
    """A dataset in augstudy's one form.

    Images are ``uint8 [N, 3, S, S]`` (channels R, G, B; S = image size, 64 by default),
    labels ``int64 [N]`` in ``[0, num_classes)``.  Tensors loaded from the cache are
    memory-mapped copy-on-write: cheap to open, and writing to them never changes the cache.
    ``conversions`` lists every change made to the source pixels with its image count.
    """

    name: str
    source_kind: str
    root: Path
    train_images: torch.Tensor
    train_labels: torch.Tensor
    val_images: torch.Tensor
    val_labels: torch.Tensor
    class_names: list[str]
    conversions: list[str] = field(default_factory=list)
    cache_path: Path | None = None
    grayscale_fraction: float = 0.0
    source_description: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_size(self) -> int:
        return int(self.train_images.shape[-1])

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(images, labels)`` of ``"train"`` or ``"val"``."""
        if name not in SPLITS:
            raise ValueError(f"split must be one of {SPLITS}, got {name!r}")
        return getattr(self, f"{name}_images"), getattr(self, f"{name}_labels")

    def class_counts(self, split: str = "train") -> list[int]:
        """Images per class in ``split`` (index = label)."""
        labels = self.split(split)[1]
        return torch.bincount(labels, minlength=self.num_classes).tolist()

    def describe(self) -> dict:
        """A JSON-ready summary (what ``augstudy data info --json`` prints)."""
        return {
            "name": self.name,
            "source_kind": self.source_kind,
            "source": self.source_description,
            "root": str(self.root),
            "image_shape": [3, self.image_size, self.image_size],
            "splits": {s: int(self.split(s)[0].shape[0]) for s in SPLITS},
            "num_classes": self.num_classes,
            "class_names": list(self.class_names),
            "class_counts": {s: self.class_counts(s) for s in SPLITS},
            "conversions": list(self.conversions),
            "grayscale_fraction": self.grayscale_fraction,
            "cache_path": str(self.cache_path) if self.cache_path else None,
        }

    def __repr__(self) -> str:
        return (f"ImageDataset(name={self.name!r}, source_kind={self.source_kind!r}, "
                f"train={tuple(self.train_images.shape)}, val={tuple(self.val_images.shape)}, "
                f"classes={self.num_classes})")


def load_dataset_folder(path: str | os.PathLike | None = None, *, image_size: int = DEFAULT_IMAGE_SIZE,
                        cache_dir: str | os.PathLike | None = None, progress: bool = True) -> ImageDataset:
    """Load the dataset folder at ``path`` (``None``: the default, see :func:`resolve_data_path`)
    through its cache.

    An :class:`ImageDataset` is returned as is (callers holding either pass it on); tensors and
    torchvision datasets are :func:`augstudy.data.load_dataset`'s.

    ``image_size``: output side S in pixels.  ``cache_dir``: where caches live (default:
    ``<root>/.augstudy-cache`` or ``~/.cache/augstudy``; env ``AUGSTUDY_CACHE_DIR``).
    ``progress``: show a progress bar while decoding.  Raises :class:`UserError` on a
    missing path, an unknown layout or an undecodable file.
    """
    if isinstance(path, ImageDataset):
        return path
    if not isinstance(image_size, int) or image_size < _MIN_IMAGE_SIZE:
        raise UserError(f"image_size must be an integer >= {_MIN_IMAGE_SIZE}, got {image_size!r}")
    root, _message = resolve_data_path(path)
    source = detect_source(root)
    scan = source.scan(root)
    fp = fingerprint(scan, image_size)
    location = cache_location(root, image_size, cache_dir)

    cached = read_cache(location, fp)
    if cached is None:
        try:
            build_cache(location, scan, fp, image_size, progress)
        except OSError as exc:  # cache not writable: still give the user their data
            warnings.warn(f"could not write the dataset cache at {location} ({exc}); "
                          f"loading without a cache (set AUGSTUDY_CACHE_DIR to a writable folder)",
                          stacklevel=2)
            return _load_uncached(scan, image_size, progress)
        cached = read_cache(location, fp)
        if cached is None:
            raise RuntimeError(f"{location}: cache just written cannot be read back")
    manifest, arrays = cached
    return _to_dataset(scan, manifest, arrays, location)


def build_cache(location: Path, scan: SourceScan, fp: str, image_size: int, show_progress: bool) -> None:
    """Decode every split of ``scan`` into a new cache at ``location`` (crash-safe)."""
    log = ConversionLog()
    with cache_writer(location) as (tmp, allocate):
        sizes = _decode_splits(scan, image_size, partial(_allocate_sized, allocate, image_size), log,
                               show_progress)
        write_manifest(tmp, {
            "augstudy_version": __version__,
            "image_size": image_size,
            "source_kind": scan.kind,
            "source": scan.description,
            "root": str(scan.root.resolve()),
            "fingerprint": fp,
            "n_source_files": len(scan.files),
            "splits": sizes,
            "class_names": scan.class_names,
            "conversions": log.lines(),
            "grayscale_fraction": log.grayscale_fraction,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        })


def _allocate_sized(allocate, image_size: int, split: str, n: int):
    return allocate(split, n, image_size)


def _decode_splits(scan: SourceScan, image_size: int, allocate, log: ConversionLog,
                   show_progress: bool) -> dict[str, int]:
    sizes: dict[str, int] = {}

    def counting_allocate(split: str, n: int):
        sizes[split] = n
        return allocate(split, n)

    for split in SPLITS:
        scan.load_split(scan, split, image_size, counting_allocate, log, show_progress)
    return sizes


def _load_uncached(scan: SourceScan, image_size: int, show_progress: bool) -> ImageDataset:
    log = ConversionLog()
    arrays: dict[str, np.ndarray] = {}

    def allocate(split: str, n: int):
        arrays[f"{split}_images"] = np.empty((n, 3, image_size, image_size), dtype=np.uint8)
        arrays[f"{split}_labels"] = np.empty((n,), dtype=np.int64)
        return arrays[f"{split}_images"], arrays[f"{split}_labels"]

    _decode_splits(scan, image_size, allocate, log, show_progress)
    manifest = {"class_names": scan.class_names, "conversions": log.lines(),
                "grayscale_fraction": log.grayscale_fraction}
    return _to_dataset(scan, manifest, arrays, None)


def _to_dataset(scan: SourceScan, manifest: dict, arrays: dict[str, np.ndarray],
                cache_path: Path | None) -> ImageDataset:
    tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
    return ImageDataset(
        name=scan.root.resolve().name,
        source_kind=scan.kind,
        root=scan.root,
        class_names=list(manifest["class_names"]),
        conversions=list(manifest["conversions"]),
        cache_path=cache_path,
        grayscale_fraction=float(manifest["grayscale_fraction"]),
        source_description=scan.description,
        **tensors,
    )


__all__ = ["ImageDataset", "load_dataset_folder", "build_cache", "DEFAULT_IMAGE_SIZE"]
