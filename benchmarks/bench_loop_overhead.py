"""The training loop's overhead against a projected H100 epoch at Tiny ImageNet scale.

Everything a study does besides forward, backward and the optimizer step, measured with the
real code on this machine, per epoch and per step, and compared with the time one epoch of
Tiny ImageNet would take on one H100:

    projected epoch = 100,000 images x 3 x forward FLOPs (count_flops of the fixed CNN, 200
    classes: 1.03 GFLOP; backward ~ 2x forward) / sustained rate, the rate being
    --mfu (default 0.35) x 989 TFLOP/s (H100 SXM dense bf16 peak)  ->  about 0.9 s.

Per epoch (the driver's real ``on_epoch`` on a study at Tiny ImageNet scale: 4 arms x 3 seeds x
30 epochs, 200 classes, 10,000 val images with per-example correctness; timed at its LAST
epoch, when the store and the exported CSVs are largest):
  store write (record_epoch), TensorBoard (log_epoch), exports (runs/epochs/class_metrics.csv);
  the end-of-run work (``on_done``: finish, effects, study.json) once per run, spread over its epochs;
  evaluation of the 10,000 val images: projected like the epoch (forward FLOPs / the same rate);
  host syncs: two per epoch (the loss sum and the eval counts), 50 us each (a CUDA sync's
  latency when the queue is empty; stated, not measured here);
  checkpoints: the host copy of the full state (fixed CNN + SGD momentum, 208 MB) measured here,
  once per --checkpoint-every seconds (default 120), spread over the epochs in that interval;
  the disk write (measured too) runs in a background thread, off the critical path.
Per step (391 steps of batch 256 per epoch): the progress callback and the checkpoint schedule's
check, timed over many calls.

Usage: ``python benchmarks/bench_loop_overhead.py [--epochs 30] [--mfu 0.35] [--every 120]``.
Prints each part in ms and as a share of the projected epoch; the target is a total under 5%.
``measure(...)`` returns the same numbers as a dict (``benchmarks/gpu_check.py`` reuses it).
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from augstudy.ablation.spec import study_spec as spec  # noqa: E402
from augstudy.ablation.execution.checkpoint_schedule import DEFAULT_CHECKPOINT_EVERY_S, CheckpointSchedule  # noqa: E402
from augstudy.ablation.execution.checkpoints import host_copy, save_checkpoint  # noqa: E402
from augstudy.ablation.execution.driver import StudyDriver  # noqa: E402
from augstudy.ablation.storage.exporter import StudyDescription  # noqa: E402
from augstudy.ablation.storage.schema import StudyPaths, pack_correct  # noqa: E402
from augstudy.ablation.storage.store import StudyStore, run_id_for  # noqa: E402
from augstudy.ablation.execution.train import EpochResult, RunOutcome, build_optimizer, build_run_model  # noqa: E402

H100_PEAK_BF16 = 989e12
TINY_TRAIN, TINY_VAL, CLASSES, BATCH = 100_000, 10_000, 200, 256


def _epoch_result(epoch: int, rng: np.random.Generator) -> EpochResult:
    correct = rng.random(TINY_VAL) < 0.4
    per_class = [int(c) for c in np.bincount(np.arange(TINY_VAL) % CLASSES, weights=correct, minlength=CLASSES)]
    return EpochResult(epoch, 2.0, 0.5, 2.5, float(correct.mean()), 0.01, 1.0, per_class,
                       [TINY_VAL // CLASSES] * CLASSES, pack_correct(correct))


#: (wall, cpu) seconds of every _timed call, by label (the cpu time of this thread is what a dedicated
#: host would spend; the wall time on this shared 2-core machine is inflated by other jobs)
WALL: dict[str, float] = {}


def _timed(fn, *args, label: str | None = None) -> float:
    """CPU seconds of this thread spent in ``fn(*args)`` (kernel time included: page faults count)."""
    w0, c0 = time.perf_counter(), time.thread_time()
    fn(*args)
    cpu = time.thread_time() - c0
    if label:
        WALL[label] = time.perf_counter() - w0
    return cpu


def study_overheads(root: Path, epochs: int, seeds: int = 3) -> dict:
    """Seconds of the driver's per-epoch work at the last epoch of a Tiny-ImageNet-scale study, and of
    one run's end (``on_done``).  The store is filled first (every other run done, this run at
    ``epochs - 1`` epochs)."""
    arms = spec.resolve_study_arms("dropout", "full")
    desc = StudyDescription(factor="dropout", budget="full", metric="last3", device="cuda", seeds=list(range(seeds)),
                            arms=arms, dataset_name="tiny-imagenet-200", dataset_path="data/tiny-imagenet-200",
                            class_names=[f"n{i:08d}" for i in range(CLASSES)], n_train=TINY_TRAIN, n_val=TINY_VAL)
    paths = StudyPaths(root)
    store = StudyStore(root)
    driver = StudyDriver(desc, dataset=None, device=torch.device("cpu"), store=store, paths=paths,
                         echo=lambda s: None, precision="bf16")
    store.register_runs([{"run_id": run_id_for(a.config_hash, s), "arm": a.name, "level": a.level, "seed": s,
                          "config_hash": a.config_hash, "config": a.config} for s in range(seeds) for a in arms])
    rng = np.random.default_rng(0)
    order = driver.order
    last = order[-1]
    for run_id in order:                 # fill: every run done except the last, which is at its last epoch
        row = store.claim_next([run_id], "cuda")
        n = epochs if run_id != last else epochs - 1
        for e in range(1, n + 1):
            store.record_epoch(run_id, row["claim_token"], _epoch_result(e, rng), None)
        if run_id != last:
            store.finish_run(run_id, row["claim_token"], "done", metric=0.4, wall_s=100.0)
    arm, seed = driver.job_info[last]
    from augstudy.ablation.execution.executors import RunJob

    job = RunJob(last, arm.name, arm.level, seed, arm.config, arm.config_hash, epochs, 391, epochs - 1,
                 paths.checkpoint(arm.config_hash, seed), row["claim_token"])
    result = _epoch_result(epochs, rng)
    driver.tb.log_epoch(job.arm, job.seed, _epoch_result(epochs - 1, rng))   # the writer exists (once per run)
    timing = {"store": _timed(store.record_epoch, last, job.claim_token, result, None, label="store"),
              "tensorboard": _timed(driver.tb.log_epoch, job.arm, job.seed, result, label="tensorboard"),
              "exports": _timed(driver.export_progress, label="exports")}
    from augstudy.ablation.storage.exporter import StoreSnapshot, export_runs

    timing["runs.csv"] = _timed(lambda: export_runs(paths, desc, StoreSnapshot(store.runs(order), store.epochs(order),
                                                                               [])), label="runs.csv")
    history = [_epoch_result(e, rng) for e in range(1, epochs + 1)]
    driver._exported_at = -float("inf")    # time the full export a run's end may trigger
    timing["run end (per run)"] = _timed(driver.on_done, job, RunOutcome("done", epochs, None, 100.0, history),
                                         label="run end")
    driver.tb.close()
    driver.writer.close()
    store.close()
    return timing


def step_overheads(n: int = 20_000) -> dict:
    """Seconds per call of the per-step host work: the progress callback and the schedule's check."""
    from augstudy.progress import progress

    bar = progress(total=n, desc="bench", unit="step")
    t_bar = _timed(lambda: [bar.update(1) for _ in range(n)]) / n
    bar.close()
    schedule = CheckpointSchedule(DEFAULT_CHECKPOINT_EVERY_S)
    schedule.start()
    t_due = _timed(lambda: [schedule.due(False) for _ in range(n)]) / n
    return {"progress": t_bar, "checkpoint check": t_due}


