"""RandAugment's ``magnitude_std`` (timm's per-application magnitude noise, in bin units): 0 keeps
torchvision's draws bit for bit; > 0 draws keyed continuous bins ~ Normal(m, std) clipped to the
bins, inf uniform in [0, m]; torchvision and kornia refuse it in one line; preview and measure
name it."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats as sps

from augstudy.errors import UserError
from augstudy.policy import apply_draw, load_policy, sample_draw, scale_policy
from augstudy.policy.auto_spaces import SPACES, SUB_OP_ID, SUB_OPS, magnitude_at, magnitude_table
from augstudy.policy.equivalence import colour_fields
from augstudy.policy.ops import OPS
from augstudy.policy.sampling import KeyedUniforms

BINS = 31


def randaugment(side: int = 32, p: float = 1.0, **fields):
    return load_policy({"name": "ra", "image_size": side, "ops": [{"op": "RandAugment", "p": p, **fields}]})


def noisy_sample(std, magnitude: int, n: int = 2000, num_ops: int = 2, seed: int = 0):
    """(bins float64 [n * num_ops], fields of the draw) of a RandAugment draw over indices 0..n-1."""
    policy = randaugment(num_ops=num_ops, magnitude=magnitude, magnitude_std=std)
    fields = sample_draw(policy, seed=seed, epoch=0, indices=torch.arange(n)).ops[0]
    return fields["bin"].double().reshape(-1).numpy(), fields


# ----------------------------------------------------------------------------- 0 = torchvision
@pytest.mark.parametrize("entry", [{}, {"magnitude_std": 0}, {"magnitude_std": 0.0, "num_ops": 3, "magnitude": 14}])
def test_zero_std_draws_are_torchvisions_table_draws_bit_for_bit(entry):
    """Rebuilt from the keyed uniforms and torchvision's table, independently of the op's code:
    choice floor(u(1+2k) * 14), negated where u(2+2k) <= 0.5 for the signed sub-ops, table bin m."""
    policy = randaugment(**entry)
    params = policy.ops[0].params
    indices = torch.tensor([0, 3, 7, 100, 4096, 12345])
    fields = sample_draw(policy, seed=11, epoch=2, indices=indices).ops[0]
    assert set(fields) == {"apply", "sub_op", "magnitude"}          # no noise field at 0
    assert "magnitude_std" not in policy.ops[0].to_dict()           # config hashes of existing studies unchanged
    keyed = KeyedUniforms(11, 2, indices)
    names = list(SPACES["RandAugment"])
    for k in range(params["num_ops"]):
        choice = torch.floor(keyed.uniform(1, 1 + 2 * k) * len(names)).to(torch.int64)
        negate = keyed.uniform(1, 2 + 2 * k) <= 0.5
        expected_ids, expected_mags = [], []
        for i, j in enumerate(choice.tolist()):
            spec, signed = SPACES["RandAugment"][names[j]]
            table = magnitude_table(spec, params["num_magnitude_bins"], 32)
            value = 0.0 if table is None else float(table[params["magnitude"]])
            expected_ids.append(SUB_OP_ID[names[j]])
            expected_mags.append(-value if signed and bool(negate[i]) else value)
        assert fields["sub_op"][:, k].tolist() == expected_ids
        assert torch.equal(fields["magnitude"][:, k], torch.tensor(expected_mags, dtype=torch.float64).float())


def test_magnitude_at_integer_bins_is_the_table():
    bins = torch.arange(BINS, dtype=torch.float64)
    for space in ("RandAugment", "TrivialAugmentWide"):
        for name, (spec, _) in SPACES[space].items():
            table = magnitude_table(spec, BINS, 64)
            if table is None:
                assert magnitude_at(spec, bins, BINS, 64) is None
            else:
                assert torch.allclose(magnitude_at(spec, bins, BINS, 64), table, rtol=1e-6, atol=1e-6), (space, name)


# ----------------------------------------------------------------------------- > 0: keyed, clipped, Normal
def test_noisy_bins_are_keyed_and_independent_of_the_batch():
    policy = randaugment(magnitude=27, magnitude_std=1.5)
    whole = sample_draw(policy, seed=3, epoch=1, indices=torch.arange(64)).ops[0]
    again = sample_draw(policy, seed=3, epoch=1, indices=torch.arange(64)).ops[0]
    subset = torch.tensor([40, 5, 17])
    part = sample_draw(policy, seed=3, epoch=1, indices=subset).ops[0]
    for key in ("bin", "magnitude", "sub_op"):
        assert torch.equal(whole[key], again[key])
        assert torch.equal(whole[key][subset], part[key])
    other_epoch = sample_draw(policy, seed=3, epoch=2, indices=torch.arange(64)).ops[0]
    assert not torch.equal(whole["bin"], other_epoch["bin"])
    # the noise moves magnitudes only: the same sub-ops and signs as without it
    plain = sample_draw(randaugment(magnitude=27), seed=3, epoch=1, indices=torch.arange(64)).ops[0]
    assert torch.equal(whole["sub_op"], plain["sub_op"])
    signed = ~torch.isin(whole["sub_op"], torch.tensor([SUB_OP_ID[n] for n in ("Identity", "Posterize", "Solarize",
                                                                               "AutoContrast", "Equalize")]))
    nonzero = signed & (whole["magnitude"] != 0) & (plain["magnitude"] != 0)
    assert torch.equal(torch.sign(whole["magnitude"][nonzero]), torch.sign(plain["magnitude"][nonzero]))


def test_noisy_magnitudes_are_the_sub_ops_formula_at_the_bin():
    bins, fields = noisy_sample(1.5, 27, n=500)
    ids, mags = fields["sub_op"].reshape(-1), fields["magnitude"].double().reshape(-1)
    b = torch.from_numpy(bins)
    rotate = ids == SUB_OP_ID["Rotate"]
    assert torch.allclose(mags[rotate].abs(), 30.0 * b[rotate] / 30.0, atol=1e-4)
    posterize = ids == SUB_OP_ID["Posterize"]
    assert torch.equal(mags[posterize], torch.round(8.0 - b[posterize] / 7.5).float().double())
    solarize = ids == SUB_OP_ID["Solarize"]
    assert torch.allclose(mags[solarize], 1.0 - b[solarize] / 30.0, atol=1e-6)
    assert len(set(np.round(bins, 6).tolist())) > 0.9 * bins.size   # continuous, not the 31 table bins


@pytest.mark.parametrize("magnitude,std", [(27, 1.5), (29, 3.0), (1, 2.0)])
def test_noisy_bins_follow_the_clipped_normal(magnitude, std):
    """4000 draws against Normal(m, std) clipped to [0, 30]: clip masses, mean and sd (4 standard errors)."""
    bins, _ = noisy_sample(std, magnitude)
    n, top = bins.size, BINS - 1
    assert bins.min() >= 0.0 and bins.max() <= top
    lo, hi = (0 - magnitude) / std, (top - magnitude) / std
    p_lo, p_hi = sps.norm.cdf(lo), sps.norm.sf(hi)
    for observed, p in ((np.mean(bins == 0.0), p_lo), (np.mean(bins == top), p_hi)):
        assert abs(observed - p) <= 4 * math.sqrt(p * (1 - p) / n) + 1e-9, (observed, p)
    # moments of the clipped (censored) normal, by quadrature
    grid = np.linspace(lo, hi, 20001)
    density = sps.norm.pdf(grid)
    interior = magnitude + std * grid
    mean = np.trapezoid(interior * density, grid) + top * p_hi
    second = np.trapezoid(interior ** 2 * density, grid) + top ** 2 * p_hi
    sd = math.sqrt(second - mean ** 2)
    assert abs(bins.mean() - mean) <= 4 * sd / math.sqrt(n), (bins.mean(), mean)
    assert abs(bins.std() - sd) <= 4 * sd / math.sqrt(2 * n), (bins.std(), sd)
    inside = bins[(bins > 0) & (bins < top)]   # the unclipped part is the truncated normal
    ks = sps.kstest(inside, sps.truncnorm(lo, hi, loc=magnitude, scale=std).cdf)
    assert ks.pvalue > 1e-3, ks


@pytest.mark.parametrize("magnitude", [9, 30])
def test_infinite_std_is_uniform_up_to_the_magnitude(magnitude):
    bins, fields = noisy_sample(math.inf, magnitude)
    n = bins.size
    assert bins.min() >= 0.0 and bins.max() <= magnitude
    assert abs(bins.mean() - magnitude / 2) <= 4 * (magnitude / math.sqrt(12)) / math.sqrt(n)
    assert sps.kstest(bins, sps.uniform(0, magnitude).cdf).pvalue > 1e-3
    assert randaugment(magnitude_std="inf").ops[0].params["magnitude_std"] == math.inf


def test_strength_scales_the_noisy_magnitudes():
    policy = randaugment(magnitude=27, magnitude_std=1.5)
    full = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(200)).ops[0]
    half = sample_draw(scale_policy(policy, 0.5), seed=0, epoch=0, indices=torch.arange(200)).ops[0]
    assert torch.equal(full["bin"], half["bin"]) and torch.equal(full["sub_op"], half["sub_op"])
    rotate = full["sub_op"] == SUB_OP_ID["Rotate"]
    assert bool(rotate.any()) and torch.allclose(half["magnitude"][rotate], 0.5 * full["magnitude"][rotate])


# ----------------------------------------------------------------------------- backends, validation
@pytest.mark.parametrize("backend", ["torchvision", "kornia"])
def test_reference_backends_refuse_noise_in_one_line(backend):
    policy = randaugment(magnitude=27, magnitude_std=0.5)
    images = colour_fields(2, size=32)
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(2))
    with pytest.raises(UserError) as err:
        apply_draw(images, policy, draw, backend=backend)
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"backend {backend} cannot apply RandAugment with magnitude_std 0.5")
    assert message.endswith("use backend augstudy, or set magnitude_std: 0")
    out = apply_draw(images, policy, draw)   # the engine applies it
    assert out.shape == images.shape and not torch.equal(out, images)
    skipped = randaugment(p=0.0, magnitude=27, magnitude_std=0.5)   # applies nowhere: nothing to refuse
    nothing = sample_draw(skipped, seed=0, epoch=0, indices=torch.arange(2))
    assert torch.equal(apply_draw(images, skipped, nothing, backend=backend), images)


@pytest.mark.parametrize("value,fragment", [
    (-0.5, "field 'magnitude_std' must be >= 0 (0: one magnitude bin, torchvision; inf: uniform in [0, magnitude]), "
           "got -0.5"),
    ("wide", "field 'magnitude_std' must be a number >= 0 or inf, got 'wide'"),
    (float("nan"), "field 'magnitude_std' must be a number >= 0 or inf, got nan"),
])
def test_bad_magnitude_std_is_one_line_naming_the_field(value, fragment):
    with pytest.raises(UserError) as err:
        load_policy({"name": "bad", "ops": [{"op": "RandAugment", "magnitude_std": value}]})
    message = str(err.value)
    assert "\n" not in message and f"op 1 (RandAugment): {fragment}" in message, message


# ----------------------------------------------------------------------------- preview and measure
def test_per_op_preview_names_each_steps_noisy_bin():
    from augstudy.data import dataset_from_tensors
    from augstudy.preview.build import build_per_op

    images = colour_fields(6, size=64)
    labels = torch.tensor([0, 1, 0, 1, 0, 1])
    data = dataset_from_tensors(images, labels, ["a", "b"], val_images=images, val_labels=labels)
    entry = {"op": "RandAugment", "magnitude": 27, "magnitude_std": 1.5}
    built = build_per_op({"name": "noisy", "image_size": 64, "ops": [entry]}, data, n=4, seed=0, epoch=0)
    notes = built.columns[-1].notes
    policy = load_policy({"name": "noisy", "image_size": 64, "ops": [entry]})
    fields = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(6)).ops[0]
    assert len(notes) == 4
    for note in notes:
        steps = note[len("RandAugment ("):-1].split(", ")
        assert note.startswith("RandAugment (") and len(steps) == 2, note
        assert all(step.split()[0] in SUB_OPS and " (bin " in step for step in steps), note
        assert all(0.0 <= float(step.split("(bin ")[1].rstrip(")")) <= 30.0 for step in steps), note
    assert OPS["RandAugment"].describe_draw(fields, 0).count("(bin ") == 2


def test_measure_times_the_engine_only_and_says_why(mini_dataset):
    from augstudy.measure import measure_policy
    from augstudy.measure.output import format_result

    policy = {"name": "noisy", "image_size": 64, "ops": [{"op": "HorizontalFlip", "p": 0.5},
                                                         {"op": "RandAugment", "magnitude": 27, "magnitude_std": 1.5}]}
    result = measure_policy(policy, data=mini_dataset, n=8, progress=False, throughput_seconds=0.01)
    flip = next(r for r in result["ops"] if r["op"] == "HorizontalFlip")
    noisy = next(r for r in result["ops"] if r["op"] == "RandAugment")
    assert {"augstudy", "torchvision", "kornia", "albumentations"} <= set(flip["throughput"])
    assert set(noisy["throughput"]) == {"augstudy"} and set(noisy["throughput_na"]) == {"torchvision", "kornia",
                                                                                       "albumentations"}
    assert set(result["throughput_na"]) == {"torchvision", "kornia", "albumentations"}
    text = format_result(result)
    assert "n/a: torchvision, kornia: RandAugment sets magnitude_std 1.5, timm's per-application" in text
    assert "n/a: albumentations: albumentations has no RandAugment" in text
