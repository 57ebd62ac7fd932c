"""Batched kernels of the automatic policies' sub-ops (RandAugment, TrivialAugmentWide, AutoAugment,
AugMix), with per-image magnitudes and torchvision.transforms.v2's tensor semantics.

Each kernel mirrors its torchvision function (``transforms/v2/functional/_color.py`` and
``_geometry.py``, torchvision 0.29) on a whole batch with a magnitude per image:

- uint8 input is processed like torchvision on uint8: arithmetic in float32 on 0..255 values,
  clamped and TRUNCATED to uint8 after each sub-op (``_blend``'s ``.to(uint8)``), the grayscale of
  Color/Contrast floored, Sharpness' blurred image rounded, geometric resampling rounded;
- float input (in [0, 1]) like torchvision on float (bound 1.0; Equalize goes through uint8 with
  ``to_dtype(scale=True)``'s ``mul(256 - 1e-3)``, as torchvision does).

Geometric sub-ops: integer translations (TranslateX/Y) are padded-window shifts (what
torchvision's resampling of an integer shift returns); ShearX/Y and Rotate of a batch share ONE
resampling with a per-image inverse matrix built like ``_get_inverse_affine_matrix`` (float64, then
float32) and torchvision's ``_affine_grid`` (pixel-centred base grid, rescaled theta), nearest as an
index gather in the image dtype, bilinear by ``grid_sample``; ``Rotate`` by a multiple of 90
degrees takes ``rot90`` as torchvision's fast path does; the translation is ``int(magnitude)``
and the shear ``degrees(atan(magnitude))`` about the top-left corner (``center=[0, 0]``), as in
``_AutoAugmentBase._apply_image_or_video_transform``.  ``fill`` None: zero padding (torchvision's
default); a number: torchvision's fill (nearest: where the mask < 0.5; bilinear: ``mask*(img-fill)+fill``).

Equalize, AutoContrast and Invert have no parameter and are batched in torchvision already: its
kernels are called as they are.  Shapes: ``x`` [N, 3, H, W] uint8 or float32; magnitudes float64 [N].
:func:`apply_sub_ops` dispatches one step of a draw (a sub-op id per image) without per-image Python.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from augstudy.policy.auto_spaces import SUB_OP_ID, SUB_OPS
from augstudy.policy.kernels import GRAY_WEIGHTS

_GEOMETRIC_IDS = tuple(SUB_OP_ID[n] for n in ("ShearX", "ShearY", "TranslateX", "TranslateY", "Rotate"))


def _bound(x: torch.Tensor) -> float:
    return 255.0 if x.dtype == torch.uint8 else 1.0


def _col(values: torch.Tensor) -> torch.Tensor:
    """[N] float64 -> [N,1,1,1] float32 (torchvision passes Python floats, used as float32)."""
    return values.to(torch.float32).view(-1, 1, 1, 1)


def _cast(out: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Clamp to the dtype's range and cast back (uint8: truncation, as torchvision's ``.to(uint8)``)."""
    out = out.clamp_(0.0, _bound(like))
    return out if like.is_floating_point() else out.to(like.dtype)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """torchvision's ``_rgb_to_grayscale_image(preserve_dtype=False)``, floored for uint8: [N,1,H,W] float."""
    r, g, b = x.unbind(1)
    gray = r.mul(GRAY_WEIGHTS[0]).add_(g, alpha=GRAY_WEIGHTS[1]).add_(b, alpha=GRAY_WEIGHTS[2]).unsqueeze(1)
    return gray if x.is_floating_point() else gray.floor_()


def _blend(x: torch.Tensor, other: torch.Tensor, ratio: torch.Tensor) -> torch.Tensor:
    """``_blend``: ``x*ratio + other*(1-ratio)``, clamped, cast; ratio float64 [N]."""
    out = x.mul(_col(ratio)).add_(other.mul(_col(1.0 - ratio)))
    return _cast(out, x)


def brightness(x, m):
    """``adjust_brightness(1 + m)``: ``x * factor``, clamped."""
    return _cast(x.mul(_col(1.0 + m)), x)


def color(x, m):
    """``adjust_saturation(1 + m)``: blend with the grayscale image."""
    return _blend(x, _gray(x), 1.0 + m)


def contrast(x, m):
    """``adjust_contrast(1 + m)``: blend with the per-image mean of the grayscale image."""
    return _blend(x, _gray(x).mean(dim=(-3, -2, -1), keepdim=True), 1.0 + m)


