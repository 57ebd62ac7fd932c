"""Dataset sources: which layout a folder holds, and how to scan and load it.

One module per source (:mod:`.tinyimagenet`, :mod:`.idx`, :mod:`.cifar`, :mod:`.folders`), each
exposing ``KIND``, ``DESCRIPTION``, ``detect(root) -> bool`` and ``scan(root) -> SourceScan``;
:mod:`.base` holds what they share (the :class:`SourceScan` record, file listing, the file-split
loader) and :func:`detect_source` picks the module for a folder.
"""

from augstudy.data.sources.base import (IMAGE_EXTENSIONS, SPLITS, Allocate, FileStat, SourceScan, detect_source,
                                        list_images, list_images_in, load_file_split, source_modules, stat_files)

__all__ = ["SPLITS", "IMAGE_EXTENSIONS", "FileStat", "SourceScan", "Allocate", "stat_files",
           "list_images", "list_images_in", "load_file_split", "detect_source", "source_modules"]
