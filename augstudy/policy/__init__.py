"""Augmentation policies: plain validated data, keyed sampling, and backends that apply a draw.

>>> from augstudy.policy import load_policy, sample_draw, apply_draw, BatchAugmenter
>>> policy = load_policy("light")                     # preset, YAML file, albumentations file, dict, list
>>> draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(8))
>>> out = apply_draw(images_uint8, policy, draw, backend="augstudy")  # or torchvision/kornia/albumentations
>>> aug = BatchAugmenter(policy, seed=0, device="cuda")              # training's batched hot path

Modules: :mod:`.ops` (op registry), :mod:`.spec` (Policy/OpSpec/validation), :mod:`.loader`,
:mod:`.presets`, :mod:`.albumentations_import`, :mod:`.sampling` (keyed RNG, PolicyDraw),
:mod:`.engine` (batched engine), :mod:`.apply` (backend dispatch).
"""

from augstudy.policy.apply import BACKENDS, apply_draw
from augstudy.policy.engine import BatchAugmenter
from augstudy.policy.loader import load_policy
from augstudy.policy.ops import OP_NAMES, OPS
from augstudy.policy.presets import PRESETS
from augstudy.policy.sampling import PolicyDraw, sample_draw
from augstudy.policy.spec import OpSpec, Policy

__all__ = ["Policy", "OpSpec", "load_policy", "PRESETS", "OPS", "OP_NAMES", "sample_draw", "PolicyDraw",
           "apply_draw", "BACKENDS", "BatchAugmenter"]