def sharpness(x, m):
    """``adjust_sharpness(1 + m)``: blend the interior with a 3x3 smoothing (1s around a 5, /13)."""
    n, c, h, w = x.shape
    if h <= 2 or w <= 2:
        return x
    a, b = 1.0 / 13.0, 5.0 / 13.0
    kernel = torch.tensor([[a, a, a], [a, b, a], [a, a, a]], dtype=torch.float32, device=x.device).expand(c, 1, 3, 3)
    out = x.to(torch.float32, copy=True)
    blurred = F.conv2d(out, kernel, groups=c)
    if not x.is_floating_point():
        blurred = blurred.round_()
    view = out[..., 1:-1, 1:-1]
    view.add_(blurred.sub_(view).mul_(_col(1.0 - (1.0 + m))))
    return _cast(out, x)


def posterize(x, m):
    """``posterize(bits=int(m))``: uint8 keeps the top ``bits`` bits; float quantizes to 2**bits levels."""
    bits = m.to(torch.int64).clamp(0, 8)
    if x.dtype == torch.uint8:
        mask = (((1 << bits) - 1) << (8 - bits)).to(torch.uint8).view(-1, 1, 1, 1)
        return x & mask
    levels = (1 << bits).to(torch.float32).view(-1, 1, 1, 1)
    return torch.minimum(x.mul(levels).floor_(), levels - 1).clamp_min_(0).div_(levels)


def solarize(x, m):
    """``solarize(threshold = bound * m)``: invert the pixels at or above the threshold."""
    threshold = _col(m * _bound(x))
    return torch.where(x >= threshold, invert(x), x)


def invert(x, m=None):
    return x.bitwise_not() if x.dtype == torch.uint8 else 1.0 - x


def autocontrast(x, m=None):
    import torchvision.transforms.v2.functional as TF

    return TF.autocontrast(x)


def equalize(x, m=None):
    import torchvision.transforms.v2.functional as TF

    return TF.equalize(x)


def identity(x, m=None):
    return x


# ----------------------------------------------------------------------------- geometry
def inverse_affine(angle, tx, ty, shear_x, shear_y, cx, cy) -> torch.Tensor:
    """Per-image ``_get_inverse_affine_matrix`` (scale 1), float64 [N] inputs (degrees, pixels,
    centre relative to the image centre) -> float32 [N, 2, 3] theta in pixel units."""
    rot, sx, sy = torch.deg2rad(angle), torch.deg2rad(shear_x), torch.deg2rad(shear_y)
    cos_sy, tan_sx = torch.cos(sy), torch.tan(sx)
    a = torch.cos(rot - sy) / cos_sy
    b = -(a * tan_sx + torch.sin(rot))
    c = torch.sin(rot - sy) / cos_sy
    d = torch.cos(rot) - c * tan_sx
    m0, m1, m3, m4 = d, -b, -c, a
    cxt, cyt = cx + tx, cy + ty
    m2 = cx - m0 * cxt - m1 * cyt
    m5 = cy - m3 * cxt - m4 * cyt
    return torch.stack([torch.stack([m0, m1, m2], 1), torch.stack([m3, m4, m5], 1)], 1).to(torch.float32)


def _affine_grid(theta: torch.Tensor, side_h: int, side_w: int) -> torch.Tensor:
    """torchvision's ``_affine_grid`` for a batch of thetas [N,2,3] -> grid [N,H,W,2].

    torchvision multiplies the pixel-centred base grid ``(x, y, 1)`` by the rescaled theta with
    ``bmm``; here each coordinate is ``(x*t0 + y*t1) + t2`` by broadcasting ([N,1,W] + [N,H,1]),
    the same float32 operations in the same order (bit-identical, measured) at half the cost of a
    batched ``bmm`` with an inner dimension of 3.
    """
    dev = theta.device
    xs = torch.linspace((1.0 - side_w) * 0.5, (side_w - 1.0) * 0.5, steps=side_w, device=dev).to(theta.dtype)
    ys = torch.linspace((1.0 - side_h) * 0.5, (side_h - 1.0) * 0.5, steps=side_h, device=dev).to(theta.dtype)
    rescaled = theta.transpose(1, 2).div(torch.tensor([0.5 * side_w, 0.5 * side_h], dtype=theta.dtype, device=dev))
    coords = []
    for k in range(2):  # k = 0: source x, k = 1: source y (normalized)
        t0, t1, t2 = (rescaled[:, row, k].view(-1, 1, 1) for row in range(3))
        coords.append((xs.view(1, 1, side_w) * t0 + ys.view(1, side_h, 1) * t1) + t2)
    return torch.stack(coords, -1)


