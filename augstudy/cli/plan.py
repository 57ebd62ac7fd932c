"""``augstudy plan``: paired seeds, runs and GPU/CPU hours a study needs, before spending them.

Thin: parses options, then calls :func:`augstudy.ablation.plan.plan` (imported inside the command
so ``--help`` stays instant) and prints its table.
"""

from __future__ import annotations

import click


def _effects(ctx, param, value: str | None):
    if value is None:
        return None
    try:
        return tuple(float(x) for x in value.split(",") if x.strip())
    except ValueError:
        raise click.BadParameter(f"{value!r}: give points separated by commas, e.g. --effect 0.5,1,2") from None


@click.command("plan")
@click.option("--from", "from_study", default=None, metavar="STUDY_DIR",
              help="A pilot study folder: its seed sd, val accuracy, churn, val-set sd, val size, arm count, "
                   "SESOI and measured run time (options below override them). Default: none, give numbers.")
@click.option("--val-size", type=int, default=None, help="Val images of the planned study (default: the pilot's).")
@click.option("--arms", type=int, default=None, help="Non-baseline arms of the planned study (default: the pilot's).")
@click.option("--sesoi", type=float, default=None,
              help="Equivalence margin, accuracy points (default: the pilot's, else 1).")
@click.option("--seed-sd", type=float, default=None,
              help="Sd over seeds of the per-seed difference arm - baseline, points, at --val-size images "
                   "(default: the pilot's).")
@click.option("--accuracy", type=float, default=None,
              help="Val accuracy level, fraction (default: the pilot's, else 0.5).")
@click.option("--churn", type=float, default=None,
              help="Share of val examples two runs of one arm disagree on (default: the pilot's, else the "
                   "largest the seed sd allows).")
@click.option("--val-sd", type=float, default=None,
              help="Sd of an arm's effect from which val images were drawn, points (default: the pilot's, else 0).")
@click.option("--effect", "effects", callback=_effects, default=None, metavar="PTS[,PTS]",
              help="Effects to detect as 'better', points, comma-separated (default: 1,2).")
@click.option("--power", type=float, default=0.8, show_default=True, help="Rate of the wanted verdict to reach.")
@click.option("--sims", type=int, default=None,
              help="Simulated studies per seed count (default: 400, fewer for large val sets, at least 100).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the simulation.")
@click.option("--max-seeds", type=int, default=50, show_default=True, help="Largest fixed design searched.")
@click.option("--no-auto", is_flag=True, default=False, help="Skip the --seeds auto simulation (default: simulate it).")
@click.option("--run-minutes", type=float, default=None,
              help="Minutes per run for the hours columns (default: the pilot's measured mean; none without a pilot).")
@click.option("--device", default=None, help="Where the runs train, for the hours label (default: the pilot's).")
@click.option("--out", default=None, metavar="DIR",
              help="Also write DIR/plan.json and DIR/plan.csv (default: print only).")
def plan_command(from_study, val_size, arms, sesoi, seed_sd, accuracy, churn, val_sd, effects, power, sims, seed,
                 max_seeds, no_auto, run_minutes, device, out) -> None:
    """How many paired seeds (and runs, and hours) a study needs: 80% power to call 'better' at +1
    and +2 points, and 'equivalent' inside +-SESOI, for a fixed design and under --seeds auto.

    Computed by simulating per-example correctness and deciding it with the study's own rule.

    \b
    Examples:
      augstudy plan --val-size 2000 --arms 4 --seed-sd 0.8 --accuracy 0.48 --churn 0.1
      augstudy plan --from reports/dropout-fashion-mnist-mini --val-size 10000 --out reports/plan
    """
    from augstudy.ablation.plan import DEFAULT_EFFECTS, plan

    result = plan(from_study, val_size=val_size, arms=arms, sesoi=sesoi, seed_sd=seed_sd, accuracy=accuracy,
                  churn=churn, val_sd=val_sd, effects=effects or DEFAULT_EFFECTS, power=power, sims=sims,
                  seed=seed, max_seeds=max_seeds, auto=not no_auto, run_minutes=run_minutes, device=device,
                  out=out)
    click.echo(result.table(), nl=False)
    for kind in ("json", "csv"):
        if kind in result.paths:
            click.echo(f"wrote {result.paths[kind]}")
