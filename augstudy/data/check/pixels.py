"""Pixel-level checks shared by file trees and array datasets: duplicates, train/val leakage,
near-duplicates, class balance and the train mean/std.

They all work on a :class:`PixelTable`: one row per image, whether it came from a JPEG
(``train/n01/images/n01_3.JPEG``) or an array row (``train[3]``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from augstudy.data.check.findings import CheckFinding

#: default cosine-similarity threshold for near-duplicates (mean-centred 16x16 grayscale thumbnails).
#: Measured (2026-11-28) on smooth 64x64 JPEGs: a copy brightened x1.1, offset +20, re-encoded at
#: q50 or round-tripped through 32x32 scores >= 0.997; brightened x1.2 + q75 scores 0.987-0.999
#: (median 0.9955); unrelated images <= 0.40.  On Fashion-MNIST, different garments of the same
#: cut reach 0.98-0.99 often (3107 of 10,000 val images >= 0.98, 914 >= 0.99), hence 0.99, not 0.98.
DEFAULT_NEAR_THRESHOLD = 0.99
#: thumbnails with a standard deviation below this (grey levels) are flat: no shape to compare
FLAT_STD = 2.0
#: a class is imbalanced when its count is below LOW x median or above HIGH x median of its split
IMBALANCE_LOW, IMBALANCE_HIGH = 0.5, 2.0
NEAR_RULE = ("cosine similarity >= {t:g} between mean-centred 16x16 grayscale thumbnails "
             "(each val image vs its nearest train image)")


@dataclass
class PixelTable:
    """Per-image features.  ``names`` list[str] [N]; ``is_val`` bool [N]; ``labels`` int64 [N]
    (class index, -1 unknown); ``ok`` bool [N] (decoded); ``digests`` list[bytes] [N] (exact content
    hash, b"" when not decoded); ``thumbs`` uint8 [N, 256] (16x16 grayscale)."""

    names: list[str]
    is_val: np.ndarray
    labels: np.ndarray
    ok: np.ndarray
    digests: list[bytes]
    thumbs: np.ndarray


def duplicate_findings(table: PixelTable, class_names: list[str]) -> list[CheckFinding]:
    """Exact duplicates (same decoded pixels) inside train, inside val, and between them (leakage)."""
    groups: dict[bytes, list[int]] = defaultdict(list)
    for i in np.flatnonzero(table.ok):
        groups[table.digests[i]].append(int(i))
    findings = []
    for split_is_val, split in ((False, "train"), (True, "val")):
        dup_groups = [[i for i in g if table.is_val[i] == split_is_val] for g in groups.values()]
        dup_groups = [g for g in dup_groups if len(g) > 1]
        if not dup_groups:
            continue
        mixed = sum(len({int(table.labels[i]) for i in g}) > 1 for g in dup_groups)
        files = [table.names[i] for g in dup_groups for i in g]
        note = f"; {mixed} group(s) carry different labels (label noise)" if mixed else ""
        findings.append(CheckFinding(f"duplicate_{split}", "warning", files,
                                     f"{len(dup_groups)} group(s) of identical {split} images ({len(files)} "
                                     f"files){note}; keep one of each", count=len(files),
                                     details={"groups": [[table.names[i] for i in g] for g in dup_groups]}))
    leaks = []
    for g in groups.values():
        train = [i for i in g if not table.is_val[i]]
        for v in (i for i in g if table.is_val[i]):
            if train:
                leaks.append((v, train))
    if leaks:
        files = []
        for v, train in leaks:
            files += [table.names[v]] + [table.names[t] for t in train]
        findings.append(CheckFinding("leak_exact", "error", files,
                                     f"{len(leaks)} val image(s) are pixel-identical to a train image: val accuracy is "
                                     f"inflated; remove them from one split", count=len(leaks),
                                     details={"pairs": [[table.names[v], table.names[train[0]]]
                                                        for v, train in leaks]}))
    return findings


def _unit_vectors(thumbs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean-centred, L2-normalised float32 rows of ``thumbs`` [n, 256] and a mask of non-flat rows."""
    x = thumbs.astype(np.float32)
    x -= x.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(x, axis=1)
    usable = norms >= FLAT_STD * np.sqrt(x.shape[1])  # norm = std * sqrt(256) after centring
    x[usable] /= norms[usable, None]
    return x, usable


