"""RandomErasing: fill a random box (area fraction ``scale``, aspect h/w ``ratio``) with ``value``.

Draw: ``top``, ``left``, ``height``, ``width`` (int64) by torchvision's rejection sampling: the first
of :data:`~augstudy.policy.ops.box_draws.ATTEMPTS` candidates strictly smaller than the image; none fits:
nothing is erased (a 0x0 box).

Fill modes (``mode``), as timm's ``RandomErasing(mode=...)`` and torchvision's ``value``:

- ``constant``: every erased pixel is ``value`` (torchvision ``value=v``; timm ``const`` fills 0 in the
  normalized space, i.e. the normalization mean: ``value`` 0.45 comes close);
- ``random``: one standard-normal draw per image and channel (timm ``rand``);
- ``pixel``: one standard-normal draw per pixel and channel (timm ``pixel``, DeiT's mode; torchvision
  ``value="random"``).

Where this differs: timm and torchvision erase the *normalized* tensor, so their normals are in normalized
units; here erasing runs on pixels before the trainer's normalization, so a normal draw ``z`` becomes the
pixel ``mean_c + std_c * z`` with the ImageNet mean/std (``IMAGENET_MEAN``/``IMAGENET_STD``, what timm
normalizes with), clamped to [0, 1] (about 2 sd: |z| > ~2 is clipped) and rounded on uint8.  The normals
are keyed, not streamed: the draw field ``fill_key`` (int64, a 53-bit key per image, only for the random
modes) seeds a counter-based hash of (key, channel, pixel) and Box-Muller turns pairs of uniforms into
normals, so every backend and device fills the same values (log/cos may differ by an ulp on CUDA).

Strength ``s`` scales the erased area: ``scale`` ends -> ``s*end`` clamped to [0, 1]; ``ratio`` is
kept.  ``s = 0``: zero-area boxes, the identity.

Degenerate draws: areas so small that boxes round to zero pixels, or so large that no candidate fits,
erase nothing in most draws.
"""

from __future__ import annotations

import math

from augstudy.policy.ops.base import IMAGENET_MEAN, IMAGENET_STD, Choice, Number, Op, OpParams, Range, clamp, field
from augstudy.policy.ops.box_draws import ATTEMPTS, candidate_outcomes

#: warn when more than this share of draws erase nothing
EMPTY_SHARE = 0.5
#: the fill modes (timm const / rand / pixel)
FILL_MODES = ("constant", "random", "pixel")


def fill_noise(keys, mode: str, channels: int, side: int, device=None):
    """float32 ``[B, C, S, S]`` in [0, 1]: the keyed normal fill of ``mode`` (``random``: one value per
    channel, broadcast over the pixels; ``pixel``: one per pixel) for int64 ``keys`` ``[B]``."""
    import torch

    from augstudy.policy.sampling import _srl, mix_tensor

    keys = keys.to(device=device, dtype=torch.int64)
    per_image = channels * side * side if mode == "pixel" else channels
    counters = mix_tensor(torch.arange(2 * per_image, device=keys.device, dtype=torch.int64))
    bits = _srl(mix_tensor(mix_tensor(keys[:, None]) ^ counters[None, :]), 11)
    u = bits.to(torch.float64) * (1.0 / (1 << 53))
    u1, u2 = 1.0 - u[:, :per_image], u[:, per_image:]      # u1 in (0, 1]: log is finite
    z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
    z = z.view(-1, channels, side, side) if mode == "pixel" else z.view(-1, channels, 1, 1)
    mean = torch.tensor(IMAGENET_MEAN[:channels], dtype=torch.float64, device=keys.device).view(1, -1, 1, 1)
    std = torch.tensor(IMAGENET_STD[:channels], dtype=torch.float64, device=keys.device).view(1, -1, 1, 1)
    return (mean + std * z).clamp(0.0, 1.0).expand(-1, channels, side, side).to(torch.float32)


def fill_values(params: dict, fields: dict, x):
    """What erased pixels of ``x`` (``[B, C, H, W]``, uint8 or float) become: a scalar tensor (constant) or
    a ``[B, C, H, W]`` tensor in ``x``'s dtype and units (random modes)."""
    import torch

    from augstudy.policy.kernels import pixel_value

    mode = params.get("mode", "constant")
    if mode == "constant":
        return torch.tensor(pixel_value(params["value"], x.dtype), dtype=x.dtype, device=x.device)
    noise = fill_noise(fields["fill_key"], mode, x.shape[1], x.shape[-1], x.device)
    return noise.mul(255.0).round_().to(torch.uint8) if x.dtype == torch.uint8 else noise.to(x.dtype)


class RandomErasingParams(OpParams):
    scale: Range(0.0, 1.0) = field([0.02, 0.33], "box area as a fraction of the image")
    ratio: Range(0.0, None, positive=True) = field([0.3, 3.3], "box aspect ratio height/width")
    value: Number(0.0, 1.0) = field(0.0, "fill value, fraction of full scale (mode: constant)")
    mode: Choice(*FILL_MODES) = field("constant", "constant (value) | random (normal per channel) | pixel (normal "
                                                  "per pixel), as timm const/rand/pixel")


