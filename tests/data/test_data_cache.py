"""The decode-once cache: reuse without decoding, invalidation, crash safety, location, mmap safety."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

import augstudy.data.decode as decode
from augstudy.data import load_dataset
from augstudy.data.cache import CACHE_FORMAT_VERSION
from augstudy.data.synthetic import synthetic_image, write_image

N_IMAGES = 32  # the tiny_imagenet_tree fixture: 4 classes x (6 train + 2 val)


@pytest.fixture()
def decode_calls(monkeypatch):
    """Count the images actually decoded from files."""
    calls = {"n": 0}
    real = decode.decode_one

    def counting(*args, **kwargs):
        calls["n"] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(decode, "decode_one", counting)
    return calls


def _load(root, **kw):
    return load_dataset(root, progress=False, **kw)


def test_second_load_uses_the_cache_without_decoding(tiny_imagenet_tree, decode_calls):
    first = _load(tiny_imagenet_tree)
    assert decode_calls["n"] == N_IMAGES
    assert first.cache_path == tiny_imagenet_tree / ".augstudy-cache" / "size64"
    manifest = json.loads((first.cache_path / "manifest.json").read_text())
    assert manifest["format_version"] == CACHE_FORMAT_VERSION and manifest["image_size"] == 64
    assert manifest["splits"] == {"train": 24, "val": 8} and len(manifest["fingerprint"]) == 64
    assert manifest["n_source_files"] == N_IMAGES + 3  # + wnids.txt, words.txt, val_annotations.txt

    second = _load(tiny_imagenet_tree)
    assert decode_calls["n"] == N_IMAGES  # nothing decoded again
    assert torch.equal(first.train_images, second.train_images)
    assert torch.equal(first.val_labels, second.val_labels)
    assert second.conversions == first.conversions and second.class_names == first.class_names
    assert second.grayscale_fraction == first.grayscale_fraction


def test_touch_add_remove_invalidate(tiny_imagenet_tree, decode_calls):
    _load(tiny_imagenet_tree)
    image = tiny_imagenet_tree / "train" / "n09000001" / "images" / "n09000001_0.JPEG"
    st = image.stat()
    os.utime(image, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    _load(tiny_imagenet_tree)
    assert decode_calls["n"] == 2 * N_IMAGES  # touched: rebuilt

    write_image(image.with_name("n09000001_extra.JPEG"), synthetic_image(1, 4, 50, 0))
    ds = _load(tiny_imagenet_tree)
    assert decode_calls["n"] == 3 * N_IMAGES + 1 and ds.train_images.shape[0] == 25

    image.unlink()
    ds = _load(tiny_imagenet_tree)
    assert ds.train_images.shape[0] == 24 and decode_calls["n"] == 4 * N_IMAGES + 1
    assert not list(ds.cache_path.parent.glob(".size64.*"))  # the replaced cache was cleaned up


def test_crash_mid_write_leaves_no_cache_and_next_load_works(tiny_imagenet_tree, monkeypatch):
    real = decode.decode_one
    calls = {"n": 0}

    def failing(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 10:
            raise RuntimeError("simulated crash while decoding")
        return real(*args, **kwargs)

    monkeypatch.setattr(decode, "decode_one", failing)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _load(tiny_imagenet_tree)
    cache_root = tiny_imagenet_tree / ".augstudy-cache"
    assert list(cache_root.iterdir()) == []  # neither a cache nor a temporary folder is left

    monkeypatch.setattr(decode, "decode_one", real)
    ds = _load(tiny_imagenet_tree)
    assert ds.train_images.shape == (24, 3, 64, 64) and (ds.cache_path / "manifest.json").is_file()


def test_crash_while_rebuilding_keeps_the_old_cache_intact(tiny_imagenet_tree, monkeypatch):
    ds = _load(tiny_imagenet_tree)
    before = (ds.cache_path / "train_images.npy").read_bytes()
    image = tiny_imagenet_tree / "val" / "images" / "val_0.JPEG"
    os.utime(image, ns=(image.stat().st_atime_ns, image.stat().st_mtime_ns + 10**9))

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(decode, "decode_one", boom)
    with pytest.raises(RuntimeError):
        _load(tiny_imagenet_tree)
    assert (ds.cache_path / "train_images.npy").read_bytes() == before
    assert sorted(p.name for p in ds.cache_path.parent.iterdir()) == ["size64"]


def test_kill_9_mid_write_is_recovered(tiny_imagenet_tree, decode_calls):
    """A writer killed with SIGKILL leaves only a hidden temporary folder; the next load removes it."""
    script = (
        "import os, signal, augstudy.data.decode as d\n"
        "from augstudy.data import load_dataset\n"
        "real = d.decode_one; n = [0]\n"
        "def dying(*a, **k):\n"
        "    n[0] += 1\n"
        "    if n[0] == 20: os.kill(os.getpid(), signal.SIGKILL)\n"
        "    return real(*a, **k)\n"
        "d.decode_one = dying\n"
        f"load_dataset({str(tiny_imagenet_tree)!r}, progress=False)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120,
                          env={**os.environ, "AUGSTUDY_DECODE_WORKERS": "1"})
    assert proc.returncode == -9
    cache_root = tiny_imagenet_tree / ".augstudy-cache"
    leftovers = [p.name for p in cache_root.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".size64.tmp-")  # never a half cache named size64

    ds = _load(tiny_imagenet_tree)
    assert decode_calls["n"] == N_IMAGES
    assert [p.name for p in cache_root.iterdir()] == ["size64"]
    assert ds.train_images.shape[0] == 24


def test_cached_tensors_are_writable_without_warning_and_never_change_the_cache(tiny_imagenet_tree):
    _load(tiny_imagenet_tree)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. torch's "non-writable NumPy array" UserWarning
        ds = _load(tiny_imagenet_tree)
    original = ds.train_images[0].clone()
    ds.train_images[0].fill_(7)  # copy-on-write mapping: only this process's copy changes
    assert int(ds.train_images[0].max()) == 7
    again = _load(tiny_imagenet_tree)
    assert torch.equal(again.train_images[0], original)
    on_disk = np.load(ds.cache_path / "train_images.npy")
    assert np.array_equal(on_disk[0], original.numpy())


def test_cache_location_overrides_and_read_only_fallback(tiny_imagenet_tree, tmp_path, monkeypatch):
    explicit = _load(tiny_imagenet_tree, cache_dir=tmp_path / "mine")
    assert explicit.cache_path.parent.parent == tmp_path / "mine"
    assert explicit.cache_path.parent.name.startswith("tiny-")

    monkeypatch.setenv("AUGSTUDY_CACHE_DIR", str(tmp_path / "env"))
    assert _load(tiny_imagenet_tree).cache_path.parent.parent == tmp_path / "env"
    monkeypatch.delenv("AUGSTUDY_CACHE_DIR")

    # a root we may not write to (simulated: tests may run as root, which ignores permissions)
    import augstudy.data.cache as cache

    real_writable = cache._writable
    monkeypatch.setattr(cache, "_writable", lambda p: False if str(p).startswith(str(tiny_imagenet_tree))
                        else real_writable(p))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    ds = _load(tiny_imagenet_tree)
    assert ds.cache_path.is_relative_to(tmp_path / "xdg" / "augstudy")
    assert not (tiny_imagenet_tree / ".augstudy-cache").exists()


def test_sizes_cache_side_by_side_and_corrupt_manifest_rebuilds(tiny_imagenet_tree, decode_calls):
    a = _load(tiny_imagenet_tree, image_size=64)
    b = _load(tiny_imagenet_tree, image_size=32)
    assert a.cache_path.name == "size64" and b.cache_path.name == "size32"
    assert decode_calls["n"] == 2 * N_IMAGES
    (a.cache_path / "manifest.json").write_text("{not json")
    ds = _load(tiny_imagenet_tree)
    assert decode_calls["n"] == 3 * N_IMAGES and ds.train_images.shape == (24, 3, 64, 64)
