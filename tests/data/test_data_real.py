"""The real Fashion-MNIST from Debian's dataset-fashion-mnist package (/usr/share/datasets/fashion-mnist).

Skipped when the files are absent, unless ``AUGSTUDY_REQUIRE_REAL_DATA=1`` (then it fails).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REAL = Path("/usr/share/datasets/fashion-mnist")


def test_real_fashion_mnist(tmp_path):
    if not (REAL / "train-images-idx3-ubyte.gz").is_file():
        if os.environ.get("AUGSTUDY_REQUIRE_REAL_DATA") == "1":
            pytest.fail(f"{REAL}: Fashion-MNIST IDX files missing but AUGSTUDY_REQUIRE_REAL_DATA=1; "
                        f"install Debian's dataset-fashion-mnist")
        pytest.skip(f"{REAL} not installed (set AUGSTUDY_REQUIRE_REAL_DATA=1 to make this a failure)")
    from augstudy.data import load_dataset

    ds = load_dataset(REAL, cache_dir=tmp_path, progress=False)
    assert tuple(ds.train_images.shape) == (60000, 3, 64, 64) and ds.train_images.dtype == torch.uint8
    assert tuple(ds.val_images.shape) == (10000, 3, 64, 64)
    assert ds.class_counts("train") == [6000] * 10 and ds.class_counts("val") == [1000] * 10
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.conversions == ["replicated 1 channel to 3 (grayscale): 70000 images",
                              "resized with antialiasing from 28x28 to 64x64: 70000 images"]
    assert 40 < ds.train_images[:1000].float().mean() < 120  # real clothing pixels, not zeros
