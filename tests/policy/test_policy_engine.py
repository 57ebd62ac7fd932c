"""The keyed sampler and the batched engine (backend "augstudy").

One table of ops (``OP_CASES``) drives the shared tests: p=0 is identity, p=1 applies, replay is
bit-identical, batch == per-image, draws do not depend on batch size or chunking, seeds/epochs
differ, the draw survives JSON.  Then the engine is pinned against torchvision's functional ops.
"""

from __future__ import annotations

import itertools
import json
import random

import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torchvision.transforms import InterpolationMode

from augstudy.errors import UserError
from augstudy.policy import BatchAugmenter, Policy, apply_draw, load_policy, sample_draw
from augstudy.policy.engine import apply_draw_float
from augstudy.policy.sampling import PolicyDraw, mix_int, mix_tensor

SIDE = 16  # tiny images keep every test in milliseconds
B = 6

# op spec, and a predicate on the op's draw fields marking images where the drawn parameters are
# the identity (so "p=1 changes the image" is not expected there)
OP_CASES = [
    ({"op": "HorizontalFlip"}, None),
    ({"op": "VerticalFlip"}, None),
    ({"op": "RandomCrop", "size": SIDE, "padding": 2}, lambda f: (f["top"] == 2) & (f["left"] == 2)),
    ({"op": "RandomCrop", "size": SIDE, "padding": 3, "padding_mode": "reflect"},
     lambda f: (f["top"] == 3) & (f["left"] == 3)),
    ({"op": "RandomCrop", "size": 12, "padding": 0}, None),
    ({"op": "RandomResizedCrop", "size": SIDE, "scale": [0.3, 0.8]}, None),
    ({"op": "ColorJitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1}, None),
    ({"op": "RandomGrayscale"}, None),
    ({"op": "RandomErasing", "scale": [0.1, 0.3], "value": 0.5}, lambda f: f["height"] == 0),
    ({"op": "Rotation", "degrees": [5, 30], "fill": 0.25}, None),
    ({"op": "Affine", "degrees": 10, "translate": [0.2, 0.2], "scale": [0.8, 1.2]}, None),
    ({"op": "GaussianBlur", "kernel_size": 5, "sigma": [0.5, 1.5]}, None),
    ({"op": "Normalize"}, None),
]
CASE_IDS = [f"{c['op']}-{i}" for i, (c, _) in enumerate(OP_CASES)]


def _images(n=B, seed=0, side=SIDE) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, side, side), dtype=torch.uint8, generator=g)


def _policy(op: dict, **override) -> Policy:
    return load_policy([{**op, **override}], image_size=SIDE)


def _size_preserving(op: dict) -> bool:
    return op["op"] not in ("RandomCrop", "RandomResizedCrop") or op.get("size") == SIDE


# ------------------------------------------------------------------------------- keyed generator
def test_tensor_mixer_matches_python_splitmix64():
    rng = random.Random(0)
    values = [rng.getrandbits(64) for _ in range(500)] + [0, 1, (1 << 63) - 1, 1 << 63, (1 << 64) - 1]
    signed = torch.tensor([v - (1 << 64) if v >= 1 << 63 else v for v in values])
    mixed = mix_tensor(signed).tolist()
    assert [m & ((1 << 64) - 1) for m in mixed] == [mix_int(v) for v in values]
    assert mix_int(0) == 0xE220A8397B1DCDAF  # splitmix64's first output for state 0


def test_uniforms_are_uniform_and_in_range():
    policy = load_policy([{"op": "ColorJitter", "brightness": 0.5}], image_size=SIDE)
    draw = sample_draw(policy, seed=1, epoch=2, indices=torch.arange(20000))
    factor = draw.ops[0]["brightness"].double()
    assert factor.min() >= 0.5 and factor.max() < 1.5
    u = factor - 0.5
    assert abs(u.mean().item() - 0.5) < 0.01 and abs(u.var().item() - 1 / 12) < 0.005
    counts = torch.histc(u, bins=10, min=0, max=1)
    assert counts.min() > 1800 and counts.max() < 2200


