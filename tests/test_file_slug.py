"""``file_slug``: one rule for a policy name in the default file names of preview and measure, and a
different one (``arm_path_name``) for arm names inside a study folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from augstudy.ablation.storage.schema import arm_path_name
from augstudy.file_slug import file_slug
from augstudy.measure.output import default_paths
from augstudy.preview.describe import default_out_path


@pytest.mark.parametrize("name, slug", [
    ("light", "light"), ("my policy.yaml", "my-policy.yaml"), ("policies/x y", "policies-x-y"),
    ("light@0.5", "light-0.5"), ("a+b=c", "a+b=c"), ("  /weird//", "weird"), ("///", "policy")])
def test_preview_and_measure_name_a_policy_by_one_rule(name, slug):
    assert file_slug(name) == slug
    assert default_out_path([name]) == Path("reports") / f"preview-{slug}.png"
    assert default_paths(name, "out") == (Path("out") / f"measure-{slug}.json", Path("out") / f"measure-{slug}.csv")


def test_arm_names_in_a_study_folder_keep_their_own_rule():
    """The study folder's reader finds ``tb/<arm>/`` and ``previews/<arm>.png`` by ``arm_path_name``:
    one ``_`` per unsafe character, never collapsed or stripped (existing studies keep loading)."""
    assert arm_path_name("augment=policies/my.yaml") == "augment=policies_my.yaml"
    assert file_slug("augment=policies/my.yaml") == "augment=policies-my.yaml"
    assert arm_path_name("a  b") == "a__b" and file_slug("a  b") == "a-b"
