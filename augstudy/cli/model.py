"""``augstudy model summary``: the torchsummary-style table, parameter count and FLOPs of a model."""

from __future__ import annotations

import click


@click.group("model")
def model_group() -> None:
    """The models a study trains: the report's CNNs, your own, timm's."""


@model_group.command("summary")
@click.argument("name", default="final")
@click.option("--set", "assignments", multiple=True, metavar="KNOB=VALUE",
              help="Set an ablation knob, e.g. --set width=1.5 (repeatable; default: none, the knobs' "
                   "defaults). Knobs: dropout, bn_order, activation, classifier_depth, width, "
                   "conv_regularizer, conv_dropout, pool_stride; a model takes only those it declares.")
@click.option("--classes", type=click.IntRange(min=2), default=None,
              help="Number of classes (default: 200 for final, 10 for first, 200 for other models).")
@click.option("--dropout", type=click.FloatRange(0.0, 1.0, max_open=True), default=None,
              help="Classifier dropout p (default: 0.3; same as --set dropout=P).")
@click.option("--bn-order", type=click.Choice(["after", "before"]), default=None,
              help="BatchNorm after (report's table) or before each max-pool (default: after).")
@click.option("--activation", type=click.Choice(["relu", "leaky_relu"]), default=None,
              help="Activation function (default: relu).")
@click.option("--image-size", type=click.IntRange(min=8), default=None,
              help="Side of the square RGB input the table is computed for (default: 64 for final and "
                   "other models, 32 for first).")
def summary_command(name: str, assignments: tuple[str, ...], classes: int | None, dropout: float | None,
                    bn_order: str | None, activation: str | None, image_size: int | None) -> None:
    """Print NAME's layer table (Layer (type), Output Shape, Param #), totals and forward FLOPs.

    NAME is final (default), first, timm:<model> (timm installed) or an import path
    package.module:function called with num_classes and the knobs it declares.
    """
    from augstudy import models
    from augstudy.errors import UserError

    knobs = {k: v for k, v in (("dropout", dropout), ("bn_order", bn_order), ("activation", activation))
             if v is not None}
    for text in assignments:
        key, value = models.parse_knob_assignment(text)
        knobs[key] = value
    models.check_model_name(name)
    model = models.build_model(name, classes, **knobs)
    input_size = models.input_size_for(name, image_size)
    try:
        rows = models.summarize(model, input_size)
        flops = models.count_flops(model, input_size)
    except RuntimeError as exc:  # e.g. a Linear sized for another input: name the fix
        raise UserError(f"model '{name}' cannot run on a [2, {', '.join(map(str, input_size))}] input "
                        f"({str(exc).splitlines()[0]}); pass --image-size for the input it expects") from None
    click.echo(models.format_summary(rows, models.count_parameters(model), flops))
