"""Fault cases of datasets and policies: labels outside the class range (issue 11 item 3), a
study refused on a dataset with error findings and a budget subset larger than the data (6),
IDX/image decoding messages (11), a degenerate policy (12), and the cases that already work:
``data fetch`` without network and with a wrong checksum fail fast and install nothing."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import yaml

from fault_helpers import FAULT_BUDGETS, FAULT_FACTORS, ablate_args, augstudy_cmd, one_error_line, rows, run
from study_helpers import noise_dataset, write_image_folder, write_specs


def _idx_dataset(root: Path) -> Path:
    from augstudy.data.synthetic import make_idx_dataset

    return make_idx_dataset(root, n_train=20, n_val=10, n_classes=10, gz=False)


def _strict_json(text: str):
    def refuse(constant):
        raise AssertionError(f"not strict JSON: {constant}")
    return json.loads(text, parse_constant=refuse)


def test_data_check_finds_labels_outside_the_class_range(cli_runner, tmp_path):
    from augstudy.data.synthetic import write_idx

    root = _idx_dataset(tmp_path / "idx")
    labels = np.arange(20) % 10
    labels[3] = 200
    write_idx(root / "train-labels-idx1-ubyte", labels)
    result = cli_runner("data", "check", "--data", str(root), "--json", "--workers", "1")
    assert result.exit_code == 1, result.stdout + result.stderr
    errors = [f for f in _strict_json(result.stdout)["findings"] if f["severity"] == "error"]
    assert any("200" in f["message"] for f in errors), errors


def test_truncated_idx_images_file_reads_as_a_sentence(cli_runner, tmp_path):
    """A truncated images file: no negative byte count, strict JSON (no NaN, no Normalize(nan)),
    and the intact labels file is not called undecodable."""
    root = _idx_dataset(tmp_path / "idx")
    images = root / "train-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:10])  # shorter than its own 16-byte header
    result = cli_runner("data", "check", "--data", str(root), "--json", "--workers", "1")
    assert result.exit_code == 1, result.stdout + result.stderr
    report = _strict_json(result.stdout)
    text = json.dumps(report)
    assert "holds -" not in text and "nan" not in text.lower(), text
    for finding in report["findings"]:
        if finding["kind"] in ("undecodable", "malformed_arrays") and finding["severity"] == "error":
            assert not any("labels" in f for f in finding["files"]), finding


def test_undecodable_image_message_names_the_file_once(cli_runner, tmp_path):
    root = write_image_folder(noise_dataset(4, 4), tmp_path / "folder")
    broken = root / "train" / "c0" / "0000.png"
    broken.write_bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8).tobytes())
    result = cli_runner("data", "check", "--data", str(root), "--workers", "1")
    assert result.exit_code == 1
    assert "0000.png" in result.stdout and "image file the file" not in result.stdout, result.stdout


def test_policy_check_warns_on_padding_far_larger_than_the_image(cli_runner, tmp_path):
    policy = tmp_path / "pad.yaml"
    policy.write_text(yaml.safe_dump({"name": "pad", "ops": [{"op": "RandomCrop", "size": 64, "padding": 1024,
                                                               "p": 1.0}]}))
    result = cli_runner("policy", "check", str(policy))
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert any("RandomCrop" in w or "padding" in w for w in warnings), result.stdout + result.stderr


# ----------------------------------------------------------------------------- studies on broken data
def test_study_refuses_a_dataset_with_errors_and_says_when_a_subset_is_larger(tmp_path):
    data = write_image_folder(noise_dataset(8, 8), tmp_path / "leaky")
    shutil.copy(data / "train" / "c0" / "0000.png", data / "val" / "c0" / "leak.png")  # a train/val leak
    specs = write_specs(tmp_path / "specs", FAULT_FACTORS, budgets={**FAULT_BUDGETS, "big1": {
        "data": {"train_subset": 320, "val_subset": 160},
        "train": {"epochs": 1, "batch_size": 8, "eval_batch_size": 16}, "schedule": {"warmup": 0.0}}})
    out = tmp_path / "study"
    refused = run(ablate_args(specs, data, out, budget="big1"))
    assert refused.returncode not in (0, 1), refused.stdout + refused.stderr
    line = one_error_line(refused.stderr)
    assert "--allow-data-errors" in line and "leak" in line, line
    assert rows(out / "study.sqlite", "SELECT * FROM epochs") == []  # nothing trained

    allowed = run(ablate_args(specs, data, out, "--allow-data-errors", budget="big1"))
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    said = allowed.stdout + allowed.stderr
    # 320 train / 160 val images asked; the dataset has 8 / 9: said, with the numbers
    assert any(re.search(r"\b8\b", line) for line in said.splitlines() if "320" in line), said
    assert any(re.search(r"\b9\b", line) for line in said.splitlines() if "160" in line), said


# ----------------------------------------------------------------------------- data fetch (already right)
def test_fetch_without_network_fails_fast_and_installs_nothing(tmp_path):
    root = tmp_path / "root"
    result = run(["unshare", "--map-root-user", "--net", *augstudy_cmd("data", "fetch", "cifar10", "--root",
                                                                         str(root), "--retries", "0")], timeout=60)
    assert result.returncode not in (0, 1), result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert "--from" in line, line
    assert not [p for p in root.rglob("*") if p.is_file()], list(root.rglob("*"))
    assert not [p for p in root.iterdir() if not p.name.startswith(".")] if root.exists() else True


def test_fetch_with_a_wrong_checksum_installs_nothing(tmp_path):
    archive = tmp_path / "cifar-10-python.tar.gz"
    archive.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    root = tmp_path / "root"
    result = run(augstudy_cmd("data", "fetch", "cifar10", "--root", str(root), "--from", str(archive),
                              "--sha256", "0" * 64), timeout=60)
    assert result.returncode not in (0, 1), result.stdout + result.stderr
    line = one_error_line(result.stderr)
    assert "sha256" in line and "0" * 64 in line, line
    assert archive.stat().st_size == 50_000  # the user's file is left as it is
    installed = [p for p in root.rglob("*") if p.is_file()] if root.exists() else []
    assert not installed, installed
