"""Weight EMA, flip TTA, random-erasing fill modes and the regularizer config fields' errors."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from augstudy.ablation.spec import study_spec as spec
from augstudy.ablation.execution.ema import WeightEma, decay_for_horizon, make_ema
from augstudy.ablation.execution.tta import predict
from augstudy.errors import UserError
from study_helpers import noise_dataset, write_specs


def _tiny_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.ReLU(), nn.Linear(6, 3))


def test_ema_weights_and_batchnorm_statistics_equal_a_hand_computed_ema_after_3_steps():
    model = _tiny_net()
    decay = 0.7
    ema = WeightEma(model, decay)
    hand = {k: v.detach().clone().double() for k, v in model.state_dict().items()}
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        x, y = torch.randn(8, 4, generator=g), torch.randint(0, 3, (8,), generator=g)
        model.train()
        loss = nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ema.update(model)
        for k, v in model.state_dict().items():
            hand[k] = decay * hand[k] + (1 - decay) * v.double() if v.is_floating_point() else v.clone()
    state = ema.state_dict()
    for k, v in model.state_dict().items():
        if v.is_floating_point():
            assert torch.allclose(state[k].double(), hand[k], atol=1e-6), k
        else:
            assert torch.equal(state[k], v)                            # num_batches_tracked copied
    for k in ("0.weight", "3.weight", "1.running_mean", "1.running_var"):   # really averages, not copies
        assert not torch.allclose(state[k], model.state_dict()[k]), k
    assert not ema.module.training
    assert all(not p.requires_grad for p in ema.module.parameters())


def test_ema_decay_comes_from_the_horizon_share_of_training():
    assert decay_for_horizon(0.04, 11730) == pytest.approx(1 - 1 / 469.2)
    assert decay_for_horizon(0.01, 40) == 0.0                          # under one step: the live model
    assert make_ema({"ema": None}, _tiny_net(), 100) is None
    assert make_ema({"ema": {"horizon": 0.1}}, _tiny_net(), 100).decay == pytest.approx(0.9)


def test_flip_tta_logits_are_the_mean_of_the_image_and_its_mirror():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 5)).eval()
    x = torch.randn(2, 3, 8, 8)
    mirror = x.flip(-1)
    with torch.no_grad():
        expected = (model(x) + model(mirror)) / 2
        assert torch.allclose(predict(model, x, "flip"), expected, atol=1e-6)
        assert torch.equal(predict(model, x, "none"), model(x))
        assert not torch.allclose(predict(model, x, "flip"), model(x))   # the mirror view really counts
    with pytest.raises(ValueError, match="unknown TTA mode"):
        predict(model, x, "crop")


def _tiny_config(**sections):
    arms = spec.resolve_study_arms("dropout", "smoke")
    config = copy.deepcopy(arms[0].config)
    config["train"].update(epochs=1, batch_size=8, eval_batch_size=16)
    config["data"].update(train_subset=None, val_subset=None)
    config.update(sections)
    return config


@pytest.mark.usefixtures("one_torch_thread")
def test_a_run_with_ema_and_tta_evaluates_the_ema_weights_with_flips_and_resumes_them():
    from augstudy.ablation.execution.train import build_run_model, evaluate, prepare_train_data, train_run

    config = _tiny_config(ema={"horizon": 1.0}, eval={"tta": "flip"})   # 2 steps: decay 0.5
    data = prepare_train_data(noise_dataset(16, 8), config)
    states = []
    outcome = train_run(config, data, 0, "cpu", on_epoch=lambda r, s: states.append(s))
    assert outcome.status == "done" and "ema" in states[0]
    ema_model = build_run_model(config, 2, 0, torch.device("cpu"))
    ema_model.load_state_dict(states[0]["ema"])
    mean, std = (torch.tensor(states[0]["norm"][k]).view(1, 3, 1, 1) for k in ("mean", "std"))
    loss, acc, *_ = evaluate(ema_model, data, mean, std, 16, torch.device("cpu"), "flip")
    assert outcome.history[0].val_loss == pytest.approx(loss, rel=1e-5)
    assert outcome.history[0].val_acc == acc
    live = build_run_model(config, 2, 0, torch.device("cpu"))
    live.load_state_dict(states[0]["model"])
    live_loss, *_ = evaluate(live, data, mean, std, 16, torch.device("cpu"), "flip")
    assert live_loss != pytest.approx(loss, rel=1e-5)                  # the EMA is not the live model
    # a checkpoint brings its EMA back: resuming at epoch 1 of 1 evaluates nothing new, keeps the state
    two = dict(config, train={**config["train"], "epochs": 2})
    resumed = []
    train_run(two, data, 0, "cpu", checkpoint=states[0], on_epoch=lambda r, s: resumed.append(s))
    assert resumed and not torch.equal(resumed[0]["ema"]["0.weight"], states[0]["ema"]["0.weight"])


def _level_error(tmp_path, override) -> str:
    specs = write_specs(tmp_path / "specs", {"bad": {"baseline_level": "a", "levels": {"a": {}, "b": override}}})
    with pytest.raises(UserError) as err:
        spec.resolve_study_arms("bad", "tiny", specs)
    message = str(err.value)
    assert "\n" not in message and "bad.yaml: levels.b" in message
    return message


@pytest.mark.parametrize("override, field, words", [
    ({"mix": {"mixup_alpha": 0}}, "mix.mixup_alpha", "> 0"),
    ({"mix": {"mixup_alpha": -0.2}}, "mix.mixup_alpha", "> 0"),
    ({"mix": {"cutmix_alpha": 0.0}}, "mix.cutmix_alpha", "> 0"),
    ({"mix": {"cutmix_alpha": 1.0, "switch_prob": 1.5}}, "mix.switch_prob", "[0.0, 1.0]"),
    ({"mix": {"mixup_alpah": 0.2}}, "mix.mixup_alpah", "unknown field"),
    ({"ema": {"horizon": 0}}, "ema.horizon", "(0, 1]"),
    ({"eval": {"tta": "crops"}}, "eval.tta", "none, flip"),
    ({"optimizer": {"label_smoothing": 1.0}}, "optimizer.label_smoothing", "[0.0, 1.0)"),
])
def test_bad_regularizer_parameters_are_one_line_naming_the_field(tmp_path, override, field, words):
    message = _level_error(tmp_path, override)
    assert f"'{field}'" in message and words in message


def test_unknown_erasing_fill_mode_is_one_line_naming_the_field(tmp_path):
    message = _level_error(tmp_path, {"augment": {"policy": "final", "add": [
        {"op": "RandomErasing", "mode": "noise", "p": 0.25}]}})
    assert "RandomErasing" in message and "'mode'" in message and "constant, random, pixel" in message


def test_erasing_fill_modes_are_keyed_normals_equal_on_every_backend():
    from augstudy.policy import apply_draw, load_policy, sample_draw

    images = torch.full((6, 3, 32, 32), 7, dtype=torch.uint8)
    for mode in ("random", "pixel"):
        policy = load_policy({"image_size": 32, "ops": [{"op": "RandomErasing", "mode": mode, "scale": [0.2, 0.3],
                                                         "p": 1.0}]})
        draw = sample_draw(policy, seed=5, epoch=1, indices=torch.arange(10, 16))
        out = apply_draw(images, policy, draw)
        for backend in ("torchvision", "kornia", "albumentations"):
            assert torch.equal(apply_draw(images, policy, draw, backend=backend), out), (mode, backend)
        one = sample_draw(policy, seed=5, epoch=1, indices=torch.tensor([13]))
        assert torch.equal(apply_draw(images[:1], policy, one)[0], out[3])   # keyed: any batch, same fill
        erased = out != 7
        for k in range(6):
            values = out[k][:, erased[k].any(0)].float()                      # [3, pixels in the box]
            spread = values.std(1)
            assert bool((spread > 5).all()) if mode == "pixel" else bool((spread == 0).all())
    policy = load_policy({"ops": [{"op": "RandomErasing", "mode": "pixel", "scale": [0.3, 0.3], "p": 1.0}]})
    draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(64))
    out = apply_draw(torch.zeros(64, 3, 64, 64), policy, draw)
    filled = out[out != 0].view(-1)
    assert abs(float(filled.mean()) - 0.45) < 0.03                  # about the ImageNet mean (clamped normals)
    # existing policies keep their form: the default mode is left out of to_dict (config hashes unchanged)
    assert "mode" not in load_policy("heavy").to_dict()["ops"][-1]
