"""RandomGrayscale: replace RGB by its luma (torchvision's weights 0.2989, 0.587, 0.114), kept 3-channel.

No parameters besides ``p`` (default 0.1).  Strength ``s``: no magnitude, so ``p' = min(1, s*p)``.
"""

from __future__ import annotations

from augstudy.policy.ops.base import Op


class RandomGrayscale(Op):
    name = "RandomGrayscale"
    doc = "replace RGB by its luma (0.2989, 0.587, 0.114), kept 3-channel"
    p_default = 0.1
    strength_rule = "p -> min(1, s*p) (no magnitude)"

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        return dict(params), min(1.0, strength * p)

    albumentations_names = ("ToGray", "RandomGrayscale")

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        from augstudy.policy.ops.albumentations_forms import Unsupported

        method = entry.get("method", "weighted_average")
        if method != "weighted_average":
            raise Unsupported(f"method={method!r} (only weighted_average luma is supported)")
        if int(entry.get("num_output_channels", 3)) != 3:
            raise Unsupported("num_output_channels != 3")
        return {}

    def apply(self, x, spec, fields: dict):
        import torch

        from augstudy.policy.kernels import grayscale, mask4

        return torch.where(mask4(fields["apply"]), grayscale(x).expand_as(x), x)
