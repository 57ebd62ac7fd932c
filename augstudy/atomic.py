"""Crash-safe file writes: write to a temporary file in the same folder, fsync, rename.

A reader (or a ``kill -9`` at any moment) sees either the old file or the new
one, never a half-written one, because ``os.replace`` is atomic on POSIX when
source and target are on the same filesystem.

Temporary names carry their writer: ``.<target name>.<random><suffix>.w<pid>@<host>.tmp``,
so :func:`remove_stale_temporaries` can delete what a killed writer left behind
without touching a temporary that a live process (here or on another host
sharing the folder) is still writing.  A folder that cannot be written raises
:class:`augstudy.errors.UnwritableError` naming the target and the fix, never the
temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterator

from augstudy.errors import UnwritableError
from augstudy.processes import pid_alive

#: ``.<target>.<random><suffix>.w<pid>@<host>.tmp`` -> the writer's pid and host
_TEMP_WRITER = re.compile(r"^\..+\.w(?P<pid>\d+)@(?P<host>[^/]+)\.tmp$")
#: errors that mean "this place cannot be written", whatever the file
_UNWRITABLE_ERRNOS = (errno.EACCES, errno.EPERM, errno.EROFS)


def _writer_tag() -> str:
    return f".w{os.getpid()}@{socket.gethostname()}.tmp"


def unwritable_error(target: str | os.PathLike, exc: OSError) -> UnwritableError:
    """An :class:`UnwritableError` for ``target``: which folder, why, and the fix (one line)."""
    target = Path(target)
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent  # the first existing folder is the one that refused
    reason = "read-only file system" if exc.errno == errno.EROFS else "permission denied"
    return UnwritableError(
        f"{folder}: cannot write {target} ({reason}); make the folder writable "
        f"(e.g. chmod u+w {folder}) or choose a writable place with --out")


def ensure_writable_folder(folder: str | os.PathLike, target: str | os.PathLike | None = None) -> Path:
    """Create ``folder`` (and parents) and check a file can be created in it; raises
    :class:`UnwritableError` naming the folder (or ``target``) and the fix otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".augstudy-write-probe.", suffix=_writer_tag(), dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        if exc.errno in _UNWRITABLE_ERRNOS:
            raise unwritable_error(target or folder / "-", exc) from None
        raise
    return folder


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it onto ``target``.

    The caller writes the file (or folder) at the yielded path.  On an exception
    the temporary is removed and ``target`` is left untouched.  A folder that
    cannot be written raises :class:`UnwritableError` naming ``target``.
    """
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix + _writer_tag(), dir=target.parent)
    except OSError as exc:
        if exc.errno in _UNWRITABLE_ERRNOS:
            raise unwritable_error(target, exc) from None
        raise
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.is_file():
            with open(tmp_path, "rb+") as fh:
                os.fsync(fh.fileno())
            # mkstemp creates 0600 files; give the result the mode a plain open() would (umask).
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        try:
            os.replace(tmp_path, target)
        except OSError as exc:
            if exc.errno in _UNWRITABLE_ERRNOS:
                raise unwritable_error(target, exc) from None
            raise
    except BaseException:
        if tmp_path.is_dir():
            shutil.rmtree(tmp_path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                tmp_path.unlink()
        raise


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the temporaries in ``folder`` (not recursive) whose writer is gone: written by a
    process of this host that no longer runs (e.g. killed by ``kill -9`` mid-write).  Temporaries
    of live processes and of other hosts are kept.  Returns the paths removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    host = socket.gethostname()
    removed = []
    for path in folder.glob(".*.tmp"):
        match = _TEMP_WRITER.match(path.name)
        if match is None or match["host"] != host or pid_alive(int(match["pid"])):
            continue
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        except FileNotFoundError:
            continue
        except OSError:
            continue  # not ours to clean (e.g. a read-only folder): leave it
        removed.append(path)
    return removed


def atomic_write_bytes(target: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically; returns the target path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return Path(target)


def atomic_write_text(target: str | os.PathLike, text: str) -> Path:
    """Write UTF-8 ``text`` to ``target`` atomically; returns the target path."""
    return atomic_write_bytes(target, text.encode("utf-8"))


def atomic_write_json(target: str | os.PathLike, obj, indent: int = 2) -> Path:
    """Write ``obj`` as JSON to ``target`` atomically; returns the target path."""
    return atomic_write_text(target, json.dumps(obj, indent=indent, sort_keys=False, default=str) + "\n")


def read_json_file(path: str | os.PathLike, invalid_fix: str | None = None):
    """The JSON value in ``path`` (read back what :func:`atomic_write_json` wrote), or None when the
    file is missing.  Invalid JSON is None too, or, when ``invalid_fix`` is given, a one-line
    :class:`augstudy.errors.UserError` naming the file and that fix."""
    from augstudy.errors import UserError

    path = Path(path)
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        if invalid_fix is None:
            return None
        raise UserError(f"{path}: not valid JSON ({exc}); {invalid_fix}") from None
