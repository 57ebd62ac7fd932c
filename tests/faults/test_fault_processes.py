"""Process-level faults on real ``augstudy ablate`` subprocesses: kill -9 (mid-study and mid-
checkpoint-write), Ctrl-C (SIGINT), SIGTERM, SIGSTOP/SIGCONT past the claim timeout, two
a truncated checkpoint.  Tiny data: each case takes seconds.  Two processes sharing one study is
tests/ablation/test_study_end_to_end.py's ``test_two_processes_share_one_study``."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from fault_helpers import EPOCHS, ablate_args, finish, rows, run, start, wait_for, write_locked
from study_helpers import read_csv


def _tmp_files(out: Path) -> list[Path]:
    folder = out / "checkpoints"
    return [p for p in folder.glob(".*.tmp")] if folder.is_dir() else []


def _finished_lines(text: str) -> list[str]:
    """``run <arm label> seed <k>`` of every run a process reports as finished."""
    return [m.group(1) for m in re.finditer(r"^(run \S+(?: \(baseline\))? seed \d+): ", text, re.M)]


def test_kill_9_mid_checkpoint_write_then_resume_cleans_the_temporary_and_retrains_nothing(
        tiny_data, specs, tmp_path):
    out = tmp_path / "study"
    db = out / "study.sqlite"
    proc = start(ablate_args(specs, tiny_data, out, "--checkpoint-every", "0"))   # one at every epoch end
    try:
        # a checkpoint of the first run is being written after its epoch 1 checkpoint was published: a
        # temporary beside the checkpoint holds over 1 MB.  Freeze the process there (SIGSTOP), make sure the
        # temporary is still there, then kill -9; if the rename won the race, let it go on and retry.
        for _ in range(20):
            wait_for(lambda: rows(db, "SELECT 1 FROM runs WHERE status='running' AND checkpoint IS NOT NULL")
                     and any(p.stat().st_size > 1_000_000 for p in _tmp_files(out) if p.exists()),
                     proc, what="a checkpoint write after epoch 1")
            proc.send_signal(signal.SIGSTOP)
            if _tmp_files(out):
                break
            proc.send_signal(signal.SIGCONT)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    left = _tmp_files(out)
    assert left, "the kill did not land mid-write (no temporary left); the case tests nothing"
    kept = rows(db, "SELECT run_id, epoch, wall_s FROM epochs ORDER BY run_id, epoch")
    assert kept and rows(db, "PRAGMA integrity_check") == [("ok",)]

    rerun = run(ablate_args(specs, tiny_data, out))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert re.search(rf"resuming .* after epoch \d/{EPOCHS}", rerun.stdout), rerun.stdout
    after = set(rows(db, "SELECT run_id, epoch, wall_s FROM epochs"))
    assert set(kept) - after == set() or all(e[1] > 1 for e in set(kept) - after)  # epoch 1 not retrained
    assert sorted(r[1] for r in after) == sorted(list(range(1, EPOCHS + 1)) * 2)
    assert rows(db, "SELECT DISTINCT status FROM runs") == [("done",)]
    assert len(_finished_lines(rerun.stdout)) == 2
    assert not _tmp_files(out), f"stale temporaries left: {_tmp_files(out)}"


def test_stale_temporary_of_a_live_writer_is_kept(tiny_data, specs, tmp_path, finished_study):
    """Only temporaries whose writer is gone are removed: one named after this (live) test process stays."""
    import os
    import shutil
    import socket

    out = tmp_path / "study"
    shutil.copytree(finished_study, out)
    (out / "checkpoints").mkdir(exist_ok=True)
    live = out / "checkpoints" / f".x-seed0.pt.abcdefgh.w{os.getpid()}@{socket.gethostname()}.tmp"
    live.write_bytes(b"partial")
    done = run(ablate_args(specs, tiny_data, out, budget="tiny1"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert live.exists()


@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_interrupt_releases_claims_exports_and_says_what_is_kept(tiny_data, specs, tmp_path, signame):
    out = tmp_path / "study"
    db = out / "study.sqlite"
    proc = start(ablate_args(specs, tiny_data, out))
    try:
        wait_for(lambda: rows(db, "SELECT 1 FROM runs WHERE status='running' AND epochs_done>=1")
                 and (out / "runs.csv").is_file() and "running" in (out / "runs.csv").read_text(),
                 proc, what="the first run running after epoch 1")
        proc.send_signal(getattr(signal, signame))
        output = finish(proc, timeout=120)
    finally:
        proc.kill()
        proc.wait()
    in_store = dict(rows(db, "SELECT run_id, status FROM runs"))
    assert "running" not in in_store.values(), in_store
    exported = {r["config_hash"]: r["status"] for r in read_csv(out / "runs.csv")}
    assert "running" not in exported.values(), (exported, output)
    assert {rid.rsplit("-seed", 1)[0]: status for rid, status in in_store.items()} == exported
    assert proc.returncode not in (0, 1, -signal.SIGTERM), output   # handled, not killed by the signal
    assert "Traceback" not in output, output
    assert signame in output and "kept" in output and "rerun" in output, output


def test_paused_process_stops_the_run_another_process_took_over(tiny_data, specs, tmp_path):
    """SIGSTOP after epoch 1, wait past the claim timeout, a second process resumes the run, SIGCONT
    the first: the first must stop that run (and say so), so one process finishes each run."""
    out = tmp_path / "study"
    db = out / "study.sqlite"
    env = {"AUGSTUDY_CLAIM_STALE_S": "3"}
    first = start(ablate_args(specs, tiny_data, out), env=env)
    second = None
    try:
        wait_for(lambda: rows(db, "SELECT 1 FROM runs WHERE status='running' AND epochs_done>=1"), first,
                 what="epoch 1 of the first run")
        # pause it between transactions (a paused process past the claim timeout): one frozen inside a
        # transaction holds the store's write lock, and no other process can open the study until it resumes
        for _ in range(50):
            first.send_signal(signal.SIGSTOP)
            time.sleep(0.05)
            if not write_locked(db):
                break
            first.send_signal(signal.SIGCONT)
            time.sleep(0.02)
        else:
            pytest.fail("the first process held the store's write lock at every pause")
        time.sleep(4.5)  # past AUGSTUDY_CLAIM_STALE_S (the paused process cannot refresh its claim)
        (paused_run,) = rows(db, "SELECT run_id FROM runs WHERE status='running' AND epochs_done>=1")[0]
        second = start(ablate_args(specs, tiny_data, out), env=env)
        wait_for(lambda: rows(db, "SELECT 1 FROM runs WHERE run_id=? AND claimed_by LIKE ?",
                              (paused_run, f"%:{second.pid}")) != [],
                 second, timeout=150, what="the second process taking the paused run over")
        first.send_signal(signal.SIGCONT)
        out_second = finish(second, timeout=300)
        out_first = finish(first, timeout=300)
    finally:
        for proc in (first, second):
            if proc is not None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
                proc.wait()
    assert second.returncode == 0, out_second
    finished = _finished_lines(out_first) + _finished_lines(out_second)
    assert sorted(finished) == sorted(set(finished)), f"a run was finished twice:\n{out_first}\n---\n{out_second}"
    # the paused process says it lost the run, and stops it
    assert "was taken over by another process after a pause; stopping it here" in out_first, out_first
    assert sorted(r[0] for r in rows(db, "SELECT epoch FROM epochs")) == sorted(list(range(1, EPOCHS + 1)) * 2)
    assert rows(db, "SELECT DISTINCT status FROM runs") == [("done",)]
    assert not _tmp_files(out), f"the refused checkpoint left a temporary: {_tmp_files(out)}"


def test_truncated_checkpoint_is_retrained_with_a_warning(tiny_data, specs, tmp_path):
    out = tmp_path / "study"
    db = out / "study.sqlite"
    proc = start(ablate_args(specs, tiny_data, out, "--checkpoint-every", "0"))   # one at every epoch end
    try:
        wait_for(lambda: rows(db, "SELECT 1 FROM runs WHERE status='running' AND checkpoint IS NOT NULL"), proc,
                 what="epoch 1 of the first run checkpointed")
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    (run_id,) = rows(db, "SELECT run_id FROM runs WHERE status='running'")[0]
    ckpt = out / "checkpoints" / f"{run_id}.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:4096])
    rerun = run(ablate_args(specs, tiny_data, out))
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "warning" in rerun.stdout and str(ckpt) in rerun.stdout, rerun.stdout
    assert sorted(r[0] for r in rows(db, "SELECT epoch FROM epochs")) == sorted(list(range(1, EPOCHS + 1)) * 2)
    assert rows(db, "SELECT DISTINCT status FROM runs") == [("done",)]
