"""``run_study``: the entry point of ``augstudy ablate`` -- resolve arms, set the folder up, drive, report.

The pieces (see ARCHITECTURE.md "Ablation"): :mod:`~augstudy.ablation.storage.recovery` opens (or
rebuilds) the store, :mod:`~augstudy.ablation.execution.assets` draws the data check and previews,
:class:`~augstudy.ablation.execution.driver.StudyDriver` claims and records runs for an executor, and
:mod:`~augstudy.ablation.storage.exporter` writes the plain files the report reads.
"""

from __future__ import annotations

import platform
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from augstudy.ablation.execution.assets import data_check_findings, refuse_data_errors, write_previews
from augstudy.ablation.execution.driver import StudyDriver
from augstudy.ablation.analysis.effect_table import format_effect_table
from augstudy.ablation.designs import DESIGNS
from augstudy.ablation.storage.exporter import StudyDescription, export_final
from augstudy.ablation.execution.preflight import check_model_outputs
from augstudy.ablation.storage.recovery import open_store
from augstudy.ablation.storage.schema import StudyPaths
from augstudy.ablation.spec.options import StudyOptions
from augstudy.ablation.spec.study_spec import Arm
from augstudy.ablation.storage.store import StudyStore, run_id_for
from augstudy.ablation.execution.train import resolve_device, subset_indices, subset_shortfalls
from augstudy.atomic import remove_stale_temporaries
from augstudy.errors import UserError

VERSION_PACKAGES = ("augstudy", "torch", "torchvision", "kornia", "albumentations")


@dataclass
class StudyResult:
    """What ``run_study`` produced: the folder, the files written, the effect table, completion."""

    out_dir: Path
    files: dict[str, Path]
    complete: bool
    table: str
    effects: object | None = None
    counts: dict[str, int] = field(default_factory=dict)


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


def default_out_dir(factor: str, dataset_name: str) -> Path:
    return Path("reports") / f"{factor}-{dataset_name}"


def register_study(store: StudyStore, out_dir: Path, identity: dict, arms: list[Arm], seeds: list[int],
                   dataset, device: str, metric: str) -> None:
    """Refuse a store that holds another study; else add this invocation's runs (pending) and meta."""
    meta = store.meta()
    clash = {k: meta[k] for k in identity if k in meta and meta[k] != identity[k]}
    if clash:
        held = ", ".join(f"{k}={v}" for k, v in clash.items())
        raise UserError(f"{out_dir}: already holds a study with {held}; pass --out DIR for a new study")
    runs = {}
    for seed in seeds:
        for arm in arms:
            runs.setdefault(run_id_for(arm.config_hash, seed), {
                "run_id": run_id_for(arm.config_hash, seed), "arm": arm.name, "level": arm.level, "seed": seed,
                "config_hash": arm.config_hash, "config": arm.config})
    store.register_runs(list(runs.values()))
    store.set_meta({
        **identity, "created": meta.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "dataset_path": str(dataset.root), "versions": _versions(), "git_commit": _git_commit(),
        "device": device, "metric": metric})


def keep_registered_seeds(store: StudyStore, arms: list[Arm], seeds: list[int], out_dir: Path, echo) -> list[int]:
    """``seeds`` plus every seed the store already holds runs of for these arms: a rerun with fewer
    ``--seeds`` never shrinks the study (its exported files list every run the store holds; the
    registered runs of those seeds are trained too).  Says so when it adds any."""
    ours = {a.config_hash for a in arms}
    held = {int(r["seed"]) for r in store.runs().values() if r["config_hash"] in ours}
    extra = sorted(held - set(seeds))
    if not extra:
        return seeds
    kept = sorted(set(seeds) | held)
    echo(f"seeds: {out_dir} already holds runs of seed(s) {', '.join(map(str, extra))}; they stay in the study "
         f"(seeds {', '.join(map(str, kept))}): --seeds adds seeds, it never drops a run the store holds")
    return kept


