"""Drawing a :class:`~augstudy.preview.model.Preview` as a PNG with matplotlib (Agg, seaborn look).

The figure geometry is fixed in inches so the PNG size is a pure function of (rows, columns,
title lines), and identical inputs give identical bytes.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch

from augstudy.atomic import atomic_path, atomic_write_json
from augstudy.preview.model import Preview
from augstudy.preview.record import check_preview_target, preview_json_path

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


#: characters of a note line that fit a cell at the note font size (5.5 pt)
NOTE_LINE_CHARS = 26


def note_fontsize(note: str) -> float:
    """5.5 pt, smaller for long notes (the automatic policies' sub-ops), so a note stays within its cell."""
    longest = max(len(line) for line in note_text(note).split("\n"))
    return max(3.0, 5.5 * min(1.0, NOTE_LINE_CHARS / max(longest, 1)))


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
    """Draw ``preview`` (:func:`preview_figure`) and write the PNG atomically.

    The PNG carries no software/date metadata so equal inputs give identical bytes.
    """
    import matplotlib

    out_path = Path(out_path)
    with matplotlib.rc_context(_seaborn_look()[1]):
        fig = preview_figure(preview)
        with atomic_path(out_path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return out_path


def preview_figure(preview: Preview):
    """``preview`` as a matplotlib ``Figure`` (Agg canvas, seaborn look); nothing is written.

    The image grid is one pixel-exact ``figimage``; titles, headers, notes and row labels are
    figure text.  The figure is drawn on an Agg canvas without pyplot, so no global backend or
    figure registry is touched (safe inside notebooks and worker processes).  Size in inches:
    :func:`figure_layout` (:data:`DPI` dots per inch).
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
                         va="bottom", fontsize=note_fontsize(note), linespacing=1.1,
                         color=palette[2] if "skipped" in note else "0.15")
        for r, label in enumerate(preview.row_labels):
            fig.text(*at(left_px - 6, top_px + r * row_px + note_px + cell / 2), label, ha="right",
                     va="center", fontsize=7)
        if any(groups):
            _draw_group_headers(fig, preview.columns, group_colors, width, height, layout["top"],
                                layout["header_in"])
    return fig


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
    out_path = check_preview_target(out_path, f"--out {out_path}")
    render_png(preview, out_path)
    atomic_write_json(preview_json_path(out_path), preview.record)
    return out_path


__all__ = ["render_png", "preview_figure", "write_preview", "figure_layout", "figure_pixels", "header_text", "note_text", "DPI",
           "CELL_IN", "CELL_GAP_IN", "NOTE_IN", "ROW_LABEL_IN", "MARGIN_IN"]
