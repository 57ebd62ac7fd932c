"""``augstudy data info``: what a dataset holds and how it was converted."""

from __future__ import annotations

import json

import click

#: class names shown in the table before "..."
_SHOWN_CLASSES = 8


@click.command("info")
@click.option("--data", "data_path", type=click.Path(), default=None,
              help="Dataset folder (default: data/tiny-imagenet-200 if present, else the embedded "
                   "data/fashion-mnist-mini).")
@click.option("--image-size", type=click.IntRange(min=8), default=64, show_default=True,
              help="Image side in pixels that every source is converted to.")
@click.option("--cache-dir", type=click.Path(file_okay=False), default=None,
              help="Cache folder (default: <dataset>/.augstudy-cache, else ~/.cache/augstudy; "
                   "env AUGSTUDY_CACHE_DIR).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table (default: table).")
def info_command(data_path: str | None, image_size: int, cache_dir: str | None, as_json: bool) -> None:
    """Describe a dataset: source kind, counts per split, classes, conversions, grayscale share, cache.

    The first call decodes the images and writes the cache (a progress bar shows the ETA);
    later calls memory-map the cache.
    """
    from augstudy.data import load_dataset_folder, resolve_data_path
    from augstudy.data.paths import display_path

    root, message = resolve_data_path(data_path)
    if data_path is None:  # say which default was picked; an explicit path needs no comment
        click.echo(message, err=True)
    ds = load_dataset_folder(root, image_size=image_size, cache_dir=cache_dir)
    summary = ds.describe()
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(format_info(summary, display_path))


def format_info(summary: dict, display_path) -> str:
    """The ``data info`` table for a :meth:`ImageDataset.describe` dict."""
    from pathlib import Path

    names = summary["class_names"]
    shown = ", ".join(names[:_SHOWN_CLASSES]) + (", ..." if len(names) > _SHOWN_CLASSES else "")
    size = summary["image_shape"]
    rows = [
        ("dataset", summary["name"]),
        ("source", f"{summary['source_kind']}: {summary['source']}"),
        ("root", display_path(Path(summary["root"]))),
        ("train", f"{summary['splits']['train']:,} images"),
        ("val", f"{summary['splits']['val']:,} images"),
        ("classes", f"{summary['num_classes']}: {shown}"),
        ("images", f"uint8 [{size[0]}, {size[1]}, {size[2]}]"),
        ("grayscale", f"{100 * summary['grayscale_fraction']:.1f}% of images (single-channel or R=G=B at source)"),
    ]
    per_class = summary["class_counts"]["train"]
    if per_class:
        rows.append(("per class", f"train {min(per_class):,}-{max(per_class):,}, "
                                  f"val {min(summary['class_counts']['val']):,}-"
                                  f"{max(summary['class_counts']['val']):,} images"))
    conversions = summary["conversions"] or ["none (images used as stored)"]
    rows.append(("conversions", conversions[0]))
    rows += [("", c) for c in conversions[1:]]
    cache = summary["cache_path"]
    rows.append(("cache", display_path(Path(cache)) if cache else "none (cache folder not writable)"))
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)
