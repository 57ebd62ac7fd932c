"""The JSON record written beside each preview PNG, from which the figure replays bit for bit.

It holds the policy dicts, seed, epoch, data path, chosen indices, a checksum of the source
images and the jsonable draws (read back at replay, never re-sampled).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from augstudy.atomic import read_json_file
from augstudy.errors import UserError

#: version of the JSON record written beside each PNG (bumped on incompatible changes)
RECORD_FORMAT = 1
#: the preview kinds a record can hold
MODES = ("grid", "per-op", "compare", "strength")
#: the mode of a MixUp/CutMix preview's record (``augstudy preview --mixup/--cutmix``): drawn and replayed by
#: the ablation's mix preview (``augstudy.ablation.execution.mix_preview``), which this package does not import
MIX_MODE = "mix"


def preview_json_path(png_path: str | Path) -> Path:
    """The replay record beside a PNG: ``x/preview-light.png`` -> ``x/preview-light.json``."""
    png_path = Path(png_path)
    stem = png_path.name[:-4] if png_path.name.lower().endswith(".png") else png_path.name
    return png_path.with_name(stem + ".json")


def check_preview_target(out: str | Path, label: str) -> Path:
    """``out`` as the PNG path a preview may write, or one UserError line (``label`` names the option, e.g.
    ``"--out x.png"``).

    A preview writes ``out`` and its record beside it (:func:`preview_json_path`), replacing an earlier
    preview there, but never a file the user already has for something else: when either file exists,
    the record beside must be an augstudy preview record (any mode), else the path is refused.
    """
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UserError(f"{label}: the preview is a PNG; use a path ending in .png")
    record_path = preview_json_path(out)
    if out.exists() or record_path.exists():
        try:
            record = read_json_file(record_path) if record_path.is_file() else None
        except UserError:
            record = None
        if not (isinstance(record, dict) and record.get("augstudy_preview") == RECORD_FORMAT):
            raise UserError(f"{label}: {out.name} or {record_path.name} already exists and is not a preview this "
                            f"command wrote; choose another path (nothing was written)")
    return out


def record_dataset(record: dict, dataset=None, source: str = "replay record"):
    """The dataset a record replays on: ``dataset`` when given (a path or a loaded dataset), else the
    recorded ``data_path``, at the recorded ``image_size``; UserError when neither is there."""
    from augstudy.data import load_dataset

    if dataset is None:
        if not record.get("data_path"):
            raise UserError(f"{source}: no data_path recorded; pass the dataset with --data")
        dataset = record["data_path"]
    return load_dataset(dataset, image_size=int(record.get("image_size", 64)))


def images_checksum(images: torch.Tensor) -> str:
    """SHA-256 of uint8 images (any shape), to detect a changed dataset at replay time."""
    return hashlib.sha256(images.contiguous().cpu().numpy().tobytes()).hexdigest()


def load_record(json_path: str | Path, allow_mix: bool = False) -> dict:
    """Read and check a preview's JSON record; UserError naming the file on any problem.

    A MixUp/CutMix record (mode :data:`MIX_MODE`) is returned unchecked with ``allow_mix`` (its reader
    checks it), else refused with a line saying how to replay it."""
    json_path = Path(json_path)
    if not json_path.is_file():
        raise UserError(f"{json_path}: replay file not found; pass the .json written beside a preview PNG")
    record = read_json_file(json_path, invalid_fix="pass the .json written beside a preview PNG")
    if isinstance(record, dict) and record.get("kind") == "mix" and "augstudy_preview" not in record:
        raise UserError(f"{json_path}: a study's MixUp/CutMix preview holds no policy or data to replay; draw it "
                        f"with augstudy preview --policy P --mixup A / --cutmix A --seed {record.get('seed', 0)}")
    if isinstance(record, dict) and record.get("mode") == MIX_MODE and record.get("augstudy_preview") == RECORD_FORMAT:
        if allow_mix:
            return record
        raise UserError(f"{json_path}: a MixUp/CutMix preview record; replay it with augstudy preview --replay "
                        f"{json_path}")
    if not isinstance(record, dict) or record.get("augstudy_preview") != RECORD_FORMAT:
        raise UserError(f"{json_path}: not an augstudy preview record (format {RECORD_FORMAT}); "
                        f"pass the .json written beside a preview PNG")
    missing = [k for k in ("mode", "seed", "epoch", "draws", "split", "indices", "policies", "images_sha256")
               if k not in record]
    if missing or record["mode"] not in MODES:
        raise UserError(f"{json_path}: field(s) {', '.join(missing) or 'mode'} missing or invalid; "
                        f"re-create it with augstudy preview")
    return record


__all__ = ["RECORD_FORMAT", "MODES", "MIX_MODE", "preview_json_path", "check_preview_target", "record_dataset", "images_checksum", "load_record"]
