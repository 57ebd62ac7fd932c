"""A study folder written before the reshaping (augstudy at commit ebd21f7, flat ``augstudy/ablate/``)
still loads, reports and resumes.

``legacy_study_ebd21f7/study`` was written by ``legacy_study_ebd21f7/make_with_ebd21f7.py`` run with that
commit's code: a numeric one-factor study (dropout 0.3 baseline, 0.0, 0.6) of the tiny CNN of
``tests/user_models.py``, 2 seeds, on 24 + 24 noise images of 4 classes (``study_helpers.noise_dataset``,
whose images are a pure function of its seed).  It has no ``class_effects.csv`` (the file did not exist).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

FIXTURE = Path(__file__).resolve().parent / "legacy_study_ebd21f7"


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def legacy(tmp_path) -> tuple[Path, Path]:
    study, specs = tmp_path / "study", tmp_path / "specs"
    shutil.copytree(FIXTURE / "study", study)
    shutil.copytree(FIXTURE / "specs", specs)
    return study, specs


def test_an_old_study_folder_loads_and_reports_without_being_changed(legacy, tmp_path):
    import augstudy
    from augstudy.ablation.storage.schema import read_effects_csv
    from augstudy.ablation.terms import Verdict
    from augstudy.report import build_report
    from study_helpers import read_csv

    study_dir, _ = legacy
    before = _digest(study_dir)
    study = augstudy.load_study(study_dir)
    stored = read_effects_csv(study_dir / "effects.csv")
    assert study.complete and study.factor == "drop" and sorted(study.arm_names) == ["drop=0.0", "drop=0.3", "drop=0.6"]
    assert [(r.arm, r.verdict, r.effect_mean) for r in study.effect_rows] == [
        (r.arm, r.verdict, r.effect_mean) for r in stored]
    assert all(isinstance(v, Verdict) and v == r.verdict for v, r in zip(study.verdicts.values(), stored))
    assert "response" in study.designs                 # the response design reads the old response.json
    # per-class effects: the documented fallback computes them from class_metrics.csv (no file then)
    classes = study.class_effects
    assert not (study_dir / "class_effects.csv").exists()
    assert len(classes) == 2 * 4 and set(classes["arm"]) == {"drop=0.0", "drop=0.6"}

    files = build_report(study_dir, tmp_path / "out" / "report.html")
    html = files["html"].read_text()
    for arm in ("drop=0.0", "drop=0.6"):
        assert arm in html
    assert "Response" in html or "response" in html
    assert _digest(study_dir) == before               # reading and reporting wrote nothing into the folder
    assert len(read_csv(study_dir / "runs.csv")) == 6


def test_an_old_study_folder_resumes_with_one_more_seed(legacy):
    import torch

    from augstudy.ablation.runner import run_study
    from study_helpers import noise_dataset, read_csv

    study_dir, specs = legacy
    old_epochs = [r for r in read_csv(study_dir / "epochs.csv")]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    lines: list[str] = []
    try:
        run_study("drop", seeds=3, budget="tiny", dataset=noise_dataset(24, 24, classes=4), device="cpu",
                  out=study_dir, specs_dir=specs, report=False, echo=lines.append,
                  budget_override={"train": {"batch_size": 8}})
    finally:
        torch.set_num_threads(threads)
    runs = read_csv(study_dir / "runs.csv")
    assert sorted((r["arm"], int(r["seed"]), r["status"]) for r in runs) == sorted(
        (arm, seed, "done") for arm in ("drop=0.0", "drop=0.3", "drop=0.6") for seed in (0, 1, 2))
    new_epochs = read_csv(study_dir / "epochs.csv")
    kept = [r for r in new_epochs if int(r["seed"]) < 2]
    key = ("arm", "seed", "epoch", "train_loss", "val_acc")
    assert sorted(tuple(r[k] for k in key) for r in kept) == sorted(tuple(r[k] for k in key) for r in old_epochs)
    assert {int(r["seed"]) for r in new_epochs} == {0, 1, 2}
    # the resumed study writes what today's exporter writes, the per-class effects file included
    assert (study_dir / "class_effects.csv").is_file() and (study_dir / "response.json").is_file()
    effects = read_csv(study_dir / "effects.csv")
    assert {r["arm"] for r in effects} == {"drop=0.0", "drop=0.6"} and all(r["n_seeds"] == "3" for r in effects)
