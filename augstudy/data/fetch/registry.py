"""The datasets ``augstudy data fetch`` knows: where each file lives and how it is checked.

:data:`DATASETS` maps a name to a :class:`DatasetSource` (official addresses, sizes in bytes,
published checksums, the paths a complete copy holds).  Tests re-point entries at a local
server with ``monkeypatch.setitem``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from augstudy.errors import UserError


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


def dataset_names() -> list[str]:
    """The names ``fetch_dataset`` accepts, sorted."""
    return sorted(DATASETS)


def dataset_source(name: str) -> DatasetSource:
    """The registry entry for ``name`` (case, ``_`` and a few aliases tolerated); ``UserError`` if unknown."""
    key = name.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    if key not in DATASETS:
        raise UserError(f"unknown dataset '{name}'; choose one of: {', '.join(dataset_names())}")
    return DATASETS[key]


def missing_required(folder: Path, spec: DatasetSource) -> list[str]:
    """Entries of ``spec.required`` absent from ``folder`` (empty list: the folder is complete)."""
    missing = []
    for entry in spec.required:
        if not any((folder / alt).exists() for alt in entry.split("|")):
            missing.append(entry.split("|")[0])
    return missing


__all__ = ["DATASETS", "DatasetSource", "RemoteFile", "dataset_names", "dataset_source", "missing_required"]
