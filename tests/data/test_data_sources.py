"""Each dataset source on small generated inputs: shapes, labels, class names, pixels, conversions."""

from __future__ import annotations

import os
import numpy as np
import pytest
import torch
from PIL import Image

from augstudy.data import load_dataset
from augstudy.data.convert import resize_batch
from augstudy.data.sources.idx import FASHION_MNIST_CLASSES
from augstudy.data.synthetic import (make_idx_dataset, make_image_folder_tree, synthetic_image, write_cifar_pickles,
                                     write_idx, write_image)
from augstudy.errors import UserError


def _load(path, tmp_path, **kw):
    return load_dataset(path, cache_dir=tmp_path / "cache", progress=False, **kw)


def _check_form(ds, n_train, n_val, n_classes, size=64):
    assert ds.train_images.dtype == torch.uint8 and ds.val_images.dtype == torch.uint8
    assert tuple(ds.train_images.shape) == (n_train, 3, size, size)
    assert tuple(ds.val_images.shape) == (n_val, 3, size, size)
    assert ds.train_labels.dtype == torch.int64 and ds.val_labels.dtype == torch.int64
    assert tuple(ds.train_labels.shape) == (n_train,) and tuple(ds.val_labels.shape) == (n_val,)
    assert ds.num_classes == n_classes
    assert int(ds.train_labels.min()) >= 0 and int(ds.train_labels.max()) < n_classes


def test_tiny_imagenet_layout(tiny_imagenet_tree, tmp_path):
    ds = _load(tiny_imagenet_tree, tmp_path)
    _check_form(ds, 24, 8, 4)
    assert ds.source_kind == "tiny-imagenet" and ds.name == "tiny"
    assert ds.class_names == ["class0", "class1", "class2", "class3"]  # first name of words.txt
    assert ds.train_labels.tolist() == [c for c in range(4) for _ in range(6)]
    assert ds.val_labels.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    # one grayscale JPEG per class (every 6th image): 4 replicated, counted and in the fraction
    assert ds.conversions == ["replicated 1 channel to 3 (grayscale): 4 images"]
    assert ds.grayscale_fraction == pytest.approx(4 / 32)
    gray = ds.train_images[5]
    assert torch.equal(gray[0], gray[1]) and torch.equal(gray[1], gray[2])
    # pixels match the generator up to JPEG loss (noisy synthetic images lose ~8 levels on average)
    expected = torch.from_numpy(synthetic_image(2, 4, 1, seed=0)).permute(2, 0, 1).float()
    other = torch.from_numpy(synthetic_image(1, 4, 1, seed=0)).permute(2, 0, 1).float()
    err = (ds.train_images[13].float() - expected).abs().mean()
    assert err < 12 and err < 0.5 * (ds.train_images[13].float() - other).abs().mean()


def test_tiny_imagenet_val_annotation_naming_unknown_wnid(tiny_imagenet_tree, tmp_path):
    ann = tiny_imagenet_tree / "val" / "val_annotations.txt"
    ann.write_text(ann.read_text().replace("n09000003", "n01234567"))
    with pytest.raises(UserError, match=r"val_annotations.txt: line 7: wnid n01234567 is not in wnids.txt"):
        _load(tiny_imagenet_tree, tmp_path)