def empty_share(params: dict, side: int) -> float:
    """Share of draws that erase nothing (first fitting candidate empty, or none fits)."""
    invalid, empty, _ = candidate_outcomes(params["scale"], params["ratio"], side, width_over_height=False,
                                           valid=lambda h, w: h < side and w < side)
    # P(first fitting candidate is empty) + P(no candidate fits)
    tries = sum(invalid ** k for k in range(ATTEMPTS))
    return empty * tries + invalid ** ATTEMPTS


class RandomErasing(Op):
    name = "RandomErasing"
    doc = "fill a random box (area fraction `scale`, aspect h/w `ratio`) with `value`"
    Params = RandomErasingParams
    p_default = 0.5
    uint8_exact = True
    strength_rule = "scale ends -> s*end (clamped to [0, 1])"
    #: left out of ``to_dict`` at these values, so policies written before the field existed keep their form
    omitted_at_default = {"mode": "constant"}

    def is_identity(self, params: dict, side: int | None = None) -> bool:
        return params["scale"][1] == 0.0

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        out = dict(params)
        out["scale"] = [clamp(strength * v, 0.0, 1.0) for v in params["scale"]]
        return out, p

    def warnings(self, params: dict, side: int) -> list[str]:
        if self.is_identity(params, side):
            return []
        share = empty_share(params, side)
        if share <= EMPTY_SHARE:
            return []
        return [f"scale {params['scale']} at {side}x{side}: {100 * share:.0f}% of draws erase nothing (boxes round to "
                f"0 px or never fit inside the image); use a scale range inside (1/{side * side}, 1)"]

    albumentations_names = ("Erasing", "CoarseDropout")

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        """Erasing maps exactly; CoarseDropout with one hole becomes the equivalent area/aspect ranges."""
        from augstudy.policy.ops.albumentations_forms import Unsupported, fill_fraction, pair

        value = fill_fraction(entry.get("fill", 0), "fill")
        if name == "Erasing":
            return {"scale": pair(entry.get("scale", (0.02, 0.33))), "ratio": pair(entry.get("ratio", (0.3, 3.3))),
                    "value": value}
        holes = pair(entry.get("num_holes_range", (1, 1)))
        if holes != [1.0, 1.0]:
            raise Unsupported(f"num_holes_range={holes} (only a single hole, [1, 1], maps to RandomErasing)")
        hh, ww = pair(entry.get("hole_height_range", (0.1, 0.2))), pair(entry.get("hole_width_range", (0.1, 0.2)))
        if isinstance(entry.get("hole_height_range", [0.1])[0], int) and hh[1] >= 1:  # pixels
            hh = [v / ctx.side for v in hh]
        if isinstance(entry.get("hole_width_range", [0.1])[0], int) and ww[1] >= 1:
            ww = [v / ctx.side for v in ww]
        ctx.notes.append(f"{ctx.where}: CoarseDropout approximated by RandomErasing with area {hh[0] * ww[0]:.4g}.."
                         f"{hh[1] * ww[1]:.4g} and aspect h/w {hh[0] / ww[1]:.3g}..{hh[1] / ww[0]:.3g}")
        return {"scale": [hh[0] * ww[0], hh[1] * ww[1]], "ratio": [hh[0] / ww[1], hh[1] / ww[0]], "value": value}

    def sample(self, spec, u, side: int) -> dict:
        import torch

        from augstudy.policy.sampling import candidate_boxes, first_valid

        scale, ratio = spec.params["scale"], spec.params["ratio"]
        log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
        height, width = candidate_boxes(u, side, scale, log_ratio, ratio_is_w_over_h=False)
        valid = (height < side) & (width < side)
        pick, any_valid = first_valid(valid)
        h = torch.where(any_valid, height.gather(1, pick[:, None])[:, 0].to(torch.int64), 0)
        w = torch.where(any_valid, width.gather(1, pick[:, None])[:, 0].to(torch.int64), 0)
        top = torch.floor(u(4 * ATTEMPTS + 1) * (side - h + 1)).to(torch.int64)
        left = torch.floor(u(4 * ATTEMPTS + 2) * (side - w + 1)).to(torch.int64)
        out = {"top": torch.where(any_valid, top, 0), "left": torch.where(any_valid, left, 0), "height": h, "width": w}
        if spec.params.get("mode", "constant") != "constant":   # a key per image for the keyed normal fill
            out["fill_key"] = torch.floor(u(4 * ATTEMPTS + 3) * float(1 << 53)).to(torch.int64)
        return out

    def apply(self, x, spec, fields: dict):
        import torch

        from augstudy.policy.kernels import mask4

        side = x.shape[-1]
        steps = torch.arange(side, device=x.device)
        top, left = fields["top"][:, None], fields["left"][:, None]
        rows = (steps >= top) & (steps < top + fields["height"][:, None])  # [B, H]
        cols = (steps >= left) & (steps < left + fields["width"][:, None])  # [B, W]
        mask = rows[:, None, :, None] & cols[:, None, None, :] & mask4(fields["apply"])
        return torch.where(mask, fill_values(spec.params, fields, x), x)
