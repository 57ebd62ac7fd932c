"""Which dataset to use when the user names none.

Default: ``data/tiny-imagenet-200`` when it exists (the report's dataset), else the
embedded ``data/fashion-mnist-mini`` shipped with the repository.  The repo's ``data/``
folder is looked up in the current directory first, then beside the installed package
(``<repo>/augstudy/../data``).
"""

from __future__ import annotations

import os
from pathlib import Path

from augstudy.errors import UserError

#: default datasets in order of preference (folder names inside the repo's data/)
DEFAULT_DATA_DIRS = ("tiny-imagenet-200", "fashion-mnist-mini")
#: the embedded dataset that always ships with the repository
EMBEDDED_DATASET = "fashion-mnist-mini"


def data_dir_candidates() -> list[Path]:
    """The repo ``data/`` folders to search: ``./data`` then ``<package>/../data`` (deduplicated)."""
    candidates = [Path.cwd() / "data", Path(__file__).resolve().parents[2] / "data"]
    out: list[Path] = []
    for c in candidates:
        if not any(_same(c, o) for o in out):
            out.append(c)
    return out


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def display_path(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, else absolute."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd().resolve()) else str(path)
    except (OSError, ValueError):
        return str(path)


def resolve_data_path(path: str | os.PathLike | None) -> tuple[Path, str]:
    """``(dataset folder, message)``.

    An explicit ``path`` is returned as given (``~`` expanded); existence and layout are
    checked by :func:`augstudy.data.load_dataset_folder`.  ``None`` picks the first of
    :data:`DEFAULT_DATA_DIRS` found in :func:`data_dir_candidates`, with a message such as
    ``using dataset data/fashion-mnist-mini (default; data/tiny-imagenet-200 not found)``.
    Raises :class:`UserError` when no default exists.
    """
    if path is not None and str(path) != "":
        p = Path(path).expanduser()
        return p, f"using dataset {display_path(p)}"
    candidates = data_dir_candidates()
    preferred, embedded = DEFAULT_DATA_DIRS[0], DEFAULT_DATA_DIRS[-1]
    for name in DEFAULT_DATA_DIRS:
        for folder in candidates:
            p = folder / name
            if p.is_dir():
                if name == preferred:
                    note = "default"
                else:
                    note = f"default; data/{preferred} not found"
                return p, f"using dataset {display_path(p)} ({note})"
    looked = ", ".join(display_path(c) for c in candidates)
    raise UserError(f"no dataset given and neither data/{preferred} nor the embedded data/{embedded} "
                    f"exists (looked in {looked}); pass --data PATH or run 'augstudy data fetch'")


__all__ = ["DEFAULT_DATA_DIRS", "EMBEDDED_DATASET", "resolve_data_path", "data_dir_candidates", "display_path"]
