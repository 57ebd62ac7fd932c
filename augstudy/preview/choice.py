"""Which images a preview shows: a seeded, class-stratified choice from one split."""

from __future__ import annotations

import torch

from augstudy.errors import UserError

#: the splits a preview may draw its images from, default first
PREVIEW_SPLITS = ("val", "train")


def split_tensors(dataset, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 ``[N, 3, H, W]``, labels int64 ``[N]``) of ``split`` ("val" or "train")."""
    if split not in PREVIEW_SPLITS:
        raise UserError(f"--split must be one of {', '.join(PREVIEW_SPLITS)}, got {split!r}")
    images = getattr(dataset, f"{split}_images")
    labels = getattr(dataset, f"{split}_labels")
    if len(labels) == 0:
        other = "train" if split == "val" else "val"
        raise UserError(f"dataset {dataset.name} ({dataset.root}) has no {split} images; use --split {other}")
    return images, labels


def choose_stratified(labels: torch.Tensor, n: int, seed: int) -> list[int]:
    """Pick ``n`` indices into ``labels`` (int64 ``[N]``), one per class round-robin.

    Classes are visited in a seed-shuffled order and each class's images in a seed-shuffled
    order, so row ``r`` shows class ``r % C`` of that order (for ``n <= C`` every row is a
    different class).  Deterministic from ``seed``; returns ``min(n, N)`` distinct indices.
    """
    labels = labels.to("cpu", torch.int64)
    total = len(labels)
    gen = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(total, generator=gen)
    classes = torch.unique(labels)
    class_order = classes[torch.randperm(len(classes), generator=gen)]
    class_position = torch.zeros(int(labels.max()) + 1, dtype=torch.int64)
    class_position[class_order] = torch.arange(len(classes))

    shuffled = labels[perm]
    # rank of each shuffled image within its class: stable sort by label keeps shuffled order
    order = torch.sort(shuffled, stable=True).indices
    sorted_labels = shuffled[order]
    counts = torch.bincount(sorted_labels)
    starts = torch.cumsum(counts, 0) - counts
    rank = torch.empty_like(order)
    rank[order] = torch.arange(total) - starts[sorted_labels]
    # round-robin key: all rank-0 images first (in class order), then rank 1, ...; keys are unique
    key = rank * len(classes) + class_position[shuffled]
    return perm[torch.argsort(key)[: min(n, total)]].tolist()


__all__ = ["PREVIEW_SPLITS", "split_tensors", "choose_stratified"]
