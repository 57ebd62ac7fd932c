"""``augstudy data fetch`` against a real HTTP server on 127.0.0.1 (Range support, drop-after-N).

The official table is re-pointed at the local server with ``monkeypatch.setitem``; the real
addresses stay in ``augstudy/data/fetch.py``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import struct
import subprocess
import sys
import threading
import zipfile
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from augstudy.cli import cli
from augstudy.data.fetch import download as fetch_download
from augstudy.data.fetch import DATASETS, RemoteFile, fetch_dataset
from augstudy.errors import UserError

AUGSTUDY = Path(sys.executable).with_name("augstudy")


# ----------------------------------------------------------------------------------------------
# a tiny HTTP server: serves bytes, honours "Range: bytes=N-", can drop or ignore Range on demand

class _Server:
    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.requests: list[tuple[str, dict]] = []
        self.drop_after: dict[str, list[int]] = {}  # path -> byte counts at which to cut successive requests
        self.ignore_range = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append((self.path, dict(self.headers)))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                rng = self.headers.get("Range")
                if rng and not server.ignore_range:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                        self.send_header("Content-Length", "0")
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                payload = body[start:]
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                cuts = server.drop_after.get(self.path)
                if cuts:
                    self.wfile.write(payload[:cuts.pop(0)])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def server():
    srv = _Server()
    yield srv
    srv.close()


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("AUGSTUDY_NO_PROGRESS", "1")
    monkeypatch.setattr(fetch_download.time, "sleep", lambda s: None)  # no back-off waits in tests


# ----------------------------------------------------------------------------------------------
# generated archives

def tiny_imagenet_zip(n_classes: int = 2, with_top_folder: bool = True) -> bytes:
    """A Tiny-ImageNet-layout zip (text placeholders stand in for JPEGs: fetch never decodes)."""
    top = "tiny-imagenet-200/" if with_top_folder else ""
    wnids = [f"n{i:08d}" for i in range(n_classes)]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(top + "wnids.txt", "\n".join(wnids) + "\n")
        for w in wnids:
            for k in range(3):
                zf.writestr(f"{top}train/{w}/images/{w}_{k}.JPEG", os.urandom(2000))
        zf.writestr(top + "val/val_annotations.txt", "".join(f"val_{i}.JPEG\t{w}\t0\t0\t63\t63\n"
                                                          for i, w in enumerate(wnids)))
        for i in range(n_classes):
            zf.writestr(f"{top}val/images/val_{i}.JPEG", os.urandom(1500))
    return buf.getvalue()


def idx_gz(kind: str, n: int) -> bytes:
    """A gzipped IDX file: ``kind`` "images" (n x 28 x 28) or "labels" (n)."""
    if kind == "images":
        raw = struct.pack(">4B3I", 0, 0, 8, 3, n, 28, 28) + bytes((i * 7) % 256 for i in range(n * 784))
    else:
        raw = struct.pack(">4B1I", 0, 0, 8, 1, n) + bytes(i % 10 for i in range(n))
    return gzip.compress(raw)


FASHION = {"train-images-idx3-ubyte.gz": ("images", 12), "train-labels-idx1-ubyte.gz": ("labels", 12),
           "t10k-images-idx3-ubyte.gz": ("images", 4), "t10k-labels-idx1-ubyte.gz": ("labels", 4)}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def serve_tiny(server, monkeypatch, payload: bytes, *, sha256: str | None = None, md5: str | None = None,
               size: int | None = None) -> None:
    server.files["/tiny-imagenet-200.zip"] = payload
    spec = DATASETS["tiny-imagenet"]
    remote = RemoteFile("tiny-imagenet-200.zip", server.url + "/tiny-imagenet-200.zip", size=size,
                        sha256=sha256, md5=md5)
    monkeypatch.setitem(DATASETS, "tiny-imagenet", replace(spec, files=(remote,)))


def serve_fashion(server, monkeypatch, tmp_path, *, corrupt: str | None = None) -> dict[str, bytes]:
    blobs = {name: idx_gz(kind, n) for name, (kind, n) in FASHION.items()}
    remotes = []
    for name, blob in blobs.items():
        server.files["/fm/" + name] = blob
        md5 = hashlib.md5(b"other" if name == corrupt else blob).hexdigest()
        remotes.append(RemoteFile(name, f"{server.url}/fm/{name}", size=len(blob), md5=md5))
    spec = DATASETS["fashion-mnist"]
    monkeypatch.setitem(DATASETS, "fashion-mnist", replace(spec, files=tuple(remotes),
                                                          local_default=str(tmp_path / "no-debian-copy")))
    return blobs


def leftovers(root: Path) -> list[str]:
    """Hidden staging folders and anything else under root except .downloads."""
    return sorted(p.name for p in root.iterdir() if p.name != ".downloads") if root.exists() else []


# ----------------------------------------------------------------------------------------------
# tests

def test_real_addresses_stay_in_code():
    assert DATASETS["tiny-imagenet"].files[0].url == "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
    cifar = DATASETS["cifar10"].files[0]
    assert cifar.size == 170_498_071
    assert cifar.sha256 == "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
    assert [f.md5 for f in DATASETS["fashion-mnist"].files] == [
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"]


def test_good_fetch_sha256(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip()
    serve_tiny(server, monkeypatch, payload, sha256=sha(payload), size=len(payload))
    result = fetch_dataset("tiny-imagenet", tmp_path / "data")
    target = tmp_path / "data" / "tiny-imagenet-200"
    assert result.status == "fetched" and result.path == target
    assert (target / "wnids.txt").read_text().split() == ["n00000000", "n00000001"]
    assert len(list((target / "train").rglob("*.JPEG"))) == 6
    assert "sha256 verified" in result.checks[0]
    assert leftovers(tmp_path / "data") == ["tiny-imagenet-200"]  # no staging folder
    assert not (tmp_path / "data" / ".downloads").exists()  # the archive is gone once extracted
    assert "Range" not in server.requests[0][1]


def test_interrupted_download_resumes_with_range(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip(n_classes=4)
    serve_tiny(server, monkeypatch, payload, sha256=sha(payload), size=len(payload))
    server.drop_after["/tiny-imagenet-200.zip"] = [5000]
    result = fetch_dataset("tiny-imagenet", tmp_path / "data", retries=2)
    assert result.status == "fetched"
    assert len(server.requests) == 2
    assert "Range" not in server.requests[0][1]
    assert server.requests[1][1]["Range"] == "bytes=5000-"
    assert len(list((result.path / "val" / "images").iterdir())) == 4


def test_interrupted_without_retries_keeps_part_and_next_run_resumes(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip(n_classes=3)
    serve_tiny(server, monkeypatch, payload, md5=hashlib.md5(payload).hexdigest(), size=len(payload))
    server.drop_after["/tiny-imagenet-200.zip"] = [7000]
    root = tmp_path / "data"
    with pytest.raises(UserError, match=r"interrupted after 7000 bytes.*rerun the same command to resume"):
        fetch_dataset("tiny-imagenet", root, retries=0)
    part = root / ".downloads" / "tiny-imagenet-200.zip.part"
    assert part.stat().st_size == 7000
    assert leftovers(root) == []  # no half dataset, no staging folder
    result = fetch_dataset("tiny-imagenet", root, retries=0)
    assert server.requests[-1][1]["Range"] == "bytes=7000-"
    assert "md5 verified (published; no sha256 is published)" in result.checks[0]
    assert (result.path / "wnids.txt").exists() and not part.exists()


def test_server_ignoring_range_restarts_cleanly(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip()
    serve_tiny(server, monkeypatch, payload, sha256=sha(payload), size=len(payload))
    part = tmp_path / "data" / ".downloads" / "tiny-imagenet-200.zip.part"
    part.parent.mkdir(parents=True)
    part.write_bytes(b"garbage that is not a prefix")
    server.ignore_range = True
    result = fetch_dataset("tiny-imagenet", tmp_path / "data")
    assert server.requests[0][1]["Range"] == f"bytes={len(b'garbage that is not a prefix')}-"
    assert result.status == "fetched" and (result.path / "wnids.txt").exists()


def test_wrong_checksum_fails_and_leaves_nothing(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip()
    serve_tiny(server, monkeypatch, payload, sha256="0" * 64)
    root = tmp_path / "data"
    result = CliRunner().invoke(cli, ["data", "fetch", "tiny-imagenet", "--root", str(root)])
    assert result.exit_code != 0
    message = result.output.strip().splitlines()[-1]
    assert message.startswith("error: downloaded file")
    assert f"has sha256 {sha(payload)}, expected {'0' * 64}" in message
    assert "the download was removed" in message and "--sha256" in message
    assert leftovers(root) == []
    assert not any((root / ".downloads").iterdir())


def test_sha256_option_overrides_recorded_checksum(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip()
    serve_tiny(server, monkeypatch, payload, sha256="1" * 64)
    result = fetch_dataset("tiny-imagenet", tmp_path / "data", sha256=sha(payload).upper())
    assert "sha256 verified (given with --sha256)" in result.checks[0]


def test_mirror_url_via_from(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip()
    serve_tiny(server, monkeypatch, payload, sha256=sha(payload))
    server.files["/mirror/tiny.zip"] = payload
    result = fetch_dataset("tiny-imagenet", tmp_path / "data", source=server.url + "/mirror/tiny.zip")
    assert server.requests[0][0] == "/mirror/tiny.zip"
    assert result.status == "fetched" and "sha256 verified" in result.checks[0]


def test_fashion_mnist_gz_files_download(server, monkeypatch, tmp_path):
    blobs = serve_fashion(server, monkeypatch, tmp_path)
    result = fetch_dataset("fashion-mnist", tmp_path / "data")
    target = tmp_path / "data" / "fashion-mnist"
    assert sorted(p.name for p in target.iterdir()) == sorted(blobs)
    for name, blob in blobs.items():
        assert (target / name).read_bytes() == blob
    assert any("12x28x28" in line for line in result.checks)


def test_fashion_mnist_one_bad_file_leaves_no_dataset(server, monkeypatch, tmp_path):
    serve_fashion(server, monkeypatch, tmp_path, corrupt="t10k-images-idx3-ubyte.gz")
    root = tmp_path / "data"
    with pytest.raises(UserError, match="t10k-images-idx3-ubyte.gz.*has md5 .*the download was removed"):
        fetch_dataset("fashion-mnist", root)
    assert leftovers(root) == []


def test_unreachable_url_names_it_and_suggests_from(tmp_path, monkeypatch):
    spec = DATASETS["tiny-imagenet"]
    dead = "http://127.0.0.1:9/tiny-imagenet-200.zip"  # port 9 (discard): nothing listens
    monkeypatch.setitem(DATASETS, "tiny-imagenet", replace(spec, files=(replace(spec.files[0], url=dead),)))
    with pytest.raises(UserError, match=r"cannot reach http://127.0.0.1:9/tiny-imagenet-200.zip .*--from"):
        fetch_dataset("tiny-imagenet", tmp_path / "data", retries=0)
    assert leftovers(tmp_path / "data") == []


def test_http_404_is_one_clear_error(server, monkeypatch, tmp_path):
    serve_tiny(server, monkeypatch, b"x")
    del server.files["/tiny-imagenet-200.zip"]
    with pytest.raises(UserError, match=r"cannot download .*tiny-imagenet-200.zip: HTTP 404.*--from"):
        fetch_dataset("tiny-imagenet", tmp_path / "data")


def test_from_local_archive_and_checksum_of_official_name(tmp_path, monkeypatch):
    payload = tiny_imagenet_zip(with_top_folder=False)  # files at the archive's top level also work
    archive = tmp_path / "mine.zip"
    archive.write_bytes(payload)
    result = fetch_dataset("tiny-imagenet", tmp_path / "data", source=archive)
    assert (result.path / "val" / "val_annotations.txt").exists()
    assert "not verified" in result.checks[0]
    assert archive.exists()  # the user's file is never moved or deleted
    # an archive with the official file name is held to the official checksum, and is kept on mismatch
    official = tmp_path / "tiny-imagenet-200.zip"
    official.write_bytes(payload)
    with pytest.raises(UserError, match="file .*tiny-imagenet-200.zip has md5 .*left as it is"):
        fetch_dataset("tiny-imagenet", tmp_path / "other", source=official)
    assert official.exists() and leftovers(tmp_path / "other") == []


def test_from_local_folder_copies_and_checks_idx(tmp_path, monkeypatch):
    src = tmp_path / "fm-src"
    src.mkdir()
    for name, (kind, n) in FASHION.items():
        (src / name).write_bytes(idx_gz(kind, n))
    result = CliRunner().invoke(cli, ["data", "fetch", "fashion-mnist", "--root", str(tmp_path / "data"),
                                      "--from", str(src)])
    assert result.exit_code == 0, result.output
    target = tmp_path / "data" / "fashion-mnist"
    assert f"into {target}" in result.output
    assert (target / "train-images-idx3-ubyte.gz").read_bytes() == (src / "train-images-idx3-ubyte.gz").read_bytes()
    # a folder whose images and labels disagree is refused, nothing created
    (src / "t10k-labels-idx1-ubyte.gz").write_bytes(idx_gz("labels", 5))
    with pytest.raises(UserError, match="disagree in count"):
        fetch_dataset("fashion-mnist", tmp_path / "data2", source=src)
    assert leftovers(tmp_path / "data2") == []


def test_debian_copy_is_used_by_default_for_fashion_mnist(tmp_path, monkeypatch):
    src = tmp_path / "usr-share"
    src.mkdir()
    for name, (kind, n) in FASHION.items():
        (src / name).write_bytes(idx_gz(kind, n))
    spec = DATASETS["fashion-mnist"]
    monkeypatch.setitem(DATASETS, "fashion-mnist", replace(spec, local_default=str(src)))
    result = fetch_dataset("fashion-mnist", tmp_path / "data")
    assert result.source == str(src) and (result.path / "t10k-labels-idx1-ubyte.gz").exists()


def test_existing_complete_dataset_is_untouched(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip()
    serve_tiny(server, monkeypatch, payload, sha256=sha(payload))
    root = tmp_path / "data"
    fetch_dataset("tiny-imagenet", root)
    wnids = root / "tiny-imagenet-200" / "wnids.txt"
    wnids.write_text("n00000000\nn00000001\n# edited by the user\n")
    before = wnids.stat().st_mtime_ns
    n_requests = len(server.requests)
    result = CliRunner().invoke(cli, ["data", "fetch", "tiny-imagenet", "--root", str(root)])
    assert result.exit_code == 0
    assert "already at" in result.output
    assert len(server.requests) == n_requests  # nothing downloaded
    assert wnids.stat().st_mtime_ns == before and "edited by the user" in wnids.read_text()


def test_existing_incomplete_dataset_is_an_error_and_untouched(tmp_path):
    target = tmp_path / "data" / "tiny-imagenet-200"
    (target / "train").mkdir(parents=True)
    with pytest.raises(UserError, match=r"exists but is incomplete \(missing wnids.txt.*left untouched"):
        fetch_dataset("tiny-imagenet", tmp_path / "data")
    assert [p.name for p in target.iterdir()] == ["train"]


def test_unknown_name_lists_valid_ones_cli_and_console_script(tmp_path):
    result = CliRunner().invoke(cli, ["data", "fetch", "imagenet-1k"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: unknown dataset 'imagenet-1k'; choose one of: cifar10, "
                                      "fashion-mnist, tiny-imagenet")
    proc = subprocess.run([str(AUGSTUDY), "data", "fetch", "imagenet-1k", "--root", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: unknown dataset") and "Traceback" not in proc.stderr


def test_bad_sha256_option(tmp_path):
    result = CliRunner().invoke(cli, ["data", "fetch", "cifar10", "--root", str(tmp_path), "--sha256", "xyz"])
    assert result.exit_code == 2 and "--sha256: expected 64 hex digits" in result.output


def test_killed_extraction_leftover_is_cleaned_next_time(server, monkeypatch, tmp_path):
    payload = tiny_imagenet_zip()
    serve_tiny(server, monkeypatch, payload, sha256=sha(payload))
    root = tmp_path / "data"
    stale = root / ".tiny-imagenet-200.abc123.staging"
    (stale / "tiny-imagenet-200").mkdir(parents=True)  # what a kill -9 during extraction leaves
    fetch_dataset("tiny-imagenet", root)
    assert leftovers(root) == ["tiny-imagenet-200"]


def test_cifar_tar_gz_download_with_recorded_md5_only(server, monkeypatch, tmp_path):
    import tarfile

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name in DATASETS["cifar10"].required:
            blob = os.urandom(300)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tf.addfile(info, io.BytesIO(blob))
    payload = buf.getvalue()
    server.files["/cifar-10-python.tar.gz"] = payload
    spec = DATASETS["cifar10"]
    remote = replace(spec.files[0], url=server.url + "/cifar-10-python.tar.gz", size=len(payload), sha256=None,
                     md5=hashlib.md5(payload).hexdigest())
    monkeypatch.setitem(DATASETS, "cifar10", replace(spec, files=(remote,)))
    result = fetch_dataset("cifar10", tmp_path / "data")
    assert result.path == tmp_path / "data" / "cifar-10-batches-py"
    assert sorted(p.name for p in result.path.iterdir()) == sorted(spec.required)
    assert "md5 verified" in result.checks[0]
