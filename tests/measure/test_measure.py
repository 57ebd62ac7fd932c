"""``augstudy measure``: schema, statistics that must move (or not), no-op warnings, affinity, errors."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
import time

import pytest
import torch
import yaml

from augstudy.errors import UserError
from augstudy.measure.pixel_stats import pixel_shift, psnr_per_image, ssim_per_image, unchanged_mask

BACKENDS = ("torchvision", "kornia", "albumentations", "augstudy")


@pytest.fixture(scope="module")
def probe_policy(tmp_path_factory):
    """Flip (must not move channel means), a brightening jitter (must raise them), and saturation
    alone (a no-op on grayscale Fashion-MNIST)."""
    path = tmp_path_factory.mktemp("policy") / "probe.yaml"
    path.write_text(yaml.safe_dump({"name": "probe", "ops": [
        {"op": "HorizontalFlip", "p": 1.0},
        {"op": "ColorJitter", "brightness": [1.2, 1.5], "p": 1.0},
        {"op": "ColorJitter", "saturation": 0.5, "p": 1.0},
    ]}))
    return path


@pytest.fixture(scope="module")
def measured(probe_policy, tmp_path_factory):
    """One real run of the console script with --json on the embedded default dataset."""
    from tests.conftest import REPO_ROOT, console_command

    out_dir = tmp_path_factory.mktemp("measure-out")
    proc = subprocess.run([*console_command(), "measure", "--policy", str(probe_policy), "--n", "32", "--json",
                           "--threads", "1", "--out", str(out_dir)],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "AUGSTUDY_NO_PROGRESS": "1"})
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout), proc, out_dir


def _row(result, label_start):
    return next(r for r in result["ops"] if r["label"].startswith(label_start))


def test_json_schema(measured):
    result, _, _ = measured
    assert result["policy"] == "probe"
    assert result["device"].startswith("cpu")
    assert set(result["throughput"]) >= set(BACKENDS)
    assert all(v > 0 for v in result["throughput"].values())
    assert result["throughput_ratio"]["torchvision"] == pytest.approx(1.0)
    assert [r["label"] for r in result["ops"]] == ["op 1: HorizontalFlip", "op 2: ColorJitter", "op 3: ColorJitter"]
    for row in result["ops"]:
        assert set(row["throughput"]) >= set(BACKENDS)
        assert set(row["stats"]) >= {"mean_before", "mean_after", "std_before", "std_after", "clip_before",
                                     "clip_after", "ssim", "psnr_db", "noop_share"}
    assert result["n"] == 32 and result["dataset"] == "fashion-mnist-mini"
    assert "out of scope" in result["diversity_note"]


def test_stdout_is_one_json_object_and_paths_go_to_stderr(measured):
    result, proc, out_dir = measured
    assert proc.stdout.strip().startswith("{") and proc.stdout.strip().endswith("}")
    assert str(out_dir / "measure-probe.json") in proc.stderr


def test_files_written_match_stdout(measured):
    result, _, out_dir = measured
    on_disk = json.loads((out_dir / "measure-probe.json").read_text())
    assert on_disk["stats"] == result["stats"]
    with open(out_dir / "measure-probe.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["label"] for r in rows] == ["policy", "op 1: HorizontalFlip", "op 2: ColorJitter", "op 3: ColorJitter"]
    assert float(rows[1]["throughput_kornia"]) > 0
    assert not list(out_dir.glob(".*.tmp"))   # no temporaries left behind


def test_flip_keeps_channel_means_and_brightness_raises_them(measured):
    result, _, _ = measured
    flip = _row(result, "op 1")["stats"]
    for before, after in zip(flip["mean_before"], flip["mean_after"]):
        assert after == pytest.approx(before, abs=1e-9)
    assert flip["ssim"] < 0.99                     # the images did change: geometry lowers SSIM
    bright = _row(result, "op 2")["stats"]
    for before, after in zip(bright["mean_before"], bright["mean_after"]):
        assert after > before * 1.1
    assert bright["clip_after"] >= bright["clip_before"]   # brightening pushes pixels to 255


def test_saturation_on_grayscale_warns_as_no_op(measured):
    result, _, _ = measured
    assert _row(result, "op 3")["stats"]["noop_share"] == 1.0
    assert _row(result, "op 1")["stats"]["noop_share"] < 0.5
    assert any("op 3: ColorJitter changed nothing on 100%" in w and "grayscale" in w for w in result["warnings"])
    assert not any("op 1" in w for w in result["warnings"])


def test_missing_model_says_how_to_get_one(measured, cli_runner, tmp_path):
    result, _, _ = measured
    assert result["affinity"] is None
    assert "augstudy ablate policy --budget short" in result["affinity_note"]
    text = cli_runner("measure", "--policy", "none", "--n", "8", "--backends", "augstudy", "--out", str(tmp_path))
    assert text.exit_code == 0, text.stderr
    assert "affinity: not measured" in text.stdout and "--model" in text.stdout
    assert "out of scope" in text.stdout
    assert f"wrote {tmp_path / 'measure-none.json'}" in text.stdout


def _constant_predictor_checkpoint(path, class_index: int, num_classes: int = 10):
    """The final CNN whose last layer always answers ``class_index``: its accuracy is that class's share,
    on clean and augmented images alike, so its affinity is exactly 1."""
    from augstudy.models import build_model

    torch.manual_seed(0)
    model = build_model("final", num_classes=num_classes)
    last = model[-1]
    with torch.no_grad():
        last.weight.zero_()
        last.bias.zero_()
        last.bias[class_index] = 10.0
    torch.save({"model": model.state_dict(),
                "config": {"model": {"name": "final", "dropout": 0.3, "bn_order": "after", "activation": "relu"}}},
               path)


def test_affinity_with_a_tiny_checkpoint(mini_dataset, tmp_path):
    from augstudy.measure import measure_policy

    labels = mini_dataset.val_labels[:16]
    majority = int(torch.bincount(labels, minlength=10).argmax())
    ckpt = tmp_path / "clean.pt"
    _constant_predictor_checkpoint(ckpt, majority)
    result = measure_policy({"name": "flipcrop", "ops": [{"op": "HorizontalFlip", "p": 1.0},
                                                         {"op": "RandomCrop", "padding": 4}]},
                            n=16, backends=["augstudy"], model_path=ckpt, progress=False, throughput_seconds=0.01)
    expected = float((labels == majority).double().mean())
    assert result["affinity"]["clean_acc"] == pytest.approx(expected)
    assert result["affinity"]["affinity"] == pytest.approx(1.0)
    assert all(math.isfinite(r["affinity"]["affinity"]) for r in result["ops"])
    assert result["model"]["name"] == "final" and result["model"]["num_classes"] == 10


def test_checkpoint_with_a_non_default_knob_loads_from_its_model_section(tmp_path):
    from augstudy.measure.affinity import load_clean_model
    from augstudy.models import build_model

    section = {"name": "final", "width": 0.5, "classifier_depth": 1, "activation": "leaky_relu"}
    torch.manual_seed(3)
    source = build_model("final", num_classes=10, width=0.5, classifier_depth=1, activation="leaky_relu").eval()
    ckpt = tmp_path / "narrow.pt"
    torch.save({"model": source.state_dict(), "config": {"model": section, "num_classes": 10}}, ckpt)
    model, info = load_clean_model(ckpt, "cpu")
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(model(x), source(x))
    assert info["activation"] == "leaky_relu" and info["num_classes"] == 10 and info["notes"] == []
    torch.save({"model": source.state_dict(), "config": {"model": {"name": "final"}, "num_classes": 10}}, ckpt)
    with pytest.raises(UserError, match="do not fit the checkpoint's own model section"):
        load_clean_model(ckpt, "cpu")


def test_a_checkpoint_with_weight_ema_is_measured_with_its_ema_weights(tmp_path):
    """A run trained with ``ema.horizon`` was evaluated with its averaged weights: affinity uses those."""
    from augstudy.measure.affinity import EMA_NOTE, load_clean_model
    from augstudy.models import build_model

    section = {"name": "final", "width": 0.25, "classifier_depth": 1}
    torch.manual_seed(0)
    live = build_model("final", num_classes=10, width=0.25, classifier_depth=1).eval()
    torch.manual_seed(1)
    averaged = build_model("final", num_classes=10, width=0.25, classifier_depth=1).eval()
    x = torch.rand(2, 3, 64, 64)
    for config in ({"model": section, "num_classes": 10}, None):   # with the run's model section, and without
        ckpt = tmp_path / "ema.pt"
        state = {"model": live.state_dict(), "ema": averaged.state_dict()}
        if config is not None:
            state["config"] = config
        else:   # matched against final/first at the default knobs
            live, averaged = build_model("final", num_classes=10).eval(), build_model("final", num_classes=10).eval()
            state = {"model": live.state_dict(), "ema": averaged.state_dict()}
        torch.save(state, ckpt)
        model, info = load_clean_model(ckpt, "cpu")
        with torch.no_grad():
            assert torch.equal(model(x), averaged(x)) and not torch.equal(model(x), live(x))
        assert info["notes"][0] == EMA_NOTE
    torch.save({"model": live.state_dict()}, ckpt)      # no EMA: the live weights, no note
    model, info = load_clean_model(ckpt, "cpu")
    with torch.no_grad():
        assert torch.equal(model(x), live(x))
    assert EMA_NOTE not in info["notes"]


def test_jitter_sub_ops_are_the_adjustments_that_can_change_an_image():
    from augstudy.measure.run import measured_variants
    from augstudy.policy import Policy

    def labels(**jitter):
        policy = Policy.from_dict({"name": "j", "ops": [{"op": "ColorJitter", **jitter}]})
        return [v["label"] for v in measured_variants(policy)]

    # one active adjustment: no sub-ops (the op alone is that adjustment)
    assert labels(brightness=0.4, saturation=[1.0, 1.0], hue=[0.0, 0.0]) == ["policy", "op 1: ColorJitter"]
    assert labels(brightness=0.4, saturation=[1.2, 1.2], hue=0.1) == [
        "policy", "op 1: ColorJitter", "op 1: ColorJitter.brightness", "op 1: ColorJitter.saturation",
        "op 1: ColorJitter.hue"]


def test_affinity_of_a_random_model_is_a_finite_ratio_via_cli(cli_runner, tmp_path, probe_policy):
    from augstudy.models import build_model

    torch.manual_seed(1)
    ckpt = tmp_path / "random.pt"
    torch.save(build_model("final", num_classes=10).state_dict(), ckpt)   # a bare state_dict is accepted too
    res = cli_runner("measure", "--policy", str(probe_policy), "--n", "16", "--backends", "augstudy", "--model", str(ckpt),
                     "--json", "--out", str(tmp_path))
    assert res.exit_code == 0, res.stderr
    affinity = json.loads(res.stdout)["affinity"]
    assert 0 <= affinity["clean_acc"] <= 1 and 0 <= affinity["augmented_acc"] <= 1
    if affinity["clean_acc"] > 0:
        assert math.isfinite(affinity["affinity"])
    else:
        assert affinity["affinity"] is None


@pytest.mark.parametrize("args, needle", [
    (["--policy", "no-such-policy"], "unknown policy 'no-such-policy'"),
    (["--policy", "light", "--backends", "torchvision,opencv"], "unknown backend 'opencv'"),
    (["--policy", "light", "--model", "missing.pt"], "missing.pt: no such file"),
])
def test_bad_input_is_one_line_error(cli_runner, args, needle, tmp_path):
    res = cli_runner("measure", *args, "--n", "4", "--out", str(tmp_path))
    assert res.exit_code != 0
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], res.stderr
    assert "Traceback" not in res.stderr


def test_bad_policy_via_console_script(run_console):
    proc = run_console("measure", "--policy", "nope")
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()] and proc.stderr.startswith("error: ")


def test_model_with_wrong_classes_is_one_line_error(cli_runner, tmp_path):
    from augstudy.models import build_model

    ckpt = tmp_path / "c200.pt"
    torch.save({"model": build_model("final", num_classes=200).state_dict()}, ckpt)
    res = cli_runner("measure", "--policy", "none", "--n", "4", "--backends", "augstudy", "--model", str(ckpt),
                     "--out", str(tmp_path))
    errors = [line for line in res.stderr.splitlines() if line.startswith("error")]
    assert res.exit_code != 0 and len(errors) == 1 and "200 classes" in errors[0]
    assert "Traceback" not in res.stderr


def test_equivalence_flag_prints_the_table(cli_runner, tmp_path):
    res = cli_runner("measure", "--policy", "none", "--n", "8", "--backends", "torchvision,kornia",
                     "--equivalence", "--out", str(tmp_path))
    assert res.exit_code == 0, res.stderr
    assert "equivalence vs torchvision" in res.stdout
    assert "ColorJitter.hue" in res.stdout and "kornia" in res.stdout


def test_help_is_fast_and_does_not_import_torch(run_console):
    code = "import sys, augstudy.cli.measure; sys.exit(1 if 'torch' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    start = time.perf_counter()
    proc = run_console("measure", "--help")
    assert proc.returncode == 0 and "--equivalence" in proc.stdout
    assert time.perf_counter() - start < 5   # generous: the 1 s target is checked without load in benchmarks


# ----------------------------------------------------------------------------- pixel statistics
def test_ssim_psnr_and_noop_primitives():
    import kornia

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 32, 32), generator=generator, dtype=torch.uint8)
    noisy = (images.int() + torch.randint(-20, 21, images.shape, generator=generator)).clamp(0, 255).to(torch.uint8)
    assert torch.allclose(ssim_per_image(images, images), torch.ones(6))
    ours = ssim_per_image(images, noisy)
    reference = kornia.metrics.ssim(images.float() / 255, noisy.float() / 255, 11, padding="valid").mean((1, 2, 3))
    assert torch.allclose(ours, reference, atol=1e-5)
    assert torch.isinf(psnr_per_image(images, images)).all()
    mse = (images.float() - noisy.float()).pow(2).mean((1, 2, 3))
    assert torch.allclose(psnr_per_image(images, noisy), 10 * torch.log10(255.0 ** 2 / mse))
    one_off = images.clone()
    one_off[0, 0, 0, 0] = (int(images[0, 0, 0, 0]) + 1) % 256 if images[0, 0, 0, 0] < 255 else 254
    assert unchanged_mask(images, one_off).all()
    stats = pixel_shift(images, noisy, applied=torch.tensor([True, True, False, False, False, False]))
    assert stats["n_applied"] == 2 and stats["noop_share"] == 0.0
    assert stats["psnr_db"] == pytest.approx(float(psnr_per_image(images, noisy).mean()), rel=1e-6)


def test_measure_takes_an_in_memory_dataset_like_its_path(mini_dataset):
    from augstudy.data import dataset_from_tensors
    from augstudy.measure import measure_policy

    in_memory = dataset_from_tensors(mini_dataset.train_images, mini_dataset.train_labels, mini_dataset.class_names,
                                     val_images=mini_dataset.val_images, val_labels=mini_dataset.val_labels)
    common = dict(n=16, backends=["augstudy"], progress=False, throughput_seconds=0.01)
    from_disk = measure_policy("light", data=mini_dataset, **common)   # loaded from its folder
    from_memory = measure_policy("light", data=in_memory, **common)
    assert from_memory["stats"] == from_disk["stats"]
    assert [r["stats"] for r in from_memory["ops"]] == [r["stats"] for r in from_disk["ops"]]
    assert from_memory["data_path"] is None and from_memory["dataset"] == "in-memory"
    assert from_disk["data_path"] == str(mini_dataset.root)
