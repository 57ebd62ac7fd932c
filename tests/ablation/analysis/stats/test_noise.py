"""The noise floor study.json stores (stats/noise.py): pooled paired sd, fallback, pairing, MDE."""

import math

import pytest

from augstudy.ablation.analysis import stats
from augstudy.ablation.analysis.stats import power


def test_noise_floor_pools_paired_differences_across_arms():
    per_seed = {
        "base": {0: 0.50, 1: 0.52, 2: 0.48},
        "a": {0: 0.51, 1: 0.54, 2: 0.49},      # diffs 1, 2, 1 pts: ss = 2/3
        "b": {0: 0.50, 1: 0.53, 2: 0.51},      # diffs 0, 1, 3 pts: ss = 14/3
    }
    noise = stats.noise_floor(per_seed, "base")
    assert noise["n_seeds"] == 3
    assert noise["baseline_std"] == pytest.approx(2.0)
    assert noise["sd_diff"] == pytest.approx(math.sqrt((2 / 3 + 14 / 3) / 4))
    assert noise["mde"] == pytest.approx(power.minimum_detectable_effect(noise["sd_diff"], 3))
    assert "pooled std of paired differences over 2 arms" == noise["sd_diff_source"]
    # study.json's keys: the retired per-arm rule's p_floor / ci_method are not among them
    assert list(noise) == ["n_seeds", "baseline_std", "sd_diff", "sd_diff_source", "mde", "alpha", "power", "units"]


def test_noise_floor_falls_back_to_sqrt2_baseline_std():
    per_seed = {"base": {0: 0.50, 1: 0.52, 2: 0.48}, "a": {0: 0.55}}
    noise = stats.noise_floor(per_seed, "base")
    assert noise["sd_diff"] == pytest.approx(math.sqrt(2) * 2.0)
    assert "sqrt(2)" in noise["sd_diff_source"]


def test_noise_floor_with_one_baseline_seed_is_unknown_not_infinite():
    noise = stats.noise_floor({"base": {0: 0.5}, "a": {0: 0.6}}, "base")
    assert noise["n_seeds"] == 1 and math.isnan(noise["sd_diff"]) and math.isnan(noise["mde"])


def test_only_seeds_finished_in_both_are_paired():
    per_seed = {"base": {0: 0.5, 1: 0.5, 2: 0.5, 3: None}, "a": {1: 0.52, 2: 0.53, 3: 0.9, 4: 0.9}}
    d = stats.paired_differences(per_seed, "base")["a"]
    assert d.tolist() == pytest.approx([2.0, 3.0])                 # seeds 1 and 2, in seed order
