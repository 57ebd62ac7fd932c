"""Policy strength: every op's magnitudes scale as its module documents, s=0 is the identity policy
(images unchanged in every backend), scaled policies stay valid, and the policy_strength factor."""

from __future__ import annotations

import math

import pytest
import torch

from augstudy.ablation.spec import study_spec as spec
from augstudy.errors import UserError
from augstudy.policy import BACKENDS, OP_NAMES, OPS, PRESETS, Policy, apply_draw, load_policy, sample_draw, \
    scale_policy
from augstudy.policy.equivalence import colour_fields

SIDE = 32

# (op as written, strength, expected params/p of the scaled op: only the keys that change)
SCALING = [
    ({"op": "HorizontalFlip", "p": 0.5}, 1.5, {"p": 0.75}),
    ({"op": "VerticalFlip", "p": 0.5}, 3, {"p": 1.0}),                               # p clamped to 1
    ({"op": "RandomGrayscale", "p": 0.2}, 0.5, {"p": 0.1}),
    ({"op": "RandomCrop", "size": SIDE, "padding": 4}, 2.5, {"padding": 10, "size": SIDE}),
    ({"op": "RandomCrop", "size": 28, "padding": 2}, 2, {"padding": 4, "size": 24}),  # shrink side-size doubles
    ({"op": "RandomCrop", "size": SIDE, "padding": 20, "padding_mode": "reflect"}, 2, {"padding": SIDE - 1}),
    ({"op": "RandomResizedCrop", "size": SIDE, "scale": [0.5, 1.0], "ratio": [0.5, 2.0]}, 0.5,
     {"scale": [0.75, 1.0], "ratio": [math.sqrt(0.5), math.sqrt(2.0)]}),
    ({"op": "RandomResizedCrop", "size": SIDE, "scale": [0.5, 1.0], "ratio": [1.0, 1.0]}, 3,
     {"scale": [0.001, 1.0]}),                                                        # area end clamped
    ({"op": "RandomResizedCrop", "size": 24, "scale": [1.0, 1.0], "ratio": [1.0, 1.0]}, 0.5, {"size": 28}),
    ({"op": "ColorJitter", "brightness": 0.2, "contrast": [0.5, 1.5], "saturation": 0.4, "hue": 0.1}, 2,
     {"brightness": 0.4, "contrast": [0.0, 2.0], "saturation": 0.8, "hue": 0.2}),
    ({"op": "ColorJitter", "contrast": [0.8, 1.2], "hue": [-0.1, 0.3]}, 2,
     {"contrast": [0.6, 1.4], "hue": [-0.2, 0.5]}),                                   # hue end clamped to 0.5
    ({"op": "ColorJitter", "hue": 0.25}, 3, {"hue": 0.5}),
    ({"op": "RandomErasing", "scale": [0.02, 0.33]}, 2, {"scale": [0.04, 0.66]}),
    ({"op": "RandomErasing", "scale": [0.2, 0.5]}, 4, {"scale": [0.8, 1.0]}),        # area clamped to 1
    ({"op": "Rotation", "degrees": 30}, 0.5, {"degrees": 15.0}),
    ({"op": "Rotation", "degrees": [-10, 90]}, 3, {"degrees": [-30.0, 180.0]}),
    ({"op": "Affine", "degrees": 10, "translate": [0.1, 0.4], "scale": [0.8, 1.2]}, 3,
     {"degrees": 30.0, "translate": [0.3, 1.0], "scale": [0.4, 1.6]}),
    ({"op": "GaussianBlur", "kernel_size": 5, "sigma": [0.5, 2.0]}, 2, {"sigma": [1.0, 4.0], "kernel_size": 5}),
    ({"op": "GaussianBlur", "kernel_size": 5, "sigma": [0.5, 2.0]}, 0, {"kernel_size": 1, "sigma": [0.01, 0.01]}),
    ({"op": "Normalize"}, 0, {}),                                                     # preprocessing: kept
    ({"op": "RandAugment"}, 0.5, {"magnitude_scale": 0.5}),       # magnitudes' distance from neutral
    ({"op": "TrivialAugmentWide"}, 0, {"magnitude_scale": 0.0, "p": 0.0}),  # s = 0: the identity
    ({"op": "AutoAugment", "policy": "svhn"}, 3, {"magnitude_scale": 3.0}),
    ({"op": "AugMix", "magnitude_scale": 4.0}, 5, {"magnitude_scale": 10.0}),   # clamped to 10
]


