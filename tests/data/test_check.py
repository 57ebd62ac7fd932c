"""``augstudy data check``: every finding on a planted case, exit codes 0/1/2, the JSON schema,
the parallel decode path, array datasets, the CLI and the console script.

Trees are generated here (not with the loader's generator) so each planted defect is exact:
every image is a smooth random field (6x6 random colours, bicubic to 64x64, plus noise), so
unrelated images are far apart (cosine of thumbnails <= ~0.4) and only planted copies match.
"""

from __future__ import annotations

import gzip
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image, ImageEnhance

from augstudy.cli import cli
from augstudy.data.check import features as check_features
from augstudy.data.check import check_dataset
from augstudy.errors import UserError

AUGSTUDY = Path(sys.executable).with_name("augstudy")


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("AUGSTUDY_NO_PROGRESS", "1")


# ----------------------------------------------------------------------------------------------
# tree generator

def smooth_image(seed: int, size: int = 64) -> np.ndarray:
    """uint8 [size, size, 3] (H, W, C): a smooth random colour field plus mild noise."""
    rng = np.random.default_rng(seed)
    base = Image.fromarray(rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)).resize((size, size), Image.BICUBIC)
    pixels = np.asarray(base).astype(np.float64) + rng.normal(0, 8, (size, size, 3))
    return np.clip(pixels, 0, 255).astype(np.uint8)


def save(path: Path, pixels: np.ndarray, mode: str = "RGB") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(pixels).convert(mode)
    fmt = "PNG" if path.suffix.lower() == ".png" else "JPEG"
    image.save(path, fmt, **({"quality": 92} if fmt == "JPEG" else {}))
    return path


WNIDS = ["n01000000", "n01000001", "n01000002"]


def make_tree(root: Path, train_per_class: int = 6, val_per_class: int = 2, ext: str = ".JPEG") -> Path:
    """Tiny-ImageNet layout; returns root.  Image seeds: train c*100+i, val 10_000+k."""
    (root / "val" / "images").mkdir(parents=True)
    (root / "wnids.txt").write_text("\n".join(WNIDS) + "\n")
    lines = []
    for c, wnid in enumerate(WNIDS):
        for i in range(train_per_class):
            save(root / "train" / wnid / "images" / f"{wnid}_{i}{ext}", smooth_image(c * 100 + i))
        for i in range(val_per_class):
            k = c * val_per_class + i
            save(root / "val" / "images" / f"val_{k}{ext}", smooth_image(10_000 + k))
            lines.append(f"val_{k}{ext}\t{wnid}\t0\t0\t63\t63")
    (root / "val" / "val_annotations.txt").write_text("\n".join(lines) + "\n")
    return root


def add_val(root: Path, name: str, wnid: str, pixels: np.ndarray | None = None, raw: bytes | None = None) -> None:
    path = root / "val" / "images" / name
    if raw is not None:
        path.write_bytes(raw)
    else:
        save(path, pixels)
    with open(root / "val" / "val_annotations.txt", "a") as fh:
        fh.write(f"{name}\t{wnid}\t0\t0\t63\t63\n")


def kinds(report) -> dict[str, object]:
    return {f.kind: f for f in report.findings}


@pytest.fixture()
def tree(tmp_path):
    return make_tree(tmp_path / "tiny")


def check(root, **kw):
    return check_dataset(root, progress=False, **kw)


# ----------------------------------------------------------------------------------------------
# clean tree, stats

def test_clean_tree_reports_only_stats(tree):
    report = check(tree)
    assert [(f.kind, f.severity) for f in report.findings] == [("normalize_stats", "info")]
    assert report.exit_code == 0 and report.layout == "tiny-imagenet"
    assert report.stats["n_train"] == 18 and report.stats["n_val"] == 6
    assert report.stats["class_counts"]["train"] == {w: 6 for w in WNIDS}


def test_stats_match_numpy_on_the_generated_pixels(tmp_path):
    root = make_tree(tmp_path / "png", ext=".png")  # lossless: decoded pixels == generated pixels
    pixels = np.stack([smooth_image(c * 100 + i) for c in range(3) for i in range(6)]).astype(np.float64) / 255
    report = check(root)
    np.testing.assert_allclose(report.stats["train_mean"], pixels.mean(axis=(0, 1, 2)), atol=2e-6)
    np.testing.assert_allclose(report.stats["train_std"], pixels.std(axis=(0, 1, 2)), atol=2e-6)
    assert "Normalize(mean=(" in kinds(report)["normalize_stats"].message


