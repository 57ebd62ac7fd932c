"""``augstudy preview`` and :mod:`augstudy.preview`: grids, per-op, compare, replay, errors.

Small on purpose: 2-3 images, 1-2 draws, the embedded default dataset or a generated
Tiny-ImageNet tree of a few 64x64 JPEGs.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from augstudy import preview as pv
from augstudy.preview import render
from augstudy.cli import cli

REPO = Path(__file__).resolve().parents[2]
CONSOLE = REPO / ".venv" / "bin" / "augstudy"


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def invoke(*args: str):
    """Run the CLI in-process; returns click's Result (stdout and stderr kept apart)."""
    return CliRunner().invoke(cli, list(args), env={"AUGSTUDY_NO_PROGRESS": "1"})


def assert_one_line_error(result, *fragments: str) -> None:
    assert result.exit_code != 0, result.output
    err = result.stderr.strip()
    assert "Traceback" not in result.output
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    for fragment in fragments:
        assert fragment in err, err


@pytest.fixture(scope="module")
def dataset():
    from augstudy.data import load_dataset

    return load_dataset(None, progress=False)


def make_tiny_imagenet(root: Path, classes: int = 3, train_per_class: int = 3, val_per_class: int = 2) -> Path:
    """A Tiny-ImageNet-200-layout tree of random 64x64 JPEGs (one grayscale), ``root`` returned."""
    gen = torch.Generator().manual_seed(1)
    wnids = [f"n0{i:07d}" for i in range(classes)]
    (root / "val" / "images").mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(wnids) + "\n")
    (root / "words.txt").write_text("".join(f"{w}\tthing number {i}, item\n" for i, w in enumerate(wnids)))

    def save(path: Path, gray: bool = False) -> None:
        pixels = torch.randint(0, 256, (64, 64, 3), generator=gen, dtype=torch.uint8).numpy()
        image = Image.fromarray(pixels)
        (image.convert("L") if gray else image).save(path, "JPEG", quality=90)

    annotations = []
    for c, wnid in enumerate(wnids):
        folder = root / "train" / wnid / "images"
        folder.mkdir(parents=True)
        boxes = []
        for i in range(train_per_class):
            save(folder / f"{wnid}_{i}.JPEG", gray=(c == 0 and i == 0))
            boxes.append(f"{wnid}_{i}.JPEG\t0\t0\t63\t63\n")
        (root / "train" / wnid / f"{wnid}_boxes.txt").write_text("".join(boxes))
        for i in range(val_per_class):
            name = f"val_{c * val_per_class + i}.JPEG"
            save(root / "val" / "images" / name)
            annotations.append(f"{name}\t{wnid}\t0\t0\t63\t63\n")
    (root / "val" / "val_annotations.txt").write_text("".join(annotations))
    return root


# ---------------------------------------------------------------------------------- pure parts

def test_choose_stratified_is_round_robin_deterministic_and_seeded():
    labels = torch.tensor([0] * 5 + [1] * 2 + [2] * 7 + [3] * 1)
    picked = pv.choose_stratified(labels, 6, seed=3)
    assert picked == pv.choose_stratified(labels, 6, seed=3)
    assert len(set(picked)) == 6
    first_round = [int(labels[i]) for i in picked[:4]]
    assert sorted(first_round) == [0, 1, 2, 3], "the first n<=C rows must be distinct classes"
    # round two skips class 3 (one image only) and keeps the class order of round one
    second_round = [int(labels[i]) for i in picked[4:]]
    assert second_round == [c for c in first_round if c != 3][:2]
    assert any(pv.choose_stratified(labels, 6, seed=s) != picked for s in range(4, 10))
    assert sorted(pv.choose_stratified(labels, 100, seed=0)) == list(range(len(labels)))


def test_paths_and_display_conversion():
    assert pv.preview_json_path("r/preview-light.png") == Path("r/preview-light.json")
    assert pv.default_out_path(["light", "heavy"]) == Path("reports/preview-light-vs-heavy.png")
    assert pv.default_out_path(["my policy"], per_op=True) == Path("reports/preview-my-policy-per-op.png")
    normalized = torch.tensor([-2.0, 0.0, 2.0]).view(1, 3, 1, 1)
    assert pv.to_display_uint8(normalized).flatten().tolist() == [0, 128, 255]
    assert pv.to_display_uint8(torch.full((1, 3, 2, 2), 0.5)).unique().tolist() == [128]


# ---------------------------------------------------------------------------------- the CLI

