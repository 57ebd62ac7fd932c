"""A user-chosen name (a policy's) as part of a default output file name under ``reports/``.

``augstudy preview`` (``reports/preview-<slug>.png``) and ``augstudy measure``
(``reports/measure-<slug>.json``) name their default outputs with :func:`file_slug`.  A slug is for
humans: runs of unsafe characters collapse to one ``-``, so two names may share a slug, and the
file is only written, never looked up by name.  Arm names inside a study folder follow a different,
stable rule that the folder's reader depends on: :func:`augstudy.ablation.storage.schema.arm_path_name`.
"""

from __future__ import annotations

import re

#: runs of characters outside ``A-Za-z0-9_.=+-`` (each run becomes one ``-``)
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_.=+-]+")


def file_slug(name: object, empty: str = "policy") -> str:
    """``name`` made file-name safe: ``my policy/v2`` -> ``my-policy-v2``; leading and trailing
    ``-`` stripped; ``empty`` when nothing is left."""
    return _UNSAFE_RUN.sub("-", str(name)).strip("-") or empty


__all__ = ["file_slug"]
