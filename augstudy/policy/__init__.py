"""Augmentation policies: plain validated data, keyed sampling, and backends that apply a draw.

>>> from augstudy.policy import load_policy, sample_draw, apply_draw, BatchAugmenter
>>> policy = load_policy("light")                     # preset, YAML file, albumentations file, dict, list
>>> draw = sample_draw(policy, seed=0, epoch=0, indices=torch.arange(8))
>>> out = apply_draw(images_uint8, policy, draw, backend="augstudy")  # or torchvision/kornia/albumentations
>>> aug = BatchAugmenter(policy, seed=0, device="cuda")              # training's batched hot path
>>> strong = scale_policy(policy, 2.0)                # every magnitude doubled (0 = identity policy)
>>> policy_warnings(load_policy([{"op": "RandomCrop", "padding": 1024}]))  # mostly-fill crops

Modules: :mod:`.ops` (one module per op: parameters, neutral values, strength rule, warnings,
sampler, engine implementation), :mod:`.spec` (Policy/OpSpec, pydantic validation), :mod:`.loader`,
:mod:`.presets`, :mod:`.albumentations_import`, :mod:`.render` (``policy show`` text),
:mod:`.strength` (``scale_policy``), :mod:`.degenerate` (``policy_warnings``), :mod:`.sampling`
(keyed RNG, PolicyDraw), :mod:`.engine` (batched engine; :mod:`.kernels`, :mod:`.colour_kernels`),
:mod:`.apply` (backend dispatch), :mod:`.backends` (reference backends and their op registry).

Names are imported lazily (PEP 562), so loading and validating a policy (``augstudy policy
show/check``) does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Policy": "augstudy.policy.spec",
    "OpSpec": "augstudy.policy.spec",
    "load_policy": "augstudy.policy.loader",
    "PRESETS": "augstudy.policy.presets",
    "OPS": "augstudy.policy.ops",
    "OP_NAMES": "augstudy.policy.ops",
    "sample_draw": "augstudy.policy.sampling",
    "PolicyDraw": "augstudy.policy.sampling",
    "apply_draw": "augstudy.policy.apply",
    "BACKENDS": "augstudy.policy.apply",
    "BatchAugmenter": "augstudy.policy.engine",
    "scale_policy": "augstudy.policy.strength",
    "policy_warnings": "augstudy.policy.degenerate",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'augstudy.policy' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


__all__ = list(_EXPORTS)