# ------------------------------------------------------------------------------- shared op table
@pytest.mark.parametrize("op,identity_when", OP_CASES, ids=CASE_IDS)
def test_p0_is_identity(op, identity_when):
    if not _size_preserving(op):  # p=0 is not expressible: a size-changing op must have p=1
        with pytest.raises(UserError, match="field 'p' must be 1 when the op changes the image size"):
            _policy(op, p=0.0)
        return
    images = _images()
    policy = _policy(op, p=0.0)
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(B))
    assert not draw.ops[0]["apply"].any()
    expected = images.float() / 255 if op["op"] == "Normalize" else images  # Normalize returns float
    assert torch.equal(apply_draw(images, policy, draw), expected)
    as_float = images.float() / 255
    assert torch.equal(apply_draw(as_float, policy, draw), as_float)


@pytest.mark.parametrize("op,identity_when", OP_CASES, ids=CASE_IDS)
def test_p1_always_applies(op, identity_when):
    images = _images()
    policy = _policy(op, p=1.0)
    draw = sample_draw(policy, seed=3, epoch=1, indices=torch.arange(B))
    fields = draw.ops[0]
    assert fields["apply"].all()
    out = apply_draw_float(images, policy, draw)
    assert out.shape == (B, 3, SIDE, SIDE) and out.dtype == torch.float32
    if op["op"] != "Normalize":
        assert out.min() >= 0 and out.max() <= 1
    changed = (out - images.float() / 255).abs().flatten(1).amax(1) > 1e-3
    expected = torch.ones(B, dtype=torch.bool) if identity_when is None else ~identity_when(fields)
    assert expected.any(), "the test draw should contain non-identity parameters"
    assert torch.equal(changed | ~expected, torch.ones(B, dtype=torch.bool)), (changed, expected)


@pytest.mark.parametrize("op,identity_when", OP_CASES, ids=CASE_IDS)
def test_replay_is_bit_identical_also_after_json(op, identity_when):
    images = _images()
    policy = _policy(op, p=0.7) if _size_preserving(op) else _policy(op)
    draw = sample_draw(policy, seed=5, epoch=4, indices=torch.arange(10, 10 + B))
    first = apply_draw(images, policy, draw)
    replayed = PolicyDraw.from_jsonable(json.loads(json.dumps(draw.to_jsonable())))
    assert replayed.equal(draw)
    assert torch.equal(apply_draw(images, policy, replayed), first)
    again = sample_draw(policy, seed=5, epoch=4, indices=torch.arange(10, 10 + B))
    assert torch.equal(apply_draw(images, policy, again), first)


@pytest.mark.parametrize("op,identity_when", OP_CASES, ids=CASE_IDS)
def test_batch_equals_per_image(op, identity_when):
    images = _images()
    policy = _policy(op, p=0.6) if _size_preserving(op) else _policy(op)
    indices = torch.tensor([7, 3, 11, 0, 42, 5])
    batch = apply_draw_float(images, policy, sample_draw(policy, seed=2, epoch=1, indices=indices))
    for i in range(B):
        alone = apply_draw_float(images[i:i + 1], policy,
                                 sample_draw(policy, seed=2, epoch=1, indices=indices[i:i + 1]))
        torch.testing.assert_close(batch[i:i + 1], alone, atol=2e-6, rtol=0)


@pytest.mark.parametrize("op,identity_when", OP_CASES, ids=CASE_IDS)
def test_draw_independent_of_batch_size_and_order(op, identity_when):
    policy = _policy(op, p=0.5) if _size_preserving(op) else _policy(op)
    indices = torch.arange(100, 120)
    whole = sample_draw(policy, seed=9, epoch=3, indices=indices)
    chunks = [sample_draw(policy, seed=9, epoch=3, indices=c) for c in indices.split([3, 9, 8])]
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(0))
    shuffled = sample_draw(policy, seed=9, epoch=3, indices=indices[perm])
    for key, value in whole.ops[0].items():
        assert torch.equal(torch.cat([c.ops[0][key] for c in chunks]), value), key
        assert torch.equal(shuffled.ops[0][key], value[perm]), key


