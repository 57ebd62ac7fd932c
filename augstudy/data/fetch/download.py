"""Resumable HTTP download of one file into ``<file>.part``.

Hand-written on purpose: urllib (standard library) streams the body, but neither it nor the
installed dependencies resume a partial file with an HTTP ``Range`` request, restart cleanly when a
server ignores ``Range``, and keep the ``.part`` for the next run when retries run out.
"""

from __future__ import annotations

import http.client
import os
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from augstudy import __version__
from augstudy.errors import UserError
from augstudy.progress import progress as progress_bar

#: bytes read per network/disk chunk
CHUNK_BYTES = 1 << 20
#: seconds a socket may stay silent before the attempt counts as interrupted
DEFAULT_TIMEOUT_S = 60.0


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
            bar = progress_bar(total=total, desc=part.name.removesuffix(".part"), unit="B", initial=have,
                               disable=None if progress else True)
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


__all__ = ["download_file", "CHUNK_BYTES", "DEFAULT_TIMEOUT_S"]
