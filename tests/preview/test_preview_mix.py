"""``augstudy preview --mixup/--cutmix`` and ``augstudy.preview(mixup=, cutmix=)``: the MixUp/CutMix pairs and
lambdas a study arm draws, as a PNG + replay record; bad values and combinations refused in one line.

Small on purpose: the 4-class x 6-image Tiny-ImageNet tree of the conftest, 3-4 images.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch

import augstudy
from augstudy import preview as pv
from augstudy.ablation.execution.mix_preview import mix_preview_rows, write_mix_preview
from augstudy.ablation.spec.file_schema import REGULARIZER_DEFAULTS
from augstudy.cli import preview as cli_preview
from augstudy.errors import UserError
from augstudy.policy import load_policy

MIX = {"mixup_alpha": 0.8, "cutmix_alpha": 1.0, "prob": 1.0, "switch_prob": 0.5}


def arm_config(policy: str, mix: dict, data: dict | None = None) -> dict:
    """The parts of a study arm's resolved config the mix preview and the trainer read."""
    return {"data": data or {"train_subset": None, "subset_seed": 0}, "augment": {"policy": load_policy(policy).to_dict()},
            "mix": dict(mix), "optimizer": {"label_smoothing": 0.0}}


def one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 2, result.output
    err = result.stderr.strip()
    assert "Traceback" not in result.output and len(err.splitlines()) == 1 and err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err
    return err


@pytest.fixture()
def tree_dataset(tiny_imagenet_tree):
    from augstudy.data import load_dataset_folder

    return load_dataset_folder(tiny_imagenet_tree)


