"""The automatic policies in the albumentations backend: no equivalent, so applying one there is one
clear error (images where the op does not apply pass through, so a policy scaled to strength 0
still runs everywhere).

albumentations 2.0 has none of the four policies (it has some sub-ops: Posterize, Solarize,
Equalize, AutoContrast, Sharpen, InvertImg, but no policy that chooses among them).  The kornia
backend replays them with kornia's functional sub-ops (:mod:`augstudy.policy.backends.kornia_auto`);
kornia's own ``kornia.augmentation.auto`` classes choose per batch and cannot replay a draw.
"""

from __future__ import annotations

from augstudy.errors import UserError
from augstudy.policy.backends.registry import register

AUTO_OPS = ("RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix")
REASONS = {
    "albumentations": "albumentations has no RandAugment, TrivialAugmentWide, AutoAugment or AugMix",
}


def _refuse(backend: str):
    def refuse(x, params, fields, size, _backend=backend):
        apply = fields.get("apply") if isinstance(fields, dict) else None
        if apply is not None and hasattr(apply, "any") and not bool(apply.any()):
            return x  # the op applies to no image (e.g. strength 0): nothing to refuse
        raise UserError(f"backend {_backend} has no equivalent of the automatic policies ({', '.join(AUTO_OPS)}): "
                        f"{REASONS[_backend]}; use backend augstudy or torchvision")
    return refuse


for _backend in REASONS:
    register(_backend, *AUTO_OPS)(_refuse(_backend))

__all__ = ["AUTO_OPS", "REASONS"]
