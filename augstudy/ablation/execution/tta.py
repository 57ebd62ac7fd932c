"""Test-time augmentation at evaluation: the logits the val metrics are computed from.

``eval.tta``: ``none`` (the model's logits) or ``flip``: the mean of the logits of the image and of its
horizontal mirror, ``(f(x) + f(flip(x))) / 2`` (airbench's ``tta_level=1``; timm's and torchvision's
references average softmax probabilities or logits alike, the argmax differs only on near ties).  The val
loss of a TTA run is the cross-entropy of these averaged logits.  Training is unchanged: a TTA arm trains the
same model as its baseline (same seed, same config but ``eval``), so its effect is the evaluation's alone.

Shapes: ``x`` float ``[B, 3, S, S]`` (normalized); logits ``[B, K]``.
"""

from __future__ import annotations

import torch
from torch import nn

TTA_MODES = ("none", "flip")


def tta_mode(config: dict) -> str:
    return (config.get("eval") or {}).get("tta", "none")


def predict(model: nn.Module, x: torch.Tensor, mode: str = "none") -> torch.Tensor:
    """``model``'s logits for ``x`` under test-time augmentation ``mode`` (one of :data:`TTA_MODES`)."""
    if mode == "none":
        return model(x)
    if mode == "flip":
        return 0.5 * (model(x).float() + model(torch.flip(x, dims=(-1,))).float())
    raise ValueError(f"unknown TTA mode {mode!r} (known: {', '.join(TTA_MODES)})")


__all__ = ["TTA_MODES", "tta_mode", "predict"]
