"""Preview augmentation policies as PNG grids of real images, replayable bit for bit.

Three figures, one engine:

- :func:`render_preview_grid`: rows are dataset images (stratified by class), columns the
  original then ``draws`` augmented versions; draw ``d`` uses
  ``sample_draw(policy, seed=seed, epoch=epoch + d, indices=...)``, the same counter-based
  draw training sees for that image at that epoch.
- :func:`render_per_op`: one draw, shown op by op (original, after op 1, after op 2, ...), made
  by applying prefixes of the policy with the matching prefix of the draw.
- :func:`render_compare`: several policies on the same images with the same seed.

Each PNG gets a JSON record beside it (:func:`preview_json_path`): the policy dicts, seed, data
path, chosen indices, a checksum of the source images and the jsonable draws.
:func:`replay_preview` re-renders from that record alone: the draws are *read back*, not
re-sampled, so the augmented images are identical even if sampling code changes later.

Pipeline: ``build_*`` -> :class:`Preview` (tensors + labels + record) -> :func:`write_preview`
(matplotlib, Agg, fixed PNG metadata, atomic writes).  Images stay ``uint8 [n, 3, H, W]``.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import torch

from augstudy.atomic import atomic_path, atomic_write_json
from augstudy.errors import UserError

#: version of the JSON record written beside each PNG (bumped on incompatible changes)
RECORD_FORMAT = 1
MODES = ("grid", "per-op", "compare")
SPLITS = ("val", "train")

# Figure geometry, in inches at DPI dots per inch: fixed so the PNG size is a pure function of
# (rows, columns, title lines) and identical runs give identical bytes.
DPI = 100
CELL_IN = 1.0            # one image cell (square)
CELL_GAP_IN = 0.06       # gap between cells
NOTE_IN = 0.22           # extra height per row when cells carry a 2-line note (per-op: applied/skipped)
ROW_LABEL_IN = 1.3       # left margin holding the class name of each row
MARGIN_IN = 0.12         # right and bottom margins
HEADER_IN = 0.22         # column header block of one line
HEADER_LINE_IN = 0.11    # each further header line
HEADER_CHARS = 17        # headers longer than this break after "<step>:" (per-op: "+1:\nRandomResizedCrop")
GROUP_IN = 0.22          # policy group header line (compare)
TITLE_LINE_IN = 0.17     # one line of the wrapped title
TITLE_CHARS_PER_IN = 15  # wrap width of the title at its font size
LABEL_CHARS = 18         # class names are cut to this many characters


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------

@dataclass
class PreviewColumn:
    """One figure column.

    ``images``: uint8 ``[n, 3, H, W]`` (one per row); ``notes``: optional per-row text shown above
    each cell (per-op: ``"ColorJitter (skipped, p=0.5)"``); ``group``: policy name (compare).
    """

    header: str
    images: torch.Tensor
    notes: list[str] | None = None
    group: str | None = None


@dataclass
class Preview:
    """Everything a preview figure shows plus the JSON record that replays it."""

    title: str
    row_labels: list[str]
    columns: list[PreviewColumn]
    record: dict[str, Any] = field(default_factory=dict)
    #: per policy op: (policy name, op position from 1, op name, p, cells where it applied, cells)
    applied: list[tuple[str, int, str, float, int, int]] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of the image grid."""
        return len(self.row_labels), len(self.columns)


# --------------------------------------------------------------------------------------------
# Inputs: policy, dataset, image choice
# --------------------------------------------------------------------------------------------

def resolve_policy(spec):
    """``augstudy.policy.load_policy`` with every failure turned into a one-line UserError."""
    from augstudy.policy import load_policy

    try:
        return load_policy(spec)
    except UserError:
        raise
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise UserError(f"policy {spec!r}: {exc}") from exc


def resolve_dataset(dataset, image_size: int = 64):
    """Return ``dataset`` if it is already loaded, else ``load_dataset(dataset)`` (a path or None)."""
    if hasattr(dataset, "val_images") and hasattr(dataset, "class_names"):
        return dataset
    from augstudy.data import load_dataset

    return load_dataset(dataset, image_size=image_size)


