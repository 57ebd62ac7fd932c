"""The trainer: pairing across arms, exact determinism and resume, divergence, subsets."""

from __future__ import annotations

import math

import pytest
import torch

from augstudy.ablation.spec import study_spec as spec
from augstudy.ablation.execution.train import (TrainData, epoch_order, iter_train_batches, lr_factor, make_augmenter,
                                   prepare_train_data, stratified_subset, train_run)
from study_helpers import DROPOUT_FACTOR, noise_dataset, write_specs


# training tests compare numbers across runs and processes: one torch thread makes them exact
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def arms(tmp_path_factory):
    """dropout=0.3 (baseline) and dropout=0, tiny budget (2 epochs, batch 16)."""
    folder = write_specs(tmp_path_factory.mktemp("specs"), {"drop": DROPOUT_FACTOR})
    return {a.level: a for a in spec.resolve_study_arms("drop", "tiny", folder)}


def _data(n_train=32, n_val=16) -> TrainData:
    ds = noise_dataset(n_train, n_val)
    return prepare_train_data(ds, {"data": {"train_subset": None, "val_subset": None, "subset_seed": 0}})


def _batches(config, seed, epoch, data):
    augmenter = make_augmenter(config, seed, torch.device("cpu"))
    return list(iter_train_batches(data, augmenter, seed, epoch, config["train"]["batch_size"], torch.device("cpu")))


def test_same_seed_same_order_and_draws_across_arms(arms):
    data = _data()
    a = _batches(arms["0.3"].config, seed=1, epoch=2, data=data)
    b = _batches(arms["0"].config, seed=1, epoch=2, data=data)
    assert len(a) == len(b) == 2
    for (xa, ya, ia), (xb, yb, ib) in zip(a, b):
        assert torch.equal(ia, ib) and torch.equal(ya, yb)
        assert torch.equal(xa, xb)                       # identical augmented pixels: paired draws
        assert xa.dtype == torch.float32 and xa.shape == (16, 3, 64, 64)
    other_seed = _batches(arms["0.3"].config, seed=2, epoch=2, data=data)
    assert not torch.equal(a[0][2], other_seed[0][2])
    other_epoch = _batches(arms["0.3"].config, seed=1, epoch=3, data=data)
    assert not torch.equal(a[0][2], other_epoch[0][2])


def test_batch_size_arm_batches_the_same_permutation(arms):
    data = _data()
    config = arms["0.3"].config
    big = spec.deep_merge(config, {"train": {"batch_size": 32}})
    small = torch.cat([i for _, _, i in _batches(config, 0, 1, data)])
    large = torch.cat([i for _, _, i in _batches(big, 0, 1, data)])
    assert torch.equal(small, large)
    assert torch.equal(epoch_order(5, 1, 100), epoch_order(5, 1, 100))
    assert sorted(epoch_order(5, 1, 100).tolist()) == list(range(100))


def test_training_is_deterministic_and_resume_is_exact(arms):
    config = spec.deep_merge(arms["0.3"].config, {"train": {"epochs": 2, "batch_size": 8}})
    data = _data(n_train=16, n_val=16)
    states = {}

    def keep(result, state):
        states[result.epoch] = state

    full = train_run(config, data, seed=0, device="cpu", on_epoch=keep)
    again = train_run(config, data, seed=0, device="cpu")
    assert full.status == "done" and full.epochs_done == 2
    assert [h.val_loss for h in full.history] == [h.val_loss for h in again.history]
    assert [h.train_loss for h in full.history] == [h.train_loss for h in again.history]
    resumed = train_run(config, data, seed=0, device="cpu", checkpoint=states[1])
    assert [h.epoch for h in resumed.history] == [1, 2]
    assert resumed.history[1].train_loss == full.history[1].train_loss   # bit-identical continuation
    assert resumed.history[1].val_loss == full.history[1].val_loss
    other = train_run(config, data, seed=1, device="cpu")
    assert other.history[-1].train_loss != full.history[-1].train_loss
    h = full.history[-1]
    assert 0.0 <= h.train_acc <= 1.0 and 0.0 <= h.val_acc <= 1.0 and h.wall_s > 0
    assert sum(h.class_total) == 16 and len(h.class_correct) == 2
    assert states[2]["epoch"] == 2 and set(states[2]) >= {"model", "optimizer", "scheduler", "history"}


def test_huge_lr_diverges_at_an_epoch(arms):
    config = spec.deep_merge(arms["0.3"].config, {"optimizer": {"lr": 1e9}, "train": {"epochs": 2}})
    seen = []
    outcome = train_run(config, _data(), seed=0, device="cpu", on_epoch=lambda r, s: seen.append((r, s)))
    assert outcome.status == "diverged"
    assert outcome.diverged_epoch in (1, 2) and outcome.diverged_epoch == len(seen)
    result, state = seen[-1]
    assert state is None and not result.finite
    assert not (math.isfinite(result.train_loss) and math.isfinite(result.val_loss))


def test_stratified_subset_keeps_class_shares_and_is_fixed():
    labels = torch.tensor([0] * 60 + [1] * 30 + [2] * 10)
    idx = stratified_subset(labels, 20, seed=0)
    assert torch.bincount(labels[idx]).tolist() == [12, 6, 2]
    assert torch.equal(idx, stratified_subset(labels, 20, seed=0))
    assert not torch.equal(idx, stratified_subset(labels, 20, seed=1))
    assert len(stratified_subset(labels, 0.5, seed=0)) == 50
    assert len(stratified_subset(labels, None, seed=0)) == 100


def test_lr_schedule_warms_up_then_decays_to_zero():
    sched = {"name": "warmup_cosine", "warmup": 0.1}
    values = [lr_factor(sched, s, 100) for s in range(101)]
    assert values[0] < values[5] < values[10] and max(values) == pytest.approx(1.0, abs=1e-6)
    assert values[100] == pytest.approx(0.0, abs=1e-9)
    assert lr_factor({"name": "constant"}, 50, 100) == 1.0


def test_evaluation_returns_per_example_correctness(arms):
    """Each epoch carries which val images were right (packed bits), consistent with its accuracy
    and per-class counts; the same images in the same order for every arm."""
    import numpy as np

    from augstudy.ablation.storage.schema import unpack_correct

    data = _data(16, 12)
    config = spec.deep_merge(arms["0.3"].config, {"train": {"epochs": 1, "batch_size": 8}})
    epochs = []
    train_run(config, data, 0, "cpu", on_epoch=lambda result, state: epochs.append(result))
    (result,) = epochs
    assert result.n_val == 12 and len(result.val_correct) == 2            # 12 bits in 2 bytes
    correct = unpack_correct(result.val_correct, result.n_val)
    assert correct.dtype == bool and correct.shape == (12,)
    assert correct.mean() == pytest.approx(result.val_acc)
    labels = data.val_labels.numpy()
    assert [int(correct[labels == c].sum()) for c in range(2)] == result.class_correct
    assert np.array_equal(unpack_correct(result.to_dict()["val_correct"], 12), correct)   # survives checkpoints
