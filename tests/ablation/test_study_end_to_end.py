"""Whole studies: exports and TensorBoard, divergence, kill -9 resume, two processes, validity
(a paused process whose run another took over: tests/faults/test_fault_processes.py).

The slow ones run ``augstudy ablate`` in subprocesses on a tiny image folder (16 train /
16 val noise images, batch 8) with a ``tiny`` budget from a temporary spec folder.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
import torch

from augstudy.ablation.runner import run_study
from augstudy.ablation.execution.tensorboard import TAGS, read_scalars
from study_helpers import AUGSTUDY, DROPOUT_FACTOR, REPO, blob_dataset, interrupted_after_one_epoch, \
    noise_dataset, read_csv, rewrite_csv, write_image_folder, write_specs

ENV = {**os.environ, "AUGSTUDY_NO_PROGRESS": "1", "OMP_NUM_THREADS": "1"}


# training tests compare numbers across runs and processes: one torch thread makes them exact
pytestmark = pytest.mark.usefixtures("one_torch_thread")


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
                       budget_override={"train": {"batch_size": 8}}, keep_checkpoints=True)
    assert result.complete and result.counts == {"done": 1, "diverged": 1, "failed": 0, "pending": 0, "running": 0}
    runs = {r["arm"]: r for r in read_csv(out / "runs.csv")}
    assert list(read_csv(out / "runs.csv")[0]) [:10] == ["arm", "level", "seed", "status", "epochs_done", "metric",
                                                     "wall_s", "device", "config_hash", "diverged_epoch"]
    assert runs["lr=1e9"]["status"] == "diverged" and runs["lr=1e9"]["diverged_epoch"] in ("1", "2")
    assert runs["lr=0.05"]["status"] == "done" and 0 <= float(runs["lr=0.05"]["metric"]) <= 1
    epochs = read_csv(out / "epochs.csv")
    assert list(epochs[0]) == ["arm", "level", "seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc",
                               "lr", "wall_s"]
    assert [e["epoch"] for e in epochs if e["arm"] == "lr=0.05"] == ["1", "2"]
    classes = read_csv(out / "class_metrics.csv")
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
    assert tables >= {"runs", "epochs", "class_metrics", "meta", "val_correct"}
    # per-example val correctness of every evaluated epoch, readable as bool [n_val]
    from augstudy.ablation.storage.store import StudyStore

    run_id = f"{runs['lr=0.05']['config_hash']}-seed0"
    last = [e for e in epochs if e["arm"] == "lr=0.05"][-1]
    correct = StudyStore(out).val_correct(run_id)
    assert correct.shape == (16,) and correct.mean() == pytest.approx(float(last["val_acc"]), abs=1e-5)
    assert sorted(StudyStore(out).val_correct_epochs(run_id)) == [1, 2]
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


def _dropout_specs(tmp_path: Path, epochs: int) -> Path:
    """The dropout factor with a ``tiny`` budget of every image, ``epochs`` epochs, batch 8."""
    return write_specs(tmp_path / "specs", {"drop": DROPOUT_FACTOR},
                       budgets={"tiny": {"data": {"train_subset": None, "val_subset": None},
                                         "train": {"epochs": epochs, "batch_size": 8, "eval_batch_size": 16}}})


def _ablate(specs: Path, data: Path, out: Path, *extra: str) -> list[str]:
    return [str(AUGSTUDY), "ablate", "drop", "--specs", str(specs), "--budget", "tiny", "--data", str(data),
            "--out", str(out), "--device", "cpu", "--no-report", *extra]


@pytest.mark.slow
def test_kill_9_mid_study_then_resume(tmp_path, tiny_folder):
    specs = _dropout_specs(tmp_path, epochs=3)
    out = tmp_path / "study"
    db = out / "study.sqlite"
    # a checkpoint at every epoch end (written in the background, so the kill may still beat one)
    proc = subprocess.Popen(_ablate(specs, tiny_folder, out, "--seeds", "1", "--checkpoint-every", "0"), cwd=REPO,
                            env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
    ckpt_path = out / "checkpoints" / f"{interrupted}.pt"
    ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True) if ckpt_path.exists() else {"epoch": 0}
    for name in ("runs.csv", "epochs.csv", "study.json"):   # readable after the kill
        assert (out / name).stat().st_size > 0
    json.loads((out / "study.json").read_text())

    rerun = subprocess.run(_ablate(specs, tiny_folder, out, "--seeds", "1"), cwd=REPO, env=ENV,
                           capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"after epoch {ckpt['epoch']}/3" in rerun.stdout or (ckpt["epoch"] == 0 and "resuming" not in rerun.stdout)
    assert _rows(db, "SELECT * FROM runs WHERE run_id=?", (finished_id,)) == before_done   # not retrained
    after = _rows(db, "SELECT run_id, epoch, wall_s FROM epochs ORDER BY run_id, epoch")
    kept = [r for r in before_epochs if r[0] == finished_id or r[1] <= ckpt["epoch"]]
    assert set(kept) <= set(after)                     # epochs up to the checkpoint were not retrained
    assert sorted((r[0], r[1]) for r in after) == sorted((rid, e) for rid in (finished_id, interrupted)
                                                         for e in (1, 2, 3))   # no duplicates, none missing
    assert _rows(db, "SELECT DISTINCT status FROM runs") == [("done",)]
    assert _rows(db, "PRAGMA integrity_check") == [("ok",)]
    assert len(read_csv(out / "runs.csv")) == 2 and len(read_csv(out / "epochs.csv")) == 6
    steps = [s for s, _ in read_scalars(out / "tb" / "drop=0" / "seed0")["Loss/train"]] + \
        [s for s, _ in read_scalars(out / "tb" / "drop=0.3" / "seed0")["Loss/train"]]
    assert sorted(steps) == [1, 1, 2, 2, 3, 3]         # no epoch logged twice after the resume, none lost


@pytest.mark.slow
def test_two_processes_share_one_study(tmp_path, tiny_folder):
    specs = _dropout_specs(tmp_path, epochs=1)
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
@pytest.mark.parametrize("precision", ["fp32", "bf16"])   # bf16 autocast must change no verdict
def test_validity_flip_hurts_on_left_right_labels_and_placebo_does_not(tmp_path, precision):
    """Labels = which half holds the blob, so HorizontalFlip p=0.5 makes them unlearnable:
    flip=on must be significantly worse; a placebo (same recipe, another data.order_key: the same
    initialization on another batch order, so its differences are genuine noise) must not be.
    Batch 2 for 32 steps: fewer steps leave BatchNorm's running statistics unsettled and
    eval-mode accuracy at chance even when training accuracy is 100%."""
    specs = write_specs(tmp_path / "specs", {"flipv": {"baseline_level": "off", "levels": {
        "off": {}, "on": {"augment": {"policy": {"name": "flip", "ops": [{"op": "HorizontalFlip", "p": 0.5}]}}},
        "placebo": {"data": {"order_key": 1}}}}}, baseline_changes=VALIDITY_RECIPE)
    result = run_study("flipv", seeds=3, budget="tiny", dataset=blob_dataset(32, 32), device="cpu",
                       out=tmp_path / "study", specs_dir=specs, report=False, echo=lambda s: None,
                       metric="final", budget_override=VALIDITY_BUDGET, precision=precision)
    rows = {r.arm: r for r in result.effects.rows}
    assert rows["flipv=on"].significant and rows["flipv=on"].effect_mean < -20, result.table
    assert rows["flipv=placebo"].verdict not in ("better", "worse"), result.table
    # rank follows the mean effect (issue 17: the lower-bound rule ranked the most significant arm low)
    ranked = result.effects.ranked_rows()
    assert [r.effect_mean for r in ranked] == sorted((r.effect_mean for r in ranked), reverse=True), result.table


VALIDITY_RECIPE = {"augment": {"policy": "none"}, "optimizer": {"name": "sgd", "lr": 0.8}}
VALIDITY_BUDGET = {"train": {"epochs": 2, "batch_size": 2}}  # 32 steps: BatchNorm running stats settle


# ----------------------------------------------------------------------------- a folder without its store
def _tiny_lr_study(out: Path, specs: Path, factor: str = "lr", lines: list | None = None):
    return run_study(factor, seeds=1, budget="tiny", dataset=noise_dataset(16, 16), device="cpu", out=out,
                     specs_dir=specs, report=False, echo=(lines if lines is not None else []).append,
                     budget_override={"train": {"batch_size": 8}})


@pytest.fixture()
def lr_specs(tmp_path):
    return write_specs(tmp_path / "specs", {
        "lr": {"baseline_level": 0.05, "levels": {0.05: {"optimizer": {"lr": 0.05}}, 0.1: {"optimizer": {"lr": 0.1}}}},
        "drop": DROPOUT_FACTOR})


def _drop_store(out: Path) -> None:
    for path in out.glob("study.sqlite*"):
        path.unlink()


def test_a_folder_of_another_study_without_its_store_is_refused_untouched(tmp_path, lr_specs):
    from augstudy.errors import UserError

    out = tmp_path / "study"
    _tiny_lr_study(out, lr_specs)
    _drop_store(out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    with pytest.raises(UserError, match=r"holds the files of another study \(factor=lr\) but no study.sqlite"):
        _tiny_lr_study(out, lr_specs, factor="drop")
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before   # nothing written
    # only an effects.csv left: no way to tell whose it is, or to rebuild: refused too
    for name in ("study.json", "runs.csv", "epochs.csv"):
        (out / name).unlink()
    with pytest.raises(UserError, match="holds effects.csv, .* but neither study.sqlite nor runs.csv"):
        _tiny_lr_study(out, lr_specs)
    assert not (out / "study.sqlite").exists()


def test_the_same_study_without_its_store_is_rebuilt_from_its_csvs(tmp_path, lr_specs):
    out = tmp_path / "study"
    first = _tiny_lr_study(out, lr_specs)
    assert first.complete
    epochs_before = (out / "epochs.csv").read_text()
    runs_before = read_csv(out / "runs.csv")
    _drop_store(out)
    for ckpt in (out / "checkpoints").glob("*.pt"):    # finished runs need no checkpoint
        ckpt.unlink()
    # one run was still training when the folder was copied: it is trained again
    rows = read_csv(out / "runs.csv")
    rows[1]["status"] = "running"
    rewrite_csv(out / "runs.csv", rows)
    lines: list[str] = []
    again = _tiny_lr_study(out, lr_specs, lines=lines)
    assert any("rebuilt it from runs.csv" in line and "1 finished run(s) kept, 1 to train" in line for line in lines)
    assert any("1 finished, 1 to train" in line for line in lines)
    assert again.complete and again.counts["done"] == 2
    runs_after = {r["arm"]: r for r in read_csv(out / "runs.csv")}
    kept = runs_before[0]
    assert runs_after[kept["arm"]] == kept                         # the finished run: untouched, not retrained
    kept_epochs = [line for line in epochs_before.splitlines() if line.startswith(kept["arm"] + ",")]
    assert kept_epochs and all(line in (out / "epochs.csv").read_text().splitlines() for line in kept_epochs)
    retrained = runs_before[1]["arm"]
    assert runs_after[retrained]["status"] == "done" and runs_after[retrained]["epochs_done"] == "2"
    assert _rows(out / "study.sqlite", "SELECT value FROM meta WHERE key='factor'") == [('"lr"',)]


def test_an_interrupted_study_exports_its_released_claims(tmp_path, lr_specs):
    """Ctrl-C (or SIGTERM, turned into the same exception by the CLI) mid-run: the claim is
    released and runs.csv says pending, like the store, not running."""
    out = tmp_path / "study"
    with pytest.raises(KeyboardInterrupt):
        run_study("lr", seeds=1, budget="tiny", dataset=noise_dataset(16, 16), device="cpu", out=out,
                  specs_dir=lr_specs, report=False, echo=lambda s: None, executor=interrupted_after_one_epoch(),
                  budget_override={"train": {"batch_size": 8}})
    assert {r["status"] for r in read_csv(out / "runs.csv")} == {"pending"}
    assert _rows(out / "study.sqlite", "SELECT DISTINCT status FROM runs") == [("pending",)]
    assert len(read_csv(out / "epochs.csv")) == 1 and json.loads((out / "study.json").read_text())["complete"] is False
