"""Exact noncentral-t MDE and seeds needed (stats/power.py), against the closed-form power."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from augstudy.ablation.analysis.stats import power
from augstudy.ablation.terms import SEEDS_NEEDED_MAX


def test_minimum_detectable_effect_has_exactly_the_promised_noncentral_t_power():
    for sd, n in [(1.0, 2), (1.0, 3), (2.0, 5), (0.7, 10)]:
        mde = power.minimum_detectable_effect(sd, n)
        crit = sps.t.ppf(0.975, n - 1)
        ncp = mde * math.sqrt(n) / sd
        lower_tail = np.nan_to_num(sps.nct.cdf(-crit, n - 1, ncp), nan=0.0)   # scipy: NaN for a ~1e-15 tail
        assert sps.nct.sf(crit, n - 1, ncp) + lower_tail == pytest.approx(0.80, abs=1e-6)
        # the old shifted-central-t formula understates the MDE at few seeds
        assert mde > (sps.t.ppf(0.975, n - 1) + sps.t.ppf(0.80, n - 1)) * sd / math.sqrt(n) - 1e-9
    assert power.minimum_detectable_effect(1.0, 1) == math.inf


def test_seeds_needed_is_the_first_n_whose_mde_reaches_the_effect_and_is_monotone():
    effects = [0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 3.0, 5.0]
    needed = [power.seeds_needed(e, 1.0) for e in effects]
    assert all(a >= b for a, b in zip(needed, needed[1:]))           # bigger effect, fewer seeds
    assert needed[0] > needed[-1]
    for e, n in zip(effects, needed):
        assert power.minimum_detectable_effect(1.0, n) <= e
        if n > 2:
            assert power.minimum_detectable_effect(1.0, n - 1) > e
    assert power.seeds_needed(-1.0, 1.0) == power.seeds_needed(1.0, 1.0)
    assert power.seeds_needed(0.0, 1.0) is None
    assert power.seeds_needed(0.01, 1.0) == SEEDS_NEEDED_MAX + 1  # not reachable by the search limit