@pytest.mark.parametrize("op,strength,expected", SCALING, ids=[f"{c[0]['op']}-{i}" for i, c in enumerate(SCALING)])
def test_each_op_scales_as_documented(op, strength, expected):
    policy = load_policy([op], image_size=SIDE)
    scaled = scale_policy(policy, strength).ops[0]
    written = policy.ops[0]
    for key, value in {**written.params, "p": written.p}.items():
        got = scaled.p if key == "p" else scaled.params[key]
        want = expected.get(key, value)
        assert got == pytest.approx(want, abs=1e-9), (key, got, want)


def test_every_op_has_a_scaling_case():
    assert {case[0]["op"] for case in SCALING} == set(OP_NAMES)


def _all_ops_policy() -> Policy:
    sizes = {"RandomCrop": {"size": SIDE, "padding": 2}, "RandomResizedCrop": {"size": SIDE}}
    ops = [{"op": name, **sizes.get(name, {})} for name in OP_NAMES if name != "Normalize"]
    ops += [{"op": "RandomCrop", "size": 24, "padding": 3, "fill": 0.5},
            {"op": "Affine", "degrees": 20, "translate": [0.2, 0.1], "scale": [0.7, 1.3]},
            {"op": "ColorJitter", "brightness": [0.5, 1.5], "hue": [-0.2, 0.1]}]
    return load_policy({"name": "everything", "ops": ops}, image_size=SIDE)


def _policies() -> list[Policy]:
    """Every op (several settings) at SIDE px, and the presets at their own 64 px."""
    return [_all_ops_policy()] + [load_policy(name) for name in PRESETS]


@pytest.mark.parametrize("backend", BACKENDS)
def test_strength_zero_is_the_identity_policy(backend):
    for policy in _policies():
        side = policy.image_size
        images = colour_fields(4, size=side)
        identity = scale_policy(policy, 0)
        assert all(OPS[s.op].is_identity(s.params, side) or s.p == 0 for s in identity.ops), identity.to_dict()
        draw = sample_draw(identity, seed=3, epoch=1, indices=torch.arange(4))
        assert torch.equal(apply_draw(images, identity, draw, backend=backend), images), (backend, policy.name)


@pytest.mark.parametrize("strength", [0, 0.25, 0.5, 1, 1.5, 2, 3, 10, 1000])
def test_scaled_policies_stay_valid_and_round_trip(strength):
    for policy in _policies():
        scaled = scale_policy(policy, strength)
        assert Policy.from_dict(scaled.to_dict()) == scaled
        sample_draw(scaled, seed=0, epoch=0, indices=torch.arange(4))  # and it samples
        for s in scaled.ops:
            if s.op == "ColorJitter":
                assert all(abs(v) <= 0.5 for v in (s.params["hue"] if isinstance(s.params["hue"], list)
                                                   else [s.params["hue"]]))
            assert 0.0 <= s.p <= 1.0


def test_strength_one_is_the_policy_itself_and_names_say_the_scale():
    final = load_policy("final")
    assert scale_policy(final, 1) == final and scale_policy(final, 1).name == "final"
    assert scale_policy(final, 0.5).name == "final@0.5"
    assert scale_policy(final, 2).ops[0].params["padding"] == 2 * final.ops[0].params["padding"]


def test_strength_key_on_a_policy_spec_equals_scale_policy():
    data = {"name": "mine", "ops": [{"op": "RandomCrop", "size": 64, "padding": 4},
                                    {"op": "ColorJitter", "brightness": 0.2, "hue": 0.05}]}
    assert load_policy({**data, "strength": 2.5}) == scale_policy(load_policy(data), 2.5)
    with pytest.raises(UserError, match="strength must be a number >= 0"):
        scale_policy(load_policy(data), -0.5)


def test_policy_strength_factor_scales_the_final_policy():
    arms = {a.level: a for a in spec.resolve_study_arms("policy_strength", "full")}
    assert list(arms) == ["1", "0", "0.25", "0.5", "1.5", "2", "3"]
    assert arms["1"].is_baseline
    assert arms["1"].config_hash == spec.resolve_study_arms("dropout", "full")[0].config_hash
    final = load_policy("final")
    for level, arm in arms.items():
        assert Policy.from_dict(arm.policy) == scale_policy(final, float(level))
    zero = Policy.from_dict(arms["0"].policy)
    assert all(OPS[s.op].is_identity(s.params, 64) or s.p == 0 for s in zero.ops)


def test_augment_strength_is_checked_with_file_and_field(tmp_path):
    from study_helpers import write_specs

    specs = write_specs(tmp_path / "specs", {"bad": {"baseline_level": "a", "levels": {
        "a": {}, "b": {"augment": {"policy": "final", "strength": "lots"}}}}})
    with pytest.raises(UserError) as err:
        spec.resolve_study_arms("bad", "tiny", specs)
    assert "bad.yaml: levels.b: field 'augment.strength' must be a number >= 0" in str(err.value)