def checkpoint_costs(folder: Path) -> dict:
    """Host copy (critical path) and disk write (background) of the fixed CNN's full state, 200 classes."""
    config = spec.resolve_study_arms("dropout", "full")[0].config
    model = build_run_model(config, CLASSES, 0, torch.device("cpu"))
    optimizer = build_optimizer(config, model)
    model(torch.zeros(2, 3, 64, 64)).sum().backward()
    optimizer.step()                                   # SGD momentum buffers exist now
    live = {"model": model.state_dict(), "optimizer": optimizer.state_dict()}
    copies = [_timed(host_copy, live, label="host copy") for _ in range(3)]
    state = host_copy(live)
    size = sum(t.numel() * t.element_size() for part in state.values() for t in _tensors(part))
    write = _timed(save_checkpoint, folder / "ckpt.pt", state, label="disk write")
    return {"host copy": min(copies), "disk write": write, "bytes": size}


def _tensors(obj):
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _tensors(v)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from _tensors(v)


def measure(epochs: int = 30, mfu: float = 0.35, every_s: float = DEFAULT_CHECKPOINT_EVERY_S,
            syncs_per_epoch: int = 2, sync_s: float = 50e-6) -> dict:
    """Every overhead per projected H100 epoch (seconds and shares); see the module docstring."""
    from augstudy.models import count_flops

    config = spec.resolve_study_arms("dropout", "full")[0].config
    fwd = count_flops(build_run_model(config, CLASSES, 0, torch.device("cpu")), (3, 64, 64))
    rate = mfu * H100_PEAK_BF16
    epoch_s = TINY_TRAIN * 3 * fwd / rate
    steps = -(-TINY_TRAIN // BATCH)
    with tempfile.TemporaryDirectory() as tmp:
        study = study_overheads(Path(tmp) / "study", epochs)
        ckpt = checkpoint_costs(Path(tmp))
    per_step = step_overheads()
    from augstudy.ablation.execution.driver import EXPORT_EVERY_S

    # exports: at most every EXPORT_EVERY_S (runs.csv alone at a run's first epoch); the run end's
    # full export at most as often (the runner exports once more at the end of the study)
    export_share = min(1.0, epoch_s / EXPORT_EVERY_S)
    parts = {
        "eval of 10,000 val images (projected)": TINY_VAL * fwd / rate,
        "host syncs (stated)": syncs_per_epoch * sync_s,
        "store write": study["store"],
        "TensorBoard": study["tensorboard"],
        f"exports (every {EXPORT_EVERY_S:g} s)": study["exports"] * export_share,
        "runs.csv at a run's first epoch": study["runs.csv"] / epochs,
        f"run end (full export at most every {EXPORT_EVERY_S:g} s)":
            study["run end (per run)"] * min(1.0 / epochs, epoch_s / EXPORT_EVERY_S),
        "progress callback x steps": per_step["progress"] * steps,
        "checkpoint check x steps": per_step["checkpoint check"] * steps,
        f"checkpoint host copy, once per {every_s:g} s": ckpt["host copy"] * min(1.0, epoch_s / every_s)
        if every_s > 0 else ckpt["host copy"],
    }
    parts_every_epoch = {**parts, "exports, if every epoch (before)": study["exports"],
                         "run end, if every run (before)": study["run end (per run)"] / epochs}
    return {"parts_every_epoch": parts_every_epoch, "epoch_s": epoch_s, "fwd_flops": fwd, "rate": rate,
            "steps": steps, "parts": parts,
            "total_s": sum(parts.values()), "checkpoint": ckpt, "per_step": per_step, "study": study}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs per run of the simulated study (default 30)")
    parser.add_argument("--mfu", type=float, default=0.35, help="assumed sustained share of the H100 bf16 peak")
    parser.add_argument("--every", type=float, default=DEFAULT_CHECKPOINT_EVERY_S, help="--checkpoint-every (s)")
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    r = measure(args.epochs, args.mfu, args.every)
    print(f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), {time.strftime('%Y-%m-%d')}")
    print(f"projected H100 epoch: {TINY_TRAIN:,} images x 3 x {r['fwd_flops'] / 1e9:.3f} GFLOP / "
          f"({args.mfu:.0%} x 989 TFLOP/s) = {r['epoch_s']:.3f} s ({r['steps']} steps of {BATCH})")
    print(f"{'part (host CPU time; projected where said)':<52} {'ms/epoch':>10} {'share':>8}")
    for name, seconds in r["parts"].items():
        print(f"{name:<52} {1e3 * seconds:10.2f} {seconds / r['epoch_s']:8.2%}")
    total = r["total_s"] / r["epoch_s"]
    print(f"{'total':<52} {1e3 * r['total_s']:10.2f} {total:8.2%}  (target < 5%: "
          f"{'PASS' if total < 0.05 else 'over'})")
    for name in ("exports, if every epoch (before)", "run end, if every run (before)"):
        seconds = r["parts_every_epoch"][name]
        print(f"  {name:<50} {1e3 * seconds:10.2f} {seconds / r['epoch_s']:8.2%}")
    print("wall seconds of the same calls on this shared machine: "
          + ", ".join(f"{k} {v:.3f}" for k, v in WALL.items()))
    ck = r["checkpoint"]
    print(f"checkpoint: {ck['bytes'] / 1e6:.0f} MB; host copy {1e3 * ck['host copy']:.0f} ms (critical path), "
          f"disk write {ck['disk write']:.2f} s (background thread)")
    print(f"per step: progress {1e6 * r['per_step']['progress']:.1f} us, checkpoint check "
          f"{1e6 * r['per_step']['checkpoint check']:.2f} us; run end {r['study']['run end (per run)']:.2f} s per run")


if __name__ == "__main__":
    main()
