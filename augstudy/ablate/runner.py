"""``run_study``: the driver of ``augstudy ablate`` -- resolve arms, claim runs, train, record, export.

The driver is the single writer of the study directory (see ARCHITECTURE.md "Study
directory"): ``study.sqlite`` is the source of truth; after every finished epoch it
re-exports, atomically, ``study.json``, ``runs.csv``, ``epochs.csv``,
``class_metrics.csv``, ``effects.csv``, ``effects.md`` and ``arms.csv``.
Checkpoints (``checkpoints/<config_hash>-seed<k>.pt``) are written atomically every
epoch *before* the epoch's rows are committed, so after a ``kill -9`` the store never
claims more than the checkpoint holds, and a rerun resumes from the checkpoint.
"""

from __future__ import annotations

import csv
import io
import json
import math
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from augstudy.ablate.executors import LocalExecutor, RunJob
from augstudy.ablate.spec import Arm, canonical_json, resolve_study_arms
from augstudy.ablate.store import FINISHED, Heartbeat, StudyStore, run_id_for
from augstudy.ablate.tensorboard import TensorBoardLog
from augstudy.ablate.train import EpochResult, RunOutcome, prepare_train_data, resolve_device, steps_per_epoch
from augstudy.atomic import atomic_path, atomic_write_json, atomic_write_text
from augstudy.errors import UserError

RUNS_COLUMNS = ("arm", "level", "seed", "status", "epochs_done", "metric", "wall_s", "device", "config_hash",
                "diverged_epoch", "error")
EPOCHS_COLUMNS = ("arm", "level", "seed", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "wall_s")
CLASS_COLUMNS = ("arm", "level", "seed", "epoch", "class_index", "class_name", "val_acc", "n_val")
VERSION_PACKAGES = ("augstudy", "torch", "torchvision", "kornia", "albumentations")
#: seconds between claim attempts while other processes finish the last runs
WAIT_POLL_S = 2.0


@dataclass
class StudyResult:
    """What ``run_study`` produced: the folder, the files written, the effect table, completion."""

    out_dir: Path
    files: dict[str, Path]
    complete: bool
    table: str
    effects: object | None = None
    counts: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------- small helpers
def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str | None] = {}
    for name in VERSION_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    out["python"] = platform.python_version()
    return out


def _git_commit() -> str | None:
    repo = Path(__file__).resolve().parents[2]
    try:
        done = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else format(value, ".6g")
    return str(value)