#: dimensions of the projection used to pre-select near-duplicate candidates
PROJECTION_DIMS = 32
#: candidate pairs per block of val images above which the block falls back to a full search
CANDIDATE_CAP = 2_000_000
_VAL_BLOCK = 4096


def nearest_train_above(train_vec: np.ndarray, val_vec: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """For each val row, its most similar train row if the cosine is >= ``threshold``.

    ``train_vec`` float32 [n, D], ``val_vec`` float32 [m, D], unit rows.  Returns (cosine float32 [m],
    -inf where no train row reaches the threshold; train index int64 [m], -1 there).

    Exact, but fast: the rows are projected onto the top :data:`PROJECTION_DIMS` eigenvectors of
    the train second-moment matrix.  An orthonormal projection never lengthens a vector, so a pair
    with cosine >= t (distance^2 = 2 - 2 cos <= 2 - 2t) is also within that radius after
    projection: scikit-learn's ``NearestNeighbors.radius_neighbors`` on the 32-d projections finds
    a superset of the pairs, whose true cosine is then computed on the full vectors.  A block whose
    candidates explode (a threshold near 0, very uniform data) falls back to ``kneighbors`` on the
    full vectors.
    """
    from sklearn.neighbors import NearestNeighbors

    m = len(val_vec)
    best = np.full(m, -np.inf, np.float32)
    best_index = np.full(m, -1, np.int64)
    dims = min(PROJECTION_DIMS, train_vec.shape[1])
    # float32 Gram matrix (fast); any orthonormal basis keeps the bound exact, PCA just makes it tight
    _, eigvecs = np.linalg.eigh((train_vec.T @ train_vec).astype(np.float64))
    basis = np.ascontiguousarray(eigvecs[:, ::-1][:, :dims], dtype=np.float32)
    radius = float(np.sqrt(max(2.0 - 2.0 * threshold, 0.0))) + 1e-4  # slack for float32 rounding
    coarse = NearestNeighbors(radius=radius, algorithm="brute").fit(train_vec @ basis)
    exact = None
    for start in range(0, m, _VAL_BLOCK):
        block = val_vec[start:start + _VAL_BLOCK]
        candidates = coarse.radius_neighbors(block @ basis, return_distance=False)
        if sum(len(c) for c in candidates) > CANDIDATE_CAP:
            exact = exact or NearestNeighbors(n_neighbors=1, algorithm="brute").fit(train_vec)
            dist, nearest = exact.kneighbors(block)
            cos = (1.0 - dist[:, 0] ** 2 / 2.0).astype(np.float32)
            keep = cos >= threshold
            best[start:start + len(block)][keep] = cos[keep]
            best_index[start:start + len(block)][keep] = nearest[keep, 0]
            continue
        for q, cand in enumerate(candidates):
            if len(cand):
                sims = train_vec[cand] @ block[q]
                j = int(np.argmax(sims))
                if sims[j] >= threshold:
                    best[start + q], best_index[start + q] = sims[j], cand[j]
    return best, best_index


def near_duplicate_findings(table: PixelTable, threshold: float) -> tuple[list[CheckFinding], dict]:
    """Val images whose most similar train image has cosine similarity >= ``threshold`` (see
    :func:`nearest_train_above`).  Pixel-identical pairs are left to :func:`duplicate_findings`.
    Returns findings and a summary for the stats block."""
    train_digests = {table.digests[i] for i in np.flatnonzero(table.ok & ~table.is_val)}
    train_idx = np.flatnonzero(table.ok & ~table.is_val)
    val_idx = np.array([i for i in np.flatnonzero(table.ok & table.is_val) if table.digests[i] not in train_digests],
                       dtype=np.int64)
    summary = {"rule": NEAR_RULE.format(t=threshold), "threshold": threshold, "skipped_flat": 0, "pairs": 0}
    if len(train_idx) == 0 or len(val_idx) == 0:
        return [], summary
    train_vec, train_ok = _unit_vectors(table.thumbs[train_idx])
    val_vec, val_ok = _unit_vectors(table.thumbs[val_idx])
    summary["skipped_flat"] = int((~train_ok).sum() + (~val_ok).sum())
    train_idx, train_vec = train_idx[train_ok], train_vec[train_ok]
    val_idx, val_vec = val_idx[val_ok], val_vec[val_ok]
    if len(train_idx) == 0 or len(val_idx) == 0:
        return [], summary
    cosine, nearest = nearest_train_above(train_vec, val_vec, threshold)
    hits = np.flatnonzero(nearest >= 0)
    summary["pairs"] = int(len(hits))
    if not len(hits):
        return [], summary
    hits = hits[np.argsort(-cosine[hits], kind="stable")]
    pairs = [(table.names[val_idx[h]], table.names[train_idx[nearest[h]]], round(float(cosine[h]), 4)) for h in hits]
    files = [name for v, t, _ in pairs for name in (v, t)]
    finding = CheckFinding("near_duplicate", "warning", files,
                           f"{len(pairs)} val image(s) nearly duplicate a train image (cosine similarity >= "
                           f"{threshold:g} of mean-centred 16x16 grayscale thumbnails): the same photo re-encoded, "
                           f"resized or brightened? review them",
                           count=len(pairs),
                           details={"pairs": [{"val": v, "train": t, "cosine": c} for v, t, c in pairs]})
    return [finding], summary


def class_counts(table: PixelTable, class_names: list[str]) -> dict[str, dict[str, int]]:
    """Images per class and split (every listed image, decodable or not)."""
    out = {}
    for split_is_val, split in ((False, "train"), (True, "val")):
        labels = table.labels[(table.is_val == split_is_val) & (table.labels >= 0)]
        counts = np.bincount(labels, minlength=len(class_names))[:len(class_names)]
        out[split] = {name: int(c) for name, c in zip(class_names, counts)}
    return out


def balance_findings(counts: dict[str, dict[str, int]], class_label) -> list[CheckFinding]:
    """Classes whose count is < 0.5x or > 2x the median of their split.  ``class_label(split, name)``
    names a class the way the dataset stores it (e.g. ``train/n01443537/images/``)."""
    findings = []
    for split, per_class in counts.items():
        if not per_class or sum(per_class.values()) == 0:
            continue
        median = float(np.median(list(per_class.values())))
        odd = {c: n for c, n in per_class.items() if n < IMBALANCE_LOW * median or n > IMBALANCE_HIGH * median}
        if odd:
            listing = ", ".join(f"{c}={n}" for c, n in list(odd.items())[:5])
            findings.append(CheckFinding("imbalance", "warning", [class_label(split, c) for c in odd],
                                         f"{len(odd)} {split} class(es) are far from the median of {median:g} images "
                                         f"(outside {IMBALANCE_LOW:g}x-{IMBALANCE_HIGH:g}x): {listing}",
                                         details={"split": split, "median": median, "counts": odd}))
    return findings


def mean_std_from_hist(hist: np.ndarray) -> tuple[list[float] | None, list[float] | None, int]:
    """Per-channel mean and std in [0, 1] units from ``hist`` int64 [C, 256] pixel counts.

    Returns (mean [C], std [C], pixels per channel); mean and std are None when there are no
    pixels (no decodable train image).  Exact: sums of integers, one division.
    """
    levels = np.arange(256, dtype=np.float64) / 255.0
    n = int(hist[0].sum())
    if n == 0:
        return None, None, 0
    mean = hist @ levels / n
    var = hist @ (levels ** 2) / n - mean ** 2
    return mean.tolist(), np.sqrt(np.maximum(var, 0.0)).tolist(), n


def stats_finding(mean: list[float] | None, std: list[float] | None, n_images: int, note: str = "") -> CheckFinding:
    """The info line with the train split's per-channel mean/std and the matching ``Normalize``;
    when no train image could be decoded, a line saying the statistics are unknown (no suggestion)."""
    if mean is None or std is None:
        return CheckFinding("normalize_stats", "info", [],
                            "no decodable train image: the per-channel mean/std are unknown; fix the train "
                            "split's errors above, then check again", count=0)
    m = ", ".join(f"{v:.4f}" for v in mean)
    s = ", ".join(f"{v:.4f}" for v in std)
    return CheckFinding("normalize_stats", "info", [],
                        f"train per-channel mean ({m}), std ({s}) in [0,1] units over {n_images} images{note}: "
                        f"Normalize(mean=({m}), std=({s}))", count=n_images)
