"""``augstudy data ...``: info, check and fetch.  Each sub-command lives in its own module."""

from __future__ import annotations

import importlib

import click

_SUBCOMMANDS = {
    "info": "augstudy.cli.data_info:info_command",
    "check": "augstudy.cli.data_check:check_command",
    "fetch": "augstudy.cli.data_fetch:fetch_command",
}


class _LazyDataGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(_SUBCOMMANDS)

    def get_command(self, ctx, name):
        if name not in _SUBCOMMANDS:
            return None
        module_name, attr = _SUBCOMMANDS[name].split(":")
        return getattr(importlib.import_module(module_name), attr)


@click.group("data", cls=_LazyDataGroup)
def data_group() -> None:
    """Datasets: describe, sanity-check and download them."""