def _csv_text(rows: list[dict], columns: tuple[str, ...]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def default_out_dir(factor: str, dataset_name: str) -> Path:
    return Path("reports") / f"{factor}-{dataset_name}"


# ----------------------------------------------------------------------------- the running study
class Study:
    """One invocation of a study: implements the executor's :class:`StudyContext` and the
    driver callbacks (``on_epoch``, ``on_done``) that write the study directory."""

    def __init__(self, *, factor: str, arms: list[Arm], seeds: list[int], budget: str, dataset, data_message: str,
                 device, metric: str, out_dir: Path, echo: Callable[[str], None], prune_checkpoints: bool = False):
        self.factor, self.arms, self.seeds, self.budget = factor, arms, seeds, budget
        self.dataset, self.data_message = dataset, data_message
        self.device_obj = device
        self.device = str(device)
        self.metric, self.out_dir, self.echo = metric, out_dir, echo
        self.prune_checkpoints = prune_checkpoints
        self.data_check: list[dict] | None = None
        self.store = StudyStore(out_dir)
        self.tb = TensorBoardLog(out_dir)
        self.baseline_arm = next(a for a in arms if a.is_baseline)
        self.started = time.time()
        # seed-major order: every arm of seed 0 first, so paired comparisons appear early
        self.order: list[str] = []
        self.job_info: dict[str, tuple[Arm, int]] = {}
        for seed in seeds:
            for arm in arms:
                run_id = run_id_for(arm.config_hash, seed)
                if run_id not in self.job_info:
                    self.order.append(run_id)
                    self.job_info[run_id] = (arm, seed)
        self._data_cache: dict[str, object] = {}
        self._checkpoints: dict[str, dict | None] = {}
        self._heartbeat: Heartbeat | None = None
        self._bar = None
        self._finished_here = 0
        self._waiting_said = False

    # -- setup ------------------------------------------------------------------------
    def check_and_register(self) -> None:
        meta = self.store.meta()
        identity = {"factor": self.factor, "budget": self.budget, "dataset": self.dataset.name}
        clash = {k: meta[k] for k in identity if k in meta and meta[k] != identity[k]}
        if clash:
            held = ", ".join(f"{k}={v}" for k, v in clash.items())
            raise UserError(f"{self.out_dir}: already holds a study with {held}; pass --out DIR for a new study")
        self.store.register_runs([
            {"run_id": rid, "arm": arm.name, "level": arm.level, "seed": seed, "config_hash": arm.config_hash,
             "config": arm.config} for rid, (arm, seed) in self.job_info.items()])
        self.store.set_meta({
            **identity, "created": meta.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
            "dataset_path": str(self.dataset.root), "versions": _versions(), "git_commit": _git_commit(),
            "device": self.device, "metric": self.metric})

    def pending_jobs(self) -> list[RunJob]:
        runs = self.store.runs(self.order)
        return [self._job(rid, runs[rid]["epochs_done"]) for rid in self.order
                if runs[rid]["status"] not in FINISHED]

    def _job(self, run_id: str, start_epoch: int = 0) -> RunJob:
        arm, seed = self.job_info[run_id]
        data = self.train_data(arm.config)
        return RunJob(run_id, arm.name, arm.level, seed, arm.config, arm.config_hash, arm.config["train"]["epochs"],
                      steps_per_epoch(data.n_train, arm.config["train"]["batch_size"]), start_epoch,
                      self.checkpoint_path(arm.config_hash, seed))

    def checkpoint_path(self, config_hash: str, seed: int) -> Path:
        return self.out_dir / "checkpoints" / f"{config_hash}-seed{seed}.pt"

    # -- StudyContext -----------------------------------------------------------------
    def train_data(self, config: dict):
        key = canonical_json(config["data"])
        if key not in self._data_cache:
            self._data_cache[key] = prepare_train_data(self.dataset, config).to(self.device_obj)
        return self._data_cache[key]

    def claim_next(self, wait: bool = True) -> RunJob | None:
        while True:
            row = self.store.claim_next(self.order, self.device)
            if row is not None:
                return self._resume(row)
            if not wait:
                return None
            runs = self.store.runs(self.order).values()
            busy = [r for r in runs if r["status"] not in FINISHED and r["status"] != "failed"]
            if not busy:
                return None
            if not self._waiting_said:
                self.echo(f"waiting for {len(busy)} run(s) that other processes are training...")
                self._waiting_said = True
            time.sleep(WAIT_POLL_S)

    def _resume(self, row: dict) -> RunJob:
        """The claimed run as a job: from its checkpoint's epoch (the store is synced to the
        checkpoint's history), or from scratch when there is none."""
        job = self._job(row["run_id"])
        checkpoint = None
        if job.checkpoint_path.is_file():
            import torch

            try:
                checkpoint = torch.load(job.checkpoint_path, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001 - unreadable (e.g. other torch version): retrain
                self.echo(f"warning: {job.checkpoint_path}: cannot be read ({type(exc).__name__}); "
                          f"retraining {job.arm} seed {job.seed} from scratch")
                checkpoint = None
            if checkpoint is not None and "optimizer" not in checkpoint:
                checkpoint = None  # a pruned, weights-only file: not resumable
        history = [EpochResult(**h) for h in checkpoint["history"]] if checkpoint else []
        self.store.sync_history(job.run_id, history)
        job.start_epoch = history[-1].epoch if history else 0
        self._checkpoints[job.run_id] = checkpoint
        if job.start_epoch:
            self.echo(f"resuming {job.arm} seed {job.seed} after epoch {job.start_epoch}/{job.epochs}")
        return job

    def load_checkpoint(self, job: RunJob) -> dict | None:
        return self._checkpoints.pop(job.run_id, None)

    def release(self, job: RunJob) -> None:
        self.store.release(job.run_id)

    def on_step(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def heartbeat_run(self, job: RunJob | None) -> None:
        if self._heartbeat is not None:
            self._heartbeat.run_id = job.run_id if job else None

    def refresh_claims(self, jobs: list[RunJob]) -> None:
        """Refresh now the heartbeat of every run in ``jobs``: an executor training several runs at
        once (the Ray executor) calls this every ``HEARTBEAT_EVERY_S``; the background thread
        keeps only the one run of ``heartbeat_run`` fresh."""
        for job in jobs:
            self.store.heartbeat(job.run_id)

    # -- driver callbacks -------------------------------------------------------------
    def on_epoch(self, job: RunJob, result: EpochResult, state: dict | None) -> None:
        checkpoint = None
        if state is not None:
            import torch

            with atomic_path(job.checkpoint_path) as tmp:
                torch.save(state, tmp)
            checkpoint = str(job.checkpoint_path.relative_to(self.out_dir))
        self.store.record_epoch(job.run_id, result, checkpoint)
        self.tb.log_epoch(job.arm, job.seed, result)
        self.export()

    def _slim_checkpoint(self, job: RunJob) -> None:
        """A finished run needs no optimizer state (half the file: SGD momentum is as big as the
        model); keep the weights, config, normalization and history (what `augstudy measure
        --model` reads), rewritten atomically."""
        if not job.checkpoint_path.is_file():
            return
        import torch

        state = torch.load(job.checkpoint_path, map_location="cpu", weights_only=True)
        if "optimizer" not in state:
            return
        slim = {k: v for k, v in state.items() if k not in ("optimizer", "scheduler")}
        with atomic_path(job.checkpoint_path) as tmp:
            torch.save(slim, tmp)

    def on_done(self, job: RunJob, outcome: RunOutcome) -> None:
        from augstudy.ablate.effects import metric_from_epochs

        metric = None
        finite = [h.to_dict() for h in outcome.history if h.finite]
        if finite:
            metric = metric_from_epochs(finite, self.metric)
        self.store.finish_run(job.run_id, outcome.status, metric=metric, wall_s=outcome.wall_s,
                              diverged_epoch=outcome.diverged_epoch, error=outcome.error)
        self.tb.close_run(job.arm, job.seed)
        if self.prune_checkpoints and outcome.status != "failed":
            job.checkpoint_path.unlink(missing_ok=True)
        elif outcome.status == "done":
            self._slim_checkpoint(job)
        self._finished_here += 1
        done_text = {"done": f"{self.metric} val acc {100 * metric:.2f}%" if metric is not None else "no metric",
                     "diverged": f"DIVERGED at epoch {outcome.diverged_epoch} (loss NaN/inf)",
                     "failed": f"FAILED: {outcome.error}"}[outcome.status]
        label = self.job_info[job.run_id][0].label if job.run_id in self.job_info else job.arm
        self._write_line(f"run {label} seed {job.seed}: {done_text}; {outcome.epochs_done}/{job.epochs} epochs, "
                         f"{outcome.wall_s:.1f} s")
        self.export()

    def _write_line(self, text: str) -> None:
        if self._bar is not None and not self._bar.disable:
            self._bar.write(text, file=sys.stdout)
        else:
            self.echo(text)

    # -- exports ----------------------------------------------------------------------
    def _arm_runs(self, runs: dict, epochs: list[dict]) -> list[dict]:
        """One record per (arm, seed) of this study (a shared run appears under each arm)."""
        from augstudy.ablate.effects import metric_from_epochs

        by_run: dict[str, list[dict]] = {}
        for e in epochs:
            by_run.setdefault(e["run_id"], []).append(e)
        records = []
        for seed in self.seeds:
            for arm in self.arms:
                rid = run_id_for(arm.config_hash, seed)
                run = runs[rid]
                run_epochs = by_run.get(rid, [])
                metric = run["metric"]
                if run["status"] == "done" and run_epochs:
                    metric = metric_from_epochs(run_epochs, self.metric)  # follows --metric on reruns
                records.append({**run, "arm": arm.name, "level": arm.level, "seed": seed, "metric": metric,
                                "epochs": run_epochs, "run_id": rid})
        return records

    def export(self) -> dict[str, Path]:
        """Re-write every plain file of the study directory from one consistent read of the store."""
        runs, epochs, class_rows = self.store.snapshot(self.order)
        records = self._arm_runs(runs, epochs)
        files = {}
        files["runs_csv"] = atomic_write_text(self.out_dir / "runs.csv", _csv_text(records, RUNS_COLUMNS))
        epoch_rows = [{**e, "arm": r["arm"], "level": r["level"], "seed": r["seed"]}
                      for r in records for e in r["epochs"]]
        files["epochs_csv"] = atomic_write_text(self.out_dir / "epochs.csv", _csv_text(epoch_rows, EPOCHS_COLUMNS))
        arms_of_run: dict[str, list[dict]] = {}
        for r in records:
            arms_of_run.setdefault(r["run_id"], []).append(r)
        names = list(self.dataset.class_names)
        class_out = [{**c, "arm": r["arm"], "level": r["level"], "seed": r["seed"],
                      "class_name": names[c["class_index"]] if c["class_index"] < len(names) else ""}
                     for c in class_rows for r in arms_of_run.get(c["run_id"], [])]
        class_out.sort(key=lambda c: (c["arm"], c["seed"], c["epoch"], c["class_index"]))
        files["class_metrics_csv"] = atomic_write_text(self.out_dir / "class_metrics.csv",
                                                       _csv_text(class_out, CLASS_COLUMNS))
        effects, noise = self._export_effects(records, files)
        complete = all(r["status"] in FINISHED or r["status"] == "failed" for r in records)
        files["study_json"] = atomic_write_json(self.out_dir / "study.json",
                                                self._study_json(records, complete, noise))
        self.last_effects, self.complete = effects, complete
        return files

    def _export_effects(self, records: list[dict], files: dict):
        from augstudy.ablate.effects import compute_effects, write_effects

        effects = compute_effects(records, self.baseline_arm.name, self.factor, self.metric)
        factor_of = {a.name: a.factor for a in self.arms}
        for row in effects.rows:
            row["factor"] = factor_of.get(row["arm"], self.factor)
        files.update(write_effects(effects, self.out_dir))
        return effects, effects.noise

    def _study_json(self, records: list[dict], complete: bool, noise) -> dict:
        meta = self.store.meta()
        data = self.train_data(self.baseline_arm.config)
        return {
            "factor": self.factor, "dataset": self.dataset.name, "dataset_path": str(self.dataset.root),
            "device": self.device, "seeds": list(self.seeds), "budget": self.budget, "metric": self.metric,
            "baseline_arm": self.baseline_arm.name,
            "arms": [{"arm": a.name, "factor": a.factor, "level": a.level, "is_baseline": a.is_baseline,
                      "label": a.label, "description": a.description, "config": a.config,
                      "config_hash": a.config_hash, "policy": a.policy} for a in self.arms],
            "git_commit": meta.get("git_commit"), "versions": meta.get("versions"), "created": meta.get("created"),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "wall_s": sum(r["wall_s"] or 0.0 for r in {r["run_id"]: r for r in records}.values()),
            "complete": complete, "class_names": list(self.dataset.class_names),
            "n_train": data.n_train, "n_val": data.n_val, "noise_floor": noise, "data_check": self.data_check,
            "grayscale_fraction": getattr(self.dataset, "grayscale_fraction", None),
            "data_message": self.data_message,
        }

    # -- previews ---------------------------------------------------------------------
    def run_data_check(self) -> list[dict] | None:
        """The dataset's ``augstudy data check`` findings, computed once per study and kept in
        ``data_check.json`` (a rerun reuses them); ``None`` when the check itself fails."""
        path = self.out_dir / "data_check.json"
        if path.is_file():
            try:
                self.data_check = json.loads(path.read_text())["findings"]
                return self.data_check
            except (ValueError, KeyError):
                pass  # unreadable: recompute below
        try:
            from augstudy.data.check import check_dataset

            report = check_dataset(self.dataset.root, image_size=self.dataset.image_size, progress=False)
        except Exception as exc:  # noqa: BLE001 - a failing check must not stop the study
            self.echo(f"warning: data check of {self.dataset.root} failed ({type(exc).__name__}: {exc}); "
                      f"the report will not list its findings")
            return None
        payload = report.to_dict()
        atomic_write_json(path, payload)
        self.data_check = payload["findings"]
        errors = sum(1 for f in self.data_check if f.get("severity") == "error")
        self.echo(f"data check: {len(self.data_check)} finding(s), {errors} error(s) "
                  f"(augstudy data check --data {self.dataset.root} for details)")
        return self.data_check

    def write_previews(self) -> list[Path]:
        """``previews/<arm>.png`` for the baseline and every arm whose policy differs from it."""
        base_policy = self.baseline_arm.policy
        changed = [a for a in self.arms if canonical_json(a.policy) != canonical_json(base_policy)]
        if not changed:
            return []
        try:
            from augstudy.preview import render_preview_grid
        except ImportError as exc:
            self.echo(f"previews: augstudy.preview is not available ({exc}); skipped")
            return []
        written = []
        for arm in [self.baseline_arm, *changed]:
            target = self.out_dir / "previews" / f"{arm.name.replace('/', '_')}.png"
            if target.is_file():
                continue
            try:
                written.append(render_preview_grid(arm.policy, self.dataset, target, seed=0, split="train"))
            except Exception as exc:  # noqa: BLE001 - a preview must never stop a study
                self.echo(f"previews: {arm.name}: {type(exc).__name__}: {exc}; skipped")
        return written

    # -- the loop ---------------------------------------------------------------------
    def run(self, executor=None) -> None:
        from augstudy.progress import progress

        executor = executor or LocalExecutor()
        jobs = self.pending_jobs()
        total = sum((j.epochs - j.start_epoch) * j.steps_per_epoch for j in jobs)
        n_done = len(self.order) - len(jobs)
        self.echo(f"{len(self.order)} runs ({len(self.arms)} arms x {len(self.seeds)} seeds"
                  f"{', shared runs counted once' if len(self.order) < len(self.arms) * len(self.seeds) else ''}): "
                  f"{n_done} finished, {len(jobs)} to train")
        self._bar = progress(total=total, desc=f"ablate {self.factor}", unit="step")
        try:
            with Heartbeat(self.store) as heartbeat:
                self._heartbeat = heartbeat
                executor.run(jobs, self, self.on_epoch, self.on_done)
        finally:
            self._heartbeat = None
            self._bar.close()
            self._bar = None
            self.tb.close()


# ----------------------------------------------------------------------------- entry point
def run_study(factor: str, *, seeds: int | list[int] = 3, budget: str = "smoke", data=None, device: str = "auto",
              metric: str = "last3", out: str | Path | None = None, report: bool = True,
              specs_dir: str | Path | None = None, dataset=None, budget_override: dict | None = None,
              executor=None, prune_checkpoints: bool = False,
              echo: Callable[[str], None] = print) -> StudyResult:
    """Run (or resume) the paired-seed study of ``factor`` (a file in ``ablations/``, or ``all``).

    ``seeds``: a count N (seeds 0..N-1) or explicit seeds.  ``data``: a dataset path (None:
    the default dataset); ``dataset``: an already loaded ``ImageDataset``-like object
    (overrides ``data``).  ``budget_override``: a deep-merge override applied after the
    budget (tests use it for tiny runs).  ``out``: default ``reports/<factor>-<dataset>``.
    Prints progress and the ranked effect table with ``echo``; returns a :class:`StudyResult`.
    """
    from augstudy.ablate.effects import METRICS, format_effect_table

    if metric not in METRICS:
        raise UserError(f"--metric {metric}: must be one of {', '.join(METRICS)}")
    seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
    if not seed_list or len(set(seed_list)) != len(seed_list) or min(seed_list) < 0:
        raise UserError(f"--seeds: need at least 1 distinct non-negative seed, got {seeds}")
    arms = resolve_study_arms(factor, budget, specs_dir, budget_override)
    device_obj = resolve_device(device)
    if dataset is None:
        from augstudy.data import load_dataset, resolve_data_path

        _, data_message = resolve_data_path(data)
        echo(data_message)
        dataset = load_dataset(data)
    else:
        data_message = f"using dataset {getattr(dataset, 'name', '?')} (given)"
    out_dir = Path(out) if out else default_out_dir(factor, dataset.name)
    echo(f"device: {device_obj}" + (f" ({_cuda_name(device_obj)})" if device_obj.type == "cuda" else ""))
    echo(f"study: {factor} at budget {budget}, {len(arms)} arms ({', '.join(a.label for a in arms)}), "
         f"seeds {seed_list}, metric {metric} -> {out_dir}")

    study = Study(factor=factor, arms=arms, seeds=seed_list, budget=budget, dataset=dataset,
                  data_message=data_message, device=device_obj, metric=metric, out_dir=out_dir, echo=echo,
                  prune_checkpoints=prune_checkpoints)
    study.check_and_register()
    study.run_data_check()
    study.write_previews()
    study.export()
    study.run(executor)
    files = study.export()
    table = format_effect_table(study.last_effects.rows, study.last_effects.noise, metric)
    records = study.store.runs(study.order).values()
    counts = {s: sum(1 for r in records if r["status"] == s) for s in ("done", "diverged", "failed", "pending",
                                                                        "running")}
    echo("")
    echo(table)
    files["tb"] = out_dir / "tb"
    files["checkpoints"] = out_dir / "checkpoints"
    files["study_sqlite"] = study.store.path
    if report:
        files.update(_build_report(out_dir, echo))
    echo("files:")
    for name, path in files.items():
        echo(f"  {name:<18} {path}")
    if counts["failed"]:
        echo(f"{counts['failed']} run(s) FAILED (see the error column of runs.csv); rerun the command to retry them")
    study.store.close()
    return StudyResult(out_dir, files, study.complete, table, study.last_effects, counts)


def _cuda_name(device) -> str:
    import torch

    return torch.cuda.get_device_name(device)


def _build_report(out_dir: Path, echo) -> dict[str, Path]:
    try:
        from augstudy.report import build_report
    except ImportError:
        echo("report: augstudy.report is not available yet; skipped (run `augstudy report DIR` later)")
        return {}
    try:
        result = build_report(out_dir)
    except UserError as exc:
        echo(f"report: {exc}; the study itself is complete (run `augstudy report {out_dir}` to retry)")
        return {}
    except Exception as exc:  # noqa: BLE001 - the study's results are safe; the report can be rebuilt
        echo(f"report: failed ({type(exc).__name__}: {exc}); the study itself is complete "
             f"(run `augstudy --debug report {out_dir}` to see why)")
        return {}
    if isinstance(result, dict):
        return {f"report_{k}": Path(v) for k, v in result.items()}
    if isinstance(result, (list, tuple)):
        return {f"report_{i}": Path(v) for i, v in enumerate(result)}
    return {"report": Path(result)} if result else {}


__all__ = ["run_study", "Study", "StudyResult", "default_out_dir"]
