"""A user's own model factories, as a study spec names them: ``user_models:<function>``.

pytest puts ``tests/`` on ``sys.path``, so ``model.name: user_models:tiny_cnn`` imports this file.
"""

from __future__ import annotations

from torch import nn


def tiny_cnn(num_classes: int, width: float = 1.0, dropout: float = 0.0) -> nn.Sequential:
    """One 3x3 conv of ``round(8 * width)`` channels, a 4x4 average pool, dropout, a linear head.

    Input ``[B, 3, H, W]`` (any H, W), output ``[B, num_classes]``; declares the knobs
    ``width`` and ``dropout``.  Parameters: ``28c + 16c * num_classes + num_classes`` (c channels).
    """
    channels = max(1, round(8 * width))
    return nn.Sequential(
        nn.Conv2d(3, channels, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(4), nn.Flatten(),
        nn.Dropout(dropout), nn.Linear(channels * 16, num_classes),
    )


class LinearProbe(nn.Module):
    """An ``nn.Module`` class used as a factory: ``LinearProbe(num_classes=10, classifier_depth=1)``."""

    def __init__(self, num_classes: int, classifier_depth: int = 0):
        super().__init__()
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(2), nn.Flatten()]
        features = 12
        for _ in range(classifier_depth):
            layers += [nn.Linear(features, 16), nn.ReLU()]
            features = 16
        layers.append(nn.Linear(features, num_classes))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


def takes_every_knob(num_classes: int, **knobs) -> nn.Module:
    """Accepts every knob through ``**knobs`` and records them on the model (``model.knobs``)."""
    model = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, num_classes))
    model.knobs = dict(knobs)
    return model


def no_num_classes(width: float = 1.0) -> nn.Module:
    """Wrong: a factory must take ``num_classes``."""
    return nn.Linear(3, 2)


def not_a_module(num_classes: int) -> str:
    """Wrong: a factory must return an ``nn.Module``."""
    return "a model"
