"""The batched engine (backend ``"augstudy"``): applies a :class:`PolicyDraw` to a whole batch at once.

Pure torch, device-agnostic (CPU or CUDA, same code), no per-image Python in the hot path:

- flips: flip the selected images (``index_select`` -> ``flip`` -> ``index_copy_``);
- RandomCrop: pad the batch once, then ONE ``index_select`` over an overlapping view of the flat
  buffer whose row k is the ``size`` elements starting at k: the B*C*size window rows are picked
  by index arithmetic (``crop_windows``);
- RandomResizedCrop: separable bilinear gathers clamped to each image's box (as torchvision)
- Rotation, Affine: one ``F.affine_grid`` + ``F.grid_sample`` (bilinear) per batch
  with per-image matrices built exactly like torchvision's ``_get_inverse_affine_matrix`` (positive
  angle = counter-clockwise, as ``F.rotate``).  RandomResizedCrop samples bilinearly without
  antialiasing (torchvision's ``resized_crop`` antialiases when it shrinks a box);
- ColorJitter: per-image factors and per-image random order.  The applied images are sorted once
  by their permutation, so at each of the four steps the images that run adjustment j are
  contiguous slices, adjusted in place (at most 64 slices whatever the batch size; cut into
  L2-sized blocks on CPU); one ``index_copy_`` restores the order.  Brightness, contrast and
  saturation follow torchvision's tensor functional (contrast blends with the per-image mean of the
  grayscale image; clamp to [0, 1] after each step); hue evaluates torchvision's ``_rgb2hsv`` ->
  shift -> ``_hsv2rgb`` in closed form (``min + chroma * curve(h6)``) without materializing HSV.
  An adjustment whose range is the identity (e.g. hue 0) is skipped, as torchvision does;
- RandomGrayscale: torchvision's weights (0.2989, 0.587, 0.114); RandomErasing: box masks;
- GaussianBlur: separable grouped conv with a per-image kernel (reflect padding, torchvision's kernel).

Leading integer-exact ops (flips, crops, erasing with an 8-bit-exact value) run on uint8 (4x less
memory traffic); the batch is converted to float32 in [0, 1] once, at the first op that needs it.

Unapplied images (``apply`` False) are left unchanged.  (A size-changing op must have p = 1, see
``spec.py``; only a policy-level ``p`` < 1 can leave one unapplied, and then the image takes the
centre crop (RandomCrop) or is resized whole (RandomResizedCrop), so the batch keeps one size.)

Speed on the 2-core CPU (policy ``light``, batch 256): see ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from augstudy.policy.ops import OPS
from augstudy.policy.sampling import PolicyDraw, sample_draw
from augstudy.policy.spec import OpSpec, Policy

GRAY_WEIGHTS = (0.2989, 0.587, 0.114)  # torchvision rgb_to_grayscale (ITU-R 601-2 luma)
#: ops that are exact on uint8 pixels (given an 8-bit-exact fill value)
_UINT8_OPS = {"HorizontalFlip", "VerticalFlip", "RandomCrop", "RandomErasing"}
#: ops that accept uint8 and convert to float themselves, after selecting the images they change
_CONVERTS_ITSELF = {"ColorJitter"}


# ------------------------------------------------------------------------------------- helpers
def _mask4(apply: torch.Tensor) -> torch.Tensor:
    return apply.view(-1, 1, 1, 1)


def _pixel(value: float, dtype: torch.dtype) -> float:
    """A fill value (fraction of full scale) in the units of ``dtype``."""
    return round(value * 255) if dtype == torch.uint8 else float(value)


def _uint8_exact(spec: OpSpec) -> bool:
    if spec.op not in _UINT8_OPS:
        return False
    value = spec.params.get("fill", spec.params.get("value", 0.0))
    return abs(value * 255 - round(value * 255)) < 1e-9


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [B,C,H,W] -> float32 in [0, 1] (float input is returned as float32 unchanged)."""
    if images.dtype == torch.uint8:
        return images.to(torch.float32).div_(255.0)  # exact, as torchvision's to_dtype(scale=True)
    return images.to(torch.float32)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float in [0, 1] -> uint8, rounding to nearest."""
    return images.mul(255.0).round_().clamp_(0, 255).to(torch.uint8)


def _on_subset(x: torch.Tensor, apply: torch.Tensor, fn, *per_image: torch.Tensor) -> torch.Tensor:
    """Run ``fn(x[sel], *per_image[sel])`` only on the applied images, writing into a copy of x.

    Cheaper than computing on the full batch and masking when p < 1; still no per-image Python.
    """
    if bool(apply.all()):
        return fn(x, *per_image)
    idx = apply.nonzero().squeeze(1)
    if idx.numel() == 0:
        return x
    out = x.clone()
    out.index_copy_(0, idx, fn(x.index_select(0, idx), *(t.index_select(0, idx) for t in per_image)))
    return out


# ------------------------------------------------------------------------------------- geometry
def _flip(x, spec, fields, dim):
    # flipping only the selected images (index_select/index_copy_) is ~2x faster than torch.where
    return _on_subset(x, fields["apply"], lambda sub: sub.flip(dim))


def crop_windows(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, size: int) -> torch.Tensor:
    """Per-image ``size`` x ``size`` windows at (top, left) of a contiguous [B,C,H,W] batch.

    Index arithmetic, no per-image Python: an overlapping view of the flat buffer whose row k is
    the ``size`` elements starting at k, and one ``index_select`` of the B*C*size window rows
    (each a contiguous run of memory).  About 10x faster than two ``gather`` calls on CPU.
    """
    x = x.contiguous()
    b, c, h, w = x.shape
    flat = x.reshape(-1)
    windows = flat.as_strided((flat.numel() - size + 1, size), (1, 1))
    dev = x.device
    plane = (torch.arange(b, device=dev)[:, None] * c + torch.arange(c, device=dev)[None, :]) * (h * w)  # [B, C]
    row = (top[:, None] + torch.arange(size, device=dev)[None, :]) * w + left[:, None]  # [B, S]
    start = plane[:, :, None] + row[:, None, :]
    return windows.index_select(0, start.reshape(-1)).view(b, c, size, size)


def _random_crop(x: torch.Tensor, spec: OpSpec, fields: dict) -> torch.Tensor:
    size, pad = spec.params["size"], spec.params["padding"]
    side = x.shape[-1]
    if pad:
        if spec.params["padding_mode"] == "reflect":
            x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        else:
            x = F.pad(x, (pad, pad, pad, pad), value=_pixel(spec.params["fill"], x.dtype))
    centre = pad + (side - size) // 2
    centre = min(max(centre, 0), side + 2 * pad - size)
    top = torch.where(fields["apply"], fields["top"], centre)
    left = torch.where(fields["apply"], fields["left"], centre)
    return crop_windows(x, top, left, size)


def _affine_theta(angle, tx, ty, scale, side: int) -> torch.Tensor:
    """[B,2,3] matrices for ``F.affine_grid`` (align_corners=False) from torchvision's inverse affine.

    Positive ``angle`` (degrees) is counter-clockwise, as ``F.rotate`` (which passes ``-angle`` to
    ``_get_inverse_affine_matrix``).  No shear, centre = image centre: M = R/s, offset = -M @ (tx, ty)
    in pixels about the centre; normalized coordinates divide pixels by side/2.
    """
    rad = angle.to(torch.float32) * (-math.pi / 180.0)
    cos, sin = torch.cos(rad) / scale, torch.sin(rad) / scale
    m00, m01, m10, m11 = cos, sin, -sin, cos
    m02 = -(m00 * tx + m01 * ty)
    m12 = -(m10 * tx + m11 * ty)
    half = side / 2.0
    return torch.stack([torch.stack([m00, m01, m02 / half], 1), torch.stack([m10, m11, m12 / half], 1)], 1)


def _grid_warp(x: torch.Tensor, theta: torch.Tensor, out_side: int, fill: float = 0.0) -> torch.Tensor:
    grid = F.affine_grid(theta.to(x.dtype), [x.shape[0], x.shape[1], out_side, out_side], align_corners=False)
    if fill == 0.0:
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ones = torch.ones_like(x[:, :1])
    out = F.grid_sample(torch.cat([x, ones], 1), grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    inside = out[:, -1:]
    return out[:, :-1] + (1.0 - inside) * fill


def _affine(x: torch.Tensor, spec: OpSpec, fields: dict) -> torch.Tensor:
    side = x.shape[-1]
    fill = spec.params["fill"]

    def warp(sub, angle, tx, ty, scale):
        return _grid_warp(sub, _affine_theta(angle, tx, ty, scale, side), side, fill)

    return _on_subset(x, fields["apply"], warp, fields["angle"], fields["tx"], fields["ty"], fields["scale"])


def _box_sample_index(start: torch.Tensor, extent: torch.Tensor, size: int):
    """Bilinear source rows (or columns) of resizing per-image boxes to ``size`` pixels.

    Matches ``F.interpolate(mode="bilinear", align_corners=False)`` on the cropped box: the
    source coordinate ``(o + 0.5) * extent / size - 0.5`` is clamped to the box, so no pixel
    from outside the box bleeds in (a whole-image ``grid_sample`` would blend its neighbours).

    Args: ``start``, ``extent``: int64 ``[B]`` box offset and length in pixels.
    Returns: ``(i0, i1, w1)``: int64 ``[B, size]`` absolute indices and float32 ``[B, size]``
    weight of ``i1``.
    """
    out = torch.arange(size, device=start.device, dtype=torch.float32) + 0.5
    extent_f = extent.to(torch.float32)[:, None]
    src = (out[None, :] * (extent_f / size) - 0.5).clamp_min(0.0)
    i0 = src.floor()
    w1 = src - i0
    i0 = torch.minimum(i0.long(), extent[:, None] - 1)
    i1 = torch.minimum(i0 + 1, extent[:, None] - 1)
    return start[:, None] + i0, start[:, None] + i1, w1


def _random_resized_crop(x: torch.Tensor, spec: OpSpec, fields: dict) -> torch.Tensor:
    size, side = spec.params["size"], x.shape[-1]
    apply = fields["apply"]
    top = torch.where(apply, fields["top"], 0)
    left = torch.where(apply, fields["left"], 0)
    height = torch.where(apply, fields["height"], side)
    width = torch.where(apply, fields["width"], side)
    y0, y1, wy = _box_sample_index(top, height, size)       # [B, S]
    x0, x1, wx = _box_sample_index(left, width, size)       # [B, S]
    # separable bilinear by gathers: rows first ([B, C, S, W]), then columns ([B, C, S, S])
    c, w = x.shape[1], x.shape[-1]
    rows0 = torch.gather(x, 2, y0[:, None, :, None].expand(-1, c, -1, w))
    rows1 = torch.gather(x, 2, y1[:, None, :, None].expand(-1, c, -1, w))
    rows = torch.lerp(rows0, rows1, wy[:, None, :, None].to(x.dtype))
    cols0 = torch.gather(rows, 3, x0[:, None, None, :].expand(-1, c, size, -1))
    cols1 = torch.gather(rows, 3, x1[:, None, None, :].expand(-1, c, size, -1))
    out = torch.lerp(cols0, cols1, wx[:, None, None, :].to(x.dtype))
    if size == side:  # unapplied images stay bit-identical
        out = torch.where(_mask4(apply), out, x)
    return out


# ------------------------------------------------------------------------------------- colour
_GRAY_CACHE: dict = {}


def _gray_weights(x: torch.Tensor) -> torch.Tensor:
    """torchvision's luma weights as a [1,3,1,1] tensor on x's device/dtype (cached: no per-call copy)."""
    key = (x.device, x.dtype)
    if key not in _GRAY_CACHE:
        _GRAY_CACHE[key] = torch.tensor(GRAY_WEIGHTS, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return _GRAY_CACHE[key]


def grayscale(x: torch.Tensor) -> torch.Tensor:
    """float [B,3,H,W] -> [B,1,H,W] luma with torchvision's weights (0.2989, 0.587, 0.114)."""
    return (x * _gray_weights(x)).sum(1, keepdim=True)


