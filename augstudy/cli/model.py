"""``augstudy model summary``: the torchsummary-style table of the report's CNNs."""

from __future__ import annotations

import click


@click.group("model")
def model_group() -> None:
    """The fixed CNNs of the report."""


@model_group.command("summary")
@click.argument("name", type=click.Choice(["final", "first"]), default="final")
@click.option("--classes", type=click.IntRange(min=2), default=None,
              help="Number of classes (default: 200 for final, 10 for first).")
@click.option("--dropout", type=click.FloatRange(0.0, 1.0, max_open=True), default=0.3, show_default=True,
              help="Classifier dropout p.")
@click.option("--bn-order", type=click.Choice(["after", "before"]), default="after", show_default=True,
              help="BatchNorm after (report's table) or before each max-pool.")
@click.option("--activation", type=click.Choice(["relu", "leaky_relu"]), default="relu", show_default=True,
              help="Activation function.")
def summary_command(name: str, classes: int | None, dropout: float, bn_order: str, activation: str) -> None:
    """Print NAME's layer table (Layer (type), Output Shape, Param #) and totals."""
    from augstudy import models

    model = models.build_model(name, classes, dropout, bn_order, activation)
    rows = models.summarize(model, models.INPUT_SIZES[name])
    click.echo(models.format_summary(rows, models.count_parameters(model)))
