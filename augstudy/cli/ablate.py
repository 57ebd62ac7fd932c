"""``augstudy ablate FACTOR``: a paired-seed ablation of the fixed CNN, ranked effects, resumable.

Thin: collects the flags into a :class:`~augstudy.ablation.spec.options.StudyOptions` (the one validator
of every option: a bad value is one ``error:`` line naming its flag) and calls
:func:`augstudy.ablation.runner.run_study` (heavy imports happen inside the command, so ``--help`` is
instant).  Click only parses here: the ranges and choices it shows in ``--help`` are checked by
``StudyOptions``.
"""

from __future__ import annotations

import click

from augstudy.ablation.spec.options import (DEFAULT_CHECKPOINT_EVERY_S, DEFAULT_MAX_RETRIES, EXECUTORS, METRICS,
                                           PRECISIONS, Naming, StudyOptions)

#: StudyOptions field -> how this command spells it (messages name the flag the user typed)
FLAGS = {
    "factor": "FACTOR", "by": "--by", "seeds": "--seeds", "start_seeds": "--start-seeds",
    "max_seeds": "--max-seeds", "seed_batch": "--seed-batch", "sesoi": "--sesoi", "budget": "--budget",
    "data": "--data", "device": "--device", "metric": "--metric", "out": "--out", "specs_dir": "--specs",
    "report": "--no-report", "prune_checkpoints": "--prune-checkpoints", "keep_checkpoints": "--keep-checkpoints",
    "checkpoint_every": "--checkpoint-every", "precision": "--precision", "compile": "--compile",
    "executor": "--executor", "ray_address": "--ray-address", "gpus_per_run": "--gpus-per-run",
    "max_retries": "--max-retries", "allow_data_errors": "--allow-data-errors",
}
#: options only the Python API collects (``augstudy.ablate(model=..., budget_override=...)``)
API_ONLY = ("model", "budget_override")
CLI_NAMING = Naming("flag", FLAGS)


class _ShownIntRange(click.IntRange):
    """An ``IntRange`` as ``--help`` shows it; parsing only (StudyOptions checks the bound)."""

    def convert(self, value, param, ctx):
        return click.INT.convert(value, param, ctx)


class _ShownFloatRange(click.FloatRange):
    """A ``FloatRange`` as ``--help`` shows it; parsing only (StudyOptions checks the bound)."""

    def convert(self, value, param, ctx):
        return click.FLOAT.convert(value, param, ctx)


class _ShownChoice(click.Choice):
    """A ``Choice`` as ``--help`` shows it; the text as typed (StudyOptions checks it)."""

    def convert(self, value, param, ctx):
        return click.STRING.convert(value, param, ctx)


def _seeds_value(text: str) -> int | str:
    """``--seeds`` as typed: a whole number becomes a count, any other text stays text (``auto``)."""
    try:
        return int(text)
    except ValueError:
        return text


def collect_options(factor, *, seeds, start_seeds, max_seeds, seed_batch, sesoi, budget, data, device, metric, out,
                    no_report, specs, prune_checkpoints, keep_checkpoints, checkpoint_every, precision, compile_model,
                    executor_name, ray_address, gpus_per_run, max_retries, allow_data_errors, by) -> StudyOptions:
    """The command's parsed flags as a validated :class:`StudyOptions` (UserError naming the flag)."""
    return StudyOptions.collect({
        "factor": factor, "by": by, "seeds": _seeds_value(seeds), "start_seeds": start_seeds,
        "max_seeds": max_seeds, "seed_batch": seed_batch, "sesoi": sesoi, "budget": budget, "data": data,
        "device": device, "metric": metric, "out": out, "specs_dir": specs, "report": not no_report,
        "prune_checkpoints": prune_checkpoints, "keep_checkpoints": keep_checkpoints,
        "checkpoint_every": checkpoint_every, "precision": precision, "compile": compile_model,
        "executor": executor_name, "ray_address": ray_address, "gpus_per_run": gpus_per_run,
        "max_retries": max_retries, "allow_data_errors": allow_data_errors}, CLI_NAMING)


@click.command("ablate")
@click.argument("factor", required=False)
@click.option("--seeds", default="3", show_default=True,
              help="Paired seeds per arm (seeds 0..N-1; rerun with more to extend a study), or auto: start "
                   "with --start-seeds and add seeds only to arms without a verdict (group-sequential "
                   "stopping that keeps the error rates), at most --max-seeds.")
@click.option("--start-seeds", type=_ShownIntRange(min=2), default=3, show_default=True,
              help="With --seeds auto: seeds every arm gets before the first look.")
@click.option("--max-seeds", type=_ShownIntRange(min=2), default=20, show_default=True,
              help="With --seeds auto: the most seeds any arm gets; an arm undecided by then is inconclusive.")
@click.option("--seed-batch", type=_ShownIntRange(min=1), default=2, show_default=True,
              help="With --seeds auto: seeds added to each undecided arm per look.")
@click.option("--sesoi", type=_ShownFloatRange(min=0, min_open=True, max=100, max_open=True), default=None,
              help="Smallest effect size of interest, accuracy points: an arm whose effect is shown to lie "
                   "inside +-SESOI is 'equivalent' (default: the study spec's `sesoi`, else 1.0).")
@click.option("--budget", default="smoke", show_default=True,
              help="Budget from ablations/baseline.yaml: smoke (minutes on a CPU), short, full (the whole recipe).")
