"""``augstudy data fetch NAME``: download, verify and unpack a dataset (thin wrapper over
:func:`augstudy.data.fetch.fetch_dataset`; nothing heavy is imported at module top)."""

from __future__ import annotations

import click

@click.command("fetch")
@click.argument("name", metavar="NAME")
@click.option("--root", default="data", show_default=True, type=click.Path(path_type=str),
              help="Folder that receives the dataset as <root>/<dataset folder>.")
@click.option("--from", "source", default=None, metavar="PATH_OR_URL",
              help="Use a local archive, a local dataset folder or a mirror URL instead of the official "
                   "address (default: official address; for fashion-mnist the Debian copy in "
                   "/usr/share/datasets/fashion-mnist when present).")
@click.option("--sha256", default=None, metavar="HEX",
              help="Expected sha256 of the archive; overrides the recorded checksum (default: the recorded one).")
@click.option("--retries", default=3, show_default=True, type=click.IntRange(0, 100),
              help="Times an interrupted download is resumed (with an HTTP Range request) before giving up.")
def fetch_command(name: str, root: str, source: str | None, sha256: str | None, retries: int) -> None:
    """Download NAME (tiny-imagenet, fashion-mnist or cifar10), verify its checksum and unpack it under --root.

    \b
    A complete dataset already there is never touched (exit 0).  Downloads go to
    <root>/.downloads/<file>.part; an interrupted one resumes on the next run.
    Extraction happens in a hidden folder beside the target and is renamed into
    place, so a failed or killed fetch never leaves a half dataset.
    """
    from augstudy.data.fetch import fetch_dataset

    result = fetch_dataset(name, root, source=source, sha256=sha256, retries=retries)
    for line in result.checks:
        click.echo(f"  {line}")
    if result.status == "already-present":
        click.echo(f"{result.name} is already at {result.path}; nothing to do")
    else:
        click.echo(f"fetched {result.name} from {result.source} into {result.path}")
