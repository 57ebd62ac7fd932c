"""Study specs: the shipped ablations/ resolve, errors are one line naming file and field, --list."""

from __future__ import annotations

import subprocess

import pytest
from click.testing import CliRunner

from augstudy.ablation.spec import study_spec as spec
from augstudy.cli import cli
from augstudy.errors import UserError
from study_helpers import AUGSTUDY, DROPOUT_FACTOR, REPO, write_specs

SHIPPED = ["activation", "batch_size", "bn_order", "classifier_depth", "color_jitter", "conv_regularizer", "crop",
           "cutmix", "dropout", "ema", "erasing_fill", "flip", "label_smoothing", "lr", "mixup", "policy",
           "policy_strength", "pool_stride", "randaugment_magnitude", "recipe", "tta", "weight_decay", "width"]
#: the automatic-policy presets the recipe factor compares (augstudy/policy/presets)
AUTO_PRESETS = ("randaugment_m9", "trivialaugment", "autoaugment", "augmix")


def test_every_shipped_factor_resolves_with_its_baseline_first():
    assert spec.list_factors() == SHIPPED
    baseline_hash = spec.resolve_study_arms("dropout", "full")[0].config_hash
    for factor in SHIPPED:
        arms = spec.resolve_study_arms(factor, "full")
        assert arms[0].is_baseline and sum(a.is_baseline for a in arms) == 1
        assert all(a.name == f"{factor}={a.level}" for a in arms)
        assert len({a.config_hash for a in arms}) == len(arms)          # every level is a different config
        assert arms[0].config_hash == baseline_hash                      # one recipe behind every factor
    dropout = {a.level: a for a in spec.resolve_study_arms("dropout", "full")}
    assert list(dropout) == ["0.3", "0", "0.1", "0.5"]
    assert dropout["0.3"].label == "dropout=0.3 (baseline)"
    assert dropout["0.5"].config["model"]["dropout"] == 0.5


def test_augmentation_levels_edit_the_final_policy():
    flip = {a.level: a.policy for a in spec.resolve_study_arms("flip", "full")}
    assert [op["op"] for op in flip["on"]["ops"]] == ["RandomCrop", "HorizontalFlip", "ColorJitter"]
    assert [op["op"] for op in flip["off"]["ops"]] == ["RandomCrop", "ColorJitter"]
    jitter = {a.level: a.policy for a in spec.resolve_study_arms("color_jitter", "full")}
    hue = next(op for op in jitter["hue"]["ops"] if op["op"] == "ColorJitter")
    assert hue["hue"] >= 0.25 and hue["brightness"] == 0.3
    crop = {a.level: a.policy for a in spec.resolve_study_arms("crop", "full")}
    assert crop["strong"]["ops"][0]["op"] == "RandomResizedCrop"


def test_budgets_never_override_the_batch_size_factor():
    smoke = {a.level: a.config for a in spec.resolve_study_arms("batch_size", "smoke")}
    assert [smoke[k]["train"]["batch_size"] for k in ("64", "128", "256", "512")] == [64, 128, 256, 512]
    assert smoke["256"]["data"]["train_subset"] == 320                 # the rest of the budget still applies
    assert spec.resolve_study_arms("dropout", "smoke")[0].config["train"]["batch_size"] == 32


def test_all_shares_one_baseline_arm():
    arms = spec.resolve_study_arms("all", "full")
    assert arms[0].name == "baseline" and arms[0].is_baseline
    assert not any(a.is_baseline for a in arms[1:])
    assert "dropout=0.3" not in [a.name for a in arms]                  # folded into the shared baseline
    assert arms[0].config_hash == spec.resolve_study_arms("flip", "full")[0].config_hash
    assert len(arms) == 1 + sum(len(spec.load_factor(f).levels) - 1 for f in SHIPPED)


def test_recipe_and_randaugment_magnitude_factors_resolve_after_policy_ops_merge():
    recipe = {a.level: a for a in spec.resolve_study_arms("recipe", "full")}
    assert list(recipe) == ["final", "none", *AUTO_PRESETS] and recipe["final"].is_baseline
    assert recipe["final"].config_hash == spec.resolve_study_arms("dropout", "full")[0].config_hash
    for name in AUTO_PRESETS:                          # each arm is that whole preset, nothing else changed
        assert recipe[name].policy["name"] == name
    magnitude = {a.level: a.policy for a in spec.resolve_study_arms("randaugment_magnitude", "full")}
    for level in ("5", "9", "15", "27"):
        ops = magnitude[level]["ops"]
        assert [op["op"] for op in ops] == ["RandomCrop", "HorizontalFlip", "RandAugment"]
        assert ops[2]["magnitude"] == int(level) and ops[2]["num_ops"] == 2