@pytest.mark.parametrize("op,identity_when", OP_CASES, ids=CASE_IDS)
def test_seeds_and_epochs_give_different_draws(op, identity_when):
    gated = _size_preserving(op)  # size-changing ops have p=1: their apply mask is constant
    policy = _policy(op, p=0.5) if gated else _policy(op)
    indices = torch.arange(64)
    base = sample_draw(policy, seed=0, epoch=0, indices=indices)
    for other in (sample_draw(policy, seed=1, epoch=0, indices=indices),
                  sample_draw(policy, seed=0, epoch=1, indices=indices)):
        assert not other.equal(base)
        assert torch.equal(other.ops[0]["apply"], base.ops[0]["apply"]) != gated


@pytest.mark.parametrize("op,identity_when", OP_CASES, ids=CASE_IDS)
def test_policy_serialization_round_trip(op, identity_when):
    policy = _policy(op)
    assert Policy.from_dict(policy.to_dict()) == policy
    assert Policy.from_dict(json.loads(json.dumps(policy.to_dict()))) == policy


# ------------------------------------------------------------------------------- vs torchvision
def _float_images(n=B, seed=0):
    return _images(n, seed).float() / 255


def _one_op_draw(op: dict, n=B, seed=0, side=SIDE):
    policy = load_policy([{**op, "p": 1.0}], image_size=side)
    return policy, sample_draw(policy, seed=seed, epoch=0, indices=torch.arange(n))


@pytest.mark.parametrize("name,fn", [("HorizontalFlip", TF.horizontal_flip), ("VerticalFlip", TF.vertical_flip)])
def test_flips_equal_torchvision_exactly(name, fn):
    images = _images()
    policy, draw = _one_op_draw({"op": name})
    assert torch.equal(apply_draw(images, policy, draw), fn(images))


@pytest.mark.parametrize("mode,size,fill", [("constant", SIDE, 0.0), ("constant", 12, 1.0), ("reflect", SIDE, 0.0)])
def test_random_crop_equals_torchvision_exactly(mode, size, fill):
    images = _images()
    policy = load_policy([{"op": "RandomCrop", "size": size, "padding": 3, "padding_mode": mode, "fill": fill}],
                         image_size=size)  # image_size = size: no resize-back, pure crop
    draw = sample_draw(policy, seed=4, epoch=0, indices=torch.arange(B), image_size=SIDE)
    out = apply_draw(images, policy, draw)
    f = draw.ops[0]
    for i in range(B):
        padded = TF.pad(images[i], [3, 3, 3, 3], fill=round(fill * 255) if mode == "constant" else None,
                        padding_mode=mode)
        assert torch.equal(out[i], TF.crop(padded, int(f["top"][i]), int(f["left"][i]), size, size))


def test_crop_offsets_cover_the_padded_range():
    policy = load_policy([{"op": "RandomCrop", "size": SIDE, "padding": 2}], image_size=SIDE)
    f = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(2000)).ops[0]
    assert set(f["top"].tolist()) == set(range(5)) and set(f["left"].tolist()) == set(range(5))


@pytest.mark.parametrize("name,tv", [("brightness", TF.adjust_brightness), ("contrast", TF.adjust_contrast),
                                     ("saturation", TF.adjust_saturation), ("hue", TF.adjust_hue)])
def test_single_color_adjustment_matches_torchvision(name, tv):
    images = _float_images()
    policy, draw = _one_op_draw({"op": "ColorJitter", name: 0.5 if name != "hue" else 0.3})
    out = apply_draw(images, policy, draw)
    ref = torch.stack([tv(images[i], float(draw.ops[0][name][i])) for i in range(B)])
    assert (out - ref).abs().mean() < 1 / 255
    assert (out - ref).abs().max() < 1e-4  # float path: equal up to rounding


