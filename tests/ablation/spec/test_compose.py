"""Two factors' levels compose by meaning: edits of different ops combine, only true conflicts are refused."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from augstudy.ablation.spec.compose import compose_levels
from augstudy.ablation.designs.factorial import resolve_factorial_arms
from augstudy.cli import cli
from augstudy.errors import UserError


def _ops(arm) -> list[str]:
    return [op["op"] for op in arm.policy["ops"]]


def test_flip_by_color_jitter_removes_and_updates_different_ops_of_one_policy():
    arms = {arm.extra["cell"][1::2]: arm for arm in resolve_factorial_arms("flip", "color_jitter", "smoke")}
    assert len(arms) == 8 and len({a.config_hash for a in arms.values()}) == 8
    assert _ops(arms["on", "baseline"]) == ["RandomCrop", "HorizontalFlip", "ColorJitter"]
    assert _ops(arms["off", "none"]) == ["RandomCrop"]                      # both removals applied
    strong = arms["off", "strong"]
    assert _ops(strong) == ["RandomCrop", "ColorJitter"] and strong.policy["ops"][1]["brightness"] == 0.6
    assert arms["on", "baseline"].is_baseline and sum(a.is_baseline for a in arms.values()) == 1


def test_flip_by_crop_and_regularizers_by_augmentations_compose():
    crop = {a.extra["cell"][1::2]: a for a in resolve_factorial_arms("flip", "crop", "smoke")}
    assert _ops(crop["off", "strong"]) == ["RandomResizedCrop", "ColorJitter"]   # remove one op, replace another
    mix = {a.extra["cell"][1::2]: a for a in resolve_factorial_arms("mixup", "color_jitter", "smoke")}
    assert mix["0.8", "none"].config["mix"]["mixup_alpha"] == 0.8 and _ops(mix["0.8", "none"]) == ["RandomCrop",
                                                                                                  "HorizontalFlip"]
    ls = {a.extra["cell"][1::2]: a for a in resolve_factorial_arms("label_smoothing", "mixup", "smoke")}
    cell = ls["0.1", "0.2"].config
    assert cell["optimizer"]["label_smoothing"] == 0.1 and cell["mix"]["mixup_alpha"] == 0.2
    assert "mix" not in ls["0.1", "0"].config                               # mixup off: no mix section
    ema = {a.extra["cell"][1::2]: a for a in resolve_factorial_arms("ema", "erasing_fill", "smoke")}
    assert _ops(ema["0.04", "pixel"])[-1] == "RandomErasing" and ema["0.04", "pixel"].config["ema"]["horizon"] == 0.04


@pytest.mark.parametrize("a, b, words", [
    ({"augment": {"policy": "final", "remove": ["ColorJitter"]}},
     {"augment": {"policy": "final", "update": {"ColorJitter": {"hue": 0.2}}}}, "op ColorJitter removed by one level"),
    ({"augment": {"policy": "final", "update": {"ColorJitter": {"hue": 0.3}}}},
     {"augment": {"policy": "final", "update": {"ColorJitter": {"hue": 0.2}}}}, "ColorJitter.hue set to 0.3 and 0.2"),
    ({"augment": {"policy": "none"}}, {"augment": {"policy": "final"}}, "two different whole policies"),
    ({"augment": {"policy": "final", "replace": {"RandomCrop": {"op": "RandomResizedCrop", "size": 64}}}},
     {"augment": {"policy": "final", "update": {"RandomCrop": {"padding": 4}}}}, "op RandomCrop replaced by one"),
    ({"augment": {"policy": "final", "strength": 2}}, {"augment": {"policy": "final", "strength": 0.5}},
     "augment.strength set to 2 and 0.5"),
    ({"optimizer": {"lr": 0.1}}, {"optimizer": {"lr": 0.2}}, "both set optimizer.lr"),
])
def test_true_conflicts_are_one_line_naming_what_is_set_two_ways(a, b, words):
    with pytest.raises(UserError) as err:
        compose_levels(a, b, "a.yaml: levels.x", "b.yaml: levels.y")
    message = str(err.value)
    assert words in message and "a.yaml: levels.x and b.yaml: levels.y conflict" in message and "\n" not in message


def test_compatible_edits_merge_field_by_field():
    merged = compose_levels(
        {"augment": {"policy": "final", "remove": ["HorizontalFlip"], "update": {"ColorJitter": {"hue": 0.2}}},
         "optimizer": {"lr": 0.1}},
        {"augment": {"policy": "final", "update": {"ColorJitter": {"brightness": 0.5}},
                     "add": [{"op": "RandomErasing", "p": 0.25}]}, "mix": {"mixup_alpha": 0.2}}, "a", "b")
    assert merged["augment"] == {"policy": "final", "remove": ["HorizontalFlip"],
                                 "update": {"ColorJitter": {"hue": 0.2, "brightness": 0.5}},
                                 "add": [{"op": "RandomErasing", "p": 0.25}]}
    assert merged["optimizer"] == {"lr": 0.1} and merged["mix"] == {"mixup_alpha": 0.2}


def test_cli_refuses_a_true_conflict_in_one_line():
    result = CliRunner().invoke(cli, ["ablate", "policy", "--by", "color_jitter", "--budget", "smoke"])
    assert result.exit_code == 2 and "two different whole policies" in result.output
    assert len(result.output.strip().splitlines()) == 1