def split_tensors(dataset, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 ``[N, 3, H, W]``, labels int64 ``[N]``) of ``split`` ("val" or "train")."""
    if split not in SPLITS:
        raise UserError(f"--split must be one of {', '.join(SPLITS)}, got {split!r}")
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


def images_checksum(images: torch.Tensor) -> str:
    """SHA-256 of uint8 images (any shape), to detect a changed dataset at replay time."""
    return hashlib.sha256(images.contiguous().cpu().numpy().tobytes()).hexdigest()


# --------------------------------------------------------------------------------------------
# Describing policies
# --------------------------------------------------------------------------------------------

def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return "(" + ", ".join(_format_value(v) for v in value) + ")"
    return str(value)


def describe_op(op) -> str:
    """``ColorJitter(brightness=0.2, hue=0.05) p=0.8`` for an OpSpec (p omitted when 1)."""
    params = ", ".join(f"{k}={_format_value(v)}" for k, v in (op.params or {}).items())
    text = f"{op.op}({params})" if params else op.op
    return text if float(op.p) >= 1.0 else f"{text} p={float(op.p):g}"


def describe_policy(policy) -> str:
    """``light: RandomCrop(size=64, padding=4) · HorizontalFlip p=0.5`` (``none`` when no ops)."""
    ops = " · ".join(describe_op(op) for op in policy.ops) or "no ops (identity)"
    whole_p = float(getattr(policy, "p", 1.0))
    return f"{policy.name}: {ops}" + (f" (whole policy p={whole_p:g})" if whole_p < 1.0 else "")


def safe_name(name: str) -> str:
    """A policy name usable in a file name (``my policy.yaml`` -> ``my-policy.yaml``)."""
    return re.sub(r"[^A-Za-z0-9_.=+-]+", "-", str(name)).strip("-") or "policy"


def default_out_path(policy_names: Sequence[str], per_op: bool = False) -> Path:
    """``reports/preview-<p>.png``, ``reports/preview-<p>-per-op.png`` or
    ``reports/preview-<p1>-vs-<p2>.png`` (relative to the current directory)."""
    stem = "-vs-".join(safe_name(n) for n in policy_names)
    return Path("reports") / f"preview-{stem}{'-per-op' if per_op else ''}.png"


def preview_json_path(png_path: str | Path) -> Path:
    """The replay record beside a PNG: ``x/preview-light.png`` -> ``x/preview-light.json``."""
    png_path = Path(png_path)
    stem = png_path.name[:-4] if png_path.name.lower().endswith(".png") else png_path.name
    return png_path.with_name(stem + ".json")


# --------------------------------------------------------------------------------------------
# Sampling and applying draws
# --------------------------------------------------------------------------------------------

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


def _per_op_columns(images, policy, draw) -> list[PreviewColumn]:
    """Original, then the image after op 1, after ops 1-2, ...: prefixes of policy and draw."""
    n = images.shape[0]
    columns = []
    for k, op in enumerate(policy.ops, start=1):
        stepped = _apply(images, _prefix(policy, k), _prefix(draw, k))
        notes = [f"{op.op} (applied)" if applied else f"{op.op} (skipped, p={float(op.p):g})"
                 for applied in _applied_mask(draw, k - 1, n)]
        columns.append(PreviewColumn(f"+{k}: {op.op}", stepped, notes=notes))
    return columns


# --------------------------------------------------------------------------------------------
# Building previews (fresh or from a record)
# --------------------------------------------------------------------------------------------

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
        head = f"{'compare' if mode == 'compare' else 'preview'}, {record['draws']} draws from epoch {record['epoch']}, {where}"
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
                                     group=policy.name if mode == "compare" else None)
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
        "data_path": str(Path(dataset.root).resolve()) if getattr(dataset, "root", None) else None,
        "image_size": int(images.shape[-1]),
        "indices": [int(i) for i in indices],
        "labels": [int(v) for v in labels],
        "class_names": [dataset.class_names[v] if 0 <= v < len(dataset.class_names) else str(v) for v in labels],
        "images_sha256": images_checksum(images),
        "columns": [c.header if c.group is None else f"{c.group}: {c.header}" for c in columns],
        "policies": policy_records,
    }
    return Preview(_title(mode, policies, record), _row_labels(dataset, labels), columns, record, applied)


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
    return _build("grid", [resolve_policy(policy)], resolve_dataset(dataset),
                  n=n, draws=draws, seed=seed, epoch=epoch, split=split)


def build_per_op(policy, dataset, n: int = 8, seed: int = 0, split: str = "val", epoch: int = 0) -> Preview:
    """Original then one column per op of a single draw (``epoch``), op prefixes applied in turn."""
    return _build("per-op", [resolve_policy(policy)], resolve_dataset(dataset),
                  n=n, draws=1, seed=seed, epoch=epoch, split=split)


def build_compare(policies: Sequence, dataset, n: int = 8, draws: int = 4, seed: int = 0,
                  split: str = "val", epoch: int = 0) -> Preview:
    """Original then ``draws`` columns per policy, same images and seed for every policy."""
    resolved = [resolve_policy(p) for p in policies]
    if not resolved:
        raise UserError("--compare needs at least one policy, e.g. --compare light,heavy")
    return _build("compare", resolved, resolve_dataset(dataset),
                  n=n, draws=draws, seed=seed, epoch=epoch, split=split)


def load_record(json_path: str | Path) -> dict:
    """Read and check a preview's JSON record; UserError naming the file on any problem."""
    json_path = Path(json_path)
    if not json_path.is_file():
        raise UserError(f"{json_path}: replay file not found; pass the .json written beside a preview PNG")
    try:
        record = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{json_path}: not valid JSON ({exc}); pass the .json written beside a preview PNG") from exc
    if not isinstance(record, dict) or record.get("augstudy_preview") != RECORD_FORMAT:
        raise UserError(f"{json_path}: not an augstudy preview record (format {RECORD_FORMAT}); "
                        f"pass the .json written beside a preview PNG")
    missing = [k for k in ("mode", "seed", "epoch", "draws", "split", "indices", "policies", "images_sha256")
               if k not in record]
    if missing or record["mode"] not in MODES:
        raise UserError(f"{json_path}: field(s) {', '.join(missing) or 'mode'} missing or invalid; "
                        f"re-create it with augstudy preview")
    return record


