"""The automatic policies (RandAugment, TrivialAugmentWide, AutoAugment, AugMix) as policy ops:
torchvision's tables, keyed draws, equivalence with torchvision on the same choices (stated bounds),
strength, presets, bad parameters, kornia replay, the albumentations refusal, preview notes and measure."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats as sps

from augstudy.errors import UserError
from augstudy.policy import PRESETS, apply_draw, load_policy, sample_draw, scale_policy
from augstudy.policy.auto_equivalence import auto_equivalence_table
from augstudy.policy.auto_spaces import AUTOAUGMENT_POLICIES, SPACES, SUB_OP_ID, SUB_OPS, magnitude_table
from augstudy.policy.equivalence import colour_fields
from augstudy.policy.ops import OPS
from augstudy.policy.sampling import KeyedUniforms, OpUniforms

AUTO = ("RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix")


def one_op(entry: dict, side: int = 32):
    return load_policy({"name": entry["op"], "image_size": side, "ops": [entry]})


# ----------------------------------------------------------------------------- tables are torchvision's
@pytest.mark.parametrize("name", ["RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix"])
def test_op_tables_equal_the_installed_torchvision_bin_by_bin(name):
    from torchvision.transforms import v2

    theirs = getattr(v2, name)._AUGMENTATION_SPACE
    ours = SPACES[name]
    assert list(ours) == list(theirs), "same sub-ops in the same order (the order the uniform choice indexes)"
    for bins, side in ((31, 64), (10, 64), (10, 32)):
        for sub, (fn, signed) in theirs.items():
            expected = fn(bins, side, side)
            got = magnitude_table(ours[sub][0], bins, side)
            assert ours[sub][1] == signed, sub
            if expected is None:
                assert got is None, sub
            else:
                assert torch.equal(got, expected.to(torch.float64)), (sub, bins)


def test_autoaugment_sub_policies_equal_torchvision():
    from torchvision.transforms import v2

    for policy, table in AUTOAUGMENT_POLICIES.items():
        theirs = v2.AutoAugment(v2.AutoAugmentPolicy(policy))._policies
        assert [tuple(map(tuple, pair)) for pair in theirs] == [tuple(map(tuple, pair)) for pair in table], policy


# ----------------------------------------------------------------------------- keyed draws
@pytest.mark.parametrize("entry", [{"op": "RandAugment", "num_ops": 3}, {"op": "TrivialAugmentWide"},
                                   {"op": "AutoAugment", "policy": "cifar10"}, {"op": "AugMix", "alpha": 0.5}])
def test_draws_do_not_depend_on_the_batch(entry):
    policy = one_op(entry)
    whole = sample_draw(policy, seed=7, epoch=3, indices=torch.arange(40))
    parts = [sample_draw(policy, seed=7, epoch=3, indices=torch.arange(a, b)) for a, b in ((0, 1), (1, 17), (17, 40))]
    for key in whole.ops[0]:
        assert torch.equal(torch.cat([p.ops[0][key] for p in parts]), whole.ops[0][key]), key
    shuffled = torch.randperm(40, generator=torch.Generator().manual_seed(0))
    again = sample_draw(policy, seed=7, epoch=3, indices=shuffled)
    for key in whole.ops[0]:
        assert torch.equal(again.ops[0][key], whole.ops[0][key][shuffled]), key
    other_seed = sample_draw(policy, seed=8, epoch=3, indices=torch.arange(40))
    assert not torch.equal(other_seed.ops[0]["magnitude"], whole.ops[0]["magnitude"])


def test_draws_and_outputs_are_the_same_on_every_available_device():
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    policy = one_op({"op": "RandAugment"})
    images = colour_fields(8, size=32)
    reference = sample_draw(policy, seed=1, epoch=0, indices=torch.arange(8))
    out_cpu = apply_draw(images, policy, reference)
    for device in devices:
        draw = sample_draw(policy, seed=1, epoch=0, indices=torch.arange(8, device=device))
        assert draw.equal(reference)
        out = apply_draw(images.to(device), policy, draw).cpu()
        assert (out.float() - out_cpu.float()).abs().max() <= 1


def test_sub_op_choice_sign_and_bins_follow_torchvision_distributions():
    n = 14_000
    policy = one_op({"op": "TrivialAugmentWide"})
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(n)).ops[0]
    ids = draw["sub_op"][:, 0]
    names = list(SPACES["TrivialAugmentWide"])
    counts = np.array([(ids == SUB_OP_ID[name]).sum().item() for name in names])
    assert counts.sum() == n and sps.chisquare(counts).pvalue > 0.001, counts
    rotate = draw["magnitude"][ids == SUB_OP_ID["Rotate"], 0]
    assert abs((rotate < 0).float().mean().item() - 0.5) < 0.05  # signed: negated with probability 1/2
    bins = torch.round(rotate.abs() / 4.5).long()  # linspace(0, 135, 31): 4.5 degrees per bin
    assert sps.chisquare(np.bincount(bins.numpy(), minlength=31)).pvalue > 0.001
    aa = sample_draw(one_op({"op": "AutoAugment"}), seed=0, epoch=0, indices=torch.arange(n)).ops[0]
    # imagenet sub-policy 2 is (Equalize 0.8, Equalize 0.6): the coins fire at those rates
    chosen = aa["sub_policy"] == 2
    for step, rate in ((0, 0.8), (1, 0.6)):
        fired = (aa["sub_op"][chosen, step] == SUB_OP_ID["Equalize"]).float().mean().item()
        assert abs(fired - rate) < 0.1, (step, fired)


def test_keyed_gamma_and_augmix_weights():
    from augstudy.policy.ops.auto_base import keyed_gamma

    u = OpUniforms(KeyedUniforms(0, 0, torch.arange(20_000)), 1)
    for alpha in (0.3, 1.0, 4.0):
        g = keyed_gamma(u, 100, alpha)
        assert abs(g.mean().item() - alpha) < 0.05 * max(alpha, 1) and abs(g.var().item() - alpha) < 0.1 * max(alpha, 1)
    weights = sample_draw(one_op({"op": "AugMix"}), seed=0, epoch=0, indices=torch.arange(4000)).ops[0]["weights"]
    assert torch.allclose(weights.sum(1), torch.ones(4000), atol=1e-5)
    assert abs(weights[:, 0].mean().item() - 0.5) < 0.03  # Beta(1, 1) weight of the original image


# ----------------------------------------------------------------------------- equivalence with torchvision
def test_every_sub_op_and_policy_matches_torchvision_on_the_same_choices():
    rows = auto_equivalence_table(colour_fields(24, size=32), seed=0)
    kornia = auto_equivalence_table(colour_fields(16, size=32, seed=1), seed=1, backend="kornia")
    assert not [r for r in kornia if not r["within_bound"]], [r for r in kornia if not r["within_bound"]]
    labels = {r["compared"] for r in rows}
    assert {n for n in SUB_OPS} <= labels and {"RandAugment", "AugMix", "AutoAugment(svhn)"} <= labels
    bad = [r for r in rows if not r["within_bound"]]
    assert not bad, bad
    # the engine is exact on uint8 for every sub-op but Color (off by one on a few values)
    exact = [r for r in rows if r["dtype"] == "uint8" and r["compared"] in SUB_OPS and r["compared"] != "Color"]
    assert exact and all(r["max_abs_diff"] == 0 for r in exact)


def test_policies_in_a_pipeline_match_torchvision():
    images = colour_fields(12, size=64)
    for name in ("randaugment_m9", "trivialaugment", "autoaugment", "augmix"):
        policy = load_policy(name)
        draw = sample_draw(policy, seed=2, epoch=5, indices=torch.arange(12))
        ours, theirs = apply_draw(images, policy, draw), apply_draw(images, policy, draw, "torchvision")
        diff = (ours.float() - theirs.float()).abs()
        assert diff.mean() <= 0.05 and (diff > 0).float().mean() <= 0.002, (name, diff.mean(), diff.max())


# ----------------------------------------------------------------------------- strength, presets, errors
def test_strength_scales_magnitudes_about_neutral_and_zero_is_the_identity():
    policy = one_op({"op": "RandAugment", "num_ops": 1})
    images = colour_fields(64, size=32)
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(64)).ops[0]
    half = scale_policy(policy, 0.5)
    assert half.ops[0].params["magnitude_scale"] == 0.5
    scaled = sample_draw(half, seed=0, epoch=0, indices=torch.arange(64)).ops[0]
    assert torch.equal(scaled["sub_op"], draw["sub_op"]), "strength keeps the choices"
    for sid in draw["sub_op"].unique().tolist():
        rows = draw["sub_op"][:, 0] == sid
        name, m, s = SUB_OPS[sid], draw["magnitude"][rows, 0].double(), scaled["magnitude"][rows, 0].double()
        if name == "Posterize":
            assert torch.equal(s, torch.round(8 - 0.5 * (8 - m)))
        elif name == "Solarize":
            assert torch.allclose(s, 1 - 0.5 * (1 - m), atol=1e-6)
        else:
            assert torch.allclose(s, 0.5 * m, atol=1e-5), name
    zero = scale_policy(policy, 0)
    assert zero.ops[0].p == 0.0
    zdraw = sample_draw(zero, seed=0, epoch=0, indices=torch.arange(64))
    assert torch.equal(apply_draw(images, zero, zdraw), images)


@pytest.mark.parametrize("name", ["randaugment_m9", "trivialaugment", "autoaugment", "augmix"])
def test_presets_load_and_hold_their_automatic_policy(name):
    assert name in PRESETS
    policy = load_policy(name)
    assert policy.name == name and policy.ops[-1].op in AUTO and policy.image_size == 64


@pytest.mark.parametrize("entry,fragment", [
    ({"op": "RandAugment", "magnitude": 31}, "field 'magnitude' must be in [0, 30] (num_magnitude_bins - 1), got 31"),
    ({"op": "RandAugment", "magnitude": 5, "num_magnitude_bins": 5}, "field 'magnitude' must be in [0, 4]"),
    ({"op": "RandAugment", "num_ops": -1}, "field 'num_ops' must be in [0, 10], got -1"),
    ({"op": "AutoAugment", "policy": "coco"}, "field 'policy' must be one of imagenet, cifar10, svhn, got 'coco'"),
    ({"op": "AugMix", "alpha": 0}, "field 'alpha' must be > 0, got 0"),
    ({"op": "AugMix", "severity": 11}, "field 'severity' must be in [1, 10], got 11"),
    ({"op": "AugMix", "chain_depth": 0}, "field 'chain_depth' must be -1 (random depth 1..3) or in [1, 10], got 0"),
    ({"op": "TrivialAugmentWide", "interpolation": "bicubic"},
     "field 'interpolation' must be one of nearest, bilinear"),
    ({"op": "TrivialAugmentWide", "fill": 2}, "field 'fill' must be in [0, 1], got 2"),
])
def test_bad_parameters_are_one_line_naming_the_field(entry, fragment):
    with pytest.raises(UserError) as err:
        load_policy({"name": "bad", "ops": [entry]})
    message = str(err.value)
    assert "\n" not in message and f"op 1 ({entry['op']}): {fragment}" in message, message


@pytest.mark.parametrize("backend", ["albumentations"])
def test_backends_without_an_equivalent_refuse_in_one_line(backend):
    policy = load_policy("trivialaugment")
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(2))
    with pytest.raises(UserError, match=f"^backend {backend} has no equivalent of the automatic policies .*"
                                        f"use backend augstudy or torchvision$"):
        apply_draw(colour_fields(2), policy, draw, backend=backend)


def test_describe_draw_names_each_images_sub_ops():
    policy = one_op({"op": "RandAugment", "num_ops": 2})
    fields = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(6)).ops[0]
    for i in range(6):
        text = OPS["RandAugment"].describe_draw(fields, i)
        assert [part.split()[0] for part in text.split(", ")] == [SUB_OPS[s] for s in fields["sub_op"][i].tolist()]
    mix = sample_draw(one_op({"op": "AugMix"}), seed=0, epoch=0, indices=torch.arange(2)).ops[0]
    assert OPS["AugMix"].describe_draw(mix, 0).startswith(f"x{mix['weights'][0, 0].item():.2f}; ")


def test_per_op_preview_notes_show_sub_op_and_magnitude():
    from augstudy.data import dataset_from_tensors
    from augstudy.preview.build import build_per_op

    images = colour_fields(6, size=64)
    data = dataset_from_tensors(images, torch.tensor([0, 1, 0, 1, 0, 1]), ["a", "b"],
                                val_images=images, val_labels=torch.tensor([0, 1, 0, 1, 0, 1]))
    built = build_per_op("randaugment_m9", data, n=4, seed=0, epoch=0)
    notes = built.columns[-1].notes
    assert len(notes) == 4 and all(note.startswith("RandAugment (") for note in notes)
    assert all(any(name in note for name in SUB_OPS) for note in notes), notes


def test_measure_times_torchvision_own_policy_and_skips_refusing_backends():
    from augstudy.measure.native import native_apply
    from augstudy.measure.run import _timed_functions

    policy = one_op({"op": "TrivialAugmentWide"}, side=64)
    functions = {name: (lambda *a: None) for name in ("augstudy", "torchvision", "kornia", "albumentations")}
    timed = _timed_functions(functions, policy)
    assert set(timed) == {"augstudy", "torchvision", "kornia", "torchvision-own"}
    out = native_apply(policy)(colour_fields(3), policy, None)
    assert out.shape == (3, 3, 64, 64) and out.dtype == torch.uint8
    assert native_apply(load_policy("light")) is None


@pytest.mark.parametrize("entry", [{"op": "TrivialAugmentWide", "fill": 0.5},
                                   {"op": "TrivialAugmentWide", "fill": 0.25, "interpolation": "bilinear"},
                                   {"op": "AugMix", "fill": 1.0, "interpolation": "nearest"}])
def test_fill_and_interpolation_match_torchvision(entry):
    images = colour_fields(32, size=32)
    policy = one_op(entry)
    draw = sample_draw(policy, seed=4, epoch=0, indices=torch.arange(32))
    from augstudy.policy.auto_spaces import GEOMETRIC

    geometric = torch.isin(draw.ops[0]["sub_op"], torch.tensor([SUB_OP_ID[n] for n in GEOMETRIC]))
    assert bool(geometric.any()), "the draw exercises the fill"
    diff = (apply_draw(images, policy, draw).float() - apply_draw(images, policy, draw, "torchvision").float()).abs()
    assert diff.max() <= 1 and diff.mean() <= 0.01, (diff.max(), diff.mean())


def test_measure_reports_torchvision_own_throughput_for_an_automatic_policy(mini_dataset):
    from augstudy.measure import measure_policy
    from augstudy.measure.output import format_result

    result = measure_policy("trivialaugment", data=mini_dataset, n=16, progress=False, throughput_seconds=0.01,
                            equivalence=True)
    op_row = next(r for r in result["ops"] if r["op"] == "TrivialAugmentWide")
    assert {"augstudy", "torchvision", "torchvision-own"} <= set(op_row["throughput"])
    assert "albumentations" not in op_row["throughput"]
    assert op_row["throughput_ratio"]["torchvision-own"] > 0
    assert result["auto_equivalence"] and all(r["within_bound"] for r in result["auto_equivalence"])
    text = format_result(result)
    assert "torchvision-own" in text and "n/a" in text and "automatic policies vs torchvision" in text
    assert "augstudy engine" in text and "x torchvision's own TrivialAugmentWide per image" in text


def test_augmix_depths_and_partial_op_set_follow_torchvision():
    from augstudy.policy.auto_spaces import AUGMIX_PARTIAL

    n = 6000
    fields = sample_draw(one_op({"op": "AugMix"}), seed=0, epoch=0, indices=torch.arange(n)).ops[0]
    depth = (fields["sub_op"] != SUB_OP_ID["Identity"]).sum(2)  # AugMix's table has no Identity
    counts = np.bincount(depth.reshape(-1).numpy(), minlength=4)
    assert counts[0] == 0 and sps.chisquare(counts[1:]).pvalue > 0.001, counts  # torchvision: randint(1, 4)
    fixed = sample_draw(one_op({"op": "AugMix", "chain_depth": 2, "all_ops": False}), seed=0, epoch=0,
                        indices=torch.arange(500)).ops[0]
    assert fixed["sub_op"].shape == (500, 3, 2)
    allowed = {SUB_OP_ID[name] for name in AUGMIX_PARTIAL}
    assert set(fixed["sub_op"].unique().tolist()) == allowed, "all_ops=False: no colour enhancements"
    images = colour_fields(4, size=32).float() / 255
    policy = one_op({"op": "AugMix"})
    out = apply_draw(images, policy, sample_draw(policy, seed=0, epoch=0, indices=torch.arange(4)))
    assert out.dtype == torch.float32 and out.min() >= 0 and out.max() <= 1
