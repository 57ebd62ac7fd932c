"""``augstudy ablate FACTOR``: a paired-seed ablation of the fixed CNN, ranked effects, resumable.

Thin: parses options and calls :func:`augstudy.ablation.runner.run_study` (heavy imports
happen inside the command, so ``--help`` is instant).
"""

from __future__ import annotations

import click


def _seeds_option(ctx, param, value):
    """``--seeds``: a positive count, or ``auto``."""
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    try:
        count = int(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a number of seeds nor auto") from None
    if count < 1:
        raise click.BadParameter(f"{count} seeds: need at least 1")
    return count


@click.command("ablate")
@click.argument("factor", required=False)
@click.option("--seeds", default="3", show_default=True, callback=_seeds_option,
              help="Paired seeds per arm (seeds 0..N-1; rerun with more to extend a study), or auto: start "
                   "with --start-seeds and add seeds only to arms without a verdict (group-sequential "
                   "stopping that keeps the error rates), at most --max-seeds.")
@click.option("--start-seeds", type=click.IntRange(min=2), default=3, show_default=True,
              help="With --seeds auto: seeds every arm gets before the first look.")
@click.option("--max-seeds", type=click.IntRange(min=2), default=20, show_default=True,
              help="With --seeds auto: the most seeds any arm gets; an arm undecided by then is inconclusive.")
@click.option("--seed-batch", type=click.IntRange(min=1), default=2, show_default=True,
              help="With --seeds auto: seeds added to each undecided arm per look.")
@click.option("--sesoi", type=click.FloatRange(min=0, min_open=True, max=100, max_open=True), default=None,
              help="Smallest effect size of interest, accuracy points: an arm whose effect is shown to lie "
                   "inside +-SESOI is 'equivalent' (default: the study spec's `sesoi`, else 1.0).")
@click.option("--budget", default="smoke", show_default=True,
              help="Budget from ablations/baseline.yaml: smoke (minutes on a CPU), short, full (the whole recipe).")
@click.option("--data", "data", default=None,
              help="Dataset folder (default: data/tiny-imagenet-200 if present, else the embedded fashion-mnist-mini).")
@click.option("--device", default="auto", show_default=True,
              help="auto (cuda if available, else cpu), cpu, cuda or cuda:K.")
@click.option("--metric", type=click.Choice(["last3", "best", "final"]), default="last3", show_default=True,
              help="Per-run metric: mean val accuracy of the last 3 epochs, the best epoch, or the final epoch.")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Study folder (default: reports/<factor>-<dataset>/).")
@click.option("--list", "list_only", is_flag=True, help="List the factors, their levels and budgets, then exit.")
@click.option("--no-report", is_flag=True, help="Do not build report.html/report.md at the end (default: build it).")
@click.option("--specs", type=click.Path(file_okay=False), default=None,
              help="Folder of study specs (default: the repo's ablations/, or $AUGSTUDY_ABLATIONS_DIR).")
@click.option("--prune-checkpoints", is_flag=True,
              help="Delete every run's checkpoint once it finished, the clean arm's too (default: keep only "
                   "the weights a later command reads: runs trained without augmentation, for affinity).")
@click.option("--keep-checkpoints", is_flag=True,
              help="Keep every finished run's weights (a slim checkpoint without optimizer state).")
@click.option("--checkpoint-every", type=click.FloatRange(min=0), default=120.0, show_default=True,
              metavar="SECONDS",
              help="Checkpoint a run at most this often (written in the background; also at the end of a run, "
                   "and at once on Ctrl-C or SIGTERM); a kill -9 loses at most this much training. 0: at every "
                   "epoch end.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
              help="bf16 autocast or fp32; auto: bf16 on CUDA and on CPUs with native bf16 (AVX512-BF16, AMX), "
                   "else fp32. Part of the study: a rerun keeps the precision it started with.")
@click.option("--compile/--no-compile", "compile_model", default=False, show_default=True,
              help="torch.compile the model (falls back to eager with a warning if compiling fails).")
@click.option("--executor", "executor_name", type=click.Choice(["local", "ray"]), default="local",
              show_default=True, help="Who trains the runs: local (this process, one after another) or ray "
                                      "(Ray tasks, several at once; needs pip install 'augstudy[ray]').")
@click.option("--ray-address", default=None,
              help="With --executor ray: a running cluster (`auto`, or HOST:PORT of its head); "
                   "default: start a local Ray instance on this machine.")
@click.option("--gpus-per-run", type=click.FloatRange(min=0), default=None,
              help="With --executor ray: GPUs each run asks for, fractions share a GPU "
                   "(default: 1 on a CUDA study, 0 on a CPU one).")
@click.option("--max-retries", type=click.IntRange(min=0), default=2, show_default=True,
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
    from augstudy.errors import UserError

    if list_only:
        from augstudy.ablation.spec.study_spec import format_factor_list

        click.echo(format_factor_list(specs))
        return
    if by is not None:  # refuse `--by all` and `A --by A` before anything loads
        from augstudy.ablation.designs.factorial import check_factor_pair

        check_factor_pair(factor, by)
    if not factor:
        raise UserError("missing FACTOR: name a factor (see `augstudy ablate --list`) or `all`")
    from augstudy.ablation.execution.executors import make_executor
    from augstudy.ablation.runner import run_study

    debug = bool((click.get_current_context().find_root().obj or {}).get("debug"))
    executor = make_executor(executor_name, address=ray_address, gpus_per_run=gpus_per_run,
                             max_retries=max_retries, echo=click.echo, debug=debug)
    result = run_study(factor, seeds=seeds, budget=budget, data=data, device=device, metric=metric, out=out,
                       report=not no_report, specs_dir=specs, prune_checkpoints=prune_checkpoints,
                       keep_checkpoints=keep_checkpoints, checkpoint_every=checkpoint_every, precision=precision,
                       compile=compile_model,
                       executor=executor, echo=click.echo, allow_data_errors=allow_data_errors,
                       sesoi=sesoi, start_seeds=start_seeds, max_seeds=max_seeds, seed_batch=seed_batch,
                       by=by)
    if result.counts.get("failed"):
        raise SystemExit(1)