def build_replay(record: dict, dataset=None, source: str = "replay record") -> Preview:
    """Rebuild a preview from its record: same images (checksum-verified), stored draws."""
    from augstudy.policy import Policy

    if dataset is None:
        if not record.get("data_path"):
            raise UserError(f"{source}: no data_path recorded; pass the dataset with --data")
        dataset = record["data_path"]
    dataset = resolve_dataset(dataset, image_size=int(record.get("image_size", 64)))
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
    if preview.record["images_sha256"] != record["images_sha256"]:
        raise UserError(f"{source}: the images at indices {record['indices']} of {dataset.root} differ from "
                        f"the ones previewed; pass the original dataset with --data")
    return preview


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

def _title_lines(title: str, width_in: float) -> list[str]:
    width = max(30, int(width_in * TITLE_CHARS_PER_IN))
    lines = []
    for paragraph in title.split("\n"):
        lines += textwrap.wrap(paragraph, width=width, subsequent_indent="    ") or [""]
    return lines


def header_text(header: str) -> str:
    """A column header as drawn: long ones break after their ``"+k:"`` step prefix."""
    return header.replace(": ", ":\n", 1) if len(header) > HEADER_CHARS else header


def note_text(note: str) -> str:
    """A cell note as drawn, on two lines: ``"ColorJitter\n(skipped, p=0.5)"``."""
    return note.replace(" (", "\n(", 1)


def figure_layout(rows: int, cols: int, title: str, has_notes: bool = False, has_groups: bool = False,
                  header_lines: int = 1) -> dict:
    """Figure size and margins in inches; the PNG is ``round(width*DPI) x round(height*DPI)`` pixels."""
    row_in = CELL_IN + CELL_GAP_IN + (NOTE_IN if has_notes else 0.0)
    width = ROW_LABEL_IN + cols * (CELL_IN + CELL_GAP_IN) + MARGIN_IN
    lines = _title_lines(title, width)
    header_in = HEADER_IN + (header_lines - 1) * HEADER_LINE_IN
    top = len(lines) * TITLE_LINE_IN + 0.1 + header_in + (GROUP_IN if has_groups else 0.0)
    height = top + rows * row_in + MARGIN_IN
    return {"width": width, "height": height, "top": top, "row_in": row_in, "title_lines": lines,
            "header_in": header_in}


def _layout_for(preview: Preview) -> dict:
    rows, cols = preview.shape
    header_lines = max(header_text(c.header).count("\n") + 1 for c in preview.columns)
    return figure_layout(rows, cols, preview.title, any(c.notes for c in preview.columns),
                         any(c.group for c in preview.columns), header_lines)


def figure_pixels(preview: Preview) -> tuple[int, int]:
    """(width, height) in pixels of the PNG :func:`write_preview` makes for ``preview``."""
    layout = _layout_for(preview)
    return round(layout["width"] * DPI), round(layout["height"] * DPI)


