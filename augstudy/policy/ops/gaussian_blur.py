"""GaussianBlur: separable Gaussian blur with a random sigma per image (reflect padding,
torchvision's kernel ``exp(-x**2 / (2 sigma**2))`` normalized).

Fields: ``kernel_size`` (odd, px), ``sigma`` (``[low, high]`` px).  Draw: ``sigma`` (float32).

Strength ``s``: sigma ends -> ``s*end`` clamped to [0.01, 100] px; ``s = 0`` also sets
``kernel_size`` to 1 (no blur), the identity.
"""

from __future__ import annotations

import math

from augstudy.policy.ops.base import Int, Op, OpParams, Range, clamp, field


class GaussianBlurParams(OpParams):
    kernel_size: Int(1, 63, odd=True) = field(3, "odd kernel side in px")
    sigma: Range(0.0, 100.0, positive=True) = field([0.1, 2.0], "sigma range in px")


class GaussianBlur(Op):
    name = "GaussianBlur"
    doc = "separable Gaussian blur with a random sigma per image (reflect padding)"
    Params = GaussianBlurParams
    strength_rule = "sigma ends -> s*end (clamped to [0.01, 100]); s = 0 -> kernel_size 1"

    def check_size(self, params: dict, side: int) -> str | None:
        if params["kernel_size"] // 2 >= side:
            return f"field 'kernel_size' = {params['kernel_size']} is too large for a {side}x{side} image"
        return None

    def is_identity(self, params: dict, side: int | None = None) -> bool:
        return params["kernel_size"] == 1

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        out = dict(params)
        out["sigma"] = [clamp(strength * v, 0.01, 100.0) for v in params["sigma"]]
        if strength == 0:
            out["kernel_size"] = 1
        return out, p

    albumentations_names = ("GaussianBlur",)

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        """A kernel-size range becomes its largest (odd) kernel; kernel 0 is derived from sigma as
        albumentations does."""
        from augstudy.policy.ops.albumentations_forms import pair

        low, high = (int(v) for v in pair(entry.get("blur_limit", 0)))
        sigma = pair(entry.get("sigma_limit", (0.5, 3.0)))
        if high == 0:
            high = int(2 * math.ceil(3 * sigma[1]) + 1)
        high = high if high % 2 else high + 1
        if low not in (0, high):
            ctx.notes.append(f"{ctx.where}: GaussianBlur kernel sizes {low}..{high} -> fixed kernel_size {high}")
        return {"kernel_size": min(high, 63), "sigma": sigma}

    def sample(self, spec, u, side: int) -> dict:
        import torch

        low, high = spec.params["sigma"]
        return {"sigma": u.between(1, low, high).to(torch.float32)}

    def apply(self, x, spec, fields: dict):
        import torch.nn.functional as F

        from augstudy.policy.kernels import gaussian_kernels, on_subset

        k = spec.params["kernel_size"]
        if k == 1:
            return x

        def blur(sub, sigma):
            b, c, h, w = sub.shape
            kern = gaussian_kernels(sigma, k).to(sub.dtype).repeat_interleave(c, 0)  # [B*C, k]
            padded = F.pad(sub, (k // 2, k // 2, k // 2, k // 2), mode="reflect").reshape(1, b * c, h + k - 1,
                                                                                          w + k - 1)
            out = F.conv2d(padded, kern.view(b * c, 1, k, 1), groups=b * c)
            out = F.conv2d(out, kern.view(b * c, 1, 1, k), groups=b * c)
            return out.view(b, c, h, w)

        return on_subset(x, fields["apply"], blur, fields["sigma"])