def test_color_jitter_random_order_matches_torchvision_sequence():
    images = _float_images(n=24)
    policy, draw = _one_op_draw({"op": "ColorJitter", "brightness": 0.5, "contrast": 0.5, "saturation": 0.5,
                                 "hue": 0.2}, n=24)
    f = draw.ops[0]
    out = apply_draw(images, policy, draw)
    fns = {0: ("brightness", TF.adjust_brightness), 1: ("contrast", TF.adjust_contrast),
           2: ("saturation", TF.adjust_saturation), 3: ("hue", TF.adjust_hue)}
    for i in range(24):
        img = images[i]
        for j in f["order"][i].tolist():
            name, fn = fns[j]
            img = fn(img, float(f[name][i]))
        assert (out[i] - img).abs().mean() < 1 / 255
        assert (out[i] - img).abs().max() < 1e-4


def test_color_jitter_factor_ranges_follow_torchvision():
    policy = load_policy([{"op": "ColorJitter", "brightness": 0.3, "contrast": 1.5, "saturation": [0.2, 0.4],
                           "hue": 0.1}], image_size=SIDE)
    f = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(5000)).ops[0]
    b, c, s, h = f["brightness"], f["contrast"], f["saturation"], f["hue"]
    assert 0.7 <= b.min() < 0.71 and 1.29 < b.max() < 1.3  # [1-x, 1+x]
    assert 0.0 <= c.min() < 0.01 and 2.49 < c.max() < 2.5  # [max(0, 1-x), 1+x]
    assert 0.2 <= s.min() < 0.201 and 0.399 < s.max() < 0.4  # explicit range kept
    assert -0.1 <= h.min() < -0.099 and 0.099 < h.max() < 0.1
    perms = {tuple(row) for row in f["order"].tolist()}
    assert perms == set(itertools.permutations(range(4)))  # all 24 orders occur


def test_hue_zero_skips_hue_and_identity_jitter_is_exact():
    images = _float_images()
    policy, draw = _one_op_draw({"op": "ColorJitter"})  # all zero: identity
    assert torch.equal(apply_draw(images, policy, draw), images)


