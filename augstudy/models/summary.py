"""What a model costs: parameters, a torchsummary-style layer table, forward FLOPs.

Works for any ``nn.Module`` (the report's CNNs, a user factory's model, a timm model).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@dataclass(frozen=True)
class SummaryRow:
    """One torchsummary row: ``Conv2d-1``, output shape ``(2, 32, 62, 62)`` (batch first), parameter count."""

    layer: str
    output_shape: tuple[int, ...]
    params: int

    @property
    def shape_text(self) -> str:
        if not self.output_shape:
            return "-"
        return "[" + ", ".join(["-1", *map(str, self.output_shape[1:])]) + "]"


def _first_tensor(output) -> torch.Tensor | None:
    """The module's output tensor, or the first tensor of a tuple/list/dict output."""
    if isinstance(output, torch.Tensor):
        return output
    items = output.values() if isinstance(output, dict) else output if isinstance(output, (tuple, list)) else ()
    return next((t for t in (_first_tensor(o) for o in items) if t is not None), None)


def _eval_forward(model: nn.Module, batch: int, input_size: tuple[int, int, int]) -> None:
    """One eval-mode, no-grad forward pass on zeros ``[batch, *input_size]`` on the model's device;
    the model's train/eval mode is restored afterwards."""
    param = next(model.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(batch, *input_size, device=device))
    finally:
        model.train(was_training)


def summarize(model: nn.Module, input_size: tuple[int, int, int]) -> list[SummaryRow]:
    """Run one eval forward pass on zeros of ``[2, *input_size]`` and list every leaf
    module in execution order, numbered like torchsummary (``Conv2d-1``, ``ReLU-2``...).

    A leaf module called twice gets two rows; one whose output holds no tensor shows ``-``.
    """
    rows: list[SummaryRow] = []
    hooks = []

    def hook(module, _inputs, output):
        n = len(rows) + 1
        params = sum(p.numel() for p in module.parameters(recurse=False))
        tensor = _first_tensor(output)
        shape = tuple(tensor.shape) if tensor is not None else ()
        rows.append(SummaryRow(f"{type(module).__name__}-{n}", shape, params))

    for module in model.modules():
        if not list(module.children()):
            hooks.append(module.register_forward_hook(hook))
    try:
        _eval_forward(model, 2, input_size)
    finally:
        for h in hooks:
            h.remove()
    return rows


def format_flops(flops: int) -> str:
    """``1234567890`` -> ``1,234,567,890 (1.23 GFLOP)``; under 1e9: ``4,915,200 (4.92 MFLOP)``."""
    return f"{flops:,} ({flops / 1e9:.2f} GFLOP)" if flops >= 1e9 else f"{flops:,} ({flops / 1e6:.2f} MFLOP)"


def format_summary(rows: list[SummaryRow], total_params: int, flops: int | None = None) -> str:
    """Render rows as the torchsummary table, with totals (and forward FLOPs per image when given)."""
    line = "-" * 64
    out = [line, f"{'Layer (type)':>20}  {'Output Shape':>25} {'Param #':>15}", "=" * 64]
    for r in rows:
        out.append(f"{r.layer:>20}  {r.shape_text:>25} {r.params:>15,}")
    out += ["=" * 64, f"Total params: {total_params:,}", f"Trainable params: {total_params:,}",
            "Non-trainable params: 0"]
    if flops is not None:
        out.append(f"Forward FLOPs per image: {format_flops(flops)}")
    out.append(line)
    return "\n".join(out)


def count_flops(model: nn.Module, input_size: tuple[int, int, int]) -> int:
    """Forward FLOPs per image, counted by ``torch.utils.flop_counter.FlopCounterMode`` on one
    eval-mode forward pass of a ``[1, *input_size]`` batch.

    FlopCounterMode counts 2 x multiply-accumulates of matrix products and convolutions
    (``mm``/``addmm``/``convolution``, attention and the like for other models); bias adds,
    norms, pooling and activations count as 0.  For the report's CNNs this is exactly the
    former hand count, 2 x MACs of the conv and linear layers (``final``: 1,031,602,944).
    A training step costs about 3x this (forward + backward of activations and weights).
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        _eval_forward(model, 1, input_size)
    return int(counter.get_total_flops())