def brightness_(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """In place: x * factor, clamped to [0, 1]; x float [N,3,H,W], factor [N]."""
    return x.mul_(factor.view(-1, 1, 1, 1)).clamp_(0.0, 1.0)


def contrast_(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """In place: blend with the per-image mean of the grayscale image (torchvision), clamp to [0, 1]."""
    f = factor.view(-1, 1, 1, 1)
    # mean of the grayscale image = luma-weighted mean of the channel means (no grey image needed)
    mean = (x.mean(dim=(2, 3), keepdim=True) * _gray_weights(x)).sum(1, keepdim=True)
    return x.mul_(f).add_((1.0 - f) * mean).clamp_(0.0, 1.0)


def saturation_(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """In place: blend with the grayscale image (torchvision), clamp to [0, 1]."""
    f = factor.view(-1, 1, 1, 1)
    gray = grayscale(x).mul_(1.0 - f)
    return x.mul_(f).add_(gray).clamp_(0.0, 1.0)


def hue_(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """In place: :func:`adjust_hue` (the compiled kernel when :func:`use_compiled_kernels` is on)."""
    kernel = _KERNELS["hue"]
    if kernel is adjust_hue:
        return adjust_hue(x, shift, out=x)
    return x.copy_(kernel(x, shift))


def adjust_brightness(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """x * factor, clamped to [0, 1]; x float [N,3,H,W] in [0, 1], factor [N]; returns a new tensor."""
    return brightness_(x.clone(), factor)


def adjust_contrast(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """torchvision's adjust_contrast on a batch with per-image factors [N]; returns a new tensor."""
    return contrast_(x.clone(), factor)


def adjust_saturation(x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """torchvision's adjust_saturation on a batch with per-image factors [N]; returns a new tensor."""
    return saturation_(x.clone(), factor)


# closed-form HSV -> RGB "hue curves", channel = clamp(slope * |h6 - centre| + offset, 0, 1), h6 in [0, 6)
_HUE_CURVES = ((1.0, 3.0, -1.0), (-1.0, 2.0, 2.0), (-1.0, 4.0, 2.0))  # (slope, centre, offset) for R, G, B


def adjust_hue(x: torch.Tensor, shift: torch.Tensor, out: torch.Tensor | None = None) -> torch.Tensor:
    """Rotate hue by ``shift`` (fraction of the colour circle, [B]) in torchvision's HSV model.

    Hue in sixths ``h6`` follows torchvision's ``_rgb2hsv``; ``_hsv2rgb`` is evaluated in closed form
    without materializing S and V: ``channel = min + chroma * curve(h6)``, where ``v = max`` and
    ``v * s = chroma = max - min``.  Branches are float 0/1 masks written with ``out=`` (``torch.where``
    and bool->float casts are several times slower on CPU).  Matches torchvision to ~1e-6.
    ``out`` may be ``x`` itself (the last step reads only intermediates).
    """
    r, g, b = x.unbind(1)
    maxc, minc = x.amax(1), x.amin(1)
    chroma = maxc - minc
    # which channel is the max (torchvision's precedence r, then g, then b), as float 0/1 masks
    is_r = torch.eq(maxc, r, out=torch.empty_like(maxc))
    is_g = torch.eq(maxc, g, out=torch.empty_like(maxc))
    is_g.addcmul_(is_g, is_r, value=-1.0)
    # numerator: g-b (max r), b-r (max g), r-g (max b), written as r-g plus masked corrections
    r_g = r - g
    numerator = torch.addcmul(r_g, is_r, (g - b).sub_(r_g))
    numerator.addcmul_(is_g, (b - r).sub_(r_g))
    # grey pixels (chroma 0) have numerator 0, so any positive divisor gives torchvision's hue 0;
    # sector offsets 0 (r), 2 (g), 4 (b) = 4 - 4*is_r - 2*is_g
    h6 = numerator.div_(chroma.clamp_min(1e-12))
    h6.add_((6.0 * shift + 4.0).to(x.dtype).view(-1, 1, 1)).add_(is_r, alpha=-4.0).add_(is_g, alpha=-2.0)
    h6.sub_(torch.mul(h6, 1.0 / 6.0).floor_(), alpha=6.0)  # wrap into [0, 6)
    slope, centre, offset = _hue_curves(x)
    curve = torch.addcmul(offset, slope, (h6.unsqueeze(1) - centre).abs_()).clamp_(0.0, 1.0)
    return torch.addcmul(minc.unsqueeze(1), curve, chroma.unsqueeze(1), out=out)


_HUE_CURVE_CACHE: dict = {}


def _hue_curves(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(slope, centre, offset) as [1,3,1,1] tensors on x's device/dtype (cached)."""
    key = (x.device, x.dtype)
    if key not in _HUE_CURVE_CACHE:
        curves = torch.tensor(_HUE_CURVES, dtype=x.dtype, device=x.device)
        _HUE_CURVE_CACHE[key] = tuple(curves[:, i].reshape(1, 3, 1, 1).contiguous() for i in range(3))
    return _HUE_CURVE_CACHE[key]


# ------------------------------------------------------------------------------------- optional compilation
#: the hue kernel in use; eager by default.  Hue is ~45 elementwise passes in eager mode (half the
#: engine's time on CPU); torch.compile fuses it into one loop (about 8x faster on CPU), at the cost
#: of a one-time compile (tens of seconds, cached on disk by inductor), so it is opt-in.
_KERNELS: dict = {"hue": adjust_hue}


def use_compiled_kernels(enabled: bool = True) -> bool:
    """Switch the hue kernel to ``torch.compile(adjust_hue, dynamic=True)`` (or back to eager).

    Process-wide.  Returns whether compiled kernels are in use.  If compilation fails (no C++
    compiler, unsupported platform) a warning is issued and the eager kernel stays.
    """
    if not enabled:
        _KERNELS["hue"] = adjust_hue
        return False
    if _KERNELS["hue"] is not adjust_hue:
        return True
    compiled = torch.compile(adjust_hue, dynamic=True)

    def hue_with_fallback(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
        try:
            return compiled(x, shift)
        except Exception as exc:  # noqa: BLE001 - any compile failure: warn once, stay correct in eager
            import warnings

            warnings.warn(f"torch.compile of the hue kernel failed ({type(exc).__name__}: {exc}); using eager",
                          RuntimeWarning, stacklevel=2)
            _KERNELS["hue"] = adjust_hue
            return adjust_hue(x, shift)

    _KERNELS["hue"] = hue_with_fallback
    return True


#: in-place adjustments in torchvision's numbering (the draw's ``order`` values 0..3)
_ADJUSTMENTS = (("brightness", brightness_), ("contrast", contrast_), ("saturation", saturation_), ("hue", hue_))


def _is_identity(name: str, value) -> bool:
    if isinstance(value, (list, tuple)):
        return all(v == (0.0 if name == "hue" else 1.0) for v in value)
    return value == 0.0


#: bytes of image data an elementwise chain should touch at once on CPU (about half an L2 cache):
#: hue is ~45 passes over its input, and blocks that stay in L2 run 3-4x faster than a whole
#: 256-image batch streaming through memory (measured, benchmarks/RESULTS.md)
CPU_BLOCK_BYTES = 768 * 1024


def _cache_block(x: torch.Tensor) -> int:
    """Images per block for the elementwise chains: L2-sized on CPU, the whole batch on GPUs."""
    if x.device.type != "cpu":
        return max(1, x.shape[0])
    per_image = x[:1].numel() * x.element_size()
    return max(1, CPU_BLOCK_BYTES // max(1, per_image))


def _color_jitter(x: torch.Tensor, spec: OpSpec, fields: dict) -> torch.Tensor:
    """Per-image factors, per-image random order, no per-image Python.

    The applied images are sorted once by their whole permutation (key o0*64 + o1*16 + o2*4 + o3),
    so at step k the images sharing order[:, :k+1] form contiguous slices: each adjustment runs in
    place on a slice view (at most 4 + 12 + 24 + 24 slices, whatever the batch size; on CPU each
    slice is further cut into L2-sized blocks), and one index_copy_ puts the images back.  An
    adjustment whose range is the identity is skipped.
    """
    apply, order = fields["apply"], fields["order"]
    active = {j for j, (name, _) in enumerate(_ADJUSTMENTS) if not _is_identity(name, spec.params[name])}
    if not active:
        return x
    key = order[:, 0] * 64 + order[:, 1] * 16 + order[:, 2] * 4 + order[:, 3]
    key = torch.where(apply, key, 256)  # unapplied images sort last and are left out
    sorted_key, perm = torch.sort(key, stable=True)
    n_applied = int(apply.sum())
    if n_applied == 0:
        return x
    perm, sorted_key = perm[:n_applied], sorted_key[:n_applied]
    xs = to_float(x.index_select(0, perm))  # uint8 input: select first, convert a quarter of the bytes
    block = _cache_block(xs)
    factors = {name: fields[name].index_select(0, perm).to(xs.dtype) for name, _ in _ADJUSTMENTS}
    for step in range(4):
        prefix = torch.div(sorted_key, 4 ** (3 - step), rounding_mode="floor")
        _, counts = torch.unique_consecutive(prefix, return_counts=True)
        ends = counts.cumsum(0)
        starts = ends - counts
        which = (prefix.index_select(0, starts) % 4).tolist()  # the adjustment at this step, per slice
        for begin, end, j in zip(starts.tolist(), ends.tolist(), which):
            if j in active:
                name, fn = _ADJUSTMENTS[j]
                for lo in range(begin, end, block):  # cache-sized blocks on CPU (see _cache_block)
                    hi = min(lo + block, end)
                    fn(xs[lo:hi], factors[name][lo:hi])
    out = to_float(x) if n_applied < x.shape[0] else xs.new_empty(x.shape)
    if out is x:  # float input: never write into the caller's tensor
        out = x.clone()
    return out.index_copy_(0, perm, xs)


def _random_grayscale(x: torch.Tensor, spec: OpSpec, fields: dict) -> torch.Tensor:
    return torch.where(_mask4(fields["apply"]), grayscale(x).expand_as(x), x)


def _random_erasing(x: torch.Tensor, spec: OpSpec, fields: dict) -> torch.Tensor:
    side = x.shape[-1]
    steps = torch.arange(side, device=x.device)
    top, left = fields["top"][:, None], fields["left"][:, None]
    rows = (steps >= top) & (steps < top + fields["height"][:, None])  # [B, H]
    cols = (steps >= left) & (steps < left + fields["width"][:, None])  # [B, W]
    mask = rows[:, None, :, None] & cols[:, None, None, :] & _mask4(fields["apply"])
    value = torch.tensor(_pixel(spec.params["value"], x.dtype), dtype=x.dtype, device=x.device)
    return torch.where(mask, value, x)


def gaussian_kernels(sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """[B] sigmas (px) -> [B, kernel_size] normalized 1-D kernels (torchvision's _get_gaussian_kernel1d)."""
    half = (kernel_size - 1) * 0.5
    xs = torch.linspace(-half, half, kernel_size, device=sigma.device, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (xs[None, :] / sigma[:, None].to(torch.float32)) ** 2)
    return kernel / kernel.sum(1, keepdim=True)


def _gaussian_blur(x: torch.Tensor, spec: OpSpec, fields: dict) -> torch.Tensor:
    k = spec.params["kernel_size"]
    if k == 1:
        return x

    def blur(sub, sigma):
        b, c, h, w = sub.shape
        kern = gaussian_kernels(sigma, k).to(sub.dtype).repeat_interleave(c, 0)  # [B*C, k]
        padded = F.pad(sub, (k // 2, k // 2, k // 2, k // 2), mode="reflect").reshape(1, b * c, h + k - 1, w + k - 1)
        out = F.conv2d(padded, kern.view(b * c, 1, k, 1), groups=b * c)
        out = F.conv2d(out, kern.view(b * c, 1, 1, k), groups=b * c)
        return out.view(b, c, h, w)

    return _on_subset(x, fields["apply"], blur, fields["sigma"])


def _normalize(x: torch.Tensor, spec: OpSpec, fields: dict) -> torch.Tensor:
    mean = torch.tensor(spec.params["mean"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(spec.params["std"], dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return torch.where(_mask4(fields["apply"]), (x - mean) / std, x)


APPLIERS = {
    "HorizontalFlip": lambda x, spec, fields: _flip(x, spec, fields, -1),
    "VerticalFlip": lambda x, spec, fields: _flip(x, spec, fields, -2),
    "RandomCrop": _random_crop,
    "RandomResizedCrop": _random_resized_crop,
    "ColorJitter": _color_jitter,
    "RandomGrayscale": _random_grayscale,
    "RandomErasing": _random_erasing,
    "Rotation": _affine,
    "Affine": _affine,
    "GaussianBlur": _gaussian_blur,
    "Normalize": _normalize,
}
assert set(APPLIERS) == set(OPS), "every registry op needs an applier"


# ------------------------------------------------------------------------------------- entry points
def _check_images(images: torch.Tensor, policy: Policy, draw: PolicyDraw) -> None:
    if images.dim() != 4 or images.shape[1] != 3 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must be [B, 3, S, S] (square RGB), got shape {tuple(images.shape)}")
    if len(draw.ops) != len(policy.ops):
        raise ValueError(f"draw has {len(draw.ops)} ops but policy {policy.name!r} has {len(policy.ops)}")
    if draw.ops and draw.ops[0]["apply"].shape[0] != images.shape[0]:
        raise ValueError(f"draw is for {draw.ops[0]['apply'].shape[0]} images, got a batch of {images.shape[0]}")


def apply_draw_float(images: torch.Tensor, policy: Policy, draw: PolicyDraw) -> torch.Tensor:
    """Apply ``draw`` to ``images`` (uint8 [B,3,H,H] or float in [0, 1]); returns float32 [B,3,S,S].

    S = ``policy.image_size``; values in [0, 1] unless the policy ends with Normalize.
    The draw must be on the images' device (``draw.to(images.device)``).
    """
    _check_images(images, policy, draw)
    x = images
    for spec, fields in zip(policy.ops, draw.ops):
        if x.dtype == torch.uint8 and not _uint8_exact(spec) and spec.op not in _CONVERTS_ITSELF:
            x = to_float(x)
        elif x.dtype != torch.uint8 and x.dtype != torch.float32:
            x = x.to(torch.float32)
        x = APPLIERS[spec.op](x, spec, fields)
    if x.dtype == torch.uint8:
        x = to_float(x)
    if x.shape[-1] != policy.image_size:
        x = F.interpolate(x, size=(policy.image_size, policy.image_size), mode="bilinear", align_corners=False,
                          antialias=x.shape[-1] > policy.image_size)
    return x


def apply_draw(images: torch.Tensor, policy: Policy, draw: PolicyDraw) -> torch.Tensor:
    """Backend ``"augstudy"``: like :func:`apply_draw_float` but returns the input's dtype.

    uint8 in -> uint8 out (rounded), float in -> float out; a policy ending with Normalize returns
    float32 even for uint8 input (normalized values are not pixels).
    """
    with torch.no_grad():
        out = apply_draw_float(images, policy, draw)
    ends_normalized = bool(policy.ops) and policy.ops[-1].op == "Normalize"
    if images.dtype == torch.uint8 and not ends_normalized:
        return to_uint8(out)
    if images.is_floating_point():
        return out.to(images.dtype)
    return out


class BatchAugmenter:
    """Training's hot path: sample (keyed by seed, epoch, index) and apply the policy to a whole batch.

    >>> aug = BatchAugmenter("light", seed=0, device="cpu")
    >>> out = aug(images_uint8, indices, epoch=3)   # float32 [B, 3, 64, 64] in [0, 1]
    """

    def __init__(self, policy, seed: int, device="cpu", compile: bool = False):
        """``compile=True`` switches on :func:`use_compiled_kernels` (faster hue after a one-time compile)."""
        from augstudy.policy.loader import load_policy

        self.policy = load_policy(policy)
        self.seed = int(seed)
        self.device = torch.device(device)
        if compile:
            use_compiled_kernels(True)

    def draw(self, indices: torch.Tensor, epoch: int, image_size: int | None = None) -> PolicyDraw:
        """The draw for ``indices`` (computed on this augmenter's device)."""
        indices = torch.as_tensor(indices, dtype=torch.int64).to(self.device)
        return sample_draw(self.policy, seed=self.seed, epoch=epoch, indices=indices, image_size=image_size)

    def __call__(self, images_uint8: torch.Tensor, indices: torch.Tensor, epoch: int) -> torch.Tensor:
        """uint8 [B,3,H,H] (+ int64 [B] dataset indices) -> float32 [B,3,S,S] in [0, 1] on ``device``."""
        images = images_uint8.to(self.device, non_blocking=True)
        with torch.no_grad():
            draw = self.draw(indices, epoch, image_size=images.shape[-1])
            return apply_draw_float(images, self.policy, draw)

    def __repr__(self) -> str:
        return f"BatchAugmenter(policy={self.policy.name!r}, seed={self.seed}, device={str(self.device)!r})"


__all__ = ["apply_draw", "apply_draw_float", "BatchAugmenter", "APPLIERS", "adjust_brightness", "adjust_contrast",
           "adjust_saturation", "adjust_hue", "grayscale", "gaussian_kernels", "crop_windows", "to_float", "to_uint8",
           "use_compiled_kernels"]
