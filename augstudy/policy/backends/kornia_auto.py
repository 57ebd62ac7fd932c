"""The automatic policies in the kornia backend: a draw's per-image sub-op choices replayed with
kornia's functional sub-ops on the float batch (kornia 0.9).

kornia's own ``kornia.augmentation.auto.RandAugment`` / ``TrivialAugment`` / ``AutoAugment`` cannot
replay a keyed draw: each forward call selects ONE sub-op sequence for the whole batch
(``get_forward_sequence``: ``rand_selector(n)`` / ``rand_selector.sample((1,))``), with kornia's own
tables and continuous magnitudes, and kornia has no AugMix.  What kornia does have is every sub-op
as a batched function with per-sample parameters, so this backend groups the images of each step
by sub-op (like the engine) and calls:

- Brightness ``enhance.adjust_brightness_accumulative(1 + m)`` (multiplicative, as torchvision),
  Color ``adjust_saturation_with_gray_subtraction(1 + m)``, Contrast
  ``adjust_contrast_with_mean_subtraction(1 + m)``, Sharpness ``enhance.sharpness(1 + m)``,
  Posterize ``enhance.posterize(bits)``, Solarize ``enhance.solarize(threshold)``, AutoContrast
  ``enhance.normalize_min_max``, Equalize ``enhance.equalize``, Invert ``enhance.invert``;
- ShearX/Y, TranslateX/Y, Rotate: ``geometry.transform.warp_affine`` with the forward matrix of
  torchvision's inverse matrix (:func:`augstudy.policy.auto_kernels.inverse_affine`) about the
  pixel-grid centre, nearest or bilinear, torchvision's fill rule.

It works in float [0, 1] and rounds once at the end (torchvision on uint8 truncates after every
sub-op), and kornia's Equalize and Posterize are its own algorithms: measured differences with
torchvision are in :mod:`augstudy.policy.auto_equivalence` (``KORNIA_BOUNDS``).
"""

from __future__ import annotations

import torch

from augstudy.policy.auto_spaces import SUB_OP_ID, SUB_OPS
from augstudy.policy.backends.engine_only import refuse_engine_only_fields
from augstudy.policy.backends.registry import register
from augstudy.policy.ops import OPS
from augstudy.policy.ops.augmix import augmix_blend