def test_image_folders_with_odd_modes_and_sizes(tmp_path):
    root = make_image_folder_tree(tmp_path / "folders", n_classes=3, train_per_class=2, val_per_class=1)
    img = synthetic_image(1, 3, 99, seed=0, size=64)
    write_image(root / "train" / "class1" / "cmyk.jpg", img, mode="CMYK", quality=95)
    write_image(root / "train" / "class1" / "palette.png", img, mode="P")
    write_image(root / "train" / "class2" / "big.JPEG", synthetic_image(2, 3, 7, seed=0, size=96))
    wide = np.concatenate([synthetic_image(0, 3, 5, 0, 64)] * 2, axis=1)[:48]  # 48 high x 128 wide
    write_image(root / "val" / "class0" / "wide.png", wide)
    ds = _load(root, tmp_path)
    _check_form(ds, 9, 4, 3)
    assert ds.source_kind == "image-folder" and ds.class_names == ["class0", "class1", "class2"]
    assert sorted(ds.conversions) == sorted([
        "converted CMYK to RGB: 1 image",
        "converted palette (P) to RGB: 1 image",
        "resized with antialiasing from 96x96 to 64x64: 1 image",
        "center-cropped 128x48 to a square 48x48: 1 image",
        "resized with antialiasing from 48x48 to 64x64: 1 image",
    ])
    # files sorted by name inside each class: class1 = 0000.png, 0001.png, cmyk.jpg, palette.png
    assert ds.train_labels.tolist() == [0, 0, 1, 1, 1, 1, 2, 2, 2]
    cmyk = ds.train_images[4].permute(1, 2, 0).float()
    assert (cmyk - torch.from_numpy(img).float()).abs().mean() < 8  # CMYK round trip is close to RGB


def test_image_folders_val_class_missing_from_train(tmp_path):
    root = make_image_folder_tree(tmp_path / "f", n_classes=2, train_per_class=1, val_per_class=1)
    write_image(root / "val" / "zebra" / "0.png", synthetic_image(0, 2, 0, 0))
    with pytest.raises(UserError, match=r"zebra: class 'zebra' has no train/zebra/ folder"):
        _load(root, tmp_path)


@pytest.mark.parametrize("gz", [True, False])
def test_idx_files_gz_and_raw(tmp_path, gz):
    root = make_idx_dataset(tmp_path / "mnist", n_train=12, n_val=6, gz=gz)
    ds = _load(root, tmp_path)
    _check_form(ds, 12, 6, 10)
    assert ds.source_kind == "idx"
    assert ds.class_names == [str(d) for d in range(10)]  # no "fashion" in the path, no classes.txt
    assert ds.conversions == ["replicated 1 channel to 3 (grayscale): 18 images",
                              "resized with antialiasing from 28x28 to 64x64: 18 images"]
    assert ds.grayscale_fraction == 1.0
    assert torch.equal(ds.train_images[:, 0], ds.train_images[:, 2])


def test_idx_resize_matches_pil_antialiased_bilinear(tmp_path):
    """The batched torch resize reproduces PIL's bilinear filter (within rounding)."""
    raw = np.stack([synthetic_image(c, 10, 0, 0, 28)[..., 0] for c in range(4)])
    ours = resize_batch(raw[:, None], 64)[:, 0].astype(int)
    pil = np.stack([np.asarray(Image.fromarray(a).resize((64, 64), Image.Resampling.BILINEAR)) for a in raw])
    assert np.abs(ours - pil.astype(int)).max() <= 2
    down = resize_batch(np.stack([synthetic_image(1, 3, 0, 0, 128).transpose(2, 0, 1)]), 64)[0]
    pil_down = np.asarray(Image.fromarray(synthetic_image(1, 3, 0, 0, 128)).resize((64, 64), Image.Resampling.BILINEAR))
    assert np.abs(down.transpose(1, 2, 0).astype(int) - pil_down.astype(int)).max() <= 2  # antialiased


def test_idx_fashion_names_from_path_and_classes_txt(tmp_path):
    fashion = make_idx_dataset(tmp_path / "Fashion-MNIST", n_train=10, n_val=10)
    assert _load(fashion, tmp_path).class_names == FASHION_MNIST_CLASSES
    named = make_idx_dataset(tmp_path / "clothes", n_train=10, n_val=10)
    (named / "classes.txt").write_text("\n".join(f"kind{i}" for i in range(10)) + "\n")
    assert _load(named, tmp_path).class_names == [f"kind{i}" for i in range(10)]


def test_idx_truncated_file_is_a_user_error(tmp_path):
    root = make_idx_dataset(tmp_path / "m", n_train=4, n_val=4, gz=False)
    path = root / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(UserError, match=r"train-images-idx3-ubyte: truncated: the header says 4 images of 28x28 "
                                        r"\(3136 bytes of pixels\) but the file holds only 3126 bytes of pixels"):
        _load(root, tmp_path)
    write_idx(root / "train-images-idx3-ubyte", np.zeros((3, 28, 28), np.uint8))  # 3 images, 4 labels
    with pytest.raises(UserError, match=r"train-labels-idx1-ubyte: \(4,\) labels for 3 images"):
        _load(root, tmp_path)


