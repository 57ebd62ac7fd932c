"""MixUp/CutMix: keyed partners and lambdas, the CutMix correction, soft targets and their loss."""

from __future__ import annotations

import math

import pytest
import torch

from augstudy.ablation.execution.mixing import (MixSettings, apply_mix, draw_mix, make_mix_step, soft_cross_entropy, soft_hits,
                                    soft_targets)
from augstudy.ablation.execution.train import TrainData, iter_train_batches

SIDE = 16
TRAIN_INDICES = torch.arange(100, 160)          # a subset's dataset indices (sorted, not starting at 0)


def _draw(settings, indices, seed=3, epoch=2):
    return draw_mix(settings, seed, epoch, torch.as_tensor(indices), TRAIN_INDICES, SIDE)


def test_targets_sum_to_one_with_smoothing_and_weights_follow_lambda():
    settings = MixSettings(mixup_alpha=0.8, cutmix_alpha=1.0)
    draw = _draw(settings, TRAIN_INDICES)
    labels = torch.arange(60) % 7
    partner_labels = labels[draw.partner]
    for eps in (0.0, 0.1):
        t = soft_targets(labels, partner_labels, draw.lam, 7, eps)
        assert t.shape == (60, 7) and torch.all(t >= 0)
        assert torch.allclose(t.sum(1), torch.ones(60), atol=1e-6)
        own = t[torch.arange(60), labels]
        differ = labels != partner_labels
        expect = draw.lam.float() * (1 - eps + eps / 7) + (1 - draw.lam.float()) * eps / 7
        assert torch.allclose(own[differ], expect[differ], atol=1e-6)
    assert bool((draw.lam < 1).any()) and bool(draw.cutmix.any()) and bool((~draw.cutmix & (draw.lam < 1)).any())


