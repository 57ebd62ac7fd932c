"""Parallel decoding: threads and worker processes give identical pixels and conversion counts;
an undecodable file is a one-line UserError naming it."""

from __future__ import annotations

import numpy as np
import pytest

from augstudy.data import load_dataset
from augstudy.data.convert import ConversionLog
from augstudy.data.decode import decode_files
from augstudy.errors import UserError


def _paths(tree):
    return sorted(str(p) for p in (tree / "train").glob("*/images/*.JPEG"))


@pytest.mark.parametrize("workers", [1, 2])
def test_processes_and_threads_decode_identically(tiny_imagenet_tree, tmp_path, workers):
    paths = _paths(tiny_imagenet_tree)
    results = {}
    for processes in (False, True):
        out = np.lib.format.open_memmap(tmp_path / f"{processes}.npy", mode="w+", dtype=np.uint8,
                                        shape=(len(paths), 3, 64, 64))
        log = ConversionLog()
        decode_files(paths, out, 64, log, show_progress=False, workers=workers, processes=processes)
        out.flush()
        results[processes] = (np.load(tmp_path / f"{processes}.npy"), log.lines(), log.grayscale, log.total)
    threads, procs = results[False], results[True]
    assert np.array_equal(threads[0], procs[0]) and threads[0].any()
    assert threads[1:] == procs[1:] == (["replicated 1 channel to 3 (grayscale): 4 images"], 4, 24)


def test_processes_need_a_file_backed_output(tiny_imagenet_tree):
    paths = _paths(tiny_imagenet_tree)
    with pytest.raises(ValueError, match="file-backed"):
        decode_files(paths, np.zeros((len(paths), 3, 64, 64), np.uint8), 64, ConversionLog(), False,
                     processes=True)


@pytest.mark.parametrize("processes", [False, True])
def test_undecodable_file_names_the_file(tiny_imagenet_tree, tmp_path, processes):
    bad = tiny_imagenet_tree / "train" / "n09000002" / "images" / "n09000002_3.JPEG"
    bad.write_bytes(b"this is not a jpeg")
    paths = _paths(tiny_imagenet_tree)
    out = np.lib.format.open_memmap(tmp_path / "o.npy", mode="w+", dtype=np.uint8, shape=(len(paths), 3, 64, 64))
    with pytest.raises(UserError, match=r"n09000002_3.JPEG: cannot decode image .*delete or replace the file"):
        decode_files(paths, out, 64, ConversionLog(), False, workers=2, processes=processes)
    with pytest.raises(UserError, match="n09000002_3.JPEG: cannot decode image"):
        load_dataset(tiny_imagenet_tree, progress=False)
    assert not (tiny_imagenet_tree / ".augstudy-cache" / "size64").exists()
