"""The report's CNNs, built exactly as its torchsummary tables list them.

``final``: the fixed final model (input ``[B, 3, 64, 64]``, 200 classes,
25,934,856 parameters).  ``first``: the report's very first model (input
``[B, 3, 32, 32]``, 10 classes, 1,540,558 parameters).

Knobs the ablations turn (none but ``num_classes`` changes the parameter count):

- ``dropout``: classifier dropout probability ``p`` (the report settled on 0.3);
- ``bn_order``: ``"after"`` puts each BatchNorm after its max-pool (the table),
  ``"before"`` puts it before the pool (the report's last experiment);
- ``activation``: ``"relu"`` (the report's choice) or ``"leaky_relu"`` (slope 0.01).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

MODEL_NAMES = ("final", "first")
ACTIVATIONS = ("relu", "leaky_relu")
BN_ORDERS = ("after", "before")

#: input size (channels, height, width) each model was designed for
INPUT_SIZES = {"final": (3, 64, 64), "first": (3, 32, 32)}
DEFAULT_CLASSES = {"final": 200, "first": 10}


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01, inplace=True)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _pool_block(channels: int, pool: nn.Module, bn_order: str) -> list[nn.Module]:
    """MaxPool then BatchNorm (``after``, as in the table) or the reverse (``before``)."""
    if bn_order == "after":
        return [pool, nn.BatchNorm2d(channels)]
    if bn_order == "before":
        return [nn.BatchNorm2d(channels), pool]
    raise ValueError(f"bn_order must be one of {BN_ORDERS}, got {bn_order!r}")


def build_final(num_classes: int = 200, dropout: float = 0.3, bn_order: str = "after",
                activation: str = "relu") -> nn.Sequential:
    """The report's final CNN.  Input ``[B, 3, 64, 64]`` float, output logits ``[B, num_classes]``."""
    act = lambda: _activation(activation)  # noqa: E731 - a fresh module per use
    layers: list[nn.Module] = [
        nn.Conv2d(3, 32, 5, padding=1), act(), nn.BatchNorm2d(32),            # 64 -> 62
        nn.Conv2d(32, 32, 5, padding=1), act(),                               # 62 -> 60
        *_pool_block(32, nn.MaxPool2d(2), bn_order),                          # 60 -> 30
        nn.Conv2d(32, 96, 3, padding=1), act(), nn.BatchNorm2d(96),
        nn.Conv2d(96, 128, 3, padding=1), act(),
        *_pool_block(128, nn.MaxPool2d(2), bn_order),                         # 30 -> 15
        nn.Conv2d(128, 256, 3, padding=1), act(), nn.BatchNorm2d(256),
        nn.Conv2d(256, 384, 3, padding=1), act(),
        *_pool_block(384, nn.MaxPool2d(5, 5), bn_order),                      # 15 -> 3
        nn.Flatten(),                                                         # 384*3*3 = 3456
        nn.Linear(3456, 3456), act(), nn.Dropout(dropout),
        nn.Linear(3456, 3456), act(), nn.Dropout(dropout),
        nn.Linear(3456, num_classes),
    ]
    return nn.Sequential(*layers)


def build_first(num_classes: int = 10, dropout: float = 0.3, bn_order: str = "after",
                activation: str = "relu") -> nn.Sequential:
    """The report's first CNN.  Input ``[B, 3, 32, 32]``, output logits ``[B, num_classes]``.

    Its table has one MaxPool followed by BatchNorm in the middle (``bn_order`` swaps
    that pair) and two dropouts, both using ``dropout``.
    """
    act = lambda: _activation(activation)  # noqa: E731
    layers: list[nn.Module] = [
        nn.Conv2d(3, 32, 5, padding=1), nn.BatchNorm2d(32),                   # 32 -> 30
        nn.Conv2d(32, 32, 5, padding=1), act(),                               # 30 -> 28
        *_pool_block(32, nn.MaxPool2d(2), bn_order),                          # 28 -> 14
        nn.Conv2d(32, 96, 3, padding=1), nn.BatchNorm2d(96),
        nn.Conv2d(96, 256, 3, padding=1), nn.Dropout(dropout), nn.BatchNorm2d(256),
        nn.Conv2d(256, 384, 3, padding=1), act(),
        *_pool_block(384, nn.MaxPool2d(2), bn_order),                         # 14 -> 7
        nn.Flatten(), nn.Dropout(dropout),                                    # 384*7*7 = 18816
        nn.Linear(18816, 20), act(), nn.BatchNorm1d(20),
        nn.Linear(20, num_classes),
    ]
    return nn.Sequential(*layers)


def build_model(name: str = "final", num_classes: int | None = None, dropout: float = 0.3,
                bn_order: str = "after", activation: str = "relu") -> nn.Sequential:
    """Build ``final`` or ``first`` with the given knobs (see the module docstring)."""
    if name not in MODEL_NAMES:
        raise ValueError(f"model must be one of {MODEL_NAMES}, got {name!r}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    builder = build_final if name == "final" else build_first
    return builder(num_classes or DEFAULT_CLASSES[name], dropout, bn_order, activation)


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass(frozen=True)
class SummaryRow:
    """One torchsummary row: ``Conv2d-1``, output shape ``[-1, 32, 62, 62]``, parameter count."""

    layer: str
    output_shape: tuple[int, ...]
    params: int

    @property
    def shape_text(self) -> str:
        return "[" + ", ".join(["-1", *map(str, self.output_shape[1:])]) + "]"


def summarize(model: nn.Module, input_size: tuple[int, int, int]) -> list[SummaryRow]:
    """Run one eval forward pass on zeros of ``[2, *input_size]`` and list every leaf
    module in execution order, numbered like torchsummary (``Conv2d-1``, ``ReLU-2``...)."""
    rows: list[SummaryRow] = []
    hooks = []

    def hook(module, _inputs, output):
        n = len(rows) + 1
        params = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append(SummaryRow(f"{type(module).__name__}-{n}", tuple(output.shape), params))

    for module in model.modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(2, *input_size))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return rows


def format_summary(rows: list[SummaryRow], total_params: int) -> str:
    """Render rows as the torchsummary table, with totals."""
    line = "-" * 64
    out = [line, f"{'Layer (type)':>20}  {'Output Shape':>25} {'Param #':>15}", "=" * 64]
    for r in rows:
        out.append(f"{r.layer:>20}  {r.shape_text:>25} {r.params:>15,}")
    out += ["=" * 64, f"Total params: {total_params:,}", f"Trainable params: {total_params:,}",
            "Non-trainable params: 0", line]
    return "\n".join(out)


def count_flops(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Forward FLOPs per image (2 x multiply-accumulates of conv and linear layers).

    A training step costs about 3x this (forward + backward of activations and weights).
    """
    flops = 0
    hooks = []

    def conv_hook(module: nn.Conv2d, _inputs, output):
        nonlocal flops
        kernel = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        flops += 2 * kernel * output[0].numel()

    def linear_hook(module: nn.Linear, _inputs, output):
        nonlocal flops
        flops += 2 * module.in_features * module.out_features

    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_size))
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return flops