# ----------------------------------------------------------------------------- entry point
def run_study(options: StudyOptions | str, *, dataset=None, executor=None, echo: Callable[[str], None] = print,
              checkpoint_clock=None, debug: bool = False, **keywords) -> StudyResult:
    """Run (or resume) the paired-seed study ``options`` describes (its factor: a file in ``ablations/``,
    or ``all``; see :class:`~augstudy.ablation.spec.options.StudyOptions` for every option).

    ``options`` is validated already (the CLI and :func:`augstudy.ablate` collect it); a factor name
    with the options as ``keywords`` is collected here the way the API does (keyword names in messages).
    Runtime objects that are not options: ``dataset``, an already loaded ``ImageDataset``-like object
    (overrides ``options.data``); ``executor``, an executor object (default: the one ``options.executor``
    names); ``checkpoint_clock`` replaces ``time.monotonic`` (tests); ``debug``: executors re-raise.
    Which design plans the study, and which add their files, summaries and report sections, is
    :data:`augstudy.ablation.designs.DESIGNS`'s.
    Prints progress and the ranked effect table with ``echo``; returns a :class:`StudyResult`.
    """
    if not isinstance(options, StudyOptions):
        options = StudyOptions.collect({"factor": options, **keywords})
    elif keywords:
        raise TypeError(f"run_study: options given as StudyOptions and as keywords ({', '.join(keywords)})")
    factor, by, budget, metric, sesoi = options.factor, options.by, options.budget, options.metric, options.sesoi
    specs_dir, budget_override = options.specs_dir, options.arm_override
    if executor is None:  # first: a missing Ray is refused before anything is read or written
        from augstudy.ablation.execution.executors import make_executor

        executor = make_executor(options.executor, address=options.ray_address, gpus_per_run=options.gpus_per_run,
                                 max_retries=options.max_retries, echo=echo, debug=debug)
    plan = None
    if options.auto_seeds:
        from augstudy.ablation.analysis.effects import SequentialPlan

        plan = SequentialPlan(options.start_seeds, options.seed_batch, options.max_seeds)
    seed_list = options.seed_list
    if sesoi is None:   # the study spec's (FACTOR's file, else baseline.yaml's), else 1 point
        from augstudy.ablation.spec.study_spec import study_sesoi

        sesoi = study_sesoi(factor, specs_dir)
    # the design that plans this invocation names the study and resolves its arms (one-factor; --by: factorial)
    factor, arms = DESIGNS.resolve_arms(factor, by, budget, specs_dir, budget_override)
    device_obj = resolve_device(options.device)
    if dataset is None:
        from augstudy.data import load_dataset, resolve_data_path

        _, data_message = resolve_data_path(options.data)
        echo(data_message)
        dataset = load_dataset(options.data)
    else:
        data_message = f"using dataset {getattr(dataset, 'name', '?')} (given)"
    check_model_outputs(arms, int(dataset.num_classes), int(dataset.val_images.shape[-1]), device_obj)
    out_dir = Path(options.out) if options.out else default_out_dir(factor, dataset.name)
    echo(f"device: {device_obj}" + (f" ({_cuda_name(device_obj)})" if device_obj.type == "cuda" else ""))
    echo(f"study: {factor} at budget {budget}, {len(arms)} arms ({', '.join(a.label for a in arms)}), "
         f"seeds {seed_list if plan is None else plan.describe()}"
         f", metric {metric}, SESOI {float(sesoi):g} pts -> {out_dir}")

    paths = StudyPaths(out_dir)
    identity = {"factor": factor, "budget": budget, "dataset": dataset.name}
    store = open_store(paths, identity, arms, echo)
    try:  # closed on every exit (an interrupt too), so no later garbage collection rewrites study.sqlite
        stale = [p for folder in (paths.root, paths.checkpoints_dir) for p in remove_stale_temporaries(folder)]
        if stale:
            echo(f"removed {len(stale)} temporary file(s) left by a killed writer: {', '.join(p.name for p in stale)}")
        if plan is None:
            seed_list = keep_registered_seeds(store, arms, seed_list, out_dir, echo)
        register_study(store, out_dir, identity, arms, seed_list, dataset, str(device_obj), metric)
        from augstudy.ablation.execution.precision import pin_precision

        resolved = pin_precision(store, options.precision, device_obj, out_dir)
        echo(f"precision: {resolved}{', torch.compile' if options.compile else ''}; checkpoints every "
             f"{options.checkpoint_every:g} s" + (" (and at every epoch end)" if not options.checkpoint_every else ""))
        if plan is not None:
            from augstudy.ablation.execution.seeds_auto import pin_plan

            pin_plan(store, plan, float(sesoi), out_dir)
        baseline = next(a for a in arms if a.is_baseline)
        n_train, n_val = (int(ix.numel()) for ix in subset_indices(dataset, baseline.config["data"]))
        desc = StudyDescription(
            factor=factor, budget=budget, metric=metric, device=str(device_obj), seeds=seed_list, arms=arms,
            dataset_name=dataset.name, dataset_path=str(dataset.root), class_names=list(dataset.class_names),
            n_train=n_train, n_val=n_val, data_message=data_message,
            grayscale_fraction=getattr(dataset, "grayscale_fraction", None),
            data_check=data_check_findings(paths, dataset, echo), sesoi=float(sesoi), sequential=plan,
            seeds_of=None if plan is None else {a.name: list(seed_list) for a in arms}, precision=resolved,
            compile=options.compile)
        driver = StudyDriver(desc, dataset=dataset, device=device_obj, store=store, paths=paths, echo=echo,
                             prune_checkpoints=options.prune_checkpoints, keep_checkpoints=options.keep_checkpoints,
                             checkpoint_every=options.checkpoint_every, clock=checkpoint_clock, precision=resolved,
                             compile=options.compile)
        if not options.allow_data_errors:
            refuse_data_errors(desc.data_check, dataset.root)
        for note in dict.fromkeys(n for arm in arms for n in subset_shortfalls(dataset, arm.config["data"])):
            echo(f"warning: budget {budget}: {note}")
        write_previews(paths, arms, dataset, echo)
        driver.export()
        if plan is None:
            driver.run(executor)
            exported = driver.export()
        else:
            from augstudy.ablation.execution.seeds_auto import run_auto

            exported = run_auto(driver, store, executor, echo)
        table = format_effect_table(exported.effects.rows, exported.effects.header)
        records = store.runs(driver.order).values()
        counts = {s: sum(1 for r in records if r["status"] == s) for s in ("done", "diverged", "failed", "pending",
                                                                            "running")}
        echo("")
        echo(table)
        if exported.complete:  # what the designs measure on the finished study (policy strength: affinity, ...)
            exported = export_final(paths, desc, exported, dataset, device_obj)
        for text in DESIGNS.summaries(exported.designs):  # A x B table, best level, strength table
            echo(text)
        files = dict(exported.files)
        files["tb"] = paths.tb_dir
        files["checkpoints"] = paths.checkpoints_dir
        files["study_sqlite"] = store.path
        if options.report:
            files.update(_build_report(out_dir, echo))
        echo("files:")
        for name, path in files.items():
            echo(f"  {name:<18} {path}")
        echo(disk_line(paths))
        if counts["failed"]:
            echo(f"{counts['failed']} run(s) FAILED (see the error column of runs.csv); rerun the command to retry them")
    finally:
        store.close()
    return StudyResult(out_dir, files, exported.complete, table, exported.effects, counts)