# ----------------------------------------------------------------------------------------------
# layout findings

def _missing_wnids(root):
    (root / "wnids.txt").unlink()
    return "missing_wnids", ["wnids.txt"]


def _malformed_annotation(root):
    with open(root / "val" / "val_annotations.txt", "a") as fh:
        fh.write("val_0.JPEG\tn01000000\t1\t2\n")  # 4 columns instead of 6
    return "malformed_annotation", ["val/val_annotations.txt:7"]


def _annotation_missing_file(root):
    with open(root / "val" / "val_annotations.txt", "a") as fh:
        fh.write("val_99.JPEG\tn01000000\t0\t0\t63\t63\n")
    return "annotation_missing_file", ["val/images/val_99.JPEG"]


def _annotation_unknown_wnid(root):
    add_val(root, "val_50.JPEG", "n09999999", smooth_image(777))
    return "annotation_unknown_wnid", ["val/val_annotations.txt:7 (n09999999)"]


def _val_unannotated(root):
    save(root / "val" / "images" / "val_60.JPEG", smooth_image(888))
    return "val_unannotated", ["val/images/val_60.JPEG"]


def _unlisted_class(root):
    save(root / "train" / "n05555555" / "images" / "n05555555_0.JPEG", smooth_image(999))
    return "unlisted_class", ["train/n05555555/"]


def _empty_class(root):
    for p in (root / "train" / WNIDS[2] / "images").iterdir():
        p.unlink()
    return "empty_class", [f"train/{WNIDS[2]}/images/"]


def _empty_val_split(root):
    for p in (root / "val" / "images").iterdir():
        p.unlink()
    (root / "val" / "val_annotations.txt").write_text("")
    return "empty_split", ["val/images/"]


def _malformed_wnids(root):
    (root / "wnids.txt").write_text("n01000000\nn01000001 extra\nn01000002\nn01000000\n")
    return "malformed_wnids", ["wnids.txt:2", "wnids.txt:4"]


@pytest.mark.parametrize("plant", [_missing_wnids, _malformed_annotation, _annotation_missing_file,
                                   _annotation_unknown_wnid, _val_unannotated, _unlisted_class, _empty_class,
                                   _empty_val_split, _malformed_wnids], ids=lambda f: f.__name__.strip("_"))
def test_layout_errors(tree, plant):
    kind, files = plant(tree)
    report = check(tree)
    found = kinds(report)
    assert kind in found, [f.kind for f in report.findings]
    assert found[kind].severity == "error" and found[kind].files == files
    assert report.exit_code == 1


def test_no_false_layout_errors_on_missing_wnids_still_decodes(tree):
    (tree / "wnids.txt").unlink()
    report = check(tree)
    assert report.stats["n_classes"] == 3  # fell back to the class folders
    assert {f.kind for f in report.findings if f.severity == "error"} == {"missing_wnids"}


# ----------------------------------------------------------------------------------------------
# decoding, modes, sizes

