"""Building a preview: choose images, sample (or read back) draws, apply them, and fill the record.

Draw ``d`` of a grid uses ``sample_draw(policy, seed=seed, epoch=epoch + d, indices=...)``, the
same counter-based draw training sees for that image at that epoch.  Per-op previews apply
prefixes of the policy with the matching prefix of one draw.  Images stay ``uint8 [n, 3, H, W]``.
"""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Sequence

import torch

from augstudy.errors import UserError
from augstudy.preview.choice import choose_stratified, split_tensors
from augstudy.preview.describe import describe_policy
from augstudy.preview.model import Preview, PreviewColumn
from augstudy.preview.record import MODES, RECORD_FORMAT, images_checksum, record_dataset

#: row labels (class names) are cut to this many characters
LABEL_CHARS = 18


def resolve_policy(spec):
    """``augstudy.policy.load_policy`` with every failure turned into a one-line UserError."""
    from augstudy.policy import load_policy

    try:
        return load_policy(spec)
    except UserError:
        raise
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise UserError(f"policy {spec!r}: {exc}") from exc


def _load_dataset(dataset, image_size: int = 64):
    """``dataset`` as an ``ImageDataset``: returned as is when already loaded, else loaded from its path."""
    from augstudy.data import load_dataset

    return load_dataset(dataset, image_size=image_size)


def _sample(policy, seed: int, epoch: int, indices: list[int], input_side: int):
    """The draw of ``indices`` (dataset indices into the split) at ``epoch``; ``input_side``: image px."""
    from augstudy.policy import sample_draw

    return sample_draw(policy, seed=int(seed), epoch=int(epoch),
                       indices=torch.tensor(indices, dtype=torch.int64), image_size=int(input_side))


def _apply(images: torch.Tensor, policy, draw) -> torch.Tensor:
    """Apply ``draw`` with the reference backend; returns uint8 ``[n, 3, S, S]`` for display."""
    from augstudy.policy import apply_draw

    out = apply_draw(images, policy, draw)
    return to_display_uint8(out)


def to_display_uint8(images: torch.Tensor) -> torch.Tensor:
    """uint8 ``[n, 3, H, W]`` for display.  uint8 passes through; float in [0, 1] is scaled by
    255; float outside [0, 1] (a Normalize op) is min-max rescaled per image so it stays visible."""
    if images.dtype == torch.uint8:
        return images.cpu()
    x = images.detach().float().cpu()
    if x.numel() and (x.min() < 0 or x.max() > 1):
        lo = x.amin(dim=(1, 2, 3), keepdim=True)
        hi = x.amax(dim=(1, 2, 3), keepdim=True)
        x = (x - lo) / (hi - lo).clamp_min(1e-12)
    return (x.clamp(0, 1) * 255).round().to(torch.uint8)


def _draw_from_record(jsonable):
    from augstudy.policy import PolicyDraw

    return PolicyDraw.from_jsonable(jsonable)


def _prefix(obj, k: int):
    """``obj`` (a Policy or PolicyDraw) with only its first ``k`` ops."""
    changes = {"ops": list(obj.ops[:k])}
    if isinstance(getattr(obj, "names", None), list):  # PolicyDraw's per-op names
        changes["names"] = list(obj.names[:k])
    if dataclasses.is_dataclass(obj):
        return dataclasses.replace(obj, **changes)
    clone = copy.copy(obj)
    for name, value in changes.items():
        setattr(clone, name, value)
    return clone


def _applied_mask(draw, position: int, n: int) -> list[bool]:
    """Whether op ``position`` of ``draw`` applied to each of the ``n`` images."""
    flags = draw.ops[position].get("apply")
    if flags is None:
        return [True] * n
    return [bool(v) for v in torch.as_tensor(flags).reshape(-1).tolist()]


def _grid_columns(images, policy, draws: list, epochs: list[int], group: str | None = None) -> list[PreviewColumn]:
    return [PreviewColumn(f"draw {d + 1} (epoch {e})", _apply(images, policy, draw), group=group)
            for d, (draw, e) in enumerate(zip(draws, epochs))]


def _what_applied(spec, fields: dict, i: int) -> str:
    """"applied", or for the automatic policies which sub-ops image ``i`` got at what magnitude."""
    from augstudy.policy.ops import OPS

    detail = OPS[spec.op].describe_draw(fields, i) if spec.op in OPS else None
    return detail or "applied"


