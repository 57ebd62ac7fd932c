"""Fetch a dataset into place: download or copy, verify, extract into a staging folder, rename.

See :mod:`augstudy.data.fetch` for the guarantees.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tarfile
import tempfile
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from augstudy.data.fetch.download import CHUNK_BYTES, DEFAULT_TIMEOUT_S, download_file
from augstudy.data.fetch.registry import DatasetSource, RemoteFile, dataset_source, missing_required
from augstudy.data.fetch.verify import check_idx_folder, verify_file
from augstudy.errors import UserError
from augstudy.progress import progress as progress_bar

#: hidden folder under --root that holds downloads in progress (``<file>.part``)
DOWNLOADS_DIR = ".downloads"
STAGING_SUFFIX = ".staging"


@dataclass
class FetchResult:
    """What :func:`fetch_dataset` did.  ``status`` is ``"fetched"`` or ``"already-present"``."""

    name: str
    path: Path
    status: str
    source: str
    checks: list[str] = field(default_factory=list)  # one line per verified file / folder


def _safe_extract_zip(archive: Path, dest: Path, show_progress: bool) -> None:
    dest_resolved = dest.resolve()
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for member in members:
            target = (dest / member.filename).resolve()
            if not target.is_relative_to(dest_resolved):
                raise UserError(f"{archive}: member '{member.filename}' would land outside the dataset folder; "
                                f"refusing to extract this archive")
        for member in progress_bar(members, desc="extract", unit="file", disable=None if show_progress else True):
            zf.extract(member, dest)


def extract_archive(archive: Path, dest: Path, progress: bool = True) -> None:
    """Extract a zip, tar(.gz/.bz2/.xz) or single-file ``.gz`` into the folder ``dest``.

    The kind is recognised from the content, not the name (downloads end in ``.part``).
    """
    if zipfile.is_zipfile(archive):
        _safe_extract_zip(archive, dest, progress)
        return
    try:
        is_tar = tarfile.is_tarfile(archive)
    except (OSError, EOFError):
        is_tar = False
    if is_tar:
        try:
            with tarfile.open(archive) as tf:
                # the "data" filter refuses absolute paths, links out of dest and device files
                members = progress_bar(tf, desc="extract", unit="file", disable=None if progress else True)
                tf.extractall(dest, members=members, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise UserError(f"{archive}: cannot extract ({exc}); fetch it again or pass --from a good copy") from None
        return
    with open(archive, "rb") as fh:
        magic = fh.read(2)
    if magic == b"\x1f\x8b":
        name = archive.name.removesuffix(".part").removesuffix(".gz")
        with gzip.open(archive, "rb") as src, open(dest / name, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK_BYTES)
        return
    raise UserError(f"{archive}: not a zip, tar or gz archive; pass --from a .zip/.tar.gz archive or a folder")


def _dataset_root_in(staging: Path, spec: DatasetSource) -> Path:
    """The folder inside ``staging`` that holds the dataset: the single top folder an archive
    usually has (e.g. ``tiny-imagenet-200/``), else ``staging`` itself."""
    if not missing_required(staging, spec):
        return staging
    entries = [p for p in staging.iterdir() if not p.name.startswith("__MACOSX")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    named = staging / spec.folder
    return named if named.is_dir() else staging


def _remove_stale_staging(root: Path, spec: DatasetSource) -> None:
    """Remove staging folders a killed earlier fetch of this dataset left behind."""
    for stale in root.glob(f".{spec.folder}.*{STAGING_SUFFIX}"):
        shutil.rmtree(stale, ignore_errors=True)


def _promote(staging: Path, spec: DatasetSource, target: Path, origin: str) -> None:
    """Rename the dataset found in ``staging`` to ``target`` (one atomic rename) and drop staging."""
    content = _dataset_root_in(staging, spec)
    missing = missing_required(content, spec)
    if missing:
        raise UserError(f"{origin} does not hold a {spec.name} dataset (missing {', '.join(missing)}); "
                        f"pass --from the right archive or folder")
    if content == staging:
        os.replace(staging, target)
    else:
        os.replace(content, target)
        shutil.rmtree(staging, ignore_errors=True)


class _Staging:
    """A hidden folder beside the target; removed on any failure (including Ctrl-C)."""

    def __init__(self, root: Path, spec: DatasetSource):
        self.path = Path(tempfile.mkdtemp(prefix=f".{spec.folder}.", suffix=STAGING_SUFFIX, dir=root))

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.path.exists():  # still there: promotion did not happen
            shutil.rmtree(self.path, ignore_errors=True)


def _is_url(text: str) -> bool:
    return urllib.parse.urlparse(text).scheme in ("http", "https", "ftp", "file")


def fetch_dataset(name: str, root: str | os.PathLike = "data", *, source: str | os.PathLike | None = None,
                  sha256: str | None = None, retries: int = 3, timeout: float = DEFAULT_TIMEOUT_S,
                  progress: bool = True) -> FetchResult:
    """Make ``<root>/<folder>`` hold dataset ``name`` (see the module docstring for the guarantees).

    ``source``: ``None`` (official address, or the Debian copy for fashion-mnist when present), a
    local archive, a local folder, or a URL (for multi-file datasets, the base URL the file names
    are appended to).  ``sha256``: expected sha256 of the archive (single-file datasets or a local
    archive); overrides the recorded checksum.
    """
    spec = dataset_source(name)
    if sha256 is not None:
        sha256 = sha256.strip().lower()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise UserError(f"--sha256: expected 64 hex digits, got '{sha256}'")
    root = Path(root)
    target = root / spec.folder
    if target.exists() or target.is_symlink():
        missing = missing_required(target, spec) if target.is_dir() else ["(it is not a folder)"]
        if missing:
            raise UserError(f"{target} exists but is incomplete (missing {', '.join(missing)}); it was left untouched: "
                            f"move or delete it, then rerun")
        return FetchResult(spec.name, target, "already-present", str(target),
                           [f"{target}: complete dataset already there; nothing was touched"])
    if root.exists() and not root.is_dir():
        raise UserError(f"--root {root}: is a file, not a folder; pass a folder for the datasets")
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(root, spec)

    if source is None and spec.local_default and Path(spec.local_default).is_dir():
        source = spec.local_default
    if source is not None and not _is_url(str(source)):
        return _fetch_local(spec, Path(source), target, root, sha256, progress)
    return _fetch_remote(spec, None if source is None else str(source), target, root, sha256, retries,
                         timeout, progress)


def _fetch_local(spec: DatasetSource, source: Path, target: Path, root: Path, sha256: str | None,
                 progress: bool) -> FetchResult:
    if not source.exists():
        raise UserError(f"--from {source}: no such file or folder; pass an archive, a dataset folder or a URL")
    checks: list[str] = []
    with _Staging(root, spec) as staging:
        if source.is_dir():
            content = source
            if missing_required(content, spec):
                content = _dataset_root_in(source, spec)
            missing = missing_required(content, spec)
            if missing:
                raise UserError(f"--from {source}: not a {spec.name} folder (missing {', '.join(missing)}); "
                                f"pass the folder that holds them, or an archive")
            if spec.layout == "gz-files":
                checks += check_idx_folder(content, spec)
            shutil.rmtree(staging)
            shutil.copytree(content, staging, symlinks=False)
            checks.append(f"{source}: copied (a local folder has no published checksum to verify)")
        else:
            official = next((f for f in spec.files if f.filename == source.name), None)
            if sha256 is not None or official is not None:
                checks.append(verify_file(source, official, sha256=sha256, label=str(source), remove_on_mismatch=False))
            else:
                checks.append(f"{source}: not verified (no published checksum for this file; pass --sha256 to verify)")
            extract_archive(source, staging, progress)
            if spec.layout == "gz-files":
                checks += check_idx_folder(_dataset_root_in(staging, spec), spec)
        _promote(staging, spec, target, f"--from {source}")
    return FetchResult(spec.name, target, "fetched", str(source), checks)


def _fetch_remote(spec: DatasetSource, mirror: str | None, target: Path, root: Path, sha256: str | None,
                  retries: int, timeout: float, progress: bool) -> FetchResult:
    if sha256 is not None and len(spec.files) > 1:
        raise UserError(f"--sha256 applies to a single archive, but {spec.name} has {len(spec.files)} files; "
                        f"drop --sha256 (each file is checked against its recorded checksum)")
    downloads = root / DOWNLOADS_DIR
    checks: list[str] = []
    parts: list[tuple[RemoteFile, Path]] = []
    for remote in spec.files:
        if mirror is None:
            url = remote.url
        elif len(spec.files) == 1:
            url = mirror
        else:
            url = mirror.rstrip("/") + "/" + remote.filename
        filename = Path(urllib.parse.urlparse(url).path).name or remote.filename
        part = downloads / (filename + ".part")
        # with --sha256 the recorded size may not apply (a different mirror file)
        download_file(url, part, expected_size=None if sha256 else remote.size, retries=retries,
                      timeout=timeout, progress=progress)
        checks.append(verify_file(part, remote, sha256=sha256, label=f"{url} ({part})", remove_on_mismatch=True))
        parts.append((remote, part))
    with _Staging(root, spec) as staging:
        if spec.layout == "archive":
            extract_archive(parts[0][1], staging, progress)
        else:
            for remote, part in parts:
                shutil.copyfile(part, staging / remote.filename)
            checks += check_idx_folder(staging, spec)
        _promote(staging, spec, target, f"the download from {mirror or spec.files[0].url}")
    for _, part in parts:  # extracted and in place: the archive is no longer needed
        part.unlink(missing_ok=True)
    if downloads.is_dir() and not any(downloads.iterdir()):
        downloads.rmdir()
    return FetchResult(spec.name, target, "fetched", mirror or ", ".join(f.url for f in spec.files), checks)


__all__ = ["fetch_dataset", "FetchResult", "extract_archive", "DOWNLOADS_DIR"]
