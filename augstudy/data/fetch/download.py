"""Download, verify and unpack the public datasets augstudy knows.

``fetch_dataset("tiny-imagenet", root="data")`` ends with ``data/tiny-imagenet-200/`` complete, or
with nothing new under ``data/`` except a resumable ``data/.downloads/<file>.part``:

1. An existing complete dataset is never touched (status ``"already-present"``); an existing
   incomplete one is an error, also left untouched.
2. Each file streams with urllib into ``<root>/.downloads/<file>.part``.  An interrupted download
   resumes with an HTTP ``Range`` request (automatically up to ``retries`` times, and again on the
   next run); a server that ignores ``Range`` (answers 200) makes us restart the file cleanly.
3. The finished file is checked against the checksum recorded in :data:`DATASETS` (sha256 where
   published, otherwise the published md5, and the size); ``sha256=`` overrides it for a mirror.
   A mismatch deletes the download and raises a one-line :class:`UserError`.
4. The archive is extracted into a hidden staging folder beside the target
   (``<root>/.<folder>.<random>.staging``) and renamed into place in one ``os.replace``, so a
   crash or kill leaves no half dataset under the real name.  Leftover staging folders are
   removed by the next fetch of the same dataset.

``source=`` (the CLI's ``--from``) takes a local archive, a local folder (copied) or a mirror URL.
For ``fashion-mnist`` the Debian copy at ``/usr/share/datasets/fashion-mnist`` is used
automatically when present.  Fashion-MNIST's four ``.gz`` IDX files are kept compressed (the
layout Debian ships and the loader reads); "extracting" them means checking each gzip stream's
CRC and IDX header.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import shutil
import socket
import struct
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from augstudy import __version__
from augstudy.errors import UserError

#: bytes read per network/disk chunk
CHUNK_BYTES = 1 << 20
#: seconds a socket may stay silent before the attempt counts as interrupted
DEFAULT_TIMEOUT_S = 60.0
#: hidden folder under --root that holds downloads in progress (``<file>.part``)
DOWNLOADS_DIR = ".downloads"
STAGING_SUFFIX = ".staging"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset at its official address, with what we know to check it by.

    ``size`` is in bytes; ``sha256``/``md5`` are lowercase hex, ``None`` where not published.
    """

    filename: str
    url: str
    size: int | None = None
    sha256: str | None = None
    md5: str | None = None


@dataclass(frozen=True)
class DatasetSource:
    """How one dataset is fetched and how a complete copy is recognised.

    ``layout`` is ``"archive"`` (one zip / tar.gz, usually holding a top folder named ``folder``)
    or ``"gz-files"`` (several ``.gz`` files kept as they are in ``<root>/<folder>/``).
    ``required`` lists paths relative to the dataset folder that a complete copy has;
    ``"a|b"`` means either ``a`` or ``b``.
    """

    name: str
    folder: str
    layout: str
    files: tuple[RemoteFile, ...]
    required: tuple[str, ...]
    local_default: str | None = None
    note: str = ""