def _per_op_columns(images, policy, draw) -> list[PreviewColumn]:
    """Original, then the image after op 1, after ops 1-2, ...: prefixes of policy and draw."""
    n = images.shape[0]
    columns = []
    for k, op in enumerate(policy.ops, start=1):
        stepped = _apply(images, _prefix(policy, k), _prefix(draw, k))
        notes = [f"{op.op} ({_what_applied(op, draw.ops[k - 1], i)})" if applied
                 else f"{op.op} (skipped, p={float(op.p):g})"
                 for i, applied in enumerate(_applied_mask(draw, k - 1, n))]
        columns.append(PreviewColumn(f"+{k}: {op.op}", stepped, notes=notes))
    return columns


def _row_labels(dataset, labels: list[int]) -> list[str]:
    names = list(dataset.class_names)
    out = []
    for label in labels:
        name = names[label] if 0 <= label < len(names) else f"class {label}"
        out.append(name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…")
    return out


def _title(mode: str, policies: list, record: dict) -> str:
    where = f"seed {record['seed']}, {record['split']} split of {record['dataset']}"
    if mode == "per-op":
        head = f"per-op preview, epoch {record['epoch']}, {where}"
    else:
        kind = {"compare": "compare", "strength": "strength"}.get(mode, "preview")
        head = f"{kind}, {record['draws']} draws from epoch {record['epoch']}, {where}"
    return head + "\n" + "\n".join("policy " + describe_policy(p) for p in policies)


def _build(mode: str, policies: list, dataset, *, n: int, draws: int, seed: int, epoch: int,
           split: str, indices: list[int] | None = None, stored_draws: list[list] | None = None) -> Preview:
    """The shared engine.  Fresh: sample draws.  Replay: ``indices`` and ``stored_draws``
    (per policy, a list of jsonable draws) come from a record and are used as they are."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if int(n) < 1:
        raise UserError(f"--n must be at least 1, got {n}")
    if int(draws) < 1:
        raise UserError(f"--draws must be at least 1, got {draws}")
    split_images, split_labels = split_tensors(dataset, split)
    if indices is None:
        indices = choose_stratified(split_labels, n, seed)
    elif max(indices, default=-1) >= len(split_labels):
        raise UserError(f"replay: index {max(indices)} is beyond the {len(split_labels)} {split} images of "
                        f"{dataset.root}; pass the dataset the preview was made from with --data")
    index_tensor = torch.tensor(indices, dtype=torch.int64)
    images = split_images[index_tensor].clone()
    labels = split_labels[index_tensor].tolist()

    n_draws = 1 if mode == "per-op" else int(draws)
    epochs = [int(epoch) + d for d in range(n_draws)]
    columns = [PreviewColumn("original", images.cpu())]
    policy_records = []
    applied = []
    for p_index, policy in enumerate(policies):
        if stored_draws is None:
            draw_objs = [_sample(policy, seed, e, indices, images.shape[-1]) for e in epochs]
        else:
            draw_objs = [_draw_from_record(j) for j in stored_draws[p_index]]
        if mode == "per-op":
            columns += _per_op_columns(images, policy, draw_objs[0])
        else:
            columns += _grid_columns(images, policy, draw_objs, epochs,
                                     group=policy.name if mode in ("compare", "strength") else None)
        for position, op in enumerate(policy.ops):
            flags = [f for draw in draw_objs for f in _applied_mask(draw, position, len(indices))]
            applied.append((policy.name, position + 1, op.op, float(op.p), sum(flags), len(flags)))
        policy_records.append({
            "name": policy.name,
            "policy": policy.to_dict(),
            "draws": [{"epoch": e, "draw": d.to_jsonable()} for e, d in zip(epochs, draw_objs)],
        })

    record = {
        "augstudy_preview": RECORD_FORMAT,
        "mode": mode,
        "seed": int(seed),
        "epoch": int(epoch),
        "draws": n_draws,
        "split": split,
        "dataset": dataset.name,
        "data_path": _data_path(dataset),
        "image_size": int(images.shape[-1]),
        "indices": [int(i) for i in indices],
        "labels": [int(v) for v in labels],
        "class_names": [dataset.class_names[v] if 0 <= v < len(dataset.class_names) else str(v) for v in labels],
        "images_sha256": images_checksum(images),
        "columns": [c.header if c.group is None else f"{c.group}: {c.header}" for c in columns],
        "policies": policy_records,
    }
    return Preview(_title(mode, policies, record), _row_labels(dataset, labels), columns, record, applied)


def _data_path(dataset) -> str | None:
    """The folder a replay reloads the dataset from; None for a dataset built in memory (replay
    then needs it passed again)."""
    if dataset.source_kind == "in-memory" or not getattr(dataset, "root", None):
        return None
    return str(Path(dataset.root).resolve())


def applied_table(preview: Preview) -> list[list[str]]:
    """Rows (header first) of how often each op applied among the figure's cells, against its p."""
    if not preview.applied:
        return []
    rows = [["policy", "#", "op", "p", "applied"]]
    for name, position, op, p, hits, total in preview.applied:
        rows.append([name, str(position), op, f"{p:g}", f"{hits}/{total}"])
    return rows


def build_grid(policy, dataset, n: int = 8, draws: int = 4, seed: int = 0, split: str = "val",
               epoch: int = 0) -> Preview:
    """Original + ``draws`` augmented versions of ``n`` stratified images (see module docstring)."""
    return _build("grid", [resolve_policy(policy)], _load_dataset(dataset),
                  n=n, draws=draws, seed=seed, epoch=epoch, split=split)


def build_per_op(policy, dataset, n: int = 8, seed: int = 0, split: str = "val", epoch: int = 0) -> Preview:
    """Original then one column per op of a single draw (``epoch``), op prefixes applied in turn."""
    return _build("per-op", [resolve_policy(policy)], _load_dataset(dataset),
                  n=n, draws=1, seed=seed, epoch=epoch, split=split)


def build_compare(policies: Sequence, dataset, n: int = 8, draws: int = 4, seed: int = 0,
                  split: str = "val", epoch: int = 0) -> Preview:
    """Original then ``draws`` columns per policy, same images and seed for every policy."""
    resolved = [resolve_policy(p) for p in policies]
    if not resolved:
        raise UserError("--compare needs at least one policy, e.g. --compare light,heavy")
    return _build("compare", resolved, _load_dataset(dataset),
                  n=n, draws=draws, seed=seed, epoch=epoch, split=split)


def build_strengths(policy, strengths: Sequence[float], dataset, n: int = 8, draws: int = 4, seed: int = 0,
                    split: str = "val", epoch: int = 0) -> Preview:
    """Original then ``draws`` columns per strength of one policy (``scale_policy(policy, s)``, named
    ``<policy>@<s>``), on the same images with the same seed: how much each strength changes them.
    ``strengths``: values >= 0 (0 = identity, 1 = the policy as written)."""
    from augstudy.policy import Policy, scale_policy

    base = resolve_policy(policy)
    values = list(dict.fromkeys(float(s) for s in strengths))
    if not values:
        raise UserError("--strength needs at least one value, e.g. --strength 0,1,3")
    scaled = []
    for value in values:
        name = f"{base.name}@{value:g}"
        scaled.append(Policy.from_dict({**scale_policy(base, value).to_dict(), "name": name},
                                       source=f"policy {name!r}"))
    built = _build("strength", scaled, _load_dataset(dataset), n=n, draws=draws, seed=seed, epoch=epoch, split=split)
    built.record["strengths"] = values
    return built


def build_replay(record: dict, dataset=None, source: str = "replay record") -> Preview:
    """Rebuild a preview from its record: same images (checksum-verified), stored draws."""
    from augstudy.policy import Policy

    dataset = record_dataset(record, dataset, source)
    try:
        policies = [Policy.from_dict(p["policy"], source=f"{source}: policy {p.get('name')!r}")
                    for p in record["policies"]]
    except UserError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{source}: field 'policies' is invalid ({exc}); re-create it with augstudy preview") from exc
    preview = _build(record["mode"], policies, dataset, n=len(record["indices"]), draws=int(record["draws"]),
                     seed=int(record["seed"]), epoch=int(record["epoch"]), split=record["split"],
                     indices=[int(i) for i in record["indices"]],
                     stored_draws=[[d["draw"] for d in p["draws"]] for p in record["policies"]])
    if "strengths" in record:
        preview.record["strengths"] = record["strengths"]
    if preview.record["images_sha256"] != record["images_sha256"]:
        raise UserError(f"{source}: the images at indices {record['indices']} of {dataset.root} differ from "
                        f"the ones previewed; pass the original dataset with --data")
    return preview


__all__ = ["resolve_policy", "build_grid", "build_per_op", "build_compare", "build_strengths", "build_replay",
           "applied_table",
           "to_display_uint8"]