BACKEND = "kornia"
_GEOMETRIC = {SUB_OP_ID[n] for n in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate")}


def _factor(m):
    return (1.0 + m).to(torch.float32)


def _colour(name: str):
    import kornia.enhance as E

    return {
        "Brightness": lambda x, m: E.adjust_brightness_accumulative(x, _factor(m)),
        "Color": lambda x, m: E.adjust_saturation_with_gray_subtraction(x, _factor(m)),
        "Contrast": lambda x, m: E.adjust_contrast_with_mean_subtraction(x, _factor(m)),
        "Sharpness": lambda x, m: E.sharpness(x, _factor(m)).clamp(0.0, 1.0),
        "Posterize": lambda x, m: E.posterize(x, m.to(torch.int64)),
        "Solarize": lambda x, m: E.solarize(x, m.to(torch.float32)),
        "AutoContrast": lambda x, m: E.normalize_min_max(x),
        "Equalize": lambda x, m: E.equalize(x),
        "Invert": lambda x, m: E.invert(x),
    }[name]


def _geometric(x, ids, m, mode: str, fill):
    """Shears, translations and rotations by ``warp_affine`` (forward matrices, pixel-grid centre)."""
    import kornia.geometry.transform as G

    from augstudy.policy.auto_kernels import inverse_affine

    n, _, h, w = x.shape
    m = m.to(torch.float64)
    zeros = torch.zeros_like(m)
    shear = torch.rad2deg(torch.atan(m))
    is_shear = (ids == SUB_OP_ID["ShearX"]) | (ids == SUB_OP_ID["ShearY"])
    step = torch.trunc(m)
    def only(name, values):
        return torch.where(ids == SUB_OP_ID[name], values, zeros)

    theta = inverse_affine(
        only("Rotate", -torch.remainder(m, 360.0)), only("TranslateX", step), only("TranslateY", step),
        only("ShearX", shear), only("ShearY", shear),
        torch.where(is_shear, torch.full_like(m, -w * 0.5), zeros),
        torch.where(is_shear, torch.full_like(m, -h * 0.5), zeros),
    ).to(torch.float64)
    # torchvision: p_in = A p_out + t in pixel coordinates centred on the grid centre c; kornia wants
    # the forward map in top-left pixel coordinates: p_out = A^-1 (p_in - c - t) + c
    a_inv = torch.linalg.inv(theta[:, :, :2])
    centre = torch.tensor([(w - 1) / 2.0, (h - 1) / 2.0], dtype=torch.float64, device=x.device)
    offset = centre - (a_inv @ (centre + theta[:, :, 2]).unsqueeze(-1)).squeeze(-1)
    forward = torch.cat([a_inv, offset.unsqueeze(-1)], 2).to(x.dtype)

    def warp(t):
        return G.warp_affine(t, forward, dsize=(h, w), mode=mode, padding_mode="zeros", align_corners=True)

    out = warp(x)
    if fill is not None:
        mask = warp(torch.ones_like(x[:, :1]))
        value = float(fill)
        out = torch.where(mask < 0.5, torch.full_like(out, value), out) if mode == "nearest" \
            else (out - value) * mask + value
    return out


def _step(x, sub_op, magnitude, mode: str, fill):
    """One step: image i gets sub-op ``sub_op[i]``; groups of images run batched."""
    out = x.clone()
    geometric = torch.tensor([int(s) in _GEOMETRIC for s in sub_op.tolist()], dtype=torch.bool, device=x.device)
    groups = [(geometric, None)] + [(sub_op == sid, SUB_OPS[sid]) for sid in torch.unique(sub_op).tolist()
                                    if int(sid) not in _GEOMETRIC and SUB_OPS[sid] != "Identity"]
    for mask, name in groups:
        idx = mask.nonzero().squeeze(1)
        if idx.numel() == 0:
            continue
        sub, mags = x.index_select(0, idx), magnitude.index_select(0, idx)
        result = _geometric(sub, sub_op.index_select(0, idx), mags, mode, fill) if name is None \
            else _colour(name)(sub, mags)
        out.index_copy_(0, idx, result.to(out.dtype))
    return out


def _applied(fields, x):
    apply = fields.get("apply")
    return torch.ones(x.shape[0], dtype=torch.bool, device=x.device) if apply is None else apply.to(x.device).bool()


@register(BACKEND, "RandAugment", "TrivialAugmentWide", "AutoAugment")
def _chain(x, params, fields, size):
    if "magnitude_std" in params:  # RandAugment's timm noise: not torchvision's RandAugment
        refuse_engine_only_fields(BACKEND, "RandAugment", params, fields)
    mode, fill = params.get("interpolation", "nearest"), params.get("fill")
    applied = _applied(fields, x)
    out = x
    sub_op, magnitude = fields["sub_op"].to(x.device), fields["magnitude"].to(x.device)
    for k in range(sub_op.shape[1]):
        stepped = _step(out, sub_op[:, k], magnitude[:, k], mode, fill)
        out = torch.where(applied.view(-1, 1, 1, 1), stepped, out)
    return out


@register(BACKEND, "AugMix")
def _augmix(x, params, fields, size):
    mode = params.get("interpolation", OPS["AugMix"].interpolation_default)
    fill = params.get("fill")
    mixed = augmix_blend(x, fields["sub_op"].to(x.device), fields["magnitude"].to(x.device),
                         fields["weights"].to(x.device), lambda img, ids, mags: _step(img, ids, mags, mode, fill))
    return torch.where(_applied(fields, x).view(-1, 1, 1, 1), mixed, x)
