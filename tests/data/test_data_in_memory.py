"""In-memory datasets (``dataset_from_tensors``, ``dataset_from_torchvision``): the same images give
the same tensors, labels and conversions as the loader reading them from disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from augstudy.data import ImageDataset, dataset_from_tensors, dataset_from_torchvision, load_dataset
from augstudy.data.sources.idx import read_idx
from augstudy.data.synthetic import make_idx_dataset, make_image_folder_tree, synthetic_image, write_image
from augstudy.errors import UserError


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("AUGSTUDY_NO_PROGRESS", "1")


def _load(root: Path, tmp_path: Path) -> ImageDataset:
    return load_dataset(root, cache_dir=tmp_path / "cache", progress=False)


def _read_folder(root: Path, split: str, mode: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The files of ``root/split/<class>/`` in the loader's order, as arrays of their stored pixels."""
    classes = sorted(p.name for p in (root / "train").iterdir())
    images, labels = [], []
    for label, name in enumerate(classes):
        for path in sorted((root / split / name).iterdir()):
            with Image.open(path) as img:
                images.append(np.asarray(img.convert(mode) if mode else img))
            labels.append(label)
    return np.stack(images), np.array(labels), classes


def _assert_same(a: ImageDataset, b: ImageDataset) -> None:
    for field in ("train_images", "train_labels", "val_images", "val_labels"):
        assert torch.equal(getattr(a, field), getattr(b, field)), field
    assert a.class_names == b.class_names
    assert a.conversions == b.conversions
    assert a.grayscale_fraction == b.grayscale_fraction


def test_rgb_tensors_equal_the_image_folder_on_disk(tmp_path):
    root = make_image_folder_tree(tmp_path / "folder", n_classes=3, train_per_class=4, val_per_class=2)
    disk = _load(root, tmp_path)
    train_x, train_y, classes = _read_folder(root, "train")
    val_x, val_y, _ = _read_folder(root, "val")
    memory = dataset_from_tensors(torch.from_numpy(train_x).permute(0, 3, 1, 2), torch.from_numpy(train_y), classes,
                                  val_images=val_x.transpose(0, 3, 1, 2), val_labels=val_y)
    _assert_same(memory, disk)
    assert memory.source_kind == "in-memory" and memory.cache_path is None
    assert load_dataset(memory) is memory   # accepted wherever a path is


def test_grayscale_tensors_are_replicated_like_the_loader(tmp_path):
    root = tmp_path / "gray"
    for split, n, offset in (("train", 3, 0), ("val", 2, 100)):
        for c in range(2):
            for i in range(n):
                write_image(root / split / f"c{c}" / f"{i}.png", synthetic_image(c, 2, offset + i, 0), mode="L")
    disk = _load(root, tmp_path)
    train_x, train_y, classes = _read_folder(root, "train")
    val_x, val_y, _ = _read_folder(root, "val")
    assert train_x.ndim == 3   # [N, H, W]: single-channel at source
    memory = dataset_from_tensors(train_x, train_y, classes, val_images=val_x[:, None], val_labels=val_y)
    _assert_same(memory, disk)
    assert memory.grayscale_fraction == 1.0
    assert memory.conversions == ["replicated 1 channel to 3 (grayscale): 10 images"]


def test_idx_arrays_equal_the_idx_loader_including_the_resize(tmp_path):
    root = make_idx_dataset(tmp_path / "idx", n_train=12, n_val=6, n_classes=10, size=28, gz=False)
    disk = _load(root, tmp_path)
    memory = dataset_from_tensors(read_idx(root / "train-images-idx3-ubyte"), read_idx(root / "train-labels-idx1-ubyte"),
                                  disk.class_names, val_images=read_idx(root / "t10k-images-idx3-ubyte"),
                                  val_labels=read_idx(root / "t10k-labels-idx1-ubyte"))
    _assert_same(memory, disk)
    assert "resized with antialiasing from 28x28 to 64x64: 18 images" in memory.conversions


def test_torchvision_image_folder_equals_the_loader_with_resize(tmp_path):
    from torchvision.datasets import ImageFolder

    root = make_image_folder_tree(tmp_path / "folder48", n_classes=2, train_per_class=3, val_per_class=2, size=48)
    disk = _load(root, tmp_path)
    memory = dataset_from_torchvision(ImageFolder(str(root / "train")), ImageFolder(str(root / "val")), progress=False)
    _assert_same(memory, disk)
    assert memory.class_names == ["class0", "class1"] and memory.name == "ImageFolder"
    assert "resized with antialiasing from 48x48 to 64x64: 10 images" in memory.conversions


class _TensorDataset:
    """A torchvision-style dataset of float [1, H, W] tensors and 0-d tensor targets, no ``classes``."""

    def __init__(self, n: int):
        gen = torch.Generator().manual_seed(1)
        self.images = torch.rand(n, 1, 64, 64, generator=gen)
        self.targets = torch.arange(n) % 3

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, i):
        return self.images[i], self.targets[i]


def test_torchvision_tensors_held_out_split_is_seeded():
    a = dataset_from_torchvision(_TensorDataset(20), val_fraction=0.25, seed=3, progress=False)
    b = dataset_from_torchvision(_TensorDataset(20), val_fraction=0.25, seed=3, progress=False)
    c = dataset_from_torchvision(_TensorDataset(20), val_fraction=0.25, seed=4, progress=False)
    assert a.train_images.shape == (15, 3, 64, 64) and a.val_images.shape == (5, 3, 64, 64)
    assert torch.equal(a.val_images, b.val_images) and not torch.equal(a.val_images, c.val_images)
    assert a.class_names == ["0", "1", "2"] and a.grayscale_fraction == 1.0
    expected = (_TensorDataset(20).images[:1] * 255).round().to(torch.uint8).expand(-1, 3, -1, -1)
    all_images = torch.cat([a.train_images, a.val_images])
    assert any(torch.equal(img, expected[0]) for img in all_images)


def test_bad_inputs_are_one_sentence_errors():
    images = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(UserError, match="images: expected uint8"):
        dataset_from_tensors(images.float(), [0, 1, 0, 1], ["a", "b"])
    with pytest.raises(UserError, match=r"labels: 1 label\(s\) outside 0..1 \(e.g. 7\)"):
        dataset_from_tensors(images, [0, 1, 7, 1], ["a", "b"])
    with pytest.raises(UserError, match=r"images: expected shape \[N, 3, H, W\]"):
        dataset_from_tensors(torch.zeros(4, 8, 8, 3, dtype=torch.uint8), [0, 1, 0, 1], ["a", "b"])
    with pytest.raises(UserError, match="val_images and val_labels: pass both"):
        dataset_from_tensors(images, [0, 1, 0, 1], ["a", "b"], val_images=images)


def test_preview_draws_from_an_in_memory_dataset(tmp_path):
    from augstudy import preview

    gen = torch.Generator().manual_seed(0)
    ds = dataset_from_tensors(torch.randint(0, 256, (12, 3, 64, 64), generator=gen, dtype=torch.uint8),
                              torch.arange(12) % 3, ["a", "b", "c"], val_fraction=0.5)
    built = preview.build_grid("light", ds, n=3, draws=1)
    assert built.shape == (3, 2) and built.record["data_path"] is None
    assert built.record["dataset"] == "in-memory"
