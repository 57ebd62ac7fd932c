"""The CLI's basics: ``--help`` and ``--version`` work, and no help text imports a heavy library.

Each ``--help`` runs in a fresh interpreter that then checks ``sys.modules``: a CLI module
importing torch (or numpy, matplotlib...) at its top would make ``augstudy --help`` slow.
Sub-groups are walked recursively, so a new sub-command is covered automatically.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from augstudy import __version__
from augstudy.cli import LAZY_COMMANDS

HEAVY_MODULES = ("torch", "torchvision", "numpy", "matplotlib", "kornia", "albumentations", "scipy",
                 "sklearn", "seaborn", "ray", "pandas", "tensorboard", "PIL")

# Runs `augstudy <path> --help` in-process without exiting, then reports the heavy modules loaded
# and, for a group, the names of its sub-commands.
_CHILD = r"""
import io, json, sys, contextlib
import click
from augstudy.cli import cli
path = json.loads(sys.argv[1])
out = io.StringIO()
with contextlib.redirect_stdout(out):
    cli.main(path + ["--help"], prog_name="augstudy", standalone_mode=False)
ctx = click.Context(cli, info_name="augstudy")
cmd = cli
for name in path:
    cmd = cmd.get_command(ctx, name)
    ctx = click.Context(cmd, info_name=name, parent=ctx)
children = sorted(cmd.list_commands(ctx)) if isinstance(cmd, click.Group) else []
heavy = sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)
print(json.dumps({"help": out.getvalue(), "heavy": heavy, "children": children}))
"""


def _help_in_fresh_interpreter(path: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, json.dumps(path), json.dumps(HEAVY_MODULES)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, f"augstudy {' '.join(path)} --help failed:\n{proc.stderr}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_console_help_and_version(run_console):
    help_result = run_console("--help")
    assert help_result.returncode == 0, help_result.stderr
    assert "Usage: augstudy" in help_result.stdout
    for name in LAZY_COMMANDS:
        assert name in help_result.stdout
    version = run_console("--version")
    assert version.returncode == 0 and version.stdout.strip() == f"augstudy, version {__version__}"


def test_root_help_imports_no_heavy_library():
    info = _help_in_fresh_interpreter([])
    assert "Usage: augstudy" in info["help"]
    assert info["heavy"] == [], f"'augstudy --help' imported {info['heavy']}"
    assert set(LAZY_COMMANDS) <= set(info["children"])


@pytest.mark.parametrize("command", sorted(LAZY_COMMANDS))
def test_every_subcommand_help_imports_no_heavy_library(command):
    pending, seen = [[command]], []
    while pending:
        path = pending.pop()
        info = _help_in_fresh_interpreter(path)
        assert "Usage:" in info["help"] and "--help" in info["help"]
        assert info["heavy"] == [], f"'augstudy {' '.join(path)} --help' imported {info['heavy']}"
        pending += [path + [child] for child in info["children"]]
        seen.append(" ".join(path))
    if command == "data":
        assert {"data info", "data check", "data fetch"} <= set(seen)


def test_unknown_command_is_one_line(run_console):
    result = run_console("frobnicate")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "frobnicate" in lines[0]