_FASHION_BASE = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
_FASHION_FILES = (
    # (file, bytes, md5 from the zalandoresearch/fashion-mnist README; no sha256 is published)
    ("train-images-idx3-ubyte.gz", 26421880, "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    ("train-labels-idx1-ubyte.gz", 29515, "25c81989df183df01b3e8a0aad5dffbe"),
    ("t10k-images-idx3-ubyte.gz", 4422102, "bef4ecab320f06d8554ea6380940ec79"),
    ("t10k-labels-idx1-ubyte.gz", 5148, "bb300cfdad3c16e7a12a480ee83cd310"),
)

#: The official table.  Tests replace entries (``monkeypatch.setitem``) to point at a local server.
DATASETS: dict[str, DatasetSource] = {
    "tiny-imagenet": DatasetSource(
        name="tiny-imagenet",
        folder="tiny-imagenet-200",
        layout="archive",
        files=(RemoteFile(
            "tiny-imagenet-200.zip", "http://cs231n.stanford.edu/tiny-imagenet-200.zip",
            size=248_100_043,  # bytes
            md5="90528d7ca1a48142e341f4ef8d21d0de",  # the md5 torchvision-style loaders record; no sha256 published
        ),),
        required=("wnids.txt", "train", "val/images", "val/val_annotations.txt"),
        note="about 248 MB; 200 classes, 100,000 train and 10,000 val 64x64 JPEGs",
    ),
    "cifar10": DatasetSource(
        name="cifar10",
        folder="cifar-10-batches-py",
        layout="archive",
        files=(RemoteFile(
            "cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
            size=170_498_071,  # bytes
            sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
            md5="c58f30108f718f92721af3b95e74349a",
        ),),
        required=("batches.meta", "data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                  "data_batch_5", "test_batch"),
        note="about 170 MB; 10 classes, 50,000 train and 10,000 test 32x32 images (pickled arrays)",
    ),
    "fashion-mnist": DatasetSource(
        name="fashion-mnist",
        folder="fashion-mnist",
        layout="gz-files",
        files=tuple(RemoteFile(f, _FASHION_BASE + f, size=s, md5=m) for f, s, m in _FASHION_FILES),
        required=tuple(f"{f}|{f[:-3]}" for f, _, _ in _FASHION_FILES),
        local_default="/usr/share/datasets/fashion-mnist",
        note="about 30 MB; 10 classes, 60,000 train and 10,000 test 28x28 grayscale images (IDX)",
    ),
}

_ALIASES = {"tiny-imagenet-200": "tiny-imagenet", "tinyimagenet": "tiny-imagenet", "cifar-10": "cifar10",
            "fashionmnist": "fashion-mnist"}


@dataclass
class FetchResult:
    """What :func:`fetch_dataset` did.  ``status`` is ``"fetched"`` or ``"already-present"``."""

    name: str
    path: Path
    status: str
    source: str
    checks: list[str] = field(default_factory=list)  # one line per verified file / folder


def dataset_names() -> list[str]:
    """The names ``fetch_dataset`` accepts, sorted."""
    return sorted(DATASETS)


def resolve_dataset(name: str) -> DatasetSource:
    """The registry entry for ``name`` (case, ``_`` and a few aliases tolerated); ``UserError`` if unknown."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise UserError(f"unknown dataset '{name}'; choose one of: {', '.join(dataset_names())}")
    return DATASETS[key]


# ----------------------------------------------------------------------------------------------
# completeness of a dataset folder

def missing_required(folder: Path, spec: DatasetSource) -> list[str]:
    """Entries of ``spec.required`` absent from ``folder`` (empty list: the folder is complete)."""
    missing = []
    for entry in spec.required:
        if not any((folder / alt).exists() for alt in entry.split("|")):
            missing.append(entry.split("|")[0])
    return missing


# ----------------------------------------------------------------------------------------------
# downloading

def _progress_bar(total: int | None, desc: str, initial: int, enabled: bool):
    from tqdm import tqdm

    from augstudy.progress import progress_disabled

    return tqdm(total=total, initial=initial, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                file=sys.stderr, disable=(not enabled) or progress_disabled(), leave=False, dynamic_ncols=True)


def _content_range_start(value: str | None) -> int | None:
    """Start offset of ``Content-Range: bytes START-END/TOTAL``; ``None`` if absent or unparsable."""
    if not value or not value.strip().startswith("bytes"):
        return None
    try:
        return int(value.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


class _Interrupted(Exception):
    """The connection ended before the announced length arrived."""


def download_file(url: str, part: Path, *, expected_size: int | None = None, retries: int = 3,
                  timeout: float = DEFAULT_TIMEOUT_S, progress: bool = True) -> Path:
    """Stream ``url`` into ``part`` (appending to what is already there via ``Range``).

    Returns ``part`` once the whole body arrived.  Retries interrupted transfers up to ``retries``
    times (each resuming), then raises ``UserError`` naming the URL, keeping ``part`` for the
    next run.  Unreachable hosts and HTTP errors raise ``UserError`` suggesting ``--from``.
    """
    part.parent.mkdir(parents=True, exist_ok=True)
    attempt = 0
    while True:
        have = part.stat().st_size if part.exists() else 0
        if expected_size is not None and have > expected_size:
            part.unlink()  # longer than the real file: cannot be a prefix of it
            have = 0
        if expected_size is not None and have == expected_size:
            return part
        request = urllib.request.Request(url, headers={"User-Agent": f"augstudy/{__version__}"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:
                # the server has no bytes past ours: our .part already holds the whole file
                # (the checksum decides), unless its size says otherwise
                if expected_size is None:
                    return part
                part.unlink()
                continue
            raise UserError(f"cannot download {url}: HTTP {exc.code} {exc.reason}; "
                            f"pass --from PATH_OR_URL with a local copy or a mirror") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            if attempt < retries:
                attempt += 1
                time.sleep(min(0.5 * attempt, 5.0))
                continue
            raise UserError(f"cannot reach {url} ({reason}); pass --from PATH_OR_URL with a local copy "
                            f"or a mirror") from None
        with response:
            status = getattr(response, "status", 200)
            if have and status == 206 and _content_range_start(response.headers.get("Content-Range")) == have:
                mode = "ab"
            else:
                have, mode = 0, "wb"  # the server ignored Range (or answered oddly): restart cleanly
            length_header = response.headers.get("Content-Length")
            length = int(length_header) if length_header and length_header.isdigit() else None
            total = have + length if length is not None else expected_size
            received = 0
            bar = _progress_bar(total, part.name.removesuffix(".part"), have, progress)
            try:
                with open(part, mode) as out:
                    while True:
                        try:
                            chunk = response.read(CHUNK_BYTES)
                        except (http.client.IncompleteRead, ConnectionError, socket.timeout, OSError) as exc:
                            raise _Interrupted(str(exc) or type(exc).__name__) from None
                        if not chunk:
                            break
                        out.write(chunk)
                        received += len(chunk)
                        bar.update(len(chunk))
                    out.flush()
                    os.fsync(out.fileno())
                if length is not None and received < length:
                    raise _Interrupted(f"connection closed after {received} of {length} bytes")
            except _Interrupted as exc:
                if attempt < retries:
                    attempt += 1
                    time.sleep(min(0.5 * attempt, 5.0))
                    continue
                size_now = part.stat().st_size if part.exists() else 0
                raise UserError(f"download of {url} interrupted after {size_now} bytes ({exc}); rerun the same "
                                f"command to resume from {part}") from None
            finally:
                bar.close()
        return part


# ----------------------------------------------------------------------------------------------
# verification

def file_digests(path: Path) -> tuple[str, str]:
    """``(sha256_hex, md5_hex)`` of a file, read once in 1 MiB chunks."""
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def verify_file(path: Path, expected: RemoteFile | None, *, sha256: str | None = None, label: str,
                remove_on_mismatch: bool) -> str:
    """Check ``path`` against ``sha256`` (if given) or else ``expected``'s sha256 / md5 / size.

    Returns a one-line description of what was verified.  On a mismatch, deletes ``path`` when
    ``remove_on_mismatch`` (a download of ours) and raises ``UserError``.
    """
    actual_sha, actual_md5 = file_digests(path)
    size = path.stat().st_size
    if sha256 is not None:
        checks = [("sha256", actual_sha, sha256.lower(), "given with --sha256")]
    elif expected is not None and expected.sha256:
        checks = [("sha256", actual_sha, expected.sha256, "recorded")]
    elif expected is not None and expected.md5:
        checks = [("md5", actual_md5, expected.md5, "published; no sha256 is published")]
    else:
        return f"{label}: not verified (no checksum known; pass --sha256 to verify), sha256 {actual_sha}"
    for algo, actual, want, origin in checks:
        if actual != want:
            what = "the download was removed" if remove_on_mismatch else "the file was left as it is"
            if remove_on_mismatch:
                path.unlink(missing_ok=True)
            size_note = ""
            if expected is not None and expected.size is not None and sha256 is None and size != expected.size:
                size_note = f" ({size} bytes, expected {expected.size})"
            raise UserError(f"{'downloaded file' if remove_on_mismatch else 'file'} {label} has {algo} {actual}, "
                            f"expected {want}{size_note}; {what}; pass --sha256 {actual_sha} if you trust "
                            f"this mirror or copy")
    algo, _, _, origin = checks[0]
    return f"{label}: {algo} verified ({origin})"


def _check_gzip_idx(path: Path) -> tuple[int, ...]:
    """Decompress an IDX file fully (for ``.gz``: the gzip CRC check) and check its header.

    Returns the IDX dimensions, e.g. ``(60000, 28, 28)``; raises ``UserError`` naming the file.
    """
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            header = fh.read(4)
            if len(header) < 4 or header[:2] != b"\x00\x00" or header[2] != 0x08:
                raise UserError(f"{path}: not an IDX uint8 file (bad magic {header.hex()}); "
                                f"fetch it again or pass --from a good copy")
            dims = struct.unpack(f">{header[3]}I", fh.read(4 * header[3]))
            body = 0
            while chunk := fh.read(CHUNK_BYTES):
                body += len(chunk)
    except (OSError, EOFError, struct.error) as exc:  # gzip.BadGzipFile is an OSError
        raise UserError(f"{path}: corrupt or truncated ({exc}); fetch it again or pass --from a good copy") from None
    expected_bytes = 1
    for d in dims:
        expected_bytes *= d
    if body != expected_bytes:
        raise UserError(f"{path}: IDX header says {'x'.join(map(str, dims))} ({expected_bytes} bytes) but the file "
                        f"holds {body}; fetch it again or pass --from a good copy")
    return dims


def _check_idx_folder(folder: Path, spec: DatasetSource) -> list[str]:
    """Check every IDX file of a gz-files dataset; images and labels of a split must agree in count."""
    notes: list[str] = []
    counts: dict[str, set[int]] = {}
    for entry in spec.required:
        present = next(folder / alt for alt in entry.split("|") if (folder / alt).exists())
        dims = _check_gzip_idx(present)
        counts.setdefault(present.name.split("-")[0], set()).add(dims[0])  # "train" / "t10k"
        notes.append(f"{present.name}: gzip and IDX header ok ({'x'.join(map(str, dims))})")
    for split, ns in counts.items():
        if len(ns) > 1:
            raise UserError(f"{folder}: {split} images and labels disagree in count ({sorted(ns)}); "
                            f"pass --from a consistent copy")
    return notes


# ----------------------------------------------------------------------------------------------
# extraction and promotion into place

def _safe_extract_zip(archive: Path, dest: Path, show_progress: bool) -> None:
    from augstudy.progress import progress

    dest_resolved = dest.resolve()
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for member in members:
            target = (dest / member.filename).resolve()
            if not target.is_relative_to(dest_resolved):
                raise UserError(f"{archive}: member '{member.filename}' would land outside the dataset folder; "
                                f"refusing to extract this archive")
        for member in progress(members, desc="extract", unit="file", disable=None if show_progress else True):
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
            from augstudy.progress import progress as progress_bar

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


# ----------------------------------------------------------------------------------------------
# the public entry point

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
    spec = resolve_dataset(name)
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
                checks += _check_idx_folder(content, spec)
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
                checks += _check_idx_folder(_dataset_root_in(staging, spec), spec)
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
            checks += _check_idx_folder(staging, spec)
        _promote(staging, spec, target, f"the download from {mirror or spec.files[0].url}")
    for _, part in parts:  # extracted and in place: the archive is no longer needed
        part.unlink(missing_ok=True)
    if downloads.is_dir() and not any(downloads.iterdir()):
        downloads.rmdir()
    return FetchResult(spec.name, target, "fetched", mirror or ", ".join(f.url for f in spec.files), checks)


__all__ = [
    "DATASETS", "DatasetSource", "RemoteFile", "FetchResult", "fetch_dataset", "dataset_names",
    "resolve_dataset", "download_file", "verify_file", "extract_archive", "missing_required", "file_digests",
]
