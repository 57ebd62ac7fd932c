"""Fixtures of the fault suite: one tiny on-disk dataset (cache built once), a spec folder with
a ``tiny`` budget and the ``drop`` factor, and one finished study to copy and damage."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_helpers import FAULT_BUDGETS, FAULT_FACTORS, ablate_args, model_budget, run  # noqa: E402
from study_helpers import noise_dataset, write_image_folder, write_specs  # noqa: E402


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """A clean 2-class image folder (8 train / 8 val) whose dataset cache is already built."""
    from augstudy.data import load_dataset

    root = write_image_folder(noise_dataset(8, 8), tmp_path_factory.mktemp("faults-data") / "noise")
    load_dataset(root, progress=False)
    return root


@pytest.fixture(scope="session")
def specs(tmp_path_factory) -> Path:
    return write_specs(tmp_path_factory.mktemp("faults-specs") / "specs", FAULT_FACTORS,
                       budgets={**FAULT_BUDGETS, "small": model_budget("small_cnn", epochs=2)})


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory, tiny_data, specs) -> Path:
    """A finished ``drop`` study (2 arms x 1 seed, 1 epoch each, no report); copy it before damaging it."""
    out = tmp_path_factory.mktemp("faults-finished") / "study"
    done = run(ablate_args(specs, tiny_data, out, budget="tiny1"))
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="session")
def small_args(tiny_data, specs):
    """``small_args(out, *extra, seeds=2)``: the ``drop`` study of :func:`small_study` as CLI arguments
    (in-process: the budget's model ``fault_helpers:small_cnn`` imports from this folder); finished runs
    keep their weights (``--keep-checkpoints``), so the cases can damage a checkpoint too."""
    from fault_helpers import cli_args

    def args(out: Path, *extra: str, seeds: int = 2) -> list[str]:
        return cli_args(ablate_args(specs, tiny_data, out, "--keep-checkpoints", *extra, budget="small",
                                    seeds=seeds))

    return args


@pytest.fixture(scope="session")
def small_study(tmp_path_factory, small_args) -> Path:
    """A finished ``drop`` study of a small CNN (2 arms x 2 seeds x 2 epochs, checkpoints of a few KB),
    built in-process once per session; copy it before damaging it."""
    from click.testing import CliRunner

    from augstudy.cli import cli

    out = tmp_path_factory.mktemp("faults-small") / "study"
    done = CliRunner().invoke(cli, small_args(out), catch_exceptions=False)
    assert done.exit_code == 0, done.output
    return out
