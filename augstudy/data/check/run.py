"""Run every ``augstudy data check`` test on one dataset and collect the findings.

Works on a Tiny-ImageNet tree, an image-folder tree (``train/<class>/``, ``val/<class>/``), IDX
files and CIFAR pickles.  Findings (see :mod:`augstudy.data.check.layout`,
:mod:`augstudy.data.check.pixels`, :mod:`augstudy.data.check.arrays`):

=========================  ========  ===================================================
kind                       severity  meaning
=========================  ========  ===================================================
missing_wnids, ...         error     layout: wnids.txt / val_annotations.txt problems,
                                     unlisted or empty classes, empty splits
undecodable                error     PIL ``verify()`` or full ``load()`` failed
leak_exact                 error     a val image is pixel-identical to a train image
non_rgb                    warning   mode is not RGB (L, CMYK, P, RGBA, ...), per mode
size                       warning   not image_size x image_size, per size
imbalance                  warning   class count < 0.5x or > 2x its split's median
duplicate_train/_val       warning   identical images inside one split
near_duplicate             warning   val image close to a train image (cosine rule)
normalize_stats            info      train per-channel mean/std in [0, 1] units
=========================  ========  ===================================================

A path that cannot be read at all (missing, not a folder, no known layout) raises
:class:`UserError` with exit code 2.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path

import numpy as np

from augstudy.data.check.findings import CheckFinding, sort_findings
from augstudy.data.check.pixels import DEFAULT_NEAR_THRESHOLD, PixelTable
from augstudy.data.check.result import CheckReport
from augstudy.errors import UserError

#: the side every image should have (the project's models take 64x64 RGB)
EXPECTED_SIZE = 64
_MODE_NAMES = {"L": "grayscale", "LA": "grayscale + alpha", "1": "1-bit", "P": "palette", "PA": "palette + alpha",
               "RGBA": "RGB + alpha", "CMYK": "CMYK", "YCbCr": "YCbCr", "I": "32-bit integer",
               "I;16": "16-bit grayscale", "F": "float"}


def _unreadable(path: Path) -> UserError | None:
    if not path.exists():
        return UserError(f"{path}: no such folder; pass --data PATH to a dataset folder or fetch one with "
                         f"'augstudy data fetch tiny-imagenet'", exit_code=2)
    if not path.is_dir():
        return UserError(f"{path}: is a file, not a dataset folder; pass --data PATH to the folder", exit_code=2)
    if not os.access(path, os.R_OK | os.X_OK):
        return UserError(f"{path}: cannot be read (permission denied); fix its permissions", exit_code=2)
    return None


def check_dataset(path: str | os.PathLike, *, near_threshold: float = DEFAULT_NEAR_THRESHOLD,
                  image_size: int = EXPECTED_SIZE, workers: int | None = None, progress: bool = True) -> CheckReport:
    """Run every check on the dataset at ``path``; see the module docstring for the findings.

    ``near_threshold``: cosine similarity (in (0, 1]) at or above which a val/train thumbnail pair
    is reported as a near-duplicate.  ``workers``: decode processes (default: all CPUs).
    """
    from augstudy.data.check.arrays import detect_array_layout
    from augstudy.data.check.layout import detect_tree_layout

    if not 0.0 < near_threshold <= 1.0:
        raise UserError(f"--near-threshold: must be in (0, 1], got {near_threshold}")
    root = Path(path)
    problem = _unreadable(root)
    if problem:
        raise problem
    started = time.perf_counter()
    tree_layout = detect_tree_layout(root)
    if tree_layout:
        report = _check_tree(root, tree_layout, near_threshold, image_size, workers, progress)
    else:
        array_layout = detect_array_layout(root)
        if array_layout is None:
            raise UserError(f"{root}: no recognisable dataset layout; expected Tiny ImageNet (wnids.txt, train/, "
                            f"val/), an image folder (train/<class>/, val/<class>/), IDX files or CIFAR "
                            f"batches", exit_code=2)
        report = _check_arrays(root, array_layout, near_threshold)
    report.stats["seconds"] = round(time.perf_counter() - started, 2)
    return report


def _check_tree(root: Path, layout: str, near_threshold: float, image_size: int, workers: int | None,
                progress: bool) -> CheckReport:
    from augstudy.data.check.features import decode_features
    from augstudy.data.check.layout import scan_tree
    from augstudy.data.check.pixels import mean_std_from_hist

    t0 = time.perf_counter()
    scan = scan_tree(root, layout)
    is_val = np.array([s == "val" for s in scan.splits], bool)
    t1 = time.perf_counter()
    decoded = decode_features(root, scan.files, [not v for v in is_val], workers=workers, progress=progress)
    timings = {"scan_s": round(t1 - t0, 2), "decode_s": round(time.perf_counter() - t1, 2)}
    findings = list(scan.findings)
    if decoded.errors:
        bad = sorted(decoded.errors)
        findings.append(CheckFinding("undecodable", "error", [scan.files[i] for i in bad],
                                     f"{len(bad)} image(s) cannot be decoded (corrupt, truncated or not an image); "
                                     f"re-download or delete them",
                                     details={"reasons": {scan.files[i]: decoded.errors[i] for i in bad}}))
    findings += _mode_and_size_findings(scan.files, decoded.modes, decoded.sizes, decoded.ok, image_size)
    table = PixelTable(scan.files, is_val, np.array(scan.labels, np.int64), decoded.ok, decoded.digests,
                       decoded.thumbs)
    mean, std, _ = mean_std_from_hist(decoded.train_hist)

    def class_label(split: str, name: str) -> str:
        if layout == "tiny-imagenet":
            return f"train/{name}/images/" if split == "train" else f"val/images/ (class {name})"
        return f"{split}/{name}/"

    modes = Counter(m for m, ok in zip(decoded.modes, decoded.ok) if ok)
    sizes = Counter(f"{w}x{h}" for (w, h), ok in zip(decoded.sizes.tolist(), decoded.ok) if ok)
    return _finish(root, layout, scan.class_names, table, findings, mean, std, near_threshold, class_label,
                   {"modes": dict(modes), "sizes": dict(sizes), "timings": timings})


def _mode_and_size_findings(files: list[str], modes: list[str], sizes: np.ndarray, ok: np.ndarray,
                            image_size: int) -> list[CheckFinding]:
    by_mode: dict[str, list[str]] = {}
    by_size: dict[str, list[str]] = {}
    for i in np.flatnonzero(ok):
        if modes[i] != "RGB":
            by_mode.setdefault(modes[i], []).append(files[i])
        w, h = (int(v) for v in sizes[i])
        if (w, h) != (image_size, image_size):
            by_size.setdefault(f"{w}x{h}", []).append(files[i])
    out = []
    for mode, names in sorted(by_mode.items(), key=lambda kv: -len(kv[1])):
        out.append(CheckFinding("non_rgb", "warning", names,
                                f"{len(names)} image(s) are mode {mode} ({_MODE_NAMES.get(mode, 'not RGB')}), not RGB; "
                                f"the loader converts them to 3 channels", details={"mode": mode}))
    for size, names in sorted(by_size.items(), key=lambda kv: -len(kv[1])):
        out.append(CheckFinding("size", "warning", names,
                                f"{len(names)} image(s) are {size}, not {image_size}x{image_size}; the loader "
                                f"resizes them",
                                details={"size": size}))
    return out


def _check_arrays(root: Path, layout: str, near_threshold: float) -> CheckReport:
    from augstudy.data.check.arrays import array_features, load_arrays
    from augstudy.data.check.pixels import mean_std_from_hist

    arrays = load_arrays(root, layout)
    findings = list(arrays.findings)
    names, is_val, labels, digests, thumbs = [], [], [], [], []
    hist = np.zeros((3, 256), np.int64)
    shapes = {}
    for split in ("train", "val"):
        if split not in arrays.images:
            continue
        images = arrays.images[split]
        shapes[split] = list(images.shape)
        if len(images) == 0:
            findings.append(CheckFinding("empty_split", "error", [split], f"the {split} split has no images"))
            continue
        d, t, h = array_features(images)
        names += [f"{split}[{i}]" for i in range(len(images))]
        is_val += [split == "val"] * len(images)
        labels.append(arrays.labels[split])
        digests += d
        thumbs.append(t)
        if split == "train":
            hist += h
    n = len(names)
    table = PixelTable(names, np.array(is_val, bool), np.concatenate(labels) if labels else np.zeros(0, np.int64),
                       np.ones(n, bool), digests, np.concatenate(thumbs) if thumbs else np.zeros((0, 256), np.uint8))
    mean, std, _ = mean_std_from_hist(hist)
    channels = {s: v[1] for s, v in shapes.items()}
    note = " (1-channel source counted as 3 equal channels, as the loader replicates it)" \
        if 1 in channels.values() else ""
    gray_splits = [s for s, c in channels.items() if c == 1 and shapes[s][0] > 0]
    if gray_splits:
        count = sum(shapes[s][0] for s in gray_splits)
        findings.append(CheckFinding(
            "non_rgb", "warning", [f"{s}[0..{shapes[s][0] - 1}]" for s in gray_splits],
            f"{count} image(s) are single-channel (grayscale), not RGB; the loader replicates them to 3 "
            f"channels, so ColorJitter saturation and hue change nothing on them", count=count,
            details={"mode": "L"}))
    sides = {s: tuple(v[2:]) for s, v in shapes.items() if v[0] > 0}
    for split, (h, w) in sides.items():
        if (h, w) != (EXPECTED_SIZE, EXPECTED_SIZE):
            findings.append(CheckFinding(
                "size", "warning", [f"{split}[0..{shapes[split][0] - 1}]"],
                f"{shapes[split][0]} {split} image(s) are {w}x{h}, not {EXPECTED_SIZE}x{EXPECTED_SIZE}; "
                f"the loader resizes them (antialiased)", count=shapes[split][0],
                details={"size": f"{w}x{h}"}))
    return _finish(root, layout, arrays.class_names, table, findings, mean, std, near_threshold,
                   lambda split, name: f"{split}[class {name}]", {"array_shapes": shapes}, note)


def _finish(root: Path, layout: str, class_names: list[str], table: PixelTable, findings: list[CheckFinding],
            mean: list[float] | None, std: list[float] | None, near_threshold: float, class_label, extra: dict,
            stats_note: str = "") -> CheckReport:
    from augstudy.data.check.pixels import (balance_findings, class_counts, duplicate_findings,
                                            near_duplicate_findings, stats_finding)

    counts = class_counts(table, class_names)
    findings += balance_findings(counts, class_label)
    t0 = time.perf_counter()
    findings += duplicate_findings(table, class_names)
    near, near_summary = near_duplicate_findings(table, near_threshold)
    findings += near
    extra.setdefault("timings", {})["duplicates_s"] = round(time.perf_counter() - t0, 2)
    n_train_ok = int((table.ok & ~table.is_val).sum())
    findings.append(stats_finding(mean, std, n_train_ok, stats_note))
    stats = {
        "n_train": int((~table.is_val).sum()), "n_val": int(table.is_val.sum()), "n_classes": len(class_names),
        "n_decoded": int(table.ok.sum()),
        "train_mean": None if mean is None else [round(v, 6) for v in mean],
        "train_std": None if std is None else [round(v, 6) for v in std],
        "units": "per-channel RGB in [0, 1]", **extra,
        "near_duplicates": near_summary, "class_counts": counts,
    }
    return CheckReport(root.resolve().name, root, layout, sort_findings(findings), stats)


__all__ = ["check_dataset", "DEFAULT_NEAR_THRESHOLD", "EXPECTED_SIZE"]