def test_grayscale_erasing_normalize_match_torchvision():
    images = _float_images()
    policy, draw = _one_op_draw({"op": "RandomGrayscale"})
    torch.testing.assert_close(apply_draw(images, policy, draw), TF.rgb_to_grayscale(images, 3), atol=1e-6, rtol=0)
    policy, draw = _one_op_draw({"op": "RandomErasing", "scale": [0.1, 0.4], "value": 0.5})
    f = draw.ops[0]
    ref = torch.stack([TF.erase(images[i], int(f["top"][i]), int(f["left"][i]), int(f["height"][i]),
                                int(f["width"][i]), torch.tensor(0.5)) for i in range(B)])
    assert torch.equal(apply_draw(images, policy, draw), ref)
    policy, draw = _one_op_draw({"op": "Normalize", "mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3]})
    torch.testing.assert_close(apply_draw(images, policy, draw),
                               TF.normalize(images, [0.4, 0.5, 0.6], [0.2, 0.25, 0.3]), atol=1e-6, rtol=0)


def test_rotation_and_affine_match_torchvision():
    images = _float_images()
    policy, draw = _one_op_draw({"op": "Rotation", "degrees": 40})
    out = apply_draw(images, policy, draw)
    for i in range(B):
        ref = TF.rotate(images[i], float(draw.ops[0]["angle"][i]), interpolation=InterpolationMode.BILINEAR)
        torch.testing.assert_close(out[i], ref, atol=1e-5, rtol=0)  # positive = counter-clockwise
    policy, draw = _one_op_draw({"op": "Affine", "degrees": 20, "translate": [0.2, 0.1], "scale": [0.7, 1.3]})
    f = draw.ops[0]
    out = apply_draw(images, policy, draw)
    for i in range(B):
        ref = TF.affine(images[i], angle=-float(f["angle"][i]), translate=[float(f["tx"][i]), float(f["ty"][i])],
                        scale=float(f["scale"][i]), shear=[0.0, 0.0], interpolation=InterpolationMode.BILINEAR)
        torch.testing.assert_close(out[i], ref, atol=1e-5, rtol=0)


def test_gaussian_blur_matches_torchvision():
    images = _float_images()
    policy, draw = _one_op_draw({"op": "GaussianBlur", "kernel_size": 5, "sigma": [0.3, 2.0]})
    out = apply_draw(images, policy, draw)
    ref = torch.stack([TF.gaussian_blur(images[i], [5, 5], [float(draw.ops[0]["sigma"][i])] * 2) for i in range(B)])
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=0)


def test_random_resized_crop_matches_torchvision_and_box_sampling():
    images = _float_images()
    policy, draw = _one_op_draw({"op": "RandomResizedCrop", "size": SIDE, "scale": [0.3, 0.6]})
    f = draw.ops[0]
    out = apply_draw(images, policy, draw)
    ref = torch.stack([TF.resized_crop(images[i], int(f["top"][i]), int(f["left"][i]), int(f["height"][i]),
                                       int(f["width"][i]), [SIDE, SIDE], antialias=False) for i in range(B)])
    assert (out - ref).abs().mean() < 2 / 255  # grid_sample vs interpolate differ only at box edges
    big = sample_draw(load_policy("heavy"), seed=0, epoch=0, indices=torch.arange(3000)).ops[0]
    area = (big["height"] * big["width"]).double() / 64 ** 2
    aspect = big["width"].double() / big["height"].double()
    assert area.min() >= 0.06 and area.max() <= 1.0 and area.min() < 0.12
    assert aspect.min() > 0.65 and aspect.max() < 1.5
    assert ((big["top"] + big["height"]) <= 64).all() and ((big["left"] + big["width"]) <= 64).all()


# ------------------------------------------------------------------------------- policy-level behaviour
def test_size_changing_policy_is_resized_back():
    images = _images()
    policy = load_policy([{"op": "RandomCrop", "size": 12, "padding": 1}], image_size=SIDE)
    assert policy.needs_resize() and "resize back" in policy.notes[0]
    out = apply_draw(images, policy, sample_draw(policy, seed=0, epoch=0, indices=torch.arange(B)))
    assert out.shape == (B, 3, SIDE, SIDE) and out.dtype == torch.uint8


def test_size_changing_op_requires_p1():
    with pytest.raises(UserError, match=r"op 1 \(RandomCrop\): field 'p' must be 1 when the op changes"):
        load_policy([{"op": "RandomCrop", "size": 12, "p": 0.5}], image_size=SIDE)


def test_policy_level_p_gates_all_ops_together():
    policy = load_policy({"p": 0.5, "ops": [{"op": "HorizontalFlip", "p": 1.0}, {"op": "RandomGrayscale", "p": 1.0}]},
                         image_size=SIDE)
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(400))
    a, b = draw.ops[0]["apply"], draw.ops[1]["apply"]
    assert torch.equal(a, b) and 150 < int(a.sum()) < 250


def test_batch_augmenter_matches_sample_then_apply_and_is_deterministic():
    images = _images(n=8, side=64)
    indices = torch.tensor([5, 9, 2, 77, 1000, 3, 4, 8])
    aug = BatchAugmenter("light", seed=11, device="cpu")
    out = aug(images, indices, epoch=2)
    assert out.shape == (8, 3, 64, 64) and out.dtype == torch.float32 and 0 <= out.min() and out.max() <= 1
    draw = sample_draw(load_policy("light"), seed=11, epoch=2, indices=indices)
    assert torch.equal(out, apply_draw_float(images, load_policy("light"), draw))
    assert torch.equal(BatchAugmenter("light", seed=11)(images, indices, epoch=2), out)
    assert not torch.equal(aug(images, indices, epoch=3), out)


@pytest.mark.parametrize("preset", ["none", "light", "medium", "heavy", "final"])
def test_presets_run_through_the_engine(preset):
    images = _images(n=4, side=64)
    out = BatchAugmenter(preset, seed=0)(images, torch.arange(4), epoch=0)
    assert out.shape == (4, 3, 64, 64) and torch.isfinite(out).all()
    if preset == "none":
        assert torch.equal(out, images.float() / 255)