def test_cli_grid_writes_png_and_json_with_draws(tmp_path):
    out = tmp_path / "grid.png"
    result = invoke("preview", "--policy", "light", "--n", "3", "--draws", "2", "--seed", "5", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.stdout and f"wrote {tmp_path / 'grid.json'}" in result.stdout
    record = json.loads((tmp_path / "grid.json").read_text())
    assert record["mode"] == "grid" and record["seed"] == 5 and len(record["indices"]) == 3
    assert record["columns"] == ["original", "draw 1 (epoch 0)", "draw 2 (epoch 1)"]
    (policy,) = record["policies"]
    assert policy["policy"]["name"] == "light" and [d["epoch"] for d in policy["draws"]] == [0, 1]
    assert all(isinstance(d["draw"], list) and len(d["draw"]) == len(policy["policy"]["ops"]) for d in policy["draws"])
    with Image.open(out) as image:
        image.load()
        width, height = image.size
    # 3 rows x 3 columns of square cells plus fixed margins: width/height follow the layout exactly
    layout = pv.figure_layout(3, 3, pv.build_grid("light", record["data_path"], n=3, draws=2, seed=5).title)
    assert (width, height) == (round(layout["width"] * render.DPI), round(layout["height"] * render.DPI))
    assert round(width / render.DPI - render.ROW_LABEL_IN - render.MARGIN_IN, 2) == round(3 * (render.CELL_IN + render.CELL_GAP_IN), 2)


def test_more_rows_and_columns_grow_the_png(dataset, tmp_path):
    small = pv.render_preview_grid("light", dataset, tmp_path / "a.png", n=2, draws=1)
    tall = pv.render_preview_grid("light", dataset, tmp_path / "b.png", n=4, draws=1)
    wide = pv.render_preview_grid("light", dataset, tmp_path / "c.png", n=2, draws=3)
    sizes = {name: Image.open(p).size for name, p in (("small", small), ("tall", tall), ("wide", wide))}
    row_px = round((render.CELL_IN + render.CELL_GAP_IN) * render.DPI)
    assert sizes["tall"] == (sizes["small"][0], sizes["small"][1] + 2 * row_px)
    assert sizes["wide"][0] == sizes["small"][0] + 2 * row_px


def test_same_seed_gives_identical_png_bytes(dataset, tmp_path):
    first = pv.render_preview_grid("medium", dataset, tmp_path / "one.png", n=2, draws=2, seed=11)
    second = pv.render_preview_grid("medium", dataset, tmp_path / "two.png", n=2, draws=2, seed=11)
    other = pv.render_preview_grid("medium", dataset, tmp_path / "three.png", n=2, draws=2, seed=12)
    assert sha256(first) == sha256(second)
    assert sha256(first) != sha256(other)


def test_draw_columns_match_sample_draw_per_image(dataset):
    """Column d of row i is sample_draw(seed, epoch=epoch+d, indices=[i]) applied to image i alone."""
    from augstudy.policy import apply_draw, load_policy, sample_draw

    built = pv.build_grid("heavy", dataset, n=3, draws=2, seed=4, epoch=7)
    policy = load_policy("heavy")
    for row, index in enumerate(built.record["indices"]):
        image = dataset.val_images[index : index + 1]
        for d in range(2):
            draw = sample_draw(policy, seed=4, epoch=7 + d, indices=torch.tensor([index]),
                               image_size=image.shape[-1])
            expected = pv.to_display_uint8(apply_draw(image, policy, draw))[0]
            assert torch.equal(built.columns[1 + d].images[row], expected)
    assert torch.equal(built.columns[0].images, dataset.val_images[torch.tensor(built.record["indices"])])


def test_per_op_has_original_plus_one_column_per_op(dataset, tmp_path):
    from augstudy.policy import load_policy

    policy = load_policy("heavy")
    out = tmp_path / "per-op.png"
    result = invoke("preview", "--policy", "heavy", "--per-op", "--n", "3", "--epoch", "2", "--out", str(out))
    assert result.exit_code == 0, result.output
    record = json.loads(pv.preview_json_path(out).read_text())
    assert record["mode"] == "per-op" and len(record["columns"]) == len(policy.ops) + 1
    assert record["columns"][1:] == [f"+{k}: {op.op}" for k, op in enumerate(policy.ops, start=1)]

    built = pv.build_per_op("heavy", dataset, n=3, seed=0, epoch=2)
    grid = pv.build_grid("heavy", dataset, n=3, draws=1, seed=0, epoch=2)
    assert torch.equal(built.columns[-1].images, grid.columns[1].images), "all ops = the full draw"
    applied_flags = [d["epoch"] for d in built.record["policies"][0]["draws"]]
    assert applied_flags == [2]
    for column, op in zip(built.columns[1:], policy.ops):
        assert len(column.notes) == 3 and all(note.startswith(op.op) for note in column.notes)
        for note in column.notes:
            assert note.endswith("(applied)") or note.endswith(f"(skipped, p={float(op.p):g})")
    # a skipped op leaves its input unchanged
    for k in range(1, len(built.columns) - 1):
        for row, note in enumerate(built.columns[k + 1].notes):
            if "skipped" in note:
                assert torch.equal(built.columns[k + 1].images[row], built.columns[k].images[row])


def test_compare_light_heavy_default_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("preview", "--compare", "light,heavy", "--n", "2", "--draws", "2")
    assert result.exit_code == 0, result.output
    out = Path("reports/preview-light-vs-heavy.png")
    assert out.is_file() and f"wrote {out}" in result.stdout
    record = json.loads(pv.preview_json_path(out).read_text())
    assert [p["name"] for p in record["policies"]] == ["light", "heavy"]
    assert record["columns"] == ["original", "light: draw 1 (epoch 0)", "light: draw 2 (epoch 1)",
                                 "heavy: draw 1 (epoch 0)", "heavy: draw 2 (epoch 1)"]
    with Image.open(out) as image:
        grid_width = Image.open(pv.render_preview_grid("light", record["data_path"], tmp_path / "g.png", n=2,
                                                       draws=2)).size[0]
        assert image.size[0] == grid_width + 2 * round((render.CELL_IN + render.CELL_GAP_IN) * render.DPI)


def test_replay_reproduces_identical_augmented_tensors(dataset, tmp_path):
    for name, built in (("grid", pv.build_grid("final", dataset, n=3, draws=2, seed=9)),
                        ("per-op", pv.build_per_op("heavy", dataset, n=2, seed=9, epoch=3)),
                        ("compare", pv.build_compare(["light", "heavy"], dataset, n=2, draws=1, seed=9))):
        png = pv.write_preview(built, tmp_path / f"{name}.png")
        replayed = pv.build_replay(pv.load_record(pv.preview_json_path(png)))
        assert [c.header for c in replayed.columns] == [c.header for c in built.columns]
        for original, again in zip(built.columns, replayed.columns):
            assert torch.equal(original.images, again.images), f"{name}: {original.header} differs on replay"
        assert replayed.record == built.record


def test_cli_replay_rerenders_the_same_png(tmp_path):
    out = tmp_path / "fig.png"
    assert invoke("preview", "--policy", "medium", "--n", "2", "--draws", "2", "--out", str(out)).exit_code == 0
    result = invoke("preview", "--replay", str(pv.preview_json_path(out)))
    assert result.exit_code == 0, result.output
    replayed = tmp_path / "fig-replay.png"
    assert f"wrote {replayed}" in result.stdout
    assert sha256(replayed) == sha256(out)


def test_tiny_imagenet_tree(tmp_path):
    root = make_tiny_imagenet(tmp_path / "tiny-imagenet-200")
    out = tmp_path / "tiny.png"
    result = invoke("preview", "--policy", "light", "--data", str(root), "--n", "3", "--draws", "1",
                    "--out", str(out))
    assert result.exit_code == 0, result.output
    record = json.loads(pv.preview_json_path(out).read_text())
    assert sorted(record["labels"]) == [0, 1, 2], "3 rows from 3 classes: one per class"
    assert all(name.startswith("thing number") for name in record["class_names"])
    assert Image.open(out).size[1] > 3 * render.CELL_IN * render.DPI
    train = invoke("preview", "--policy", "light", "--data", str(root), "--split", "train", "--n", "2",
                   "--draws", "1", "--out", str(tmp_path / "train.png"))
    assert train.exit_code == 0, train.output


@pytest.mark.parametrize("layout", ["image-folder", "idx", "cifar"])
def test_other_dataset_layouts_render_and_replay(layout, tmp_path):
    from augstudy.data import load_dataset
    from augstudy.data import synthetic

    root = tmp_path / layout
    if layout == "image-folder":
        synthetic.make_image_folder_tree(root, n_classes=3, train_per_class=2, val_per_class=2)
    elif layout == "idx":
        synthetic.make_idx_dataset(root, n_train=6, n_val=6, n_classes=3)
    else:
        synthetic.write_cifar_pickles(root, per_batch=2, n_test=6, n_classes=3)
    dataset = load_dataset(root, progress=False)
    png = pv.render_preview_grid("light", dataset, tmp_path / "out.png", n=3, draws=1, seed=2)
    record = pv.load_record(pv.preview_json_path(png))
    assert record["data_path"] == str(root.resolve()) and sorted(record["labels"]) == [0, 1, 2]
    replayed = pv.build_replay(record)
    assert torch.equal(replayed.columns[1].images, pv.build_grid("light", dataset, n=3, draws=1, seed=2).columns[1].images)


# ---------------------------------------------------------------------------------- bad input

def test_bad_input_is_one_line(tmp_path):
    out = str(tmp_path / "x.png")
    assert_one_line_error(invoke("preview", "--policy", "no-such-policy", "--out", out), "no-such-policy")
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text("name: bad\nops:\n  - op: NoSuchOp\n    p: 0.5\n")
    assert_one_line_error(invoke("preview", "--policy", str(bad_file), "--out", out), "NoSuchOp")
    assert_one_line_error(invoke("preview", "--policy", "light", "--data", str(tmp_path / "missing"), "--out", out),
                          "missing")
    assert_one_line_error(invoke("preview", "--policy", "light", "--n", "0"), "--n")
    assert_one_line_error(invoke("preview", "--n", "2"), "--policy")
    assert_one_line_error(invoke("preview", "--policy", "light", "--out", str(tmp_path / "x.jpg")), ".png")
    assert_one_line_error(invoke("preview", "--replay", str(tmp_path / "nope.json")), "nope.json")
    not_a_record = tmp_path / "other.json"
    not_a_record.write_text('{"hello": 1}')
    assert_one_line_error(invoke("preview", "--replay", str(not_a_record)), "other.json")
    assert_one_line_error(invoke("preview", "--replay", str(not_a_record), "--seed", "3"), "--seed")
    assert_one_line_error(invoke("preview", "--policy", "light", "--per-op", "--compare", "heavy"), "--per-op")
    assert not list(tmp_path.glob("x.*")), "nothing written on errors"


def test_console_script_error_and_help(tmp_path):
    env = {**os.environ, "AUGSTUDY_NO_PROGRESS": "1"}
    bad = subprocess.run([str(CONSOLE), "preview", "--policy", "light", "--n", "0"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert bad.returncode != 0 and bad.stderr.startswith("error: ") and len(bad.stderr.strip().splitlines()) == 1
    shown = subprocess.run([str(CONSOLE), "preview", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert shown.returncode == 0 and "--per-op" in shown.stdout and "--replay" in shown.stdout
    probe = "import sys, augstudy.cli.preview; print(sorted(m for m in ('torch','numpy','matplotlib') if m in sys.modules))"
    heavy = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert heavy.stdout.strip() == "[]", heavy.stdout + heavy.stderr


def test_strengths_side_by_side_on_the_same_images(dataset):
    built = pv.build_strengths("final", [0, 1, 3], dataset, n=3, draws=2, seed=4)
    assert built.shape == (3, 1 + 3 * 2)
    assert [c.group for c in built.columns[1:]] == ["final@0"] * 2 + ["final@1"] * 2 + ["final@3"] * 2
    original = built.columns[0].images
    # strength 0 is the identity policy: every draw shows the original images
    assert all(torch.equal(c.images, original) for c in built.columns[1:3])
    # strength 1 is the policy as written: the very columns of a plain grid with the same seed
    grid = pv.build_grid("final", dataset, n=3, draws=2, seed=4)
    assert torch.equal(grid.columns[0].images, original)
    assert all(torch.equal(a.images, b.images) for a, b in zip(built.columns[3:5], grid.columns[1:]))
    # strength 3 moves the images further from the originals than strength 1
    def distance(columns):
        return sum(float((c.images.float() - original.float()).abs().mean()) for c in columns)
    assert distance(built.columns[5:7]) > distance(built.columns[3:5]) > 0
    assert built.record["mode"] == "strength" and built.record["strengths"] == [0.0, 1.0, 3.0]


def test_cli_strength_writes_png_replays_identically_and_refuses_bad_values(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("preview", "--policy", "final", "--strength", "0,1,3", "--n", "2", "--draws", "1")
    assert result.exit_code == 0, result.output
    out = Path("reports/preview-final-strength-0-1-3.png")
    assert f"wrote {out}" in result.stdout and out.is_file()
    record = json.loads(pv.preview_json_path(out).read_text())
    assert [p["name"] for p in record["policies"]] == ["final@0", "final@1", "final@3"]
    with Image.open(out) as image:
        assert image.size[0] == round((render.ROW_LABEL_IN + 4 * (render.CELL_IN + render.CELL_GAP_IN)
                                       + render.MARGIN_IN) * render.DPI)
    replay = invoke("preview", "--replay", str(pv.preview_json_path(out)))
    assert replay.exit_code == 0, replay.output
    assert sha256(out.with_name(out.stem + "-replay.png")) == sha256(out)
    for bad, words in ((["--strength", "0,x"], "'x' is not a number"), (["--strength", "-1"], ">= 0"),
                       (["--strength", "0,1", "--compare", "light"], "drop --compare")):
        refused = invoke("preview", "--policy", "final", *bad)
        assert refused.exit_code == 2 and words in refused.output
        assert len(refused.output.strip().splitlines()) == 1
