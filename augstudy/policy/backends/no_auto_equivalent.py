"""The automatic policies in the kornia and albumentations backends: no equivalent that can replay a
draw, so applying one there is one clear error (images where the op does not apply pass through,
so a policy scaled to strength 0 still runs everywhere).

- kornia 0.9 has ``kornia.augmentation.auto.RandAugment``, ``TrivialAugment`` and ``AutoAugment``,
  but each forward call selects its sub-ops ONCE for the whole batch
  (``get_forward_sequence``: ``rand_selector(n)`` / ``rand_selector.sample((1,))``), with kornia's
  own op tables and magnitude ranges (e.g. no Identity in TrivialAugment's default policy,
  magnitudes sampled continuously), and it has no AugMix: per-image keyed choices cannot be
  replayed through it.  Its own batch classes are timed in ``benchmarks/bench_auto_augment.py``.
- albumentations 2.0 has none of the four policies (it has some sub-ops: Posterize, Solarize,
  Equalize, AutoContrast, Sharpen, InvertImg, but no policy that chooses among them).
"""

from __future__ import annotations

from augstudy.errors import UserError
from augstudy.policy.backends.registry import register

AUTO_OPS = ("RandAugment", "TrivialAugmentWide", "AutoAugment", "AugMix")
REASONS = {
    "kornia": ("kornia.augmentation.auto picks one sub-op sequence per batch with its own tables and has no AugMix, "
               "so it cannot replay per-image choices"),
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