def test_cutmix_lambda_is_the_exact_share_of_own_pixels_after_clipping():
    draw = _draw(MixSettings(cutmix_alpha=1.0), TRAIN_INDICES)
    own, other = torch.zeros(60, 3, SIDE, SIDE), torch.ones(60, 3, SIDE, SIDE)
    mixed = apply_mix(own, other, draw)
    share_own = 1.0 - mixed.mean(dim=(1, 2, 3)).double()          # exact: pixels are 0 or 1
    assert torch.equal(share_own, draw.lam)                        # the corrected lambda, bit for bit
    assert torch.equal(draw.lam, 1 - (draw.height * draw.width).double() / SIDE ** 2)
    assert torch.all(draw.top + draw.height <= SIDE) and torch.all(draw.left + draw.width <= SIDE)
    # clipping happened for some boxes: their area is below the uncorrected cut**2
    from scipy.special import betaincinv

    from augstudy.ablation.execution.mixing import MIX_POSITION, SLOT_LAM
    from augstudy.policy.sampling import KeyedUniforms

    raw = betaincinv(1.0, 1.0, KeyedUniforms(3, 2, TRAIN_INDICES).uniform(MIX_POSITION, SLOT_LAM).numpy())
    cut = torch.floor(SIDE * torch.sqrt(1 - torch.from_numpy(raw))).long()
    side_even = (cut // 2) * 2
    assert bool(((draw.height * draw.width) < side_even ** 2).any())


def test_mixup_blends_with_lambda_and_unmixed_examples_are_unchanged():
    draw = _draw(MixSettings(mixup_alpha=0.4, prob=0.5), TRAIN_INDICES)
    a, b = torch.rand(60, 3, SIDE, SIDE), torch.rand(60, 3, SIDE, SIDE)
    mixed = apply_mix(a, b, draw)
    lam = draw.lam.float().view(-1, 1, 1, 1)
    assert torch.allclose(mixed, lam * a + (1 - lam) * b, atol=1e-6)
    unmixed = draw.lam == 1
    assert 10 < int(unmixed.sum()) < 50                            # prob 0.5 leaves about half unmixed
    assert torch.equal(mixed[unmixed], a[unmixed])


def test_partners_never_self_and_identical_across_arms_and_batch_sizes():
    every = _draw(MixSettings(mixup_alpha=0.2), TRAIN_INDICES)
    assert torch.all(TRAIN_INDICES[every.partner] != TRAIN_INDICES)
    for settings in (MixSettings(mixup_alpha=0.8), MixSettings(cutmix_alpha=1.0), MixSettings(0.8, 1.0, 0.5, 0.3)):
        other = _draw(settings, TRAIN_INDICES)
        assert torch.equal(other.partner, every.partner)          # same pairs in every arm
    lam_02, lam_08 = every.lam, _draw(MixSettings(mixup_alpha=0.8), TRAIN_INDICES).lam
    # common random numbers: one keyed uniform per image, so the order of lambdas agrees across alphas
    assert torch.equal(torch.argsort(lam_02), torch.argsort(lam_08))
    # any batch: chunks of 7 in a shuffled order give each image the same partner, lambda and box
    settings = MixSettings(0.8, 1.0)
    whole = _draw(settings, TRAIN_INDICES)
    order = torch.randperm(60, generator=torch.Generator().manual_seed(0))
    for chunk in order.split(7):
        part = _draw(settings, TRAIN_INDICES[chunk])
        for name in ("partner", "lam", "cutmix", "top", "left", "height", "width"):
            assert torch.equal(getattr(part, name), getattr(whole, name)[chunk]), name
    assert not torch.equal(_draw(settings, TRAIN_INDICES, seed=4).partner, whole.partner)
    assert not torch.equal(_draw(settings, TRAIN_INDICES, epoch=3).partner, whole.partner)


def test_training_batches_mix_the_same_pairs_at_any_batch_size():
    g = torch.Generator().manual_seed(0)
    n = 24
    data = TrainData(torch.randint(0, 256, (n, 3, SIDE, SIDE), dtype=torch.uint8, generator=g),
                     torch.arange(n) % 3, torch.arange(50, 50 + n), torch.zeros(2, 3, SIDE, SIDE, dtype=torch.uint8),
                     torch.zeros(2, dtype=torch.long), 3)

    def identity(images, indices, epoch):
        return images.float() / 255

    config = {"mix": {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "prob": 1.0, "switch_prob": 0.5},
              "optimizer": {"label_smoothing": 0.1}}
    mix = make_mix_step(config, data, identity, seed=11)
    seen = {}
    for batch_size in (5, 8):
        per_index = {}
        for images, labels, indices in iter_train_batches(data, identity, 0, 1, batch_size, torch.device("cpu")):
            batch = mix(images, labels, indices, 1)
            for k, i in enumerate(indices.tolist()):
                per_index[i] = (batch.images[k], batch.targets[k], float(batch.lam[k]))
        seen[batch_size] = per_index
    assert seen[5].keys() == seen[8].keys() == set(range(50, 50 + n))
    for i in seen[5]:
        assert torch.equal(seen[5][i][0], seen[8][i][0]) and torch.equal(seen[5][i][1], seen[8][i][1])
    assert make_mix_step({"optimizer": {"label_smoothing": 0.0}}, data, identity, 11) is None


def test_soft_target_loss_and_hits_on_a_hand_computed_batch():
    # row 0: logits (ln 4, 0, 0) -> softmax (2/3, 1/6, 1/6); label 0 mixed with label 1 at lam 0.75, eps 0.3
    #   smooth(0) = (0.8, 0.1, 0.1), smooth(1) = (0.1, 0.8, 0.1) -> t = (0.625, 0.275, 0.1)
    #   loss = -(0.625 ln(2/3) + 0.375 ln(1/6))
    # row 1: logits (0, 0, 0) -> loss ln 3 whatever the target
    logits = torch.tensor([[math.log(4.0), 0.0, 0.0], [0.0, 0.0, 0.0]])
    labels, partners = torch.tensor([0, 2]), torch.tensor([1, 0])
    lam = torch.tensor([0.75, 0.4], dtype=torch.float64)
    targets = soft_targets(labels, partners, lam, 3, smoothing=0.3)
    assert torch.allclose(targets[0], torch.tensor([0.625, 0.275, 0.1]))
    expected = (-(0.625 * math.log(2 / 3) + 0.375 * math.log(1 / 6)) + math.log(3.0)) / 2
    assert soft_cross_entropy(logits, targets).item() == pytest.approx(expected, rel=1e-6)
    # hits: row 0 predicts class 0 = its own label (weight 0.75); row 1 ties -> argmax 0 = the partner (0.6)
    assert soft_hits(logits, labels, partners, lam).item() == pytest.approx(0.75 + 0.6)
    # unmixed (lam 1) targets: the loss is torch's cross-entropy with label smoothing
    z = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    y = torch.tensor([0, 3, 1, 1, 2])
    ones = torch.ones(5, dtype=torch.float64)
    assert soft_cross_entropy(z, soft_targets(y, y.flip(0), ones, 4, 0.1)).item() == pytest.approx(
        torch.nn.functional.cross_entropy(z, y, label_smoothing=0.1).item(), rel=1e-6)


def test_draw_captions_name_partner_kind_and_lambda():
    draw = _draw(MixSettings(0.8, 1.0, prob=0.5), TRAIN_INDICES[:12])
    captions = draw.captions()
    assert len(captions) == 12 and any("unmixed" in c for c in captions)
    mixed = next(k for k, c in enumerate(captions) if "lam=" in c)
    assert f"x {int(draw.partner[mixed])} " in captions[mixed]
    assert f"lam={float(draw.lam[mixed]):.2f}" in captions[mixed]


@pytest.mark.usefixtures("one_torch_thread")
def test_a_mixing_run_is_a_pure_function_of_its_seed():
    import copy

    from augstudy.ablation.spec import study_spec as spec
    from augstudy.ablation.execution.train import prepare_train_data, train_run
    from study_helpers import noise_dataset

    arms = {a.level: a for a in spec.resolve_study_arms("cutmix", "smoke")}
    config = copy.deepcopy(arms["1.0"].config)
    config["train"].update(epochs=1, batch_size=8, eval_batch_size=16)
    config["data"].update(train_subset=None, val_subset=None)
    config["optimizer"]["label_smoothing"] = 0.1
    data = prepare_train_data(noise_dataset(16, 8), config)
    first, again = (train_run(config, data, 0, "cpu").history[0] for _ in range(2))
    assert (first.train_loss, first.train_acc, first.val_loss) == (again.train_loss, again.train_acc, again.val_loss)
    # the soft-target loss is above the smoothed targets' floor: the entropy of (0.95, 0.05) at 2 classes
    assert first.train_loss > -(0.95 * math.log(0.95) + 0.05 * math.log(0.05))
    other = train_run(config, data, 1, "cpu").history[0]
    assert other.train_loss != first.train_loss