def test_uint8_and_float_inputs_agree():
    images = _images()
    policy = load_policy([{"op": "RandomCrop", "size": SIDE, "padding": 2, "padding_mode": "reflect"},
                          {"op": "HorizontalFlip"}, {"op": "Rotation", "degrees": 10, "p": 0.5},
                          {"op": "ColorJitter", "brightness": 0.3, "contrast": 0.3, "saturation": 0.3, "hue": 0.05},
                          {"op": "RandomGrayscale", "p": 0.3}], image_size=SIDE)
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(B))
    from_uint8 = apply_draw(images, policy, draw)
    from_float = apply_draw(images.float() / 255, policy, draw)
    assert from_uint8.dtype == torch.uint8 and from_float.dtype == torch.float32
    assert (from_uint8.float() / 255 - from_float).abs().max() <= 0.5 / 255 + 1e-6


@pytest.mark.parametrize("spec", ["light", "final"])
def test_uint8_input_through_color_jitter_matches_float_input(spec):
    # ColorJitter converts uint8 itself after selecting the images it changes: pin that path
    images = _images(n=12, side=64)
    policy = load_policy(spec)
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(12))
    from_uint8 = apply_draw_float(images, policy, draw)
    from_float = apply_draw_float(images.float() / 255, policy, draw)
    torch.testing.assert_close(from_uint8, from_float, atol=1e-6, rtol=0)
    jitter_only = load_policy([{"op": "ColorJitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4,
                                "hue": 0.1, "p": 0.5}], image_size=64)
    draw = sample_draw(jitter_only, seed=1, epoch=0, indices=torch.arange(12))
    torch.testing.assert_close(apply_draw_float(images, jitter_only, draw),
                               apply_draw_float(images.float() / 255, jitter_only, draw), atol=1e-6, rtol=0)


def test_hue_handles_grey_pixels_and_channel_ties_like_torchvision():
    images = torch.rand(8, 3, 8, 8)
    images[0] = 0.5  # grey: hue undefined, must stay grey
    images[1, 1] = images[1, 0]  # r == g ties (torchvision gives r precedence)
    images[2, 2] = images[2, 1]  # g == b
    images[3, 2] = images[3, 0]  # r == b
    images[4, :, :4] = 0.0  # black and white regions
    images[4, :, 4:] = 1.0
    policy = load_policy([{"op": "ColorJitter", "hue": 0.5}], image_size=8)
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(8))
    out = apply_draw(images, policy, draw)
    ref = torch.stack([TF.adjust_hue(images[i], float(draw.ops[0]["hue"][i])) for i in range(8)])
    assert (out - ref).abs().max() < 1e-5
    assert torch.equal(out[0], images[0])


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
def test_draw_and_engine_are_device_independent(device):
    # on a CUDA machine this pins CPU == CUDA; on CPU it pins the device round trip of the draw
    policy = load_policy("heavy")
    indices = torch.tensor([3, 1, 4, 1, 5, 9, 2, 6])
    cpu_draw = sample_draw(policy, seed=7, epoch=2, indices=indices)
    dev_draw = sample_draw(policy, seed=7, epoch=2, indices=indices.to(device))
    assert dev_draw.ops[0]["apply"].device.type == device
    assert dev_draw.to("cpu").equal(cpu_draw)
    images = _images(n=8, side=64)
    on_cpu = apply_draw_float(images, policy, cpu_draw)
    on_dev = apply_draw_float(images.to(device), policy, dev_draw).cpu()
    torch.testing.assert_close(on_dev, on_cpu, atol=1e-4, rtol=0)


def test_unknown_backend_is_a_user_error():
    policy, draw = _one_op_draw({"op": "HorizontalFlip"})
    with pytest.raises(UserError, match="unknown augmentation backend 'pil'; choose one of augstudy"):
        apply_draw(_images(), policy, draw, backend="pil")
