"""Policy data: validation (one clear error per bad spec), defaults, round trips, presets, loader, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from augstudy.cli import cli
from augstudy.errors import UserError
from augstudy.policy import OP_NAMES, OPS, PRESETS, OpSpec, Policy, load_policy
from augstudy.policy.presets import preset_path

LIGHT = {"name": "light", "ops": [
    {"op": "RandomCrop", "size": 64, "padding": 4, "p": 1.0},
    {"op": "HorizontalFlip", "p": 0.5},
    {"op": "ColorJitter", "brightness": 0.2, "contrast": 0.2, "saturation": 0.2, "hue": 0.05, "p": 1.0}]}

# (ops, expected fragments of the one-line error); every op is written to policy.yaml first
BAD_SPECS = [
    ([{"op": "ColorJitter", "hue": 0.7}], ["policy.yaml: op 1 (ColorJitter): field 'hue' must be in [0, 0.5], got 0.7"]),
    ([{"op": "ColorJitter", "hue": [-0.6, 0.1]}], ["field 'hue' must be in [-0.5, 0.5], got -0.6"]),
    ([{"op": "HorizontalFlip"}, {"op": "VerticalFlip", "p": -0.1}],
     ["op 2 (VerticalFlip): field 'p' (probability) must be in [0, 1], got -0.1"]),
    ([{"op": "HorizontalFlip", "p": 1.5}], ["op 1 (HorizontalFlip): field 'p'", "must be in [0, 1], got 1.5"]),
    ([{"op": "HorizontalFlip", "p": "often"}], ["field 'p' (probability) must be a number in [0, 1], got 'often'"]),
    ([{"op": "HorizontalFlip"}, {"op": "Flip"}], ["op 2: unknown op 'Flip'; known ops: HorizontalFlip, VerticalFlip"]),
    ([{"op": "RandomCrop", "size": 64, "pad": 4}],
     ["op 1 (RandomCrop): unknown field 'pad'; valid fields: size, padding, padding_mode, fill, p"]),
    ([{"op": "RandomCrop", "size": 80, "padding": 4}],
     ["op 1 (RandomCrop): field 'size' = 80 is larger than the padded image (64 + 2*4 = 72)"]),
    ([{"op": "RandomCrop", "size": "64"}], ["op 1 (RandomCrop): field 'size' must be an integer, got '64'"]),
    ([{"op": "RandomCrop", "size": 64, "padding_mode": "wrap"}],
     ["field 'padding_mode' must be one of constant, reflect, got 'wrap'"]),
    ([{"op": "RandomResizedCrop", "scale": [0.9, 0.1]}], ["field 'scale' must have low <= high, got [0.9, 0.1]"]),
    ([{"op": "RandomResizedCrop", "scale": 0.5}], ["field 'scale' must be a [low, high] pair of numbers, got 0.5"]),
    ([{"op": "ColorJitter", "brightness": -0.2}], ["field 'brightness' must be in [0, inf], got -0.2"]),
    ([{"op": "ColorJitter", "contrast": True}], ["field 'contrast' must be a number or a [low, high] pair of numbers, got True"]),
    ([{"op": "GaussianBlur", "kernel_size": 4}], ["field 'kernel_size' must be odd, got 4"]),
    ([{"op": "Normalize"}, {"op": "HorizontalFlip"}], ["op 1 (Normalize): must be the last op"]),
    ([{"op": "Normalize", "std": [0.2, 0, 0.2]}], ["field 'std' must be > 0, got 0"]),
    ([{"op": "RandomCrop", "size": 48, "p": 0.5}], ["field 'p' must be 1 when the op changes the image size (64 -> 48)"]),
    ([{"op": "RandomResizedCrop", "size": 32}, {"op": "RandomCrop", "size": 40}],
     ["op 2 (RandomCrop): field 'size' = 40 is larger than the padded image (32 + 2*0 = 32)"]),
    ([{"p": 0.5}], ["op 1 has no 'op' key"]),
    ([["HorizontalFlip"]], ["op 1 must be a mapping like {op: HorizontalFlip, p: 0.5}"]),
]


@pytest.mark.parametrize("ops,fragments", BAD_SPECS, ids=[str(i) for i in range(len(BAD_SPECS))])
def test_bad_specs_fail_with_one_clear_line(tmp_path, ops, fragments):
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump({"name": "bad", "ops": ops}))
    with pytest.raises(UserError) as info:
        load_policy(str(path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    for fragment in fragments:
        assert fragment.replace("policy.yaml", str(path)) in message


def test_unknown_op_lists_every_known_op():
    with pytest.raises(UserError) as info:
        load_policy([{"op": "Solarize"}])
    assert all(name in str(info.value) for name in OP_NAMES)


@pytest.mark.parametrize("text,fragment", [
    ("name: x\nops:\n  - {op: HorizontalFlip, p: 0.5\n", "YAML syntax error at line 4"),
    ("name: x\nops: [\n  {op: HorizontalFlip}\n  bad: : \n", "YAML syntax error at line"),
])
def test_yaml_syntax_errors_name_file_and_line(tmp_path, text, fragment):
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    with pytest.raises(UserError, match=fragment) as info:
        load_policy(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("data,fragment", [
    ({"name": "x", "ops": [], "magnitude": 2},
     "unknown policy field 'magnitude'; valid fields: name, image_size, p, ops, strength"),
    ({"name": "x", "ops": [], "strength": -1}, "field 'strength' must be a number >= 0"),
    ({"name": "x", "ops": [], "strength": "high"}, "field 'strength' must be a number >= 0"),
    ({"name": "x"}, "missing 'ops'"),
    ({"ops": {"op": "HorizontalFlip"}}, "'ops' must be a list of ops"),
    ({"ops": [], "image_size": 0}, "field 'image_size' must be an integer in [1, 4096], got 0"),
    (42, "a policy must be a preset name, a file, a dict or a list of ops, got int"),
    ("no-such-policy", "unknown policy 'no-such-policy': not a preset (none, light, medium, heavy, final, randaugment_m9, "
         "trivialaugment, autoaugment, augmix)"),
])
def test_bad_policy_level_input(data, fragment):
    with pytest.raises(UserError) as info:
        load_policy(data)
    assert fragment in str(info.value)


def test_defaults_filled_in_and_round_trip_exact():
    policy = load_policy(LIGHT)
    crop = policy.ops[0]
    assert crop == OpSpec("RandomCrop", {"size": 64, "padding": 4, "padding_mode": "constant", "fill": 0.0}, 1.0)
    flip = load_policy([{"op": "HorizontalFlip"}]).ops[0]
    assert flip.p == OPS["HorizontalFlip"].p_default == 0.5
    rrc = load_policy([{"op": "RandomResizedCrop"}]).ops[0]
    assert rrc.params == {"size": 64, "scale": [0.08, 1.0], "ratio": [3 / 4, 4 / 3]}
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_dict(yaml.safe_load(yaml.safe_dump(policy.to_dict()))) == policy
    assert policy.to_dict()["ops"][2] == {"op": "ColorJitter", "brightness": 0.2, "contrast": 0.2,
                                          "saturation": 0.2, "hue": 0.05, "p": 1.0}


def test_every_registry_op_round_trips_with_defaults():
    policy = load_policy([{"op": name} for name in OP_NAMES])
    assert [s.op for s in policy.ops] == list(OP_NAMES)
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


def test_bare_list_and_policy_inputs():
    as_list = load_policy(LIGHT["ops"])
    assert as_list.ops == load_policy(LIGHT).ops and as_list.name == "custom"
    policy = load_policy("light")
    assert load_policy(policy) is policy
    with pytest.raises(UserError, match="larger than the padded image"):  # revalidated at the new size
        load_policy(policy, image_size=32)
    flips = load_policy([{"op": "HorizontalFlip"}])
    resized = load_policy(flips, image_size=32)
    assert resized.image_size == 32 and resized.ops == flips.ops


@pytest.mark.parametrize("name", PRESETS)
def test_presets_load_and_explain_themselves(name):
    policy = load_policy(name)
    assert policy.name == name and policy.image_size == 64
    text = preset_path(name).read_text()
    assert text.lstrip().startswith("#") and "Why" in text
    assert Policy.from_dict(policy.to_dict()) == policy


def test_preset_contents():
    assert load_policy("light").to_dict() == Policy.from_dict(LIGHT).to_dict()
    assert load_policy("none").ops == []
    final = {s.op: s for s in load_policy("final").ops}
    assert final["RandomCrop"].params["padding"] in (4, 8) and final["HorizontalFlip"].p == 0.5
    assert [final["ColorJitter"].params[k] for k in ("brightness", "contrast", "saturation", "hue")] == [0.3] * 3 + [0.1]
    heavy = [s.op for s in load_policy("heavy").ops]
    assert {"RandomResizedCrop", "ColorJitter", "Rotation", "RandomErasing"} <= set(heavy)


def test_resize_back_note():
    policy = load_policy([{"op": "RandomResizedCrop", "size": 48}])
    assert policy.sizes() == [64, 48] and policy.needs_resize()
    assert policy.notes == ["op 1 (RandomResizedCrop) outputs 48x48; a final bilinear resize back to the model "
                            "input 64x64 is applied"]
    assert load_policy("light").notes == []


def test_policy_file_name_defaults_to_stem(tmp_path):
    path = tmp_path / "my_policy.yaml"
    path.write_text(yaml.safe_dump({"ops": LIGHT["ops"]}))
    assert load_policy(path).name == "my_policy"
    json_path = tmp_path / "p.json"
    json_path.write_text(json.dumps(LIGHT))
    assert load_policy(json_path) == load_policy(LIGHT)


# ------------------------------------------------------------------------------- CLI
def test_cli_show_prints_every_parameter_and_notes(tmp_path):
    result = CliRunner().invoke(cli, ["policy", "show", "light"])
    assert result.exit_code == 0, result.output
    for fragment in ("RandomCrop", "size=64", "padding=4", "padding_mode=constant", "fill=0", "HorizontalFlip",
                     "0.5", "brightness=0.2", "hue=0.05"):
        assert fragment in result.output
    path = tmp_path / "small.yaml"
    path.write_text("- {op: RandomCrop, size: 56, padding: 2}\n")
    result = CliRunner().invoke(cli, ["policy", "show", str(path)])
    assert result.exit_code == 0 and "resize back" in result.output and "note: op 1 (RandomCrop) outputs 56x56" in result.output


def test_cli_show_yaml_output_loads_back(tmp_path):
    result = CliRunner().invoke(cli, ["policy", "show", "heavy", "--output", "yaml"])
    assert result.exit_code == 0
    path = tmp_path / "heavy_copy.yaml"
    path.write_text(result.stdout)
    assert load_policy(path) == load_policy("heavy")


def test_cli_check_ok_and_error(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(LIGHT))
    result = CliRunner().invoke(cli, ["policy", "check", str(good)])
    assert result.exit_code == 0 and result.output.startswith(f"ok: {good}: policy 'light', 3 ops")
    bad = tmp_path / "bad.yaml"
    bad.write_text("ops:\n  - {op: HorizontalFlip}\n  - {op: ColorJitter, hue: 0.7}\n")
    result = CliRunner().invoke(cli, ["policy", "check", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {bad}: op 2 (ColorJitter): field 'hue' must be in [0, 0.5], got 0.7"
    assert "Traceback" not in result.output


def test_console_script_check_and_help(tmp_path):
    exe = Path(sys.executable).parent / "augstudy"
    bad = tmp_path / "bad.yaml"
    bad.write_text("ops: [{op: Flip}]\n")
    proc = subprocess.run([str(exe), "policy", "check", str(bad)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().startswith(f"error: {bad}: op 1: unknown op 'Flip'; known ops:")
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = subprocess.run([str(exe), "policy", "show", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "NAME|FILE" in proc.stdout


def test_cli_policy_module_has_no_heavy_imports():
    code = ("import sys, augstudy.cli.policy; "
            "print(sorted(m for m in ('torch', 'numpy', 'yaml', 'albumentations', 'kornia') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "[]"
    # loading and validating a policy (policy show/check) does not need torch either
    code = ("import sys; from augstudy.policy import load_policy; load_policy('heavy'); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert out.strip() == "False"
