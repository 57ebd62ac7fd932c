"""One tiny `mixup` study end to end: training on soft targets, the effect table, the preview and the report."""

from __future__ import annotations

import csv
import json

import pytest
import yaml

from study_helpers import REPO, noise_dataset, write_specs


@pytest.mark.usefixtures("one_torch_thread")
def test_tiny_mixup_study_runs_through_the_report(tmp_path):
    from augstudy.ablation.runner import run_study

    shipped = yaml.safe_load((REPO / "ablations" / "mixup.yaml").read_text())
    factor = {**shipped, "levels": {k: v for k, v in shipped["levels"].items() if k in (0, 0.8)}}
    specs = write_specs(tmp_path / "specs", {"mixup": factor},
                        budgets={"tiny": {"train": {"epochs": 1, "batch_size": 8, "eval_batch_size": 16},
                                          "data": {"train_subset": None, "val_subset": None}}})
    out = tmp_path / "study"
    lines: list[str] = []
    result = run_study("mixup", seeds=2, budget="tiny", dataset=noise_dataset(16, 16), device="cpu", out=out,
                       specs_dir=specs, report=True, echo=lines.append)
    assert result.complete and result.counts["done"] == 4
    study = json.loads((out / "study.json").read_text())
    mixed = next(a for a in study["arms"] if a["arm"] == "mixup=0.8")
    assert mixed["config"]["mix"] == {"mixup_alpha": 0.8, "cutmix_alpha": None, "prob": 1.0, "switch_prob": 0.5}
    with open(out / "effects.csv", newline="") as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["arm"] == "mixup=0.8" and row["verdict"] and row["gen_gap"] == ""     # n/a under mixing
    assert "gen gap n/a" in row["note"] and "MixUp/CutMix" in row["note"]
    with open(out / "arms.csv", newline="") as fh:
        arms = {r["arm"]: r for r in csv.DictReader(fh)}
    assert arms["mixup=0"]["gen_gap"] != "" and arms["mixup=0.8"]["gen_gap"] == ""
    assert arms["mixup=0.8"]["stability"] == ""            # one epoch: no second half (defined, just too short)
    with open(out / "epochs.csv", newline="") as fh:
        epochs = [r for r in csv.DictReader(fh) if r["arm"] == "mixup=0.8"]
    assert all(0.0 <= float(r["train_acc"]) <= 1.0 and float(r["train_loss"]) > 0 for r in epochs)
    record = json.loads((out / "previews" / "mixup=0.8.json").read_text())
    assert record["kind"] == "mix" and len(record["pairs"]) == 8
    assert all(p["index"] != p["partner"] and 0.0 <= p["lam"] <= 1.0 for p in record["pairs"])
    assert (out / "previews" / "mixup=0.8.png").stat().st_size > 1000
    report = (out / "report.md").read_text()
    assert "mixup=0.8" in report and "gen gap n/a" in report
    # the response curve of the numeric levels
    assert json.loads((out / "response.json").read_text())["levels"] == [0.0, 0.8]


def test_gen_gap_and_diversity_availability_follow_the_config():
    from augstudy.ablation.storage.schema import DIVERSITY_NA_SOFT, GEN_GAP_NA_MIXING, diversity_na, gen_gap_na

    plain = {"optimizer": {"label_smoothing": 0.0}}
    smoothed = {"optimizer": {"label_smoothing": 0.1}}
    mixing = {"optimizer": {"label_smoothing": 0.0}, "mix": {"mixup_alpha": None, "cutmix_alpha": 1.0}}
    assert gen_gap_na(plain) is None and diversity_na(plain) is None
    assert gen_gap_na(smoothed) is None and diversity_na(smoothed) == DIVERSITY_NA_SOFT   # argmax accuracy holds
    assert gen_gap_na(mixing) == GEN_GAP_NA_MIXING and diversity_na(mixing) == DIVERSITY_NA_SOFT
    assert gen_gap_na({**plain, "ema": {"horizon": 0.04}, "eval": {"tta": "flip"}}) is None


@pytest.mark.usefixtures("one_torch_thread")
def test_tiny_recipe_study_runs_through_the_report(tmp_path):
    from augstudy.ablation.runner import run_study

    shipped = yaml.safe_load((REPO / "ablations" / "recipe.yaml").read_text())
    specs = write_specs(tmp_path / "specs", {"recipe": shipped},
                        budgets={"tiny": {"train": {"epochs": 1, "batch_size": 8, "eval_batch_size": 16},
                                          "data": {"train_subset": None, "val_subset": None}}})
    out = tmp_path / "study"
    from augstudy.data import dataset_from_tensors

    noise = noise_dataset(16, 16)   # as an ImageDataset: the policy previews need a real dataset object
    data = dataset_from_tensors(noise.train_images, noise.train_labels, noise.class_names,
                                val_images=noise.val_images, val_labels=noise.val_labels)
    result = run_study("recipe", seeds=2, budget="tiny", dataset=data, device="cpu", out=out,
                       specs_dir=specs, report=True, echo=lambda line: None)
    assert result.complete and result.counts["done"] == 12
    with open(out / "effects.csv", newline="") as fh:
        rows = {r["arm"] for r in csv.DictReader(fh)}
    assert rows == {f"recipe={lv}" for lv in ("none", "randaugment_m9", "trivialaugment", "autoaugment", "augmix")}
    for level in ("randaugment_m9", "trivialaugment", "autoaugment", "augmix"):
        assert (out / "previews" / f"recipe={level}.png").stat().st_size > 1000
    assert "recipe=trivialaugment" in (out / "report.md").read_text()