def _grid_transform(x: torch.Tensor, grid: torch.Tensor, mode: str, fill) -> torch.Tensor:
    """torchvision's ``_apply_grid_transform`` with one grid per image."""
    fimg = x if x.is_floating_point() else x.to(torch.float32)
    if fill is not None:
        fimg = torch.cat([fimg, torch.ones_like(fimg[:, :1])], 1)
    out = F.grid_sample(fimg, grid, mode=mode, padding_mode="zeros", align_corners=False)
    if fill is not None:
        out, mask = out[:, :-1], out[:, -1:].expand_as(out[:, :-1])
        value = float(fill) * _bound(x)
        if mode == "nearest":
            out = torch.where(mask < 0.5, torch.full_like(out, value), out)
        else:
            out = out.sub_(value).mul_(mask).add_(value)
    return out if x.is_floating_point() else out.round_().to(x.dtype)


def translate(x: torch.Tensor, tx: torch.Tensor, ty: torch.Tensor, fill) -> torch.Tensor:
    """Integer shifts (int64 [N] pixels, positive = right/down) with ``fill`` (None: 0) where no
    source pixel lands: pad once by the largest shift, then per-image windows (``crop_windows``).
    torchvision resamples an integer translation through the same grid as any affine; its source
    coordinates are then integers up to float rounding, so nearest and bilinear both return the
    shifted pixels (measured: identical on uint8, see :mod:`augstudy.policy.auto_equivalence`)."""
    from augstudy.policy.kernels import crop_windows

    pad = int(max(tx.abs().max().item(), ty.abs().max().item(), 0))
    if pad == 0:
        return x.clone()
    value = 0.0 if fill is None else float(fill) * _bound(x)
    if x.dtype == torch.uint8:
        value = round(value)  # torchvision rounds the resampled fill of uint8 images (half to even, as Python)
    padded = F.pad(x, [pad, pad, pad, pad], value=value)
    return crop_windows(padded, pad - ty, pad - tx, x.shape[-1])


def _nearest_gather(x: torch.Tensor, grid: torch.Tensor, fill) -> torch.Tensor:
    """``grid_sample(mode="nearest", padding_mode="zeros", align_corners=False)`` (+ torchvision's
    nearest fill) as an index gather in x's own dtype: the source pixel is
    ``round_half_even(((g + 1) * size - 1) / 2)`` (PyTorch's ``grid_sampler_unnormalize``), pixels
    with no source take 0 or ``fill``.  No uint8 -> float -> uint8 round trip; identical to
    torchvision on uint8 (measured on rotations and shears, :mod:`augstudy.policy.auto_equivalence`)."""
    n, c, h, w = x.shape
    ix = ((grid[..., 0] + 1) * w - 1).div_(2).round_()
    iy = ((grid[..., 1] + 1) * h - 1).div_(2).round_()
    valid = (ix >= 0) & (ix <= w - 1) & (iy >= 0) & (iy <= h - 1)
    flat = (iy.clamp_(0, h - 1) * w + ix.clamp_(0, w - 1)).to(torch.int64).view(n, 1, h * w).expand(n, c, h * w)
    out = x.reshape(n, c, h * w).gather(2, flat).view(n, c, h, w)
    value = 0.0 if fill is None else float(fill) * _bound(x)
    if x.dtype == torch.uint8:
        value = round(value)  # torchvision fills the float grid result, then rounds to uint8
    return out.masked_fill_(~valid.unsqueeze(1), value)


