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


__all__ = ["RECORD_FORMAT", "MODES", "MIX_MODE", "preview_json_path", "images_checksum", "load_record"]
