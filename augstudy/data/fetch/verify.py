"""Is a fetched file the one we asked for: checksums, and the IDX files' gzip streams and headers."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

from augstudy.data.fetch.download import CHUNK_BYTES
from augstudy.data.fetch.registry import DatasetSource, RemoteFile
from augstudy.data.sources.idx import idx_size_problem
from augstudy.errors import UserError


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


def check_idx_file(path: Path) -> tuple[int, ...]:
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
    problem = idx_size_problem(dims, body)
    if problem:
        raise UserError(f"{path}: {problem}; fetch it again or pass --from a good copy")
    return dims


def check_idx_folder(folder: Path, spec: DatasetSource) -> list[str]:
    """Check every IDX file of a gz-files dataset; images and labels of a split must agree in count."""
    notes: list[str] = []
    counts: dict[str, set[int]] = {}
    for entry in spec.required:
        present = next(folder / alt for alt in entry.split("|") if (folder / alt).exists())
        dims = check_idx_file(present)
        counts.setdefault(present.name.split("-")[0], set()).add(dims[0])  # "train" / "t10k"
        notes.append(f"{present.name}: gzip and IDX header ok ({'x'.join(map(str, dims))})")
    for split, ns in counts.items():
        if len(ns) > 1:
            raise UserError(f"{folder}: {split} images and labels disagree in count ({sorted(ns)}); "
                            f"pass --from a consistent copy")
    return notes


__all__ = ["file_digests", "verify_file", "check_idx_file", "check_idx_folder"]