@click.option("--data", "data", default=None,
              help="Dataset folder (default: data/tiny-imagenet-200 if present, else the embedded fashion-mnist-mini).")
@click.option("--device", default="auto", show_default=True,
              help="auto (cuda if available, else cpu), cpu, cuda or cuda:K.")
@click.option("--metric", type=_ShownChoice(list(METRICS)), default="last3", show_default=True,
              help="Per-run metric: mean val accuracy of the last 3 epochs, the best epoch, or the final epoch.")
@click.option("--out", "out", metavar="DIRECTORY", default=None,
              help="Study folder (default: reports/<factor>-<dataset>/).")
@click.option("--list", "list_only", is_flag=True, help="List the factors, their levels and budgets, then exit.")
@click.option("--no-report", is_flag=True, help="Do not build report.html/report.md at the end (default: build it).")
@click.option("--specs", metavar="DIRECTORY", default=None,
              help="Folder of study specs (default: the repo's ablations/, or $AUGSTUDY_ABLATIONS_DIR).")
@click.option("--prune-checkpoints", is_flag=True,
              help="Delete every run's checkpoint once it finished, the clean arm's too (default: keep only "
                   "the weights a later command reads: runs trained without augmentation, for affinity).")
@click.option("--keep-checkpoints", is_flag=True,
              help="Keep every finished run's weights (a slim checkpoint without optimizer state).")
@click.option("--checkpoint-every", type=_ShownFloatRange(min=0), default=DEFAULT_CHECKPOINT_EVERY_S, show_default=True,
              metavar="SECONDS",
              help="Checkpoint a run at most this often (written in the background; also at the end of a run, "
                   "and at once on Ctrl-C or SIGTERM); a kill -9 loses at most this much training. 0: at every "
                   "epoch end.")
@click.option("--precision", type=_ShownChoice(PRECISIONS), default="auto", show_default=True,
              help="bf16 autocast or fp32; auto: bf16 on CUDA and on CPUs with native bf16 (AVX512-BF16, AMX), "
                   "else fp32. Part of the study: a rerun keeps the precision it started with.")
@click.option("--compile/--no-compile", "compile_model", default=False, show_default=True,
              help="torch.compile the model (falls back to eager with a warning if compiling fails).")
@click.option("--executor", "executor_name", type=_ShownChoice(EXECUTORS), default="local",
              show_default=True, help="Who trains the runs: local (this process, one after another) or ray "
                                      "(Ray tasks, several at once; needs pip install 'augstudy[ray]').")
@click.option("--ray-address", default=None,
              help="With --executor ray: a running cluster (`auto`, or HOST:PORT of its head); "
                   "default: start a local Ray instance on this machine.")
@click.option("--gpus-per-run", type=_ShownFloatRange(min=0), default=None,
              help="With --executor ray: GPUs each run asks for, fractions share a GPU "
                   "(default: 1 on a CUDA study, 0 on a CPU one).")
@click.option("--max-retries", type=_ShownIntRange(min=0), default=DEFAULT_MAX_RETRIES, show_default=True,
              help="With --executor ray: resubmissions of a run whose worker died, from its last checkpoint.")
@click.option("--by", "by", default=None,
              help="A second factor: train the full factorial FACTOR x BY (every cell on the same paired seeds) "
                   "and report simple, main and interaction effects (default: FACTOR alone).")
@click.option("--allow-data-errors", is_flag=True,
              help="Train even when `augstudy data check` finds errors in the dataset (default: refuse).")
def ablate_command(factor, seeds, start_seeds, max_seeds, seed_batch, sesoi, budget, data, device, metric, out,
                   list_only, no_report, specs,
                   prune_checkpoints, keep_checkpoints, checkpoint_every, precision, compile_model, executor_name,
                   ray_address, gpus_per_run, max_retries,
                   allow_data_errors, by) -> None:
    """Ablate FACTOR (a file in ablations/, or `all`): every level x --seeds paired seeds.

    \b
    Prints the ranked effect table (accuracy points vs the baseline arm; one verdict per arm:
    better, worse, equivalent within +-SESOI, inconclusive with the seeds that would settle
    it, or unstable when a seed diverged) and writes study.sqlite, runs/epochs/class_metrics/
    effects CSVs, tb/ and checkpoints/ to the study folder.  Rerunning the same command resumes:
    finished runs are skipped, an interrupted run continues from its last epoch.  Two processes (e.g. --device cuda:0
    and --device cuda:1) may work on one study at once.
    """
    if list_only:
        from augstudy.ablation.spec.study_spec import format_factor_list

        click.echo(format_factor_list(specs))
        return
    options = collect_options(
        factor, seeds=seeds, start_seeds=start_seeds, max_seeds=max_seeds, seed_batch=seed_batch, sesoi=sesoi,
        budget=budget, data=data, device=device, metric=metric, out=out, no_report=no_report, specs=specs,
        prune_checkpoints=prune_checkpoints, keep_checkpoints=keep_checkpoints, checkpoint_every=checkpoint_every,
        precision=precision, compile_model=compile_model, executor_name=executor_name, ray_address=ray_address,
        gpus_per_run=gpus_per_run, max_retries=max_retries, allow_data_errors=allow_data_errors, by=by)
    from augstudy.ablation.runner import run_study

    debug = bool((click.get_current_context().find_root().obj or {}).get("debug"))
    result = run_study(options, echo=click.echo, debug=debug)
    if result.counts.get("failed"):
        raise SystemExit(1)