def test_cli_writes_the_pairs_a_study_arm_draws_and_replays_them(cli_runner, tiny_imagenet_tree, tree_dataset,
                                                                 tmp_path):
    out = tmp_path / "mix.png"
    result = cli_runner("preview", "--policy", "light", "--data", str(tiny_imagenet_tree), "--mixup", "0.8",
                        "--cutmix", "1.0", "--n", "4", "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout and f"wrote {tmp_path / 'mix.json'}" in result.stdout
    assert out.read_bytes().startswith(b"\x89PNG")
    record = json.loads((tmp_path / "mix.json").read_text())
    assert record["mode"] == "mix" and record["mix"] == MIX and record["seed"] == 3 and record["epoch"] == 1
    assert record["policy"] == load_policy("light").to_dict() and len(record["pairs"]) == 4

    # the same pairs, lambdas and pixels as the ablation's mix preview of that config and run seed ...
    mixed, _, pairs = mix_preview_rows(arm_config("light", MIX), tree_dataset, 4, 3)
    assert record["pairs"] == pairs
    assert record["mixed_sha256"] == hashlib.sha256(mixed.float().contiguous().numpy().tobytes()).hexdigest()
    # ... and as the preview a study arm with that config writes (previews/<arm>.json)
    arm_png = write_mix_preview(arm_config("light", MIX), tree_dataset, tmp_path / "arm.png", n=4, seed=3)
    assert json.loads(arm_png.with_suffix(".json").read_text())["pairs"] == record["pairs"]
    # the table printed lists each image, its partner, the kind and lambda
    for pair in record["pairs"]:
        assert f"#{pair['index']} (" in result.stdout and f"{pair['lam']:.3f}" in result.stdout
    # another seed draws other pairs
    assert mix_preview_rows(arm_config("light", MIX), tree_dataset, 4, 4)[2] != pairs

    replay = cli_runner("preview", "--replay", str(tmp_path / "mix.json"))
    assert replay.exit_code == 0, replay.output
    assert (tmp_path / "mix-replay.png").read_bytes() == out.read_bytes()
    # a record whose images changed is refused, not silently redrawn
    changed = {**record, "images_sha256": "0" * 64}
    (tmp_path / "changed.json").write_text(json.dumps(changed))
    one_line_error(cli_runner("preview", "--replay", str(tmp_path / "changed.json")), "differ", "--data")
    drifted = {**record, "pairs": [{**record["pairs"][0], "lam": 0.5}, *record["pairs"][1:]]}
    (tmp_path / "drifted.json").write_text(json.dumps(drifted))
    one_line_error(cli_runner("preview", "--replay", str(tmp_path / "drifted.json")), "other pairs")
    # the library's replay_preview points at the command; a study's previews/<arm>.json cannot be replayed
    with pytest.raises(UserError, match="augstudy preview --replay"):
        pv.replay_preview(tmp_path / "mix.json")
    one_line_error(cli_runner("preview", "--replay", str(arm_png.with_suffix(".json"))), "no policy or data")


def test_preview_pairs_are_what_the_trainer_mixes_at_epoch_one(tree_dataset):
    """The trainer's own mix step (make_mix_step with the run's augmenter and mix seed), on the previewed
    images at epoch 1, pairs them with the same partners' labels at the same lambdas and pixels."""
    from augstudy.ablation.execution.mixing import make_mix_step
    from augstudy.ablation.execution.train import augment_seed, derive_seed, make_augmenter, prepare_train_data

    mix = {**MIX, "prob": 0.7, "switch_prob": 0.3}
    config = arm_config("light", mix, data={"train_subset": 16, "subset_seed": 0})
    seed = 2
    mixed, _, pairs = mix_preview_rows(config, tree_dataset, 4, seed)
    data = prepare_train_data(tree_dataset, config)
    augmenter = make_augmenter(config, seed, torch.device("cpu"))
    step = make_mix_step(config, data, augmenter, derive_seed(augment_seed(seed), "mix"))
    indices = torch.tensor([p["index"] for p in pairs])
    positions = torch.tensor([int((data.train_indices == i).nonzero()) for i in indices.tolist()])
    batch = step(augmenter(data.train_images[positions], indices, 1), data.train_labels[positions], indices, 1)
    assert batch.lam.tolist() == [p["lam"] for p in pairs]
    assert batch.partner_labels.tolist() == [int(tree_dataset.train_labels[p["partner"]]) for p in pairs]
    # the trainer's batched engine and the preview's reference backend agree within one uint8 level
    assert torch.allclose(batch.images, mixed, atol=1 / 255)


def test_bad_mix_values_are_one_line_naming_the_flag(cli_runner, tmp_path):
    out = str(tmp_path / "x.png")
    for args, words in ((["--mixup", "0"], ("--mixup:", "> 0")),
                        (["--cutmix", "-1"], ("--cutmix:", "> 0")),
                        (["--mixup", "inf"], ("--mixup:",)),
                        (["--mixup", "abc"], ("--mixup", "abc")),
                        (["--mixup", "1", "--mix-prob", "1.5"], ("--mix-prob:", "[0.0, 1.0]")),
                        (["--cutmix", "1", "--switch-prob", "nan"], ("--switch-prob:",)),
                        (["--mix-prob", "0.5"], ("--mix-prob", "--mixup ALPHA")),
                        (["--switch-prob", "0.2"], ("--switch-prob", "--mixup ALPHA"))):
        one_line_error(cli_runner("preview", "--policy", "light", *args, "--out", out), *words)
    # the same rules and words as the run config's mix section
    from pydantic import ValidationError

    from augstudy.ablation.spec.file_schema import MixSection

    with pytest.raises(ValidationError, match="must be a number > 0"):
        MixSection.model_validate({"mixup_alpha": 0})
    assert not list(tmp_path.iterdir()), "nothing written on errors"


def test_combinations_without_meaning_are_refused(cli_runner, tiny_imagenet_tree, tmp_path):
    base = ["preview", "--policy", "light", "--mixup", "0.2", "--out", str(tmp_path / "x.png")]
    for extra, word in ((["--per-op"], "--per-op"), (["--compare", "heavy"], "--compare"),
                        (["--strength", "0,1"], "--strength"), (["--draws", "2"], "--draws"),
                        (["--epoch", "3"], "--epoch"), (["--split", "val"], "--split val")):
        one_line_error(cli_runner(*base, *extra), "drop", word)
    one_line_error(cli_runner("preview", "--mixup", "0.2"), "--policy is required")
    one_line_error(cli_runner("preview", "--replay", str(tmp_path / "r.json"), "--cutmix", "1"), "drop --cutmix")
    assert not list(tmp_path.glob("x.*")), "nothing written on errors"
    # --split train is what a mix preview shows anyway
    ok = cli_runner(*base[:-2], "--split", "train", "--n", "2", "--data", str(tiny_imagenet_tree), "--out",
                    str(tmp_path / "ok.png"))
    assert ok.exit_code == 0, ok.output


def test_default_name_and_defaults_follow_the_run_config(cli_runner, tiny_imagenet_tree, tmp_path, monkeypatch):
    assert REGULARIZER_DEFAULTS["mix"]["prob"] == cli_preview.MIX_PROB_DEFAULT
    assert REGULARIZER_DEFAULTS["mix"]["switch_prob"] == cli_preview.SWITCH_PROB_DEFAULT
    import inspect

    from augstudy.api.previews import preview

    params = inspect.signature(preview).parameters
    assert (params["mix_prob"].default, params["switch_prob"].default) == (
        REGULARIZER_DEFAULTS["mix"]["prob"], REGULARIZER_DEFAULTS["mix"]["switch_prob"])
    assert params["mixup"].default is None and params["cutmix"].default is None
    assert pv.default_out_path(["light"], mix={**MIX, "mixup_alpha": None}) == Path(
        "reports/preview-light-cutmix-1.png")
    assert pv.default_out_path(["my policy"], mix={**MIX, "prob": 0.5, "switch_prob": 0.3}) == Path(
        "reports/preview-my-policy-mixup-0.8-cutmix-1-p-0.5-switch-0.3.png")
    monkeypatch.chdir(tmp_path)
    result = cli_runner("preview", "--policy", "light", "--data", str(tiny_imagenet_tree), "--mixup", "0.2",
                        "--n", "3")
    assert result.exit_code == 0, result.output
    out = Path("reports/preview-light-mixup-0.2.png")
    assert out.is_file() and pv.preview_json_path(out).is_file() and f"wrote {out}" in result.stdout
    record = json.loads(pv.preview_json_path(out).read_text())
    assert record["mix"] == {**REGULARIZER_DEFAULTS["mix"], "mixup_alpha": 0.2}
    assert all(p["kind"] == "mixup" and 0 < p["lam"] < 1 for p in record["pairs"])


def test_api_returns_the_figure_and_writes_only_when_asked(tiny_imagenet_tree, tmp_path):
    from matplotlib.figure import Figure

    data = augstudy.load_dataset(tiny_imagenet_tree, cache_dir=tmp_path / "cache", progress=False)
    fig = augstudy.preview("light", data=data, n=3, seed=1, cutmix=1.0)
    assert isinstance(fig, Figure) and fig._repr_png_().startswith(b"\x89PNG")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "tiny"], "nothing written without out="
    png = tmp_path / "api.png"
    augstudy.preview("light", data=data, n=3, seed=1, cutmix=1.0, out=png)
    record = json.loads(png.with_suffix(".json").read_text())
    assert record["pairs"] == mix_preview_rows(arm_config("light", {**MIX, "mixup_alpha": None}), data, 3, 1)[2]
    assert all(p["kind"] == "cutmix" for p in record["pairs"])
    for kwargs, words in (({"mixup": -1.0}, "mixup: must be a number > 0"),
                          ({"mixup": 0.2, "mix_prob": 2.0}, "mix_prob: must be in"),
                          ({"mixup": 0.2, "per_op": True}, "drop per_op"),
                          ({"cutmix": 1.0, "compare": ["heavy"]}, "drop compare"),
                          ({"cutmix": 1.0, "strength": [0, 1]}, "drop strength"),
                          ({"cutmix": 1.0, "draws": 2}, "drop draws"),
                          ({"switch_prob": 0.2}, "pass mixup= or cutmix=")):
        with pytest.raises(UserError, match=words):
            augstudy.preview("light", data=data, **kwargs)


