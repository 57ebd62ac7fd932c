"""One home per op: the registry of ops, the backend registry covering every op, neutral values
decided once, the shared ImageNet Normalize default, and module sizes."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from augstudy.policy import BACKENDS, OP_NAMES, OPS, load_policy, sample_draw
from augstudy.policy.apply import apply_draw, backend_module
from augstudy.policy.backends.registry import BackendOpError, implementation, implemented_ops
from augstudy.policy.equivalence import colour_fields
from augstudy.policy.ops import IMAGENET_MEAN, IMAGENET_STD, Op
from augstudy.policy.ops.color_jitter import ADJUSTMENTS, active_adjustments, is_neutral_setting

POLICY_DIR = Path(__file__).resolve().parents[2] / "augstudy" / "policy"


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("op", OP_NAMES)
def test_every_backend_implements_every_op(backend, op):
    backend_module(backend)  # importing a backend registers its implementations
    assert callable(implementation(backend, op))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_missing_op_is_one_clear_sentence(backend):
    backend_module(backend)
    assert set(implemented_ops(backend)) == set(OP_NAMES)
    with pytest.raises(BackendOpError, match=f"^backend {backend} does not implement op 'Solarize'; it implements: "):
        implementation(backend, "Solarize")


def test_every_op_is_one_class_with_its_own_module():
    modules = {type(op).__module__ for op in OPS.values()}
    assert all(m.startswith("augstudy.policy.ops.") for m in modules)
    for name, op in OPS.items():
        assert isinstance(op, Op) and op.name == name
        assert op.field_names == tuple(op.Params.model_fields)
        params, p = op.validate({})
        assert params == op.defaults() and p == op.p_default
        assert op.strength_rule, f"{name} documents how strength scales it"


@pytest.mark.parametrize("value,neutral", [(0.0, True), ([1.0, 1.0], True), (0.2, False), ([0.9, 1.0], False)])
def test_colour_jitter_neutral_factor_is_decided_in_one_place(value, neutral):
    assert is_neutral_setting("brightness", value) is neutral
    assert OPS["ColorJitter"].is_identity({"brightness": value, "contrast": 0.0, "saturation": 0.0, "hue": 0.0}) \
        is neutral
    assert is_neutral_setting("hue", [0.0, 0.0]) and not is_neutral_setting("hue", [0.0, 0.1])
    assert active_adjustments({"brightness": value, "hue": 0.1}) == (["hue"] if neutral else ["brightness", "hue"])


@pytest.mark.parametrize("backend", BACKENDS)
def test_neutral_jitter_leaves_pixels_unchanged_in_every_backend(backend):
    images = colour_fields(3, size=16)
    policy = load_policy([{"op": "ColorJitter", "brightness": [1, 1], "contrast": 0, "saturation": [1, 1],
                           "hue": [0, 0]}], image_size=16)
    assert OPS["ColorJitter"].is_identity(policy.ops[0].params)
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(3))
    assert torch.equal(apply_draw(images, policy, draw, backend=backend), images)
    assert ADJUSTMENTS == ("brightness", "contrast", "saturation", "hue")


@pytest.mark.parametrize("backend", ["torchvision", "kornia", "albumentations"])
def test_reference_backends_default_normalize_to_imagenet(backend):
    """A Normalize without mean/std in a backend means ImageNet's, as the op's own defaults."""
    assert OPS["Normalize"].defaults() == {"mean": list(IMAGENET_MEAN), "std": list(IMAGENET_STD)}
    images = colour_fields(2, size=16)
    bare = SimpleNamespace(ops=[SimpleNamespace(op="Normalize", params={}, p=1.0)], image_size=16)
    draw = [{"apply": torch.ones(2, dtype=torch.bool)}]
    out = backend_module(backend).apply_draw(images, bare, draw)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    assert (out - (images.float() / 255 - mean) / std).abs().max() < 1e-4


def test_no_policy_module_is_over_500_lines():
    sizes = {str(p.relative_to(POLICY_DIR)): len(p.read_text().splitlines()) for p in POLICY_DIR.rglob("*.py")}
    assert max(sizes.values()) <= 500, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def test_every_op_imports_its_albumentations_counterpart():
    from augstudy.policy.albumentations_import import CONVERTERS

    from augstudy.policy.backends.no_auto_equivalent import AUTO_OPS

    # the automatic policies have no albumentations counterpart (no_auto_equivalent says so)
    assert {op.name for op in CONVERTERS.values()} == set(OP_NAMES) - set(AUTO_OPS)
