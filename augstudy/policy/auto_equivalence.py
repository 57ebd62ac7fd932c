"""The automatic policies against torchvision, measured: each sub-op and each policy, on the same
sampled choices (backend ``augstudy``, the batched engine, vs backend ``torchvision``, which runs
torchvision's own ``_apply_image_or_video_transform`` per image; see
:mod:`augstudy.policy.backends.torchvision_auto`).

Per sub-op: every image of the batch gets that sub-op at a keyed magnitude bin of
TrivialAugmentWide's table (its widest ranges) with a keyed sign.  Per policy: a plain draw of the
policy.  Differences in 0..255 units; uint8 and float inputs.  Measured on :func:`colour_fields`
(64x64, seed 0), 2026-12-07, torchvision 0.29:

=============================  ==========================  ==================================
compared                       uint8 (max / mean)          float (max / mean, 0..255 units)
=============================  ==========================  ==================================
geometric sub-ops (nearest     0 / 0 (same inverse matrix, <= 1e-3 (float32 rounding)
and bilinear), Brightness,     grid and rounding; integer
                               translations as exact shifts)
Contrast, Sharpness,
Posterize, Solarize,
AutoContrast, Equalize, Invert
Color                          1 / ~0.0003 (one value in   <= 1e-3
                               3000: fused multiply-add)
RandAugment, TrivialAugment-   max up to 255 / mean < 0.01 same (a float32 rounding
Wide, AutoAugment, AugMix      (a 1-level Color difference difference can cross a
                               can cross a Solarize        Posterize level too)
                               threshold; < 0.1% of values
                               off by more than 0.5)
=============================  ==========================  ==================================

The kornia backend (:mod:`augstudy.policy.backends.kornia_auto`: kornia's functional sub-ops on the
float batch, rounded once at the end) on the same choices, worst of 3 seeds x 32 images:

=============================  ==========================  ==================================
compared                       uint8 (max / mean)          float (max / mean, 0..255 units)
=============================  ==========================  ==================================
translations, Rotate (nearest) 0 / 0                       0 / 0
Posterize, Solarize, Equalize, 0 / 0                       Posterize 1 / 0.46 (kornia quantizes
Invert                                                     float through uint8), others ~0
Brightness, Color, Contrast,   1-2 / 0.1-0.5 (one rounding <= 0.03 / 0.007
Sharpness, AutoContrast,       instead of truncation per
bilinear geometry              step)
ShearX/Y (nearest)             33 / 0.004 (ties of the     same
                               nearest pixel, < 0.04%)
policies                       up to 255 / < 0.7 (rounding same
                               differences crossing
                               Solarize/Posterize levels)
=============================  ==========================  ==================================
"""

from __future__ import annotations

import torch

from augstudy.policy.auto_spaces import SPACES, SUB_OPS

EXACT = (0.0, 0.0)
#: (max, mean) |diff| bounds in 0..255 units for uint8 inputs
SUB_OP_BOUNDS = {name: EXACT for name in SUB_OPS}
SUB_OP_BOUNDS["Color"] = (1.0, 0.01)
POLICY_BOUNDS = (255.0, 0.01)
#: share of values that may differ by more than half a level in a whole-policy comparison
POLICY_DIFFERING_SHARE = 0.003  # measured <= 0.0008 over 6 seeds x 32 images
#: float inputs: every sub-op comparison, 0..255 units (policies: POLICY_BOUNDS and the share, as uint8)
FLOAT_BOUNDS = (1e-3, 1e-4)
#: the policies compared, as one-op policy entries
POLICIES = {
    "RandAugment": {"op": "RandAugment"},
    "TrivialAugmentWide": {"op": "TrivialAugmentWide"},
    "AutoAugment(imagenet)": {"op": "AutoAugment", "policy": "imagenet"},
    "AutoAugment(cifar10)": {"op": "AutoAugment", "policy": "cifar10"},
    "AutoAugment(svhn)": {"op": "AutoAugment", "policy": "svhn"},
    "AugMix": {"op": "AugMix"},
}


KORNIA_COLOUR_BOUNDS = {"uint8": (2.0, 0.6), "float": (1.0, 0.5)}
KORNIA_NEAREST_SHEAR_BOUNDS = (255.0, 0.01)
KORNIA_POLICY_BOUNDS = (255.0, 1.0)


def bounds_for(label: str, dtype: str, backend: str, is_policy: bool) -> tuple[tuple[float, float], float | None]:
    """((max, mean) |diff| bound in 0..255 units, share-of-values-off bound or None) for a row."""
    if backend == "kornia":
        if is_policy:
            return KORNIA_POLICY_BOUNDS, None
        if label in ("ShearX", "ShearY"):
            return KORNIA_NEAREST_SHEAR_BOUNDS, None
        return KORNIA_COLOUR_BOUNDS[dtype], None
    if is_policy:
        return POLICY_BOUNDS, POLICY_DIFFERING_SHARE
    return (SUB_OP_BOUNDS[label.split("(")[0]] if dtype == "uint8" else FLOAT_BOUNDS), None


