"""A real placebo study: arms that differ from the baseline only by ``data.order_key``.

``data.order_key`` shifts the keys of the data order and of the augmentation draws but not the
initialization, so each placebo arm trains the same network from the same weights on a different
(but equally likely) sequence of batches: its paired differences are genuine training noise, not
the exact zeros of an arm that changes an unused field.  Trained end to end at tiny size, the
verdict must never be better or worse.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from scipy import stats

from augstudy.ablation.runner import run_study
from augstudy.ablation.spec.study_spec import config_hash, load_baseline, resolve_config
from augstudy.ablation.execution.train import augment_seed, epoch_order
from study_helpers import blob_dataset, write_specs

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: the blob task (learnable in 2 epochs; no flip, which would swap its labels' evidence) with a random
#: brightness change, so the augmentation keys matter, on a small network (no hidden layers, half width)
PLACEBO_RECIPE = {"augment": {"policy": {"name": "bright", "ops": [{"op": "ColorJitter", "brightness": 0.3,
                                                                       "p": 1.0}]}},
                  "optimizer": {"name": "sgd", "lr": 0.8}, "model": {"classifier_depth": 0, "width": 0.5}}
PLACEBO_BUDGET = {"train": {"epochs": 2, "batch_size": 2}}   # 32 steps: BatchNorm running stats settle


def test_order_key_changes_order_and_augmentation_keys_but_not_the_default_hash(tmp_path):
    assert not torch.equal(epoch_order(3, 1, 50), epoch_order(3, 1, 50, order_key=1))
    assert torch.equal(epoch_order(3, 1, 50), epoch_order(3, 1, 50, order_key=0))
    assert augment_seed(3) == 3 and augment_seed(3, 1) != 3 and augment_seed(3, 1) != augment_seed(3, 2)
    specs = write_specs(tmp_path / "specs", {})
    baseline = load_baseline(specs)
    plain = resolve_config(baseline, None, None, "x")
    assert "order_key" not in plain["data"]                                  # omitted at its default:
    assert config_hash(resolve_config(baseline, None, {"data": {"order_key": 0}}, "x")) == config_hash(plain)
    assert resolve_config(baseline, None, {"data": {"order_key": 2}}, "x")["data"]["order_key"] == 2


@pytest.mark.parametrize("precision", ["fp32", "bf16"])   # bf16 autocast must change no verdict
def test_placebo_arms_trained_end_to_end_are_never_better_or_worse(tmp_path, precision):
    specs = write_specs(tmp_path / "specs", {"placebo": {"baseline_level": "base", "sesoi": 5, "levels": {
        "base": {}, "k1": {"data": {"order_key": 1}}, "k2": {"data": {"order_key": 2}}}}},
        baseline_changes=PLACEBO_RECIPE)
    result = run_study("placebo", seeds=3, budget="tiny", dataset=blob_dataset(32, 32), device="cpu",
                       out=tmp_path / "study", specs_dir=specs, report=False, echo=lambda s: None,
                       metric="final", budget_override=PLACEBO_BUDGET, precision=precision)
    rows = {r.arm: r for r in result.effects.rows}
    assert set(rows) == {"placebo=k1", "placebo=k2"}
    study = json.loads((tmp_path / "study" / "study.json").read_text())
    assert study["sesoi"] == 5.0 and "SESOI +-5 pts" in result.table      # the factor file's sesoi
    assert study["precision"] == precision
    assert study["effect_header"] == result.effects.header
    arms = {a["arm"]: a for a in result.effects.arms}
    assert arms["placebo=base"]["metric_mean"] > 60, result.table          # the task is learned
    for row in rows.values():
        assert row.verdict not in ("better", "worse"), result.table
        # A placebo has no persistent per-image effect, so the crossed model's val term may be
        # estimated at 0; the interval still carries at least the seed part at t(n - 1).
        assert row.n_seeds == 3 and row.val_se >= 0 and math.isfinite(row.ci_low)
        seed_half_width = stats.t.ppf(0.975, 2) * row.sd_seed / math.sqrt(3)
        assert (row.ci_high - row.ci_low) / 2 >= seed_half_width - 1e-9, row
    # genuine noise: the placebo runs are not copies of the baseline's
    from augstudy.ablation.storage.store import StudyStore
    store = StudyStore(tmp_path / "study")
    metrics = {}
    for run in store.runs().values():
        metrics.setdefault(run["arm"], []).append(run["metric"])
    store.close()
    assert sorted(metrics["placebo=k1"]) != sorted(metrics["placebo=base"]) or \
        sorted(metrics["placebo=k2"]) != sorted(metrics["placebo=base"]), metrics