def _seaborn_look() -> tuple[list[str], dict]:
    """Seaborn's ``deep`` palette and ``white``/``paper`` styles, from matplotlib's bundled copies
    (``seaborn-v0_8-*``): importing seaborn itself costs ~2.5 s (it pulls in scipy.stats)."""
    from matplotlib import style

    palette = style.library["seaborn-v0_8-deep"]["axes.prop_cycle"].by_key()["color"]
    rc = {**style.library["seaborn-v0_8-white"], **style.library["seaborn-v0_8-paper"], "font.size": 7}
    return palette, rc


def _cells_to_canvas(preview: Preview, row_px: int, note_px: int, frame_colors: list[tuple[int, int, int]]):
    """All cells on one white uint8 canvas ``[rows*row_px, cols*(cell+gap), 3]`` (numpy, HWC).

    Each image is scaled to ``cell`` px by nearest-neighbour index gathering (pixels stay crisp)
    and framed by a 1 px line in its column's colour.  One ``figimage`` of this canvas draws the
    whole grid: 40 separate axes cost more than everything else in the command.
    """
    cell, gap = round(CELL_IN * DPI), round(CELL_GAP_IN * DPI)
    rows, cols = preview.shape
    canvas = torch.full((rows * row_px, cols * (cell + gap), 3), 255, dtype=torch.uint8)
    for c, column in enumerate(preview.columns):
        side_h, side_w = column.images.shape[-2:]
        pick_y = torch.arange(cell) * side_h // cell
        pick_x = torch.arange(cell) * side_w // cell
        scaled = column.images[:, :, pick_y][:, :, :, pick_x].permute(0, 2, 3, 1)  # [n, cell, cell, 3]
        frame = torch.tensor(frame_colors[c], dtype=torch.uint8)
        x0 = c * (cell + gap)
        for r in range(rows):
            y0 = r * row_px + note_px
            block = canvas[y0 : y0 + cell, x0 : x0 + cell]
            block.copy_(scaled[r])
            block[0], block[-1], block[:, 0], block[:, -1] = frame, frame, frame, frame
    return canvas.numpy()


def _rgb255(color) -> tuple[int, int, int]:
    from matplotlib.colors import to_rgb

    return tuple(round(v * 255) for v in to_rgb(color))