def folder_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (0 when missing)."""
    import os

    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:
                pass  # removed meanwhile (another process's temporary)
    return total


def disk_line(paths: StudyPaths) -> str:
    """``disk: 1.2 GB in OUT (checkpoints 0.9 GB)``: what the study folder holds now."""
    def size(n: int) -> str:
        return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"

    return (f"disk: {size(folder_bytes(paths.root))} in {paths.root} "
            f"(checkpoints {size(folder_bytes(paths.checkpoints_dir))})")


def _cuda_name(device) -> str:
    import torch

    return torch.cuda.get_device_name(device)


def _build_report(out_dir: Path, echo) -> dict[str, Path]:
    # the one call from augstudy.ablation (outside designs/) into augstudy.report: lazy, so the
    # ablation machinery never imports the report (which imports the designs)
    from augstudy.report import build_report

    try:
        result = build_report(out_dir)
    except UserError as exc:
        echo(f"report: {exc}; the study itself is complete (run `augstudy report {out_dir}` to retry)")
        return {}
    except Exception as exc:  # noqa: BLE001 - the study's results are safe; the report can be rebuilt
        echo(f"report: failed ({type(exc).__name__}: {exc}); the study itself is complete "
             f"(run `augstudy --debug report {out_dir}` to see why)")
        return {}
    return {f"report_{k}": Path(v) for k, v in result.items()}


__all__ = ["run_study", "register_study", "StudyResult", "default_out_dir"]
