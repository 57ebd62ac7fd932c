"""One entry point that builds any model a study may train: :func:`build_model`.

``model`` is ``final``/``first`` (the report's CNNs), ``timm:<name>``, an import path
``package.module:function`` or, from Python, a callable (a function or an ``nn.Module`` class).
Knobs are checked by :func:`augstudy.models.knobs.check_model_knobs` before anything is built.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from torch import nn

from augstudy.errors import UserError
from augstudy.models.cnn import build_final, build_first
from augstudy.models.knobs import (
    TIMM_KNOBS, TIMM_PREFIX, check_model_knobs, import_factory, model_label, require_timm,
)

#: input size (channels, height, width) each built-in model was designed for
INPUT_SIZES = {"final": (3, 64, 64), "first": (3, 32, 32)}
#: classes of each built-in model when ``num_classes`` is not given
DEFAULT_CLASSES = {"final": 200, "first": 10}
#: classes of any other model when ``num_classes`` is not given (Tiny ImageNet's, like ``final``)
OTHER_DEFAULT_CLASSES = 200
#: input size assumed for models without an entry in INPUT_SIZES (the datasets' 64x64 RGB)
OTHER_INPUT_SIZE = (3, 64, 64)


def input_size_for(model: str | Callable, image_size: int | None = None) -> tuple[int, int, int]:
    """``(3, H, W)`` to summarize ``model`` with: a built-in's own size, else ``image_size`` (default 64)."""
    if isinstance(model, str) and model in INPUT_SIZES and image_size is None:
        return INPUT_SIZES[model]
    side = image_size or OTHER_INPUT_SIZE[-1]
    return (3, side, side)


def build_model(name: str | Callable = "final", num_classes: int | None = None, dropout: float = 0.3,
                bn_order: str = "after", activation: str = "relu", **knobs: Any) -> nn.Module:
    """Build ``name`` with ``num_classes`` outputs and the given knobs.

    Args:
        name: ``final``, ``first``, ``timm:<name>``, ``package.module:function`` or a callable
            taking ``num_classes`` (and any knobs it declares) and returning an ``nn.Module``.
        num_classes: output logits (default: 200 for final, 10 for first, 200 otherwise).
        dropout, bn_order, activation, **knobs: ablation knobs (see ``augstudy.models.KNOBS``); a
            knob the model does not take must stay at its default.

    Returns:
        The model in train mode, on the CPU; input ``[B, 3, H, W]`` float, output ``[B, num_classes]``.

    Raises:
        UserError: a bad knob value, a knob the model does not take, an unimportable model;
            MissingDependencyError for ``timm:`` without timm installed.
    """
    passed = check_model_knobs(name, {"dropout": dropout, "bn_order": bn_order, "activation": activation, **knobs})
    if isinstance(name, str) and name in DEFAULT_CLASSES:
        classes = num_classes or DEFAULT_CLASSES[name]
        builder = build_final if name == "final" else build_first
        return builder(classes, **passed)
    classes = num_classes or OTHER_DEFAULT_CLASSES
    if isinstance(name, str) and name.startswith(TIMM_PREFIX):
        timm = require_timm()
        timm_args = {TIMM_KNOBS[k]: v for k, v in passed.items()}
        return timm.create_model(name[len(TIMM_PREFIX):], pretrained=False, num_classes=classes, **timm_args)
    factory = name if callable(name) else import_factory(name)
    model = factory(num_classes=classes, **passed)
    if not isinstance(model, nn.Module):
        raise UserError(f"model '{model_label(name)}' returned {type(model).__name__}, not a torch nn.Module")
    return model


def build_model_from_config(section: Mapping[str, Any], num_classes: int) -> nn.Module:
    """The model of a run config's ``model`` section (``{name, <knob>: value, ...}``)."""
    knobs = {k: v for k, v in section.items() if k != "name"}
    return build_model(section.get("name", "final"), num_classes=num_classes, **knobs)