@pytest.mark.parametrize("variant,n_classes,labels_first", [("cifar10", 10, [0, 1, 2]), ("cifar100", 100, [0, 1, 2])])
def test_cifar_pickles(tmp_path, variant, n_classes, labels_first):
    root = write_cifar_pickles(tmp_path / variant, variant=variant, per_batch=4, n_test=5)
    ds = _load(root, tmp_path)
    _check_form(ds, 20, 5, n_classes)
    assert ds.source_kind == "cifar" and ds.class_names[:2] == ["class0", "class1"]
    assert ds.train_labels[:3].tolist() == labels_first
    assert ds.conversions == ["resized with antialiasing from 32x32 to 64x64: 25 images"]
    # channel order: R, G, B planes of the pickle end up as channels 0, 1, 2
    src = synthetic_image(0, n_classes, 0, 0, 32).transpose(2, 0, 1).astype(float)
    small = torch.nn.functional.avg_pool2d(ds.train_images[:1].float(), 2)[0].numpy()
    assert np.abs(small - src).mean() < 6


def test_cifar_pickle_cannot_run_code(tmp_path):
    import pickle

    root = write_cifar_pickles(tmp_path / "c", per_batch=2, n_test=2)

    class Evil:
        def __reduce__(self):
            # os.system, not print: Ray (tested in the same process) replaces builtins.print
            return (os.system, ("echo pwned",))

    (root / "test_batch").write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(UserError, match=r"test_batch: not a readable CIFAR pickle .*(posix|os)\.system is not allowed"):
        _load(root, tmp_path)


def test_unknown_layout_and_missing_path(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "notes.txt").write_text("hello")
    with pytest.raises(UserError) as err:
        _load(tmp_path / "junk", tmp_path)
    message = str(err.value)
    assert "junk: no dataset found: expected wnids.txt (Tiny ImageNet)" in message and "\n" not in message
    with pytest.raises(UserError, match=r"nowhere: dataset path not found"):
        _load(tmp_path / "nowhere", tmp_path)


def test_image_size_option(tiny_imagenet_tree, tmp_path):
    ds = _load(tiny_imagenet_tree, tmp_path, image_size=32)
    _check_form(ds, 24, 8, 4, size=32)
    assert "resized with antialiasing from 64x64 to 32x32: 32 images" in ds.conversions
    with pytest.raises(UserError, match="image_size must be an integer >= 8"):
        _load(tiny_imagenet_tree, tmp_path, image_size=4)


def test_tiny_imagenet_words_missing_and_duplicate_names(tiny_imagenet_tree, tmp_path):
    (tiny_imagenet_tree / "words.txt").write_text("n09000000\tcrane, bird\nn09000001\tcrane, machine\n")
    ds = _load(tiny_imagenet_tree, tmp_path)
    # duplicated first names are disambiguated by wnid; wnids without a words.txt line keep the wnid
    assert ds.class_names == ["crane (n09000000)", "crane (n09000001)", "n09000002", "n09000003"]
    (tiny_imagenet_tree / "wnids.txt").write_text("n09000000\nn09000000\n")
    with pytest.raises(UserError, match=r"wnids.txt: duplicated wnid n09000000"):
        _load(tiny_imagenet_tree, tmp_path)


def test_idx_label_outside_the_class_range_fails_loading_with_one_sentence(tmp_path):
    root = make_idx_dataset(tmp_path / "m", n_train=6, n_val=4, gz=False)
    labels = np.arange(6) % 10
    labels[2] = 200
    write_idx(root / "train-labels-idx1-ubyte", labels)
    with pytest.raises(UserError, match=r"train-labels-idx1-ubyte: 1 label\(s\) outside 0..9 \(e.g. 200\) for 10 "
                                        r"classes; fix the labels file"):
        _load(root, tmp_path)