def _policy(entry: dict, side: int):
    from augstudy.policy.spec import Policy

    return Policy.from_dict({"name": entry["op"], "image_size": side, "ops": [dict(entry, p=1.0)]},
                            source="auto equivalence")


def sub_op_draw(name: str, n: int, side: int, seed: int = 0, interpolation: str = "nearest"):
    """(policy, draw): a one-op TrivialAugmentWide whose every image gets sub-op ``name`` at a keyed
    bin of TrivialAugmentWide's table, keyed sign."""
    from augstudy.policy.ops import OPS
    from augstudy.policy.sampling import KeyedUniforms, OpUniforms, PolicyDraw

    policy = _policy({"op": "TrivialAugmentWide", "interpolation": interpolation}, side)
    op = OPS["TrivialAugmentWide"]
    u = OpUniforms(KeyedUniforms(seed, 0, torch.arange(n)), 1)
    bins = policy.ops[0].params["num_magnitude_bins"]
    ids, mags = op.draw_step(u, 1, (name,), bins, u.integer(3, bins), policy.ops[0].params, side)
    fields = {"apply": torch.ones(n, dtype=torch.bool), "sub_op": ids[:, None], "magnitude": mags[:, None].float()}
    return policy, PolicyDraw([fields], ["TrivialAugmentWide"], {"seed": seed, "epoch": 0})


def _compare(images, policy, draw, backend: str) -> tuple[float, float, float]:
    from augstudy.policy.apply import apply_draw

    ours = apply_draw(images, policy, draw, backend=backend).float()
    reference = apply_draw(images, policy, draw, backend="torchvision").float()
    diff = (ours - reference).abs() * (1.0 if images.dtype == torch.uint8 else 255.0)
    # share of values off by more than half a level (float rounding noise below that is not counted)
    return float(diff.max()), float(diff.mean()), float((diff > 0.5).float().mean())


def auto_equivalence_table(images: torch.Tensor, seed: int = 0, backend: str = "augstudy") -> list[dict]:
    """``backend`` ("augstudy", the engine, or "kornia") vs torchvision.  Rows ``{"compared", "backend",
    "dtype", "max_abs_diff", "mean_abs_diff", "differing_share" (off by > 0.5), "bound_max",
    "bound_mean", "within_bound"}`` for every sub-op (nearest and bilinear for the geometric ones)
    and every policy of :data:`POLICIES`, on uint8 ``images`` and on their float version."""
    from augstudy.policy.auto_spaces import GEOMETRIC
    from augstudy.policy.sampling import sample_draw

    n, side = images.shape[0], int(images.shape[-1])
    cases = []
    for name in SUB_OPS:
        if name in SPACES["TrivialAugmentWide"] or name == "Invert":
            for mode in (("nearest", "bilinear") if name in GEOMETRIC else ("nearest",)):
                label = name if mode == "nearest" else f"{name}(bilinear)"
                space_name = name if name != "Invert" else "Identity"
                policy, draw = sub_op_draw(space_name, n, side, seed, mode)
                if name == "Invert":  # not in TrivialAugmentWide's table: same draw, sub-op id replaced
                    draw.ops[0]["sub_op"][:] = SUB_OPS.index("Invert")
                cases.append((label, policy, draw, False))
    for label, entry in POLICIES.items():
        policy = _policy(entry, side)
        draw = sample_draw(policy, seed=seed, epoch=0, indices=torch.arange(n), image_size=side)
        cases.append((label, policy, draw, True))
    rows = []
    for label, policy, draw, is_policy in cases:
        for dtype, imgs in (("uint8", images), ("float", images.float() / 255.0)):
            max_diff, mean_diff, share = _compare(imgs, policy, draw, backend)
            bound, share_bound = bounds_for(label, dtype, backend, is_policy)
            ok = max_diff <= bound[0] and mean_diff <= bound[1]
            if share_bound is not None:
                ok = ok and share <= share_bound
            rows.append({"compared": label, "backend": backend, "dtype": dtype, "max_abs_diff": max_diff,
                         "mean_abs_diff": mean_diff,
                         "differing_share": share, "bound_max": bound[0], "bound_mean": bound[1], "within_bound": ok})
    return rows


__all__ = ["auto_equivalence_table", "sub_op_draw", "SUB_OP_BOUNDS", "POLICY_BOUNDS", "POLICY_DIFFERING_SHARE",
           "FLOAT_BOUNDS", "POLICIES", "bounds_for", "KORNIA_COLOUR_BOUNDS", "KORNIA_NEAREST_SHEAR_BOUNDS",
           "KORNIA_POLICY_BOUNDS"]
