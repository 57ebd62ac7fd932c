"""Fixtures of the fault suite: one tiny on-disk dataset (cache built once), a spec folder with
a ``tiny`` budget and the ``drop`` factor, and one finished study to copy and damage."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_helpers import DROP_FACTOR, REPO, TINY_BUDGET, ablate_args, run  # noqa: E402


def write_image_folder(root: Path, n_train: int = 8, n_val: int = 8, classes: int = 2, seed: int = 0) -> Path:
    """``root/train/c<k>/*.png`` and ``root/val/c<k>/*.png``: random-noise 64x64 RGB images."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        for i in range(n):
            folder = root / split / f"c{i % classes}"
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / f"{i:04d}.png")
    return root


def write_specs(folder: Path, budgets: dict | None = None, factors: dict | None = None) -> Path:
    """The repo's baseline.yaml plus budgets ``tiny`` (2 epochs), ``tiny1`` (1 epoch) and ``budgets``; factor files ``factors``
    (default: ``drop`` and its twin ``drop2``: dropout 0.3 baseline vs 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    baseline = yaml.safe_load((REPO / "ablations" / "baseline.yaml").read_text())
    one_epoch = {**TINY_BUDGET, "train": {**TINY_BUDGET["train"], "epochs": 1}}
    baseline["budgets"] = {**baseline["budgets"], "tiny": TINY_BUDGET, "tiny1": one_epoch, **(budgets or {})}
    (folder / "baseline.yaml").write_text(yaml.safe_dump(baseline, sort_keys=False))
    for name, spec in (factors or {"drop": DROP_FACTOR, "drop2": DROP_FACTOR}).items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({"factor": name, **spec}, sort_keys=False))
    return folder


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A clean 2-class image folder (8 train / 8 val) whose dataset cache is already built."""
    from augstudy.data import load_dataset

    root = write_image_folder(tmp_path_factory.mktemp("faults-data") / "noise")
    load_dataset(root, progress=False)
    return root


@pytest.fixture(scope="session")
def specs(tmp_path_factory) -> Path:
    return write_specs(tmp_path_factory.mktemp("faults-specs") / "specs")


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory, tiny_data, specs) -> Path:
    """A finished ``drop`` study (2 arms x 1 seed, 1 epoch each, no report); copy it before damaging it."""
    out = tmp_path_factory.mktemp("faults-finished") / "study"
    done = run(ablate_args(specs, tiny_data, out, budget="tiny1"))
    assert done.returncode == 0, done.stdout + done.stderr
    return out
