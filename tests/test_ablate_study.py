"""Whole studies: exports and TensorBoard, divergence, kill -9 resume, two processes, validity.

The slow ones run ``augstudy ablate`` in subprocesses on a tiny image folder (16 train /
16 val noise images, batch 8) with a ``tiny`` budget from a temporary spec folder.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import torch

from augstudy.ablate.runner import run_study
from augstudy.ablate.tensorboard import TAGS, read_scalars
from test_ablate_helpers import AUGSTUDY, DROPOUT_FACTOR, REPO, blob_dataset, noise_dataset, write_image_folder, \
    write_specs

ENV = {**os.environ, "AUGSTUDY_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}


# training tests compare numbers across runs and processes: one torch thread makes them exact
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _rows(db_path: Path, sql: str, args=()) -> list[tuple]:
    with sqlite3.connect(db_path, timeout=30) as db:
        return db.execute(sql, args).fetchall()


# ----------------------------------------------------------------------------- in-process study
def test_study_exports_tensorboard_and_survives_divergence(tmp_path):
    specs = write_specs(tmp_path / "specs", {"lr": {"baseline_level": 0.05, "levels": {
        0.05: {"optimizer": {"lr": 0.05}}, "1e9": {"optimizer": {"lr": 1.0e9}}}}})
    out = tmp_path / "study"
    lines = []
    result = run_study("lr", seeds=1, budget="tiny", dataset=noise_dataset(16, 16), device="cpu", out=out,
                       specs_dir=specs, report=False, echo=lines.append,
                       budget_override={"train": {"batch_size": 8}})
    assert result.complete and result.counts == {"done": 1, "diverged": 1, "failed": 0, "pending": 0, "running": 0}
    runs = {r["arm"]: r for r in _csv(out / "runs.csv")}
    assert list(_csv(out / "runs.csv")[0]) [:10] == ["arm", "level", "seed", "status", "epochs_done", "metric",
                                                     "wall_s", "device", "config_hash", "diverged_epoch"]
    assert runs["lr=1e9"]["status"] == "diverged" and runs["lr=1e9"]["diverged_epoch"] in ("1", "2")
    assert runs["lr=0.05"]["status"] == "done" and 0 <= float(runs["lr=0.05"]["metric"]) <= 1
    epochs = _csv(out / "epochs.csv")
    assert list(epochs[0]) == ["arm", "level", "seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                               "lr", "wall_s"]
    assert [e["epoch"] for e in epochs if e["arm"] == "lr=0.05"] == ["1", "2"]
    classes = _csv(out / "class_metrics.csv")
    assert {c["class_name"] for c in classes} == {"c0", "c1"} and all(c["n_val"] == "8" for c in classes)
    study = json.loads((out / "study.json").read_text())
    assert study["baseline_arm"] == "lr=0.05" and study["complete"] and study["seeds"] == [0]
    assert {a["arm"] for a in study["arms"]} == {"lr=0.05", "lr=1e9"} and study["n_train"] == 16
    assert study["versions"]["torch"] and "noise_floor" in study
    for name in ("effects.csv", "effects.md", "arms.csv"):
        assert (out / name).is_file()
    assert any("DIVERGED" in line for line in lines) and "rank" in result.table
    done_ckpt = out / "checkpoints" / f"{runs['lr=0.05']['config_hash']}-seed0.pt"
    assert done_ckpt.is_file()
    # a finished run keeps a slim checkpoint: weights + config + normalization, no optimizer state,
    # and `augstudy measure --model` can rebuild the model from it
    state = torch.load(done_ckpt, map_location="cpu", weights_only=True)
    assert "optimizer" not in state and state["config"]["num_classes"] == 2 and len(state["norm"]["mean"]) == 3
    from augstudy.measure.affinity import load_clean_model

    model, info = load_clean_model(done_ckpt, "cpu")
    assert info["norm"] == state["norm"] and info["notes"] == []  # nothing had to be guessed
    assert info["activation"] == "relu" and info["num_classes"] == 2
    scalars = read_scalars(out / "tb" / "lr=0.05" / "seed0")
    assert set(scalars) == set(TAGS) == {"Accuracy/train", "Accuracy/val", "Loss/train", "Loss/val"}
    assert [step for step, _ in scalars["Accuracy/val"]] == [1, 2]
    with sqlite3.connect(out / "study.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables >= {"runs", "epochs", "class_metrics", "meta"}
    # rerun: nothing left to train, same results
    again = run_study("lr", seeds=1, budget="tiny", dataset=noise_dataset(16, 16), device="cpu", out=out,
                      specs_dir=specs, report=False, echo=lines.append, budget_override={"train": {"batch_size": 8}})
    assert again.counts == result.counts and any("0 to train" in line for line in lines)


# ----------------------------------------------------------------------------- subprocess studies
@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """A 2-class image folder on disk, its dataset cache already built (so processes share it)."""
    from augstudy.data import load_dataset

    root = write_image_folder(noise_dataset(16, 16), tmp_path_factory.mktemp("data") / "noise")
    load_dataset(root, progress=False)
    return root


def _ablate(specs: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [str(AUGSTUDY), "ablate", "drop", "--specs", str(specs), "--budget", "tiny", "--data", str(data),
            "--out", str(out), "--device", "cpu", "--no-report", *extra]


@pytest.mark.slow
def test_kill_9_mid_study_then_resume(tmp_path, tiny_folder):
    specs = write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR},
                        budgets={"tiny": {"data": {"train_subset": None, "val_subset": None},
                                          "train": {"epochs": 3, "batch_size": 8, "eval_batch_size": 16}}})
    out = tmp_path / "study"
    db = out / "study.sqlite"
    proc = subprocess.Popen(_ablate(specs, tiny_folder, out, "--seeds", "1"), cwd=REPO, env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 240
    state = []
    try:
        while time.time() < deadline:
            try:
                state = _rows(db, "SELECT run_id, status, epochs_done FROM runs ORDER BY run_id") if db.exists() else []
            except sqlite3.OperationalError:   # created but no tables yet
                state = []
            if state:
                done = [r for r in state if r[1] == "done"]
                started = [r for r in state if r[1] == "running" and r[2] >= 1]
                if done and started:
                    break
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(0.05)
        else:
            pytest.fail(f"the study never reached 'one run done, the next one started': {state}")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    finished_id = next(r[0] for r in state if r[1] == "done")
    before_done = _rows(db, "SELECT * FROM runs WHERE run_id=?", (finished_id,))
    before_epochs = _rows(db, "SELECT run_id, epoch, wall_s FROM epochs ORDER BY run_id, epoch")
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    interrupted = next(r[0] for r in _rows(db, "SELECT run_id, status FROM runs") if r[1] == "running")
    ckpt = torch.load(out / "checkpoints" / f"{interrupted}.pt", map_location="cpu", weights_only=True)
    for name in ("runs.csv", "epochs.csv", "study.json"):   # readable after the kill
        assert (out / name).stat().st_size > 0
    json.loads((out / "study.json").read_text())

    rerun = subprocess.run(_ablate(specs, tiny_folder, out, "--seeds", "1"), cwd=REPO, env=ENV,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"after epoch {ckpt['epoch']}/3" in rerun.stdout
    assert _rows(db, "SELECT * FROM runs WHERE run_id=?", (finished_id,)) == before_done   # not retrained
    after = _rows(db, "SELECT run_id, epoch, wall_s FROM epochs ORDER BY run_id, epoch")
    kept = [r for r in before_epochs if r[0] == finished_id or r[1] <= ckpt["epoch"]]
    assert set(kept) <= set(after)                     # epochs up to the checkpoint were not retrained
    assert sorted((r[0], r[1]) for r in after) == sorted((rid, e) for rid in (finished_id, interrupted)
                                                         for e in (1, 2, 3))   # no duplicates, none missing
    assert _rows(db, "SELECT DISTINCT status FROM runs") == [("done",)]
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert len(_csv(out / "runs.csv")) == 2 and len(_csv(out / "epochs.csv")) == 6
    steps = [s for s, _ in read_scalars(out / "tb" / "drop=0" / "seed0")["Loss/train"]] + \
        [s for s, _ in read_scalars(out / "tb" / "drop=0.3" / "seed0")["Loss/train"]]
    assert sorted(steps) == [1, 1, 2, 2, 3, 3]         # no epoch logged twice after the resume


@pytest.mark.slow
def test_two_processes_share_one_study(tmp_path, tiny_folder):
    specs = write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR},
                        budgets={"tiny": {"data": {"train_subset": None, "val_subset": None},
                                          "train": {"epochs": 1, "batch_size": 8, "eval_batch_size": 16}}})
    out = tmp_path / "study"
    procs = [subprocess.Popen(_ablate(specs, tiny_folder, out, "--seeds", "2"), cwd=REPO, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=400)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    trained = [line.split(":")[0] for text in outputs for line in text.splitlines() if line.startswith("run drop=")]
    assert sorted(trained) == sorted(f"run drop={lv} seed {s}" for lv in ("0", "0.3 (baseline)") for s in (0, 1))
    db = out / "study.sqlite"
    assert _rows(db, "SELECT run_id, COUNT(*) FROM epochs GROUP BY run_id ORDER BY run_id") == \
        [(rid, 1) for rid, in _rows(db, "SELECT run_id FROM runs ORDER BY run_id")]
    for arm in ("drop=0", "drop=0.3"):
        for seed in (0, 1):
            events = list((out / "tb" / arm / f"seed{seed}").glob("events.out.tfevents.*"))
            assert len(events) == 1, f"{arm} seed {seed} trained {len(events)} times"
    assert all("rank" in text for text in outputs)      # both print the complete table


@pytest.mark.slow
def test_validity_flip_hurts_on_left_right_labels_and_placebo_does_not(tmp_path):
    """Labels = which half holds the blob, so HorizontalFlip p=0.5 makes them unlearnable:
    flip=on must be significantly worse; a placebo (same recipe, another tag) must not be.
    Batch 2 for 32 steps: fewer steps leave BatchNorm's running statistics unsettled and
    eval-mode accuracy at chance even when training accuracy is 100%."""
    specs = write_specs(tmp_path / "specs", {"flipv": {"baseline_level": "off", "levels": {
        "off": {}, "on": {"augment": {"policy": {"name": "flip", "ops": [{"op": "HorizontalFlip", "p": 0.5}]}}},
        "placebo": {"tag": "placebo"}}}}, baseline_changes=VALIDITY_RECIPE)
    result = run_study("flipv", seeds=3, budget="tiny", dataset=blob_dataset(32, 32), device="cpu",
                       out=tmp_path / "study", specs_dir=specs, report=False, echo=lambda s: None,
                       metric="final", budget_override=VALIDITY_BUDGET)
    rows = {r["arm"]: r for r in result.effects.rows}
    assert rows["flipv=on"]["significant"] and rows["flipv=on"]["effect_mean"] < -20, result.table
    assert not rows["flipv=placebo"]["significant"], result.table
    assert rows["flipv=on"]["rank"] == 2


VALIDITY_RECIPE = {"augment": {"policy": "none"}, "optimizer": {"name": "sgd", "lr": 0.8}}
VALIDITY_BUDGET = {"train": {"epochs": 2, "batch_size": 2}}  # 32 steps: BatchNorm running stats settle
