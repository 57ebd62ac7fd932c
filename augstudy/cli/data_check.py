"""``augstudy data check``: dataset sanity report (thin wrapper over
:func:`augstudy.data.check.check_dataset`; nothing heavy is imported at module top)."""

from __future__ import annotations

import click


@click.command("check")
@click.option("--data", "data", default=None, metavar="PATH",
              help="Dataset folder: Tiny ImageNet, image folder (train/<class>/, val/<class>/), IDX or CIFAR "
                   "(default: data/tiny-imagenet-200 if present, else the embedded fashion-mnist-mini).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object {dataset, findings: [{kind, severity, files, message}], stats} "
                   "instead of the table (default: table).")
@click.option("--near-threshold", default=0.99, show_default=True, type=click.FloatRange(0.0, 1.0, min_open=True),
              help="Cosine similarity of mean-centred 16x16 grayscale thumbnails at or above which a val image "
                   "counts as a near-duplicate of its nearest train image.")
@click.option("--workers", default=None, type=click.IntRange(1, 256), metavar="N",
              help="Decode processes (default: all CPUs).")
@click.option("--out", default=None, type=click.Path(dir_okay=False, path_type=str), metavar="FILE",
              help="Also write the JSON report to FILE (atomically) and print its path (default: no file).")
def check_command(data: str | None, as_json: bool, near_threshold: float, workers: int | None,
                  out: str | None) -> None:
    """Check a dataset: layout, undecodable files, modes/sizes, class balance,
    duplicates, train/val leakage, near-duplicates, and the train mean/std.

    \b
    Exit status: 0 no errors (warnings allowed), 1 errors found,
    2 the path cannot be read (missing, not a folder, no known layout)
    or --out cannot be written.
    """
    import json
    import sys
    from pathlib import Path

    from augstudy.atomic import atomic_write_json, ensure_writable_folder
    from augstudy.data.check import check_dataset, format_report

    if out:
        # refuse before checking: an unwritable --out is a usage error (exit 2), never "errors found"
        ensure_writable_folder(Path(out).parent, target=out)

    if data is None:
        from augstudy.data.paths import resolve_data_path

        path, message = resolve_data_path(None)
        click.echo(message, err=True)
    else:
        path = data
    report = check_dataset(path, near_threshold=near_threshold, workers=workers)
    payload = report.to_dict()
    if out:
        written = atomic_write_json(out, payload)
    if as_json:
        click.echo(json.dumps(payload, indent=2, allow_nan=False))  # strict JSON: unknowns are null
    else:
        click.echo(format_report(report))
    if out:
        click.echo(f"wrote {written}", err=as_json)
    # SystemExit, not ctx.exit(): the root group's main() runs click with standalone_mode=False,
    # where ctx.exit(code) is returned rather than raised and the code would be lost
    sys.exit(report.exit_code)