def _jpeg_bytes(pixels: np.ndarray, mode: str = "RGB") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).convert(mode).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_truncated_jpeg_and_garbage_file_are_undecodable(tree):
    whole = _jpeg_bytes(smooth_image(5))
    (tree / "train" / WNIDS[0] / "images" / f"{WNIDS[0]}_0.JPEG").write_bytes(whole[: len(whole) // 2])
    (tree / "train" / WNIDS[1] / "images" / f"{WNIDS[1]}_0.JPEG").write_bytes(b"\x00garbage, not an image" * 50)
    report = check(tree)
    finding = kinds(report)["undecodable"]
    assert finding.severity == "error" and report.exit_code == 1
    truncated, garbage = f"train/{WNIDS[0]}/images/{WNIDS[0]}_0.JPEG", f"train/{WNIDS[1]}/images/{WNIDS[1]}_0.JPEG"
    assert finding.files == [truncated, garbage]
    assert "truncated" in finding.details["reasons"][truncated]
    assert "UnidentifiedImageError" in finding.details["reasons"][garbage]


def test_grayscale_cmyk_and_wrong_size_are_warnings(tree):
    images = tree / "train" / WNIDS[0] / "images"
    save(images / f"{WNIDS[0]}_1.JPEG", smooth_image(1), mode="L")
    save(images / f"{WNIDS[0]}_2.JPEG", smooth_image(2), mode="CMYK")
    save(images / f"{WNIDS[0]}_3.JPEG", smooth_image(3, size=32))
    report = check(tree)
    by_mode = {f.details["mode"]: f for f in report.findings if f.kind == "non_rgb"}
    assert by_mode["L"].files == [f"train/{WNIDS[0]}/images/{WNIDS[0]}_1.JPEG"]
    assert by_mode["CMYK"].files == [f"train/{WNIDS[0]}/images/{WNIDS[0]}_2.JPEG"]
    assert all(f.severity == "warning" for f in by_mode.values())
    size = kinds(report)["size"]
    assert size.files == [f"train/{WNIDS[0]}/images/{WNIDS[0]}_3.JPEG"] and "32x32" in size.message
    assert report.exit_code == 0  # warnings only
    assert report.stats["modes"] == {"RGB": 22, "L": 1, "CMYK": 1}


def test_palette_png_is_non_rgb(tmp_path):
    root = make_tree(tmp_path / "t", ext=".png")
    path = root / "train" / WNIDS[1] / "images" / f"{WNIDS[1]}_4.png"
    Image.fromarray(smooth_image(4)).convert("P").save(path)
    report = check(root)
    assert [f.details["mode"] for f in report.findings if f.kind == "non_rgb"] == ["P"]


# ----------------------------------------------------------------------------------------------
# balance, duplicates, leakage, near-duplicates

def test_imbalanced_class(tree):
    for i in range(2, 6):
        (tree / "train" / WNIDS[1] / "images" / f"{WNIDS[1]}_{i}.JPEG").unlink()
    report = check(tree)
    finding = kinds(report)["imbalance"]
    assert finding.severity == "warning" and finding.files == [f"train/{WNIDS[1]}/images/"]
    assert finding.details == {"split": "train", "median": 6.0, "counts": {WNIDS[1]: 2}}
    assert report.exit_code == 0


def test_exact_duplicate_inside_train(tree):
    images = tree / "train" / WNIDS[0] / "images"
    (images / f"{WNIDS[0]}_9.JPEG").write_bytes((images / f"{WNIDS[0]}_1.JPEG").read_bytes())
    report = check(tree)
    finding = kinds(report)["duplicate_train"]
    assert finding.severity == "warning"
    assert finding.details["groups"] == [[f"train/{WNIDS[0]}/images/{WNIDS[0]}_1.JPEG",
                                          f"train/{WNIDS[0]}/images/{WNIDS[0]}_9.JPEG"]]
    assert "leak_exact" not in kinds(report) and report.exit_code == 0


def test_exact_train_val_leak_is_an_error(tree):
    source = tree / "train" / WNIDS[2] / "images" / f"{WNIDS[2]}_4.JPEG"
    add_val(tree, "val_70.JPEG", WNIDS[2], raw=source.read_bytes())
    report = check(tree)
    finding = kinds(report)["leak_exact"]
    assert finding.severity == "error" and report.exit_code == 1
    assert finding.details["pairs"] == [["val/images/val_70.JPEG", f"train/{WNIDS[2]}/images/{WNIDS[2]}_4.JPEG"]]
    assert "near_duplicate" not in kinds(report)  # an exact copy is reported once, as a leak


def test_brightened_copy_is_a_near_duplicate(tree):
    train_file = tree / "train" / WNIDS[1] / "images" / f"{WNIDS[1]}_3.JPEG"
    brighter = ImageEnhance.Brightness(Image.open(train_file).convert("RGB")).enhance(1.1)
    add_val(tree, "val_80.JPEG", WNIDS[1], np.asarray(brighter))
    report = check(tree)
    finding = kinds(report)["near_duplicate"]
    assert finding.severity == "warning" and report.exit_code == 0
    (pair,) = finding.details["pairs"]
    assert pair["val"] == "val/images/val_80.JPEG" and pair["train"] == f"train/{WNIDS[1]}/images/{WNIDS[1]}_3.JPEG"
    assert pair["cosine"] >= 0.99
    assert "cosine similarity >= 0.99" in finding.message
    # a threshold above the pair's similarity drops it
    assert "near_duplicate" not in kinds(check(tree, near_threshold=min(1.0, pair["cosine"] + 1e-4)))


# ----------------------------------------------------------------------------------------------
# image-folder layout, arrays, the parallel path

def test_image_folder_layout(tmp_path):
    root = tmp_path / "folder"
    for split, n in (("train", 4), ("val", 2)):
        for c in ("cat", "dog"):
            for i in range(n):
                save(root / split / c / f"{i}.png", smooth_image(hash((split, c, i)) % 10_000))
    report = check(root)
    assert report.layout == "image-folder" and report.exit_code == 0
    save(root / "val" / "bird" / "0.png", smooth_image(4242))
    report = check(root)
    assert kinds(report)["unlisted_class"].files == ["val/bird/"] and report.exit_code == 1


def _idx_gz(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">4B", 0, 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def test_idx_arrays_leak_and_stats(tmp_path):
    rng = np.random.default_rng(0)
    train = np.stack([np.asarray(Image.fromarray(smooth_image(i, 28)).convert("L")) for i in range(12)])
    val = np.stack([np.asarray(Image.fromarray(smooth_image(500 + i, 28)).convert("L")) for i in range(4)])
    val[1] = train[3]
    root = tmp_path / "fashion-like"
    root.mkdir()
    _idx_gz(root / "train-images-idx3-ubyte.gz", train)
    _idx_gz(root / "train-labels-idx1-ubyte.gz", np.arange(12) % 3)
    _idx_gz(root / "t10k-images-idx3-ubyte.gz", val)
    _idx_gz(root / "t10k-labels-idx1-ubyte.gz", rng.integers(0, 3, 4))
    report = check(root)
    assert report.layout == "idx" and report.exit_code == 1
    assert kinds(report)["leak_exact"].details["pairs"] == [["val[1]", "train[3]"]]
    # single-channel 28x28 arrays: grayscale and size warnings, counted in images
    assert kinds(report)["non_rgb"].count == 16 and kinds(report)["non_rgb"].severity == "warning"
    sizes = sorted((f.count, f.details["size"]) for f in report.findings if f.kind == "size")
    assert sizes == [(4, "28x28"), (12, "28x28")]
    expected = train.astype(np.float64) / 255
    np.testing.assert_allclose(report.stats["train_mean"], [expected.mean()] * 3, atol=2e-6)
    np.testing.assert_allclose(report.stats["train_std"], [expected.std()] * 3, atol=2e-6)


def test_parallel_decode_matches_serial(tree, monkeypatch):
    (tree / "train" / WNIDS[0] / "images" / f"{WNIDS[0]}_0.JPEG").write_bytes(b"junk")
    serial = check(tree, workers=1)
    monkeypatch.setattr(check_features, "SERIAL_BELOW", 0)
    monkeypatch.setattr(check_features, "CHUNK_FILES", 5)  # several chunks across 2 processes
    parallel = check(tree, workers=2)
    strip = lambda r: [f.to_dict() for f in r.findings]  # noqa: E731
    assert strip(parallel) == strip(serial)
    assert parallel.stats["train_mean"] == serial.stats["train_mean"]


# ----------------------------------------------------------------------------------------------
# exit codes, JSON, CLI, console script

def test_unreadable_paths_raise_exit_code_2(tmp_path):
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "empty").mkdir()
    for path, phrase in ((tmp_path / "nope", "no such folder"), (tmp_path / "a_file", "is a file"),
                         (tmp_path / "empty", "no recognisable dataset layout")):
        with pytest.raises(UserError, match=phrase) as info:
            check(path)
        assert info.value.exit_code == 2


def test_cli_exit_codes_and_json_schema(tree, tmp_path):
    runner = CliRunner()
    clean = runner.invoke(cli, ["data", "check", "--data", str(tree)])
    assert clean.exit_code == 0, clean.output
    assert "SEVERITY" in clean.output and "OK: 0 error(s)" in clean.output
    missing = runner.invoke(cli, ["data", "check", "--data", str(tmp_path / "missing")])
    assert missing.exit_code == 2 and missing.output.strip().startswith("error: ")
    assert len(missing.output.strip().splitlines()) == 1
    (tree / "wnids.txt").unlink()
    out_file = tmp_path / "reports" / "check.json"
    result = runner.invoke(cli, ["data", "check", "--data", str(tree), "--json", "--out", str(out_file)])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert set(payload) >= {"dataset", "findings", "stats"} and payload["dataset"] == "tiny"
    for finding in payload["findings"]:
        assert set(finding) >= {"kind", "severity", "files", "message"}
        assert finding["severity"] in ("error", "warning", "info") and isinstance(finding["files"], list)
    assert payload["findings"][0] == {"kind": "missing_wnids", "severity": "error", "files": ["wnids.txt"],
                                      "message": payload["findings"][0]["message"], "count": 1}
    assert json.loads(out_file.read_text()) == payload
    bad = runner.invoke(cli, ["data", "check", "--data", str(tree), "--near-threshold", "1.5"])
    assert bad.exit_code == 2 and "near-threshold" in bad.output


def test_console_script(tree, tmp_path):
    add_val(tree, "val_90.JPEG", WNIDS[0],
            raw=(tree / "train" / WNIDS[0] / "images" / f"{WNIDS[0]}_2.JPEG").read_bytes())
    env = {"AUGSTUDY_NO_PROGRESS": "1", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([str(AUGSTUDY), "data", "check", "--data", str(tree), "--json"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 1, proc.stderr
    assert [f["kind"] for f in json.loads(proc.stdout)["findings"]][0] == "leak_exact"
    proc = subprocess.run([str(AUGSTUDY), "data", "check", "--data", str(tmp_path / "nowhere")],
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: ") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_projected_search_equals_brute_force():
    """The 32-d candidate pre-selection must find exactly what a full search finds, and the
    fallback for exploding candidate sets must agree too."""
    from augstudy.data.check import pixels as check_pixels
    from augstudy.data.check.pixels import _unit_vectors, nearest_train_above

    rng = np.random.default_rng(3)
    train = rng.integers(0, 256, (400, 256)).astype(np.uint8)
    val = rng.integers(0, 256, (60, 256)).astype(np.uint8)
    val[:20] = np.clip(train[:20].astype(int) + rng.integers(-12, 13, (20, 256)), 0, 255)  # near copies
    train_vec, _ = _unit_vectors(train)
    val_vec, _ = _unit_vectors(val)
    full = val_vec @ train_vec.T
    for threshold in (0.97, 0.99, 0.995):
        cos, idx = nearest_train_above(train_vec, val_vec, threshold)
        want = full.max(axis=1) >= threshold
        assert 0 < want.sum() <= 20
        np.testing.assert_array_equal(idx >= 0, want)
        np.testing.assert_array_equal(idx[want], full.argmax(axis=1)[want])
        np.testing.assert_allclose(cos[want], full.max(axis=1)[want], atol=1e-5)
    old_cap = check_pixels.CANDIDATE_CAP
    try:
        check_pixels.CANDIDATE_CAP = 0  # every block takes the full-search fallback
        cos_fb, idx_fb = nearest_train_above(train_vec, val_vec, 0.99)
    finally:
        check_pixels.CANDIDATE_CAP = old_cap
    np.testing.assert_array_equal(idx_fb, nearest_train_above(train_vec, val_vec, 0.99)[1])


def test_relative_dot_path(tree, monkeypatch):
    monkeypatch.chdir(tree)
    from augstudy.data.check.layout import scan_tree

    report = check(".")
    assert report.exit_code == 0 and report.stats["n_train"] == 18
    files = scan_tree(Path("."), "tiny-imagenet").files
    assert files[0] == f"train/{WNIDS[0]}/images/{WNIDS[0]}_0.JPEG" and files[-1] == "val/images/val_5.JPEG"


# ----------------------------------------------------------------------------------------------
# broken array files and unwritable output: each case a sentence, never a silent pass

def _idx_dataset(root: Path, train_labels: np.ndarray | None = None) -> Path:
    """Four gzipped IDX files, 12 train / 4 val 28x28 images over 3 classes."""
    root.mkdir(parents=True)
    train = np.stack([np.asarray(Image.fromarray(smooth_image(i, 28)).convert("L")) for i in range(12)])
    val = np.stack([np.asarray(Image.fromarray(smooth_image(700 + i, 28)).convert("L")) for i in range(4)])
    _idx_gz(root / "train-images-idx3-ubyte.gz", train)
    _idx_gz(root / "train-labels-idx1-ubyte.gz", np.arange(12) % 3 if train_labels is None else train_labels)
    _idx_gz(root / "t10k-images-idx3-ubyte.gz", val)
    _idx_gz(root / "t10k-labels-idx1-ubyte.gz", np.arange(4) % 3)
    (root / "classes.txt").write_text("a\nb\nc\n")
    return root


def test_idx_label_outside_the_class_range_is_an_error(tmp_path):
    labels = np.arange(12) % 3
    labels[[4, 7]] = 200
    root = _idx_dataset(tmp_path / "idx", labels)
    report = check(root)
    finding = kinds(report)["label_out_of_range"]
    assert finding.severity == "error" and report.exit_code == 1
    assert finding.files == ["train-labels-idx1-ubyte.gz"] and finding.count == 2
    assert "outside 0..2 (e.g. 200)" in finding.message
    # the two rows are not counted in any class
    assert sum(report.stats["class_counts"]["train"].values()) == 10
    result = CliRunner().invoke(cli, ["data", "info", "--data", str(root)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "train-labels-idx1-ubyte.gz" in lines[0]
    assert "2 label(s) outside 0..2 (e.g. 200)" in lines[0]


def test_broken_idx_images_file_is_named_alone_with_a_readable_size_message(tmp_path):
    root = _idx_dataset(tmp_path / "idx")
    header = struct.pack(">4B", 0, 0, 8, 3) + struct.pack(">3I", 2000, 28, 28)
    (root / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header))  # header only
    finding = kinds(check(root))["undecodable"]
    assert finding.files == ["train-images-idx3-ubyte.gz"]   # the intact labels file is not blamed
    assert "header says 2000 images of 28x28" in finding.message
    assert "holds only 0 bytes of pixels" in finding.message
    (root / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(header[:10]))  # header cut short
    message = kinds(check(root))["undecodable"].message
    assert "cut short" in message and "-6" not in message and "(2000, 0, 0)" not in message


def test_unreadable_train_split_gives_strict_json_and_no_nan_suggestion(tmp_path):
    root = _idx_dataset(tmp_path / "idx")
    (root / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b broken gzip")
    result = CliRunner().invoke(cli, ["data", "check", "--data", str(root), "--json"])
    assert result.exit_code == 1

    def refuse(constant):
        raise AssertionError(f"non-strict JSON constant {constant}")

    payload = json.loads(result.stdout, parse_constant=refuse)
    assert payload["stats"]["train_mean"] is None and payload["stats"]["train_std"] is None
    stats_line = next(f for f in payload["findings"] if f["kind"] == "normalize_stats")
    assert "Normalize(" not in stats_line["message"] and "nan" not in stats_line["message"].lower()
    table = CliRunner().invoke(cli, ["data", "check", "--data", str(root)])
    assert "nan" not in table.output.lower()


def test_unidentified_image_reason_names_the_file(tree):
    rel = f"train/{WNIDS[1]}/images/{WNIDS[1]}_0.JPEG"
    (tree / rel).write_bytes(b"\x00garbage, not an image" * 50)
    reason = kinds(check(tree))["undecodable"].details["reasons"][rel]
    assert "the file" not in reason and f"cannot identify image file '{rel}'" in reason


def test_check_out_in_an_unwritable_folder_is_a_usage_error_before_checking(tree, tmp_path, monkeypatch):
    import errno
    import tempfile

    read_only = tmp_path / "RO"
    read_only.mkdir()
    real_mkstemp = tempfile.mkstemp

    def mkstemp(*args, dir=None, **kwargs):  # tests may run as root, which ignores permissions
        if dir is not None and Path(dir).resolve().is_relative_to(read_only.resolve()):
            raise PermissionError(errno.EACCES, "Permission denied", str(dir))
        return real_mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    result = CliRunner().invoke(cli, ["data", "check", "--data", str(tree), "--out", str(read_only / "check.json")])
    assert result.exit_code == 2   # 1 means "errors found"; this is not a finding
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(read_only) in lines[0]
    assert "OK" not in result.output and "--out" in lines[0]
    assert not (read_only / "check.json").exists()
