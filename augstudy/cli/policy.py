"""``augstudy policy show|check``: print a resolved policy, or validate a policy file."""

from __future__ import annotations

import click

_STRENGTH_HELP = ("Scale every magnitude of the policy by this factor (0 = no augmentation, 1 = as written, "
                  "the default; per-op rules in augstudy/policy/ops/).")


def _load(spec: str, image_size: int | None, strength: float | None):
    from augstudy.policy.loader import load_policy
    from augstudy.policy.strength import scale_policy

    policy = load_policy(spec, image_size=image_size)
    return policy if strength is None else scale_policy(policy, strength)


@click.group("policy")
def policy_group() -> None:
    """Augmentation policies: presets (none, light, medium, heavy, final), YAML files, albumentations files."""


@policy_group.command("show")
@click.argument("spec", metavar="NAME|FILE")
@click.option("--image-size", type=click.IntRange(1, 4096), default=None,
              help="Model input side in px (default: the policy's image_size, 64).")
@click.option("--strength", type=click.FloatRange(min=0.0), default=None, help=_STRENGTH_HELP)
@click.option("--output", "output_format", type=click.Choice(["table", "yaml", "json"]), default="table",
              show_default=True, help="table: ops with every parameter; yaml/json: the resolved policy as data.")
def show_command(spec: str, image_size: int | None, strength: float | None, output_format: str) -> None:
    """Print the resolved policy NAME|FILE: every op with all parameters (defaults filled in) and p, plus notes."""
    from augstudy.policy.degenerate import policy_warnings
    from augstudy.policy.render import format_policy_table, policy_as_text

    policy = _load(spec, image_size, strength)
    if output_format == "table":
        click.echo(format_policy_table(policy))
        for note in policy.notes:
            click.echo(f"note: {note}")
    else:  # keep stdout machine-readable; notes go to stderr
        click.echo(policy_as_text(policy, output_format))
        for note in policy.notes:
            click.echo(f"note: {note}", err=True)
    for warning in policy_warnings(policy):
        click.echo(f"warning: {warning}", err=True)


@policy_group.command("check")
@click.argument("path", metavar="FILE")
@click.option("--image-size", type=click.IntRange(1, 4096), default=None,
              help="Model input side in px (default: the policy's image_size, 64).")
@click.option("--strength", type=click.FloatRange(min=0.0), default=None, help=_STRENGTH_HELP)
def check_command(path: str, image_size: int | None, strength: float | None) -> None:
    """Validate the policy FILE (or preset name): prints 'ok: ...' and exits 0, or one error line and exits 2.

    Parameters that make most draws degenerate (crops that are mostly padding, boxes that round
    to nothing) print 'warning: ...' lines on stderr; the exit code stays 0.
    """
    from augstudy.policy.degenerate import policy_warnings

    policy = _load(path, image_size, strength)
    ops = ", ".join(spec.op for spec in policy.ops) or "no ops"
    warnings = policy_warnings(policy)
    click.echo(f"ok: {path}: policy {policy.name!r}, {len(policy.ops)} ops ({ops}), "
               f"output {policy.image_size}x{policy.image_size}"
               + (f", {len(warnings)} warning(s)" if warnings else ""))
    for note in policy.notes:
        click.echo(f"note: {note}", err=True)
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
