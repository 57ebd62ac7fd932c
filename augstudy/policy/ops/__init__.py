"""The op registry: one class per augmentation op, each in its own module.

=================  ==========================================================  =======
op                 fields (default)                                            p
=================  ==========================================================  =======
HorizontalFlip     -                                                           0.5
VerticalFlip       -                                                           0.5
RandomCrop         size (64), padding (0), padding_mode (constant|reflect),     1.0
                   fill (0.0)
RandomResizedCrop  size (64), scale ([0.08, 1]), ratio ([3/4, 4/3])             1.0
ColorJitter        brightness (0), contrast (0), saturation (0), hue (0)        1.0
RandomGrayscale    -                                                           0.1
RandomErasing      scale ([0.02, 0.33]), ratio ([0.3, 3.3]), value (0.0)        0.5
Rotation           degrees (10), fill (0.0)                                    1.0
Affine             degrees (0), translate ([0, 0]), scale ([1, 1]), fill (0)   1.0
GaussianBlur       kernel_size (3), sigma ([0.1, 2.0])                         1.0
RandAugment        num_ops (2), magnitude (9), num_magnitude_bins (31),         1.0
                   magnitude_std (0; timm's noise, backend augstudy only)
TrivialAugmentWide num_magnitude_bins (31)                                     1.0
AutoAugment        policy (imagenet|cifar10|svhn)                              1.0
AugMix             severity (3), mixture_width (3), chain_depth (-1), alpha (1) 1.0
Normalize          mean (ImageNet), std (ImageNet); must be the last op        1.0
=================  ==========================================================  =======

The four automatic policies (torchvision.transforms.v2 semantics) also take ``interpolation``,
``fill`` and ``magnitude_scale``; see :mod:`augstudy.policy.ops.auto_base`.

:data:`OPS` maps an op name to its :class:`~augstudy.policy.ops.base.Op` instance (parameters model,
neutral values, strength rule, degenerate-draw warnings, sampler, batched engine implementation).
Units and conventions: :mod:`augstudy.policy.ops.base`.  Backends register their own
implementation of each op by name in :mod:`augstudy.policy.backends.registry`.
"""

from __future__ import annotations

from augstudy.policy.ops.affine import Affine, Rotation
from augstudy.policy.ops.base import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    PADDING_MODES,
    FieldError,
    Op,
    _fmt,
    factor_range,
    symmetric_range,
)
from augstudy.policy.ops.augmix import AugMix
from augstudy.policy.ops.autoaugment import AutoAugment
from augstudy.policy.ops.color_jitter import ColorJitter
from augstudy.policy.ops.flips import HorizontalFlip, VerticalFlip
from augstudy.policy.ops.gaussian_blur import GaussianBlur
from augstudy.policy.ops.grayscale import RandomGrayscale
from augstudy.policy.ops.normalize import Normalize
from augstudy.policy.ops.random_crop import RandomCrop
from augstudy.policy.ops.random_erasing import RandomErasing
from augstudy.policy.ops.rand_augment import RandAugment
from augstudy.policy.ops.random_resized_crop import RandomResizedCrop
from augstudy.policy.ops.trivial_augment import TrivialAugmentWide

#: op name -> the op (one instance per class), in the order ``policy show`` and the docs list them
OPS: dict[str, Op] = {op.name: op for op in (
    HorizontalFlip(), VerticalFlip(), RandomCrop(), RandomResizedCrop(), ColorJitter(), RandomGrayscale(),
    RandomErasing(), Rotation(), Affine(), GaussianBlur(), RandAugment(), TrivialAugmentWide(), AutoAugment(), AugMix(),
    Normalize())}
OP_NAMES = tuple(OPS)

__all__ = ["OPS", "OP_NAMES", "Op", "FieldError", "factor_range", "symmetric_range", "IMAGENET_MEAN", "IMAGENET_STD",
           "PADDING_MODES", "_fmt"]
