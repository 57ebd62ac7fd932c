"""Shared helpers of the tests that build studies (ablation, API, report, fault suite): tiny
datasets, image folders, study-spec folders, CSV reading (no tests here).

The fixed CNN trains at only tens of images per second on 2 cores, so every study in
the tests uses a few dozen 64x64 images, 1-3 epochs and batch 16.
"""

from __future__ import annotations

import types
from pathlib import Path

import torch
import yaml

REPO = Path(__file__).resolve().parents[1]
AUGSTUDY = REPO / ".venv" / "bin" / "augstudy"

#: a deep-merge override making any budget tiny: every image of a tiny dataset, 2 epochs, batch 16
TINY = {"data": {"train_subset": None, "val_subset": None},
        "train": {"epochs": 2, "batch_size": 16, "eval_batch_size": 32},
        "schedule": {"warmup": 0.0}}


def noise_dataset(n_train: int = 32, n_val: int = 16, classes: int = 2, seed: int = 0, name: str = "noise"):
    """An ImageDataset-like namespace of random uint8 [N, 3, 64, 64] images, labels cycling 0..classes-1."""
    g = torch.Generator().manual_seed(seed)
    return types.SimpleNamespace(
        name=name, root=Path(f"/tmp/{name}"),
        train_images=torch.randint(0, 256, (n_train, 3, 64, 64), dtype=torch.uint8, generator=g),
        train_labels=torch.arange(n_train) % classes,
        val_images=torch.randint(0, 256, (n_val, 3, 64, 64), dtype=torch.uint8, generator=g),
        val_labels=torch.arange(n_val) % classes,
        class_names=[f"c{i}" for i in range(classes)], num_classes=classes)


def blob_dataset(n_train: int = 48, n_val: int = 32, seed: int = 0):
    """Two classes whose label is WHICH HALF holds a bright 12x12 blob: 0 = left, 1 = right.

    Dark noisy background; the blob's row and column (within its half) are random. A
    horizontal flip moves the blob to the other half, i.e. swaps the label's evidence.
    """
    g = torch.Generator().manual_seed(seed)

    def make(n):
        images = torch.randint(0, 60, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
        labels = torch.arange(n) % 2
        rows = torch.randint(0, 64 - 12, (n,), generator=g)
        cols = torch.randint(2, 32 - 12 - 2, (n,), generator=g)
        for i in range(n):
            c = int(cols[i]) + (32 if labels[i] == 1 else 0)
            images[i, :, rows[i]:rows[i] + 12, c:c + 12] = 250
        return images, labels

    train_images, train_labels = make(n_train)
    val_images, val_labels = make(n_val)
    return types.SimpleNamespace(name="blobs", root=Path("/tmp/blobs"), train_images=train_images,
                                 train_labels=train_labels, val_images=val_images, val_labels=val_labels,
                                 class_names=["left", "right"], num_classes=2)


def write_image_folder(ds, root: Path) -> Path:
    """Write ``ds`` (an ImageDataset-like, e.g. :func:`noise_dataset`) as ``root/train/<class>/NNNN.png``
    and ``root/val/<class>/NNNN.png`` (the image-folder layout); returns ``root``."""
    from PIL import Image

    for split in ("train", "val"):
        images, labels = getattr(ds, f"{split}_images"), getattr(ds, f"{split}_labels")
        for i in range(images.shape[0]):
            folder = root / split / ds.class_names[int(labels[i])]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i].permute(1, 2, 0).numpy()).save(folder / f"{i:04d}.png")
    return root


def write_specs(folder: Path, factors: dict[str, dict], baseline_changes: dict | None = None,
                budgets: dict | None = None) -> Path:
    """A study-spec folder: the repo's baseline.yaml (deep-merged with ``baseline_changes``), a ``tiny``
    budget (:data:`TINY`; ``budgets`` adds budgets or replaces ``tiny``) and one ``<name>.yaml`` per
    entry of ``factors``."""
    from augstudy.ablation.spec.study_spec import deep_merge

    folder.mkdir(parents=True, exist_ok=True)
    baseline = yaml.safe_load((REPO / "ablations" / "baseline.yaml").read_text())
    baseline = deep_merge(baseline, baseline_changes or {})
    baseline["budgets"] = {**baseline["budgets"], "tiny": TINY, **(budgets or {})}
    (folder / "baseline.yaml").write_text(yaml.safe_dump(baseline, sort_keys=False))
    for name, spec in factors.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump({"factor": name, **spec}, sort_keys=False))
    return folder


DROPOUT_FACTOR = {"baseline_level": 0.3, "levels": {0.3: {"model": {"dropout": 0.3}},
                                                     0: {"model": {"dropout": 0.0}}}}


def interrupted_after_one_epoch():
    """A local executor that records the first epoch of the first run, then raises KeyboardInterrupt
    (what Ctrl-C, or SIGTERM turned into the same exception by the CLI, does mid-run)."""
    from augstudy.ablation.execution.executors import LocalExecutor

    class InterruptedAfterOneEpoch(LocalExecutor):
        def run(self, jobs, context, on_epoch, on_done):
            def record_then_interrupt(job, result, state):
                on_epoch(job, result, state)
                raise KeyboardInterrupt

            super().run(jobs, context, record_then_interrupt, on_done)

    return InterruptedAfterOneEpoch()


def read_csv(path: Path) -> list[dict]:
    """The rows of the CSV file ``path`` as dicts (header -> cell text)."""
    import csv

    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def rewrite_csv(path: Path, rows: list[dict]) -> None:
    """Overwrite the CSV file ``path`` with ``rows`` (columns from the first row), as a user's edit would."""
    import csv

    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
