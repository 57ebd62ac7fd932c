"""Shared test setup: quiet, headless, small; fixtures for datasets and for running the CLI.

- ``AUGSTUDY_NO_PROGRESS=1`` (no progress bars in captured output), ``MPLBACKEND=Agg``
  (no display), torch limited to 2 threads when it is imported (the machine has 2 cores).
- ``repo_root``: the repository folder.
- ``tiny_imagenet_tree``: a Tiny-ImageNet-layout tree, 4 classes x (6 train + 2 val), one
  grayscale JPEG.
- ``mini_dataset``: the embedded ``data/fashion-mnist-mini`` loaded once per session (cache in
  a session temp folder, so the repo's data folder is not written).
- ``cli_runner``: ``cli_runner("data", "info", "--json")`` runs ``augstudy.cli.cli`` in-process
  (click's CliRunner) and returns the result (``exit_code``, ``stdout``, ``stderr``).
- ``run_console``: ``run_console("--help")`` runs the installed ``augstudy`` console script in a
  subprocess and returns ``subprocess.CompletedProcess`` (text mode).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["AUGSTUDY_NO_PROGRESS"] = "1"
os.environ.setdefault("MPLBACKEND", "Agg")

REPO_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config) -> None:
    try:  # the machine has 2 cores shared by everything: cap torch's intra-op threads once
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture()
def tiny_imagenet_tree(tmp_path: Path) -> Path:
    """``tmp_path/tiny``: 4 classes x 6 train + 2 val 64x64 JPEGs; train image 5 of class 0 is grayscale."""
    from augstudy.data.synthetic import make_tiny_imagenet_tree

    return make_tiny_imagenet_tree(tmp_path / "tiny", n_classes=4, train_per_class=6, val_per_class=2,
                                   seed=0, grayscale_every=6)


@pytest.fixture(scope="session")
def mini_dataset(tmp_path_factory):
    """The embedded default dataset (2,000 train / 500 val, 10 classes), loaded once per session."""
    from augstudy.data import load_dataset

    return load_dataset(REPO_ROOT / "data" / "fashion-mnist-mini",
                        cache_dir=tmp_path_factory.mktemp("mini-cache"), progress=False)


@pytest.fixture()
def cli_runner():
    """Run ``augstudy <args>`` in-process; returns click's Result (stderr captured separately)."""
    from click.testing import CliRunner

    from augstudy.cli import cli

    def run(*args: str, env: dict | None = None):
        try:
            runner = CliRunner(mix_stderr=False)
        except TypeError:  # click >= 8.2 always separates stderr
            runner = CliRunner()
        return runner.invoke(cli, list(args), env=env, catch_exceptions=False)

    return run


def console_command() -> list[str]:
    """The installed console script, or ``python -m augstudy`` when it is not on disk."""
    script = Path(sys.executable).parent / "augstudy"
    return [str(script)] if script.exists() else [sys.executable, "-m", "augstudy"]


@pytest.fixture()
def run_console():
    """Run the real ``augstudy`` console script in a subprocess (cwd = repo root)."""

    def run(*args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 120):
        full_env = {**os.environ, **(env or {})}
        return subprocess.run([*console_command(), *args], cwd=cwd or REPO_ROOT, env=full_env,
                              capture_output=True, text=True, timeout=timeout)

    return run


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread (exact, repeatable float reductions) from the first test of the module that
    asks for it to the module's end, then restore.  Module scope, so that module-scoped fixtures
    training a reference study can ask for it too."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
