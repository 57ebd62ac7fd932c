"""Where a study's SESOI (smallest effect size of interest, accuracy points) comes from: the factor
file, else baseline.yaml, else 1 point, a bad value being one line naming file and field; and which
``--seeds`` / ``--sesoi`` / ``--max-seeds`` values ``augstudy ablate`` accepts."""

from __future__ import annotations

import pytest

from augstudy.ablation.spec.study_spec import load_factor, study_sesoi
from augstudy.errors import UserError
from study_helpers import DROPOUT_FACTOR, write_specs


def test_sesoi_comes_from_the_factor_file_else_baseline_yaml_else_one_point(tmp_path):
    specs = write_specs(tmp_path / "a", {"drop": DROPOUT_FACTOR, "lr": {**DROPOUT_FACTOR, "sesoi": 0.5}})
    assert study_sesoi("drop", specs) == 1.0
    assert study_sesoi("lr", specs) == 0.5 and load_factor("lr", specs).sesoi == 0.5
    specs = write_specs(tmp_path / "b", {"drop": DROPOUT_FACTOR, "lr": {**DROPOUT_FACTOR, "sesoi": 0.5}},
                        baseline_changes={"sesoi": 2})
    assert study_sesoi("drop", specs) == 2.0 and study_sesoi("all", specs) == 2.0
    assert study_sesoi("lr", specs) == 0.5                                   # the factor's own wins


@pytest.mark.parametrize("where, value", [("factor", -1), ("factor", "big"), ("baseline", 0), ("baseline", True)])
def test_a_bad_sesoi_is_one_line_naming_file_and_field(tmp_path, where, value):
    factors = {"drop": {**DROPOUT_FACTOR, **({"sesoi": value} if where == "factor" else {})}}
    specs = write_specs(tmp_path / "s", factors, baseline_changes={"sesoi": value} if where == "baseline" else None)
    name = "drop.yaml" if where == "factor" else "baseline.yaml"
    with pytest.raises(UserError, match=rf"{name}: field 'sesoi' must be a number of accuracy points in \(0, 100\)"):
        study_sesoi("drop", specs)


def test_cli_seeds_accepts_a_count_or_auto_and_refuses_the_rest(cli_runner):
    result = cli_runner("ablate", "dropout", "--seeds", "many")
    assert result.exit_code != 0 and "'many' is neither a number of seeds nor auto" in result.output
    result = cli_runner("ablate", "dropout", "--seeds", "0")
    assert result.exit_code != 0 and "need at least 1" in result.output
    result = cli_runner("ablate", "dropout", "--sesoi", "0")
    assert result.exit_code != 0 and "--sesoi" in result.output
    result = cli_runner("ablate", "dropout", "--seeds", "auto", "--start-seeds", "4", "--max-seeds", "3",
                        "--no-report", "--out", "/nonexistent-never-written")
    assert result.exit_code != 0 and "--max-seeds 3 is below --start-seeds 4" in result.output