def render_png(preview: Preview, out_path: str | Path) -> Path:
    """Draw ``preview`` with matplotlib (Agg canvas, seaborn look) and write the PNG atomically.

    The image grid is one pixel-exact ``figimage``; titles, headers, notes and row labels are
    figure text.  The figure is drawn on an Agg canvas without pyplot, so no global backend or
    figure registry is touched (safe inside notebooks and worker processes).  The PNG carries
    no software/date metadata so equal inputs give identical bytes.
    """
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    has_notes = any(c.notes for c in preview.columns)
    groups = [c.group for c in preview.columns]
    layout = _layout_for(preview)
    width, height = layout["width"], layout["height"]
    width_px, height_px = round(width * DPI), round(height * DPI)
    cell, gap = round(CELL_IN * DPI), round(CELL_GAP_IN * DPI)
    note_px = round(NOTE_IN * DPI) if has_notes else 0
    row_px = cell + gap + note_px
    left_px, top_px = round(ROW_LABEL_IN * DPI), round(layout["top"] * DPI)
    palette, rc = _seaborn_look()
    group_colors = {g: palette[i % len(palette)] for i, g in enumerate(dict.fromkeys(g for g in groups if g))}
    frames = [_rgb255(group_colors.get(g, "0.6")) for g in groups]
    canvas = _cells_to_canvas(preview, row_px, note_px, frames)

    def at(x_px: float, y_from_top_px: float) -> tuple[float, float]:
        return x_px / width_px, 1 - y_from_top_px / height_px

    out_path = Path(out_path)
    with matplotlib.rc_context(rc):
        fig = Figure(figsize=(width, height), dpi=DPI)
        FigureCanvasAgg(fig)
        fig.figimage(canvas, xo=left_px, yo=height_px - top_px - canvas.shape[0], origin="upper")
        fig.text(*at(8, 6), "\n".join(layout["title_lines"]), ha="left", va="top", fontsize=7.5,
                 linespacing=1.25)
        for c, column in enumerate(preview.columns):
            x_mid = left_px + c * (cell + gap) + cell / 2
            fig.text(*at(x_mid, top_px - 4), header_text(column.header), ha="center", va="bottom",
                     fontsize=6.5, fontweight="bold", linespacing=1.1)
            for r, note in enumerate(column.notes or []):
                fig.text(*at(x_mid, top_px + r * row_px + note_px - 2), note_text(note), ha="center",
                         va="bottom", fontsize=5.5, linespacing=1.1,
                         color=palette[2] if "skipped" in note else "0.15")
        for r, label in enumerate(preview.row_labels):
            fig.text(*at(left_px - 6, top_px + r * row_px + note_px + cell / 2), label, ha="right",
                     va="center", fontsize=7)
        if any(groups):
            _draw_group_headers(fig, preview.columns, group_colors, width, height, layout["top"],
                                layout["header_in"])
        with atomic_path(out_path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return out_path


def _draw_group_headers(fig, columns, group_colors, width: float, height: float, top: float,
                        header_in: float) -> None:
    """One coloured label per policy, centred over its run of columns (compare mode)."""
    start = 0
    while start < len(columns):
        group = columns[start].group
        end = start
        while end + 1 < len(columns) and columns[end + 1].group == group:
            end += 1
        if group:
            x_mid = ROW_LABEL_IN + (start + end + 1) / 2 * (CELL_IN + CELL_GAP_IN) - CELL_GAP_IN / 2
            fig.text(x_mid / width, (height - top + header_in + 0.02) / height, f"policy {group}",
                     ha="center", va="bottom", fontsize=7.5, fontweight="bold", color=group_colors[group])
        start = end + 1


def write_preview(preview: Preview, out_path: str | Path) -> Path:
    """Write the PNG and its JSON record (:func:`preview_json_path`), both atomically."""
    out_path = Path(out_path)
    if out_path.suffix.lower() != ".png":
        raise UserError(f"--out {out_path}: the preview is a PNG; use a path ending in .png")
    render_png(preview, out_path)
    atomic_write_json(preview_json_path(out_path), preview.record)
    return out_path


# --------------------------------------------------------------------------------------------
# Public one-call API
# --------------------------------------------------------------------------------------------

def render_preview_grid(policy, dataset, out_path: str | Path, n: int = 8, draws: int = 4, seed: int = 0,
                        split: str = "val", epoch: int = 0) -> Path:
    """PNG grid of ``n`` images x (original + ``draws`` draws) plus its JSON; returns the PNG path.

    ``policy``: anything ``load_policy`` accepts (preset name, file, dict, Policy).
    ``dataset``: an ``ImageDataset`` (or a path / None, loaded with ``load_dataset``).
    """
    return write_preview(build_grid(policy, dataset, n=n, draws=draws, seed=seed, split=split, epoch=epoch), out_path)


def render_per_op(policy, dataset, out_path: str | Path, n: int = 8, seed: int = 0, split: str = "val",
                  epoch: int = 0) -> Path:
    """PNG of one draw op by op (original, after op 1, ...) plus its JSON; returns the PNG path."""
    return write_preview(build_per_op(policy, dataset, n=n, seed=seed, split=split, epoch=epoch), out_path)


def render_compare(policies: Sequence, dataset, out_path: str | Path, n: int = 8, draws: int = 4, seed: int = 0,
                   split: str = "val", epoch: int = 0) -> Path:
    """PNG with one column group per policy on the same images and seed, plus its JSON."""
    return write_preview(build_compare(policies, dataset, n=n, draws=draws, seed=seed, split=split, epoch=epoch),
                         out_path)


def replay_preview(json_path: str | Path, out_path: str | Path | None = None, dataset=None) -> Path:
    """Re-render a preview from its JSON record with the stored draws (bit-identical images).

    ``out_path`` defaults to ``<record stem>-replay.png`` beside the record (the original PNG is
    kept); ``dataset`` overrides the recorded data path.
    """
    json_path = Path(json_path)
    record = load_record(json_path)
    preview = build_replay(record, dataset=dataset, source=str(json_path))
    if out_path is None:
        out_path = json_path.with_name(json_path.stem + "-replay.png")
    return write_preview(preview, out_path)


__all__ = [
    "Preview", "PreviewColumn", "render_preview_grid", "render_per_op", "render_compare", "replay_preview",
    "build_grid", "build_per_op", "build_compare", "build_replay", "load_record", "write_preview",
    "render_png", "preview_json_path", "default_out_path", "choose_stratified", "describe_policy",
    "figure_pixels", "to_display_uint8", "applied_table",
]
