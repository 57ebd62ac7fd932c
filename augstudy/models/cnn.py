"""The report's CNNs, built exactly as its torchsummary tables list them at the default knobs.

``final``: the fixed final model (input ``[B, 3, 64, 64]``, 200 classes, 25,934,856
parameters).  ``first``: the report's very first model (input ``[B, 3, 32, 32]``, 10 classes,
1,540,558 parameters).  Knob meanings and defaults: :data:`augstudy.models.knobs.KNOBS`.

Knobs of ``final`` that change its shape (parameter counts at 200 classes):

- ``classifier_depth``: hidden ``Linear(3456) + activation + Dropout(dropout)`` layers before
  the output layer (0: 2,040,072; 1: 13,987,464; 2 = the report's: 25,934,856);
- ``width``: every conv block's channels x width, rounded (0.5: 16..192 channels, 18,952,680;
  1.5: 48..576 channels, 33,588,776); the hidden layers stay 3456 wide, so only the conv
  blocks and the first Linear's inputs change;
- ``conv_regularizer``: ``batchnorm`` keeps the six BatchNorm2d of the conv blocks;
  ``dropout`` puts ``Dropout(conv_dropout)`` in each of their slots (25,933,000: the
  BatchNorms' 1,856 parameters gone), the report's network before it reached 0.48;
- ``pool_stride``: the last max-pool is ``MaxPool2d(s, stride=s)``, so its 15x15 maps become
  floor(15/s) per side: 5 = the report's 3x3 (3,456 features); 3: 5x5 (9,600 features,
  47,168,520); 2: 7x7, dropping the 15th row and column (18,816 features, 79,019,016).
"""

from __future__ import annotations

from torch import nn

ACTIVATIONS = ("relu", "leaky_relu")
BN_ORDERS = ("after", "before")
CONV_REGULARIZERS = ("batchnorm", "dropout")

#: conv channels of ``final`` at width 1, in order
FINAL_CHANNELS = (32, 32, 96, 128, 256, 384)
#: width of ``final``'s hidden classifier layers (384 x 3 x 3 at the default knobs)
HIDDEN_FEATURES = 3456
#: side of ``final``'s maps before its last max-pool, for a 64x64 input (64 -5+2-> 62 -> 60 -> 30 -> 15)
FINAL_SIDE_BEFORE_LAST_POOL = 15


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU(inplace=True)
    if name == "leaky_relu":
        return nn.LeakyReLU(0.01, inplace=True)
    raise ValueError(f"activation must be one of {ACTIVATIONS}, got {name!r}")


def _pool_block(norm: nn.Module, pool: nn.Module, bn_order: str) -> list[nn.Module]:
    """MaxPool then its norm slot (``after``, as in the table) or the reverse (``before``)."""
    if bn_order == "after":
        return [pool, norm]
    if bn_order == "before":
        return [norm, pool]
    raise ValueError(f"bn_order must be one of {BN_ORDERS}, got {bn_order!r}")


def build_final(num_classes: int = 200, dropout: float = 0.3, bn_order: str = "after",
                activation: str = "relu", classifier_depth: int = 2, width: float = 1.0,
                conv_regularizer: str = "batchnorm", conv_dropout: float = 0.2,
                pool_stride: int = 5) -> nn.Sequential:
    """The report's final CNN.  Input ``[B, 3, 64, 64]`` float, output logits ``[B, num_classes]``.

    The defaults reproduce the report's table row by row; see the module docstring for the knobs.
    """
    if conv_regularizer not in CONV_REGULARIZERS:
        raise ValueError(f"conv_regularizer must be one of {CONV_REGULARIZERS}, got {conv_regularizer!r}")
    if not 1 <= pool_stride <= FINAL_SIDE_BEFORE_LAST_POOL:
        raise ValueError(f"pool_stride must be in [1, {FINAL_SIDE_BEFORE_LAST_POOL}], got {pool_stride}")
    if width <= 0 or classifier_depth < 0:
        raise ValueError(f"width must be > 0 and classifier_depth >= 0, got {width}, {classifier_depth}")

    c1, c2, c3, c4, c5, c6 = (max(1, int(round(c * width))) for c in FINAL_CHANNELS)
    act = lambda: _activation(activation)  # noqa: E731 - a fresh module per use

    def norm(channels: int) -> nn.Module:
        return nn.BatchNorm2d(channels) if conv_regularizer == "batchnorm" else nn.Dropout(conv_dropout)

    side = FINAL_SIDE_BEFORE_LAST_POOL // pool_stride
    layers: list[nn.Module] = [
        nn.Conv2d(3, c1, 5, padding=1), act(), norm(c1),                      # 64 -> 62
        nn.Conv2d(c1, c2, 5, padding=1), act(),                               # 62 -> 60
        *_pool_block(norm(c2), nn.MaxPool2d(2), bn_order),                    # 60 -> 30
        nn.Conv2d(c2, c3, 3, padding=1), act(), norm(c3),
        nn.Conv2d(c3, c4, 3, padding=1), act(),
        *_pool_block(norm(c4), nn.MaxPool2d(2), bn_order),                    # 30 -> 15
        nn.Conv2d(c4, c5, 3, padding=1), act(), norm(c5),
        nn.Conv2d(c5, c6, 3, padding=1), act(),
        *_pool_block(norm(c6), nn.MaxPool2d(pool_stride, pool_stride), bn_order),  # 15 -> 15 // s
        nn.Flatten(),                                                         # c6 * side^2 (384*3*3 = 3456)
    ]
    features = c6 * side * side
    for _ in range(classifier_depth):
        layers += [nn.Linear(features, HIDDEN_FEATURES), act(), nn.Dropout(dropout)]
        features = HIDDEN_FEATURES
    layers.append(nn.Linear(features, num_classes))
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
        *_pool_block(nn.BatchNorm2d(32), nn.MaxPool2d(2), bn_order),          # 28 -> 14
        nn.Conv2d(32, 96, 3, padding=1), nn.BatchNorm2d(96),
        nn.Conv2d(96, 256, 3, padding=1), nn.Dropout(dropout), nn.BatchNorm2d(256),
        nn.Conv2d(256, 384, 3, padding=1), act(),
        *_pool_block(nn.BatchNorm2d(384), nn.MaxPool2d(2), bn_order),         # 14 -> 7
        nn.Flatten(), nn.Dropout(dropout),                                    # 384*7*7 = 18816
        nn.Linear(18816, 20), act(), nn.BatchNorm1d(20),
        nn.Linear(20, num_classes),
    ]
    return nn.Sequential(*layers)
