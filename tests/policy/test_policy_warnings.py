"""Degenerate-draw warnings: ``policy_warnings`` and ``augstudy policy check`` flag parameters that make
most draws mostly fill or empty, and the torch-free estimates agree with what the sampler draws."""

from __future__ import annotations

import pytest
import torch
import yaml

from augstudy.policy import PRESETS, load_policy, policy_warnings, sample_draw
from augstudy.policy.ops.random_crop import mostly_fill_share
from augstudy.policy.ops.random_erasing import empty_share

N = 4000  # draws per estimate check: a share's standard error is under 0.008


@pytest.mark.parametrize("ops,fragment", [
    ([{"op": "RandomCrop", "size": 64, "padding": 1024}], "op 1 (RandomCrop): padding 1024 around a 64x64 image"),
    ([{"op": "HorizontalFlip"}, {"op": "RandomErasing", "scale": [1e-5, 2e-5]}],
     "op 2 (RandomErasing): scale [1e-05, 2e-05] at 64x64: 100% of draws erase nothing"),
    ([{"op": "RandomErasing", "scale": [0.99, 1.0], "ratio": [1, 1]}], "100% of draws erase nothing"),
    ([{"op": "RandomResizedCrop", "size": 64, "scale": [1e-5, 2e-5]}], "fall back to the same centre crop"),
    ([{"op": "Affine", "translate": [0.9, 0.9], "scale": [0.3, 0.5]}], "less than half of the output"),
])
def test_degenerate_parameters_warn(ops, fragment):
    warnings = policy_warnings(load_policy(ops))
    assert len(warnings) == 1 and fragment in warnings[0] and "\n" not in warnings[0]


@pytest.mark.parametrize("ops", [
    [{"op": "RandomCrop", "size": 64, "padding": 16}],
    [{"op": "RandomCrop", "size": 64, "padding": 63, "padding_mode": "reflect"}],  # mirrored, never fill
    [{"op": "RandomErasing"}], [{"op": "RandomResizedCrop", "size": 64}],
    [{"op": "Affine", "degrees": 30, "translate": [0.2, 0.2], "scale": [0.8, 1.2]}],
])
def test_ordinary_parameters_do_not_warn(ops):
    assert policy_warnings(load_policy(ops)) == []


@pytest.mark.parametrize("name", PRESETS)
def test_presets_do_not_warn(name):
    assert policy_warnings(load_policy(name)) == []


def test_an_op_that_never_applies_is_not_checked():
    assert policy_warnings(load_policy([{"op": "RandomErasing", "scale": [1e-5, 2e-5], "p": 0.0}])) == []


def test_the_warning_suggests_a_padding_that_passes():
    message = policy_warnings(load_policy([{"op": "RandomCrop", "size": 64, "padding": 200}]))[0]
    suggested = int(message.rsplit("<= ", 1)[1])
    assert 0 < suggested < 200
    assert policy_warnings(load_policy([{"op": "RandomCrop", "size": 64, "padding": suggested}])) == []
    assert policy_warnings(load_policy([{"op": "RandomCrop", "size": 64, "padding": suggested + 1}])) != []


@pytest.mark.parametrize("padding,size", [(24, 64), (40, 64), (48, 32)])
def test_mostly_fill_estimate_matches_the_sampler(padding, size):
    policy = load_policy([{"op": "RandomCrop", "size": size, "padding": padding}])
    fields = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(N)).ops[0]

    def overlap(start):  # image pixels of the window along one axis
        return (torch.clamp(start + size, max=padding + 64) - torch.clamp(start, min=padding)).clamp(min=0)

    image_pixels = overlap(fields["top"]) * overlap(fields["left"])
    sampled = float((image_pixels <= size * size / 2).double().mean())
    assert abs(sampled - mostly_fill_share(64, padding, size)) < 0.03


@pytest.mark.parametrize("scale,ratio", [([0.0001, 0.0004], [0.3, 3.3]), ([0.7, 1.0], [0.5, 2.0]),
                                         ([0.02, 0.33], [0.3, 3.3])])
def test_empty_erasing_estimate_matches_the_sampler(scale, ratio):
    params = {"scale": scale, "ratio": ratio, "value": 0.0}
    policy = load_policy([{"op": "RandomErasing", **params, "p": 1.0}])
    fields = sample_draw(policy, seed=1, epoch=0, indices=torch.arange(N)).ops[0]
    sampled = float(((fields["height"] * fields["width"]) == 0).double().mean())
    assert abs(sampled - empty_share(params, 64)) < 0.03


def test_policy_check_prints_the_warning_and_exits_0(tmp_path, cli_runner):
    path = tmp_path / "pad.yaml"
    path.write_text(yaml.safe_dump({"ops": [{"op": "RandomCrop", "size": 64, "padding": 1024}]}))
    result = cli_runner("policy", "check", str(path))
    assert result.exit_code == 0
    assert result.stdout.startswith(f"ok: {path}") and "1 warning(s)" in result.stdout
    assert "warning: op 1 (RandomCrop): padding 1024 around a 64x64 image" in result.stderr
    clean = cli_runner("policy", "check", "final")
    assert clean.exit_code == 0 and "warning" not in clean.stdout + clean.stderr
    scaled = cli_runner("policy", "show", "final", "--strength", "2")
    assert scaled.exit_code == 0 and "padding=16" in scaled.stdout and "'final@2'" in scaled.stdout