@pytest.mark.parametrize("mix_args", [[], ["--mixup", "0.8"]], ids=["grid", "mix"])
def test_out_never_replaces_a_file_that_is_not_an_earlier_preview(cli_runner, tiny_imagenet_tree, tmp_path, mix_args):
    """A report figure (no preview record beside it), or a PNG beside a JSON of the user's, is refused
    in one line and left byte for byte; the command's own earlier preview at that path is replaced."""
    figure = tmp_path / "report_files" / "forest.png"
    figure.parent.mkdir()
    figure.write_bytes(b"\x89PNG a report figure")
    own_json = tmp_path / "notes.json"
    own_json.write_text('{"mine": true}')
    args = ["preview", "--policy", "light", "--data", str(tiny_imagenet_tree), "--n", "2", *mix_args]
    for target, kept in ((figure, figure), (tmp_path / "notes.png", own_json)):
        before = kept.read_bytes()
        one_line_error(cli_runner(*args, "--out", str(target)), "already exists", "not a preview")
        assert kept.read_bytes() == before and not (tmp_path / "notes.png").exists()
    again = tmp_path / "again.png"
    for _ in range(2):   # the second run replaces the first run's preview and record
        result = cli_runner(*args, "--out", str(again))
        assert result.exit_code == 0, result.output
    assert json.loads(again.with_suffix(".json").read_text())["augstudy_preview"] == 1
