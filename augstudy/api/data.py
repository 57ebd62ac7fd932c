"""The API's ``data=`` argument: :func:`load_dataset` (any image source -> ``ImageDataset``).

The function lives in :mod:`augstudy.data.load` (the data layer; the API only re-exports it), so
``augstudy.load_dataset``, ``augstudy.api.load_dataset`` and ``augstudy.data.load_dataset`` are one
function.
"""

from __future__ import annotations

from augstudy.data.load import DataSource, is_path_like, load_dataset

__all__ = ["load_dataset", "is_path_like", "DataSource"]
