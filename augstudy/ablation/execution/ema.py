"""Weight EMA: an exponential moving average of the model's weights, evaluated instead of the model.

After every optimizer step ``ema = decay * ema + (1 - decay) * w`` for every floating-point entry of the
model's ``state_dict``: the parameters **and the floating-point buffers**, i.e. BatchNorm's running mean and
variance are averaged the same way (timm ``ModelEmaV2``/``V3`` and torchvision's ``ExponentialMovingAverage``
with ``use_buffers=True``).  Integer buffers (BatchNorm's ``num_batches_tracked``) are copied.  So the EMA
model is evaluated with the moving average of the statistics the live model used while its weights moved,
never re-estimated; timm's ``V3`` does the same.  The EMA starts as a copy of the initial weights (no warmup:
the decay is chosen from the run length, see :func:`decay_for_horizon`, so the initial weights' share after
the run is ``decay ** steps = exp(-1 / horizon)``, 2e-11 at a horizon of 4% of training).

The config's ``ema.horizon`` is the EMA's time constant ``1 / (1 - decay)`` as a fraction of all training
steps of the run.  torchvision's reference recipe scales its decay the same way (``alpha = (1 - decay) *
batch * every / epochs``: the horizon is a fixed share of training whatever the epochs), which is why a
level means the same thing at every budget (40 smoke steps or 11,730 full ones).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def decay_for_horizon(horizon: float, total_steps: int) -> float:
    """Per-step decay whose time constant ``1 / (1 - decay)`` is ``horizon * total_steps`` steps, at least 1
    (decay 0: the EMA is the live model)."""
    steps = max(1.0, float(horizon) * int(total_steps))
    return 1.0 - 1.0 / steps


class WeightEma:
    """The EMA copy of ``model`` (``.module``, always in eval mode) with per-step ``decay`` in [0, 1)."""

    def __init__(self, model: nn.Module, decay: float):
        if not 0.0 <= decay < 1.0:
            raise ValueError(f"EMA decay must be in [0, 1), got {decay}")
        self.decay = float(decay)
        self.module = copy.deepcopy(model).eval()
        for p in self.module.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """One step: float entries ``ema += (1 - decay) * (w - ema)``; integer buffers copied."""
        live = model.state_dict()
        for name, ema_value in self.module.state_dict().items():
            value = live[name].detach()
            if ema_value.is_floating_point():
                ema_value.lerp_(value.to(ema_value.dtype), 1.0 - self.decay)
            else:
                ema_value.copy_(value)

    def state_dict(self) -> dict:
        return self.module.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state)


def ema_settings(config: dict) -> float | None:
    """The config's ``ema.horizon`` (fraction of training), None when weight EMA is off."""
    return (config.get("ema") or {}).get("horizon")


def make_ema(config: dict, model: nn.Module, total_steps: int, checkpoint: dict | None = None) -> WeightEma | None:
    """The run's :class:`WeightEma` (None when ``ema.horizon`` is not set), restored from ``checkpoint["ema"]``
    when resuming.  Build it after the live model's own checkpoint weights are loaded."""
    horizon = ema_settings(config)
    if horizon is None:
        return None
    ema = WeightEma(model, decay_for_horizon(horizon, total_steps))
    if checkpoint is not None and checkpoint.get("ema") is not None:
        ema.load_state_dict(checkpoint["ema"])
    return ema


__all__ = ["WeightEma", "decay_for_horizon", "ema_settings", "make_ema"]