def test_unknown_factor_lists_the_available_ones():
    with pytest.raises(UserError) as err:
        spec.load_factor("dropuot")
    assert "unknown factor 'dropuot'" in str(err.value) and "dropout" in str(err.value)
    assert "\n" not in str(err.value)


def _factor_error(tmp_path, factor_spec) -> str:
    specs = write_specs(tmp_path / "specs", {"bad": factor_spec})
    with pytest.raises(UserError) as err:
        spec.resolve_study_arms("bad", "tiny", specs)
    message = str(err.value)
    assert "\n" not in message
    return message


def test_bad_level_names_the_file_and_field(tmp_path):
    message = _factor_error(tmp_path, {"baseline_level": "a", "levels": {"a": {}, "b": {"model": {"dropout": 1.5}}}})
    assert "bad.yaml: levels.b" in message and "'model.dropout'" in message and "[0.0, 1.0)" in message
    message = _factor_error(tmp_path, {"baseline_level": "a", "levels": {"a": {}, "b": {"model": {"dropuot": 0.1}}}})
    assert "levels.b" in message and "unknown field 'model.dropuot'" in message
    message = _factor_error(tmp_path, {"baseline_level": "a", "levels": {
        "a": {}, "b": {"augment": {"policy": "final", "remove": ["Sharpen"]}}}})
    assert "levels.b" in message and "no op 'Sharpen'" in message


def test_level_that_changes_nothing_is_an_error(tmp_path):
    message = _factor_error(tmp_path, {"baseline_level": 0.3, "levels": {0.3: {}, 0.31: {"model": {"dropout": 0.3}}}})
    assert "levels.0.31" in message and "changes nothing" in message
    message = _factor_error(tmp_path, {"baseline_level": 0.5, "levels": {0.5: {"model": {"dropout": 0.5}}, 0.3: {}}})
    assert "levels.0.5" in message and "baseline level" in message
    message = _factor_error(tmp_path, {"baseline_level": "x", "levels": {"x": {}}})
    assert "at least 2" in message


def test_config_hash_is_stable_and_key_order_free():
    a = {"model": {"dropout": 0.3, "name": "final"}, "tag": ""}
    b = {"tag": "", "model": {"name": "final", "dropout": 0.3}}
    assert spec.config_hash(a) == spec.config_hash(b) and len(spec.config_hash(a)) == 12
    assert spec.config_hash(a) != spec.config_hash({**a, "tag": "placebo"})


def test_list_shows_factors_levels_and_baseline_mark():
    result = CliRunner().invoke(cli, ["ablate", "--list"])
    assert result.exit_code == 0, result.output
    assert "dropout" in result.output and "0.3 (baseline)" in result.output
    assert "color_jitter" in result.output and "hue" in result.output
    lines = result.output.splitlines()
    for factor in SHIPPED:                              # one line per factor: name, levels, description
        assert sum(line.split()[:1] == [factor] for line in lines) == 1, factor
    assert any(line.split()[:2] == ["mixup", "0"] and "MixUp" in line for line in lines)
    assert "budgets: smoke, short, full" in result.output


def test_cli_errors_are_one_line_and_exit_2(tmp_path):
    done = subprocess.run([str(AUGSTUDY), "ablate", "nosuchfactor", "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: unknown factor 'nosuchfactor' (available: activation")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    specs = write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR})
    result = CliRunner().invoke(cli, ["ablate", "drop", "--specs", str(specs), "--budget", "huge"])
    assert result.exit_code == 2 and "unknown budget 'huge'" in result.output
    result = CliRunner().invoke(cli, ["ablate", "drop", "--specs", str(specs), "--budget", "tiny",
                                      "--device", "cuda:7", "--data", str(tmp_path / "missing")])
    assert result.exit_code == 2 and result.output.startswith("error: ")


def test_help_is_fast_and_imports_no_torch():
    code = "import sys, augstudy.cli.ablate; print('torch' in sys.modules)"
    done = subprocess.run([str(REPO / ".venv/bin/python"), "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False"
    done = subprocess.run([str(AUGSTUDY), "ablate", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--seeds" in done.stdout and "--budget" in done.stdout
