"""Preview augmentation policies as PNG grids of real images, replayable bit for bit.

Three figures, one engine:

- :func:`render_preview_grid`: rows are dataset images (stratified by class), columns the
  original then ``draws`` augmented versions, each the draw training sees at that epoch.
- :func:`render_per_op`: one draw, shown op by op (original, after op 1, after op 2, ...).
- :func:`render_compare`: several policies on the same images with the same seed.
- :func:`render_strengths`: one policy at several strengths (``scale_policy``), same images and seed.

Each PNG gets a JSON record beside it (:func:`preview_json_path`); :func:`replay_preview`
re-renders from that record alone, with the stored draws.  MixUp/CutMix previews (``augstudy preview
--mixup/--cutmix``, record mode :data:`MIX_MODE`) are drawn and replayed by the ablation's
``execution/mix_preview.py``, called from the CLI and the API: this package does not import the ablation.

Modules: :mod:`.choice` (which images), :mod:`.describe` (policy text, file names),
:mod:`.build` (draws applied into a :class:`Preview`), :mod:`.record` (the replay record),
:mod:`.render` (matplotlib layout and PNG writing), :mod:`.model` (the data passed between them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from augstudy.preview.build import (applied_table, build_compare, build_grid, build_per_op, build_replay,
                                    build_strengths, resolve_policy, to_display_uint8)
from augstudy.preview.choice import choose_stratified
from augstudy.preview.describe import default_out_path, describe_policy
from augstudy.preview.model import Preview, PreviewColumn
from augstudy.preview.record import MIX_MODE, load_record, preview_json_path
from augstudy.preview.render import figure_layout, figure_pixels, render_png, write_preview


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


def render_strengths(policy, strengths: Sequence[float], dataset, out_path: str | Path, n: int = 8, draws: int = 4,
                     seed: int = 0, split: str = "val", epoch: int = 0) -> Path:
    """PNG with one column group per strength of ``policy`` on the same images and seed, plus its JSON."""
    return write_preview(build_strengths(policy, strengths, dataset, n=n, draws=draws, seed=seed, split=split,
                                         epoch=epoch), out_path)


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
    "Preview", "PreviewColumn", "render_preview_grid", "render_per_op", "render_compare", "render_strengths",
    "replay_preview", "build_grid", "build_per_op", "build_compare", "build_strengths", "build_replay", "load_record", "write_preview",
    "render_png", "preview_json_path", "default_out_path", "choose_stratified", "describe_policy",
    "figure_layout", "figure_pixels", "to_display_uint8", "applied_table", "resolve_policy", "MIX_MODE",
]