def _resample(x: torch.Tensor, ids: torch.Tensor, m: torch.Tensor, mode: str, fill) -> torch.Tensor:
    """ShearX/Y, TranslateX/Y and Rotate (``ids``: sub-op ids [N]) in one resampling with torchvision's
    matrices and grid (integer translations take :func:`translate` in :func:`apply_sub_ops`)."""
    n, _, h, w = x.shape
    zeros = torch.zeros_like(m)

    def pick(name):
        return ids == SUB_OP_ID[name]

    shear = torch.rad2deg(torch.atan(m))
    shear_x = torch.where(pick("ShearX"), shear, zeros)
    shear_y = torch.where(pick("ShearY"), shear, zeros)
    is_shear = pick("ShearX") | pick("ShearY")
    step = torch.trunc(m)  # int(magnitude)
    tx = torch.where(pick("TranslateX"), step, zeros)
    ty = torch.where(pick("TranslateY"), step, zeros)
    rotate = pick("Rotate")
    angle = torch.where(rotate, -torch.remainder(m, 360.0), zeros)  # rotate_image: angle % 360, then -angle
    cx = torch.where(is_shear, torch.full_like(m, -w * 0.5), zeros)
    cy = torch.where(is_shear, torch.full_like(m, -h * 0.5), zeros)
    theta = inverse_affine(angle, tx, ty, shear_x, shear_y, cx, cy)
    grid = _affine_grid(theta, h, w)
    out = _nearest_gather(x, grid, fill) if mode == "nearest" else _grid_transform(x, grid, mode, fill)
    # torchvision's rotate fast paths: angle 0 -> clone, multiples of 90 -> rot90 (square images)
    turns = torch.remainder(m, 360.0)
    for k, value in ((0, 0.0), (1, 90.0), (2, 180.0), (3, 270.0)):
        exact = rotate & (turns == value)
        if bool(exact.any()):
            idx = exact.nonzero().squeeze(1)
            src = x.index_select(0, idx)
            out.index_copy_(0, idx, torch.rot90(src, k=k, dims=(-2, -1)) if (k % 2 == 0 or h == w) else out[idx])
    return out


#: sub-op name -> kernel(x, magnitudes) for the non-geometric sub-ops
KERNELS = {"Identity": identity, "Brightness": brightness, "Color": color, "Contrast": contrast,
           "Sharpness": sharpness, "Posterize": posterize, "Solarize": solarize, "AutoContrast": autocontrast,
           "Equalize": equalize, "Invert": invert}


def _translate_group(x, ids, m, mode, fill):
    step = torch.trunc(m).to(torch.int64)  # int(magnitude)
    zero = torch.zeros_like(step)
    return translate(x, torch.where(ids == SUB_OP_ID["TranslateX"], step, zero),
                     torch.where(ids == SUB_OP_ID["TranslateY"], step, zero), fill)


#: group key per sub-op id: translations, the other geometric sub-ops (one resampling), then one per kernel
_GROUP_OF = torch.tensor([0 if SUB_OPS[i] in ("TranslateX", "TranslateY") else 1 if i in _GEOMETRIC_IDS else 2 + i
                          for i in range(len(SUB_OPS))])


def apply_sub_ops(x: torch.Tensor, sub_op: torch.Tensor, magnitude: torch.Tensor, *, interpolation: str = "nearest",
                  fill=None) -> torch.Tensor:
    """One step of a draw: image i gets sub-op ``sub_op[i]`` (an id of :data:`SUB_OPS`) at
    ``magnitude[i]``.  The batch is sorted once by sub-op group (integer translations; the other
    geometric sub-ops, which share one resampling; one group per other sub-op), each group runs on
    its contiguous slice, and one ``index_select`` restores the order (``index_copy_`` per group is
    several times slower on uint8 CPU tensors).  Returns a new tensor of x's dtype; x is not modified."""
    groups = _GROUP_OF.to(sub_op.device)[sub_op]
    sorted_groups, perm = torch.sort(groups, stable=True)
    xs, ids = x.index_select(0, perm), sub_op.index_select(0, perm)
    mags = magnitude.to(torch.float64).index_select(0, perm)
    keys, counts = torch.unique_consecutive(sorted_groups, return_counts=True)
    out = torch.empty_like(xs)
    start = 0
    for key, count in zip(keys.tolist(), counts.tolist()):
        end = start + count
        sub, sub_ids, sub_mags = xs[start:end], ids[start:end], mags[start:end]
        if key == 0:
            out[start:end] = _translate_group(sub, sub_ids, sub_mags, interpolation, fill)
        elif key == 1:
            out[start:end] = _resample(sub, sub_ids, sub_mags, interpolation, fill)
        else:
            out[start:end] = KERNELS[SUB_OPS[key - 2]](sub, sub_mags)
        start = end
    return out.index_select(0, torch.argsort(perm))


__all__ = ["apply_sub_ops", "KERNELS", "translate", "inverse_affine", "brightness", "color", "contrast", "sharpness",
           "posterize", "solarize", "invert", "autocontrast", "equalize", "identity"]
