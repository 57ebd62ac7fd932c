"""ColorJitter's batched kernels: per-image brightness, contrast, saturation and hue, applied in a
per-image random order without per-image Python.

Brightness, contrast and saturation follow torchvision's tensor functional (contrast blends with the
per-image mean of the grayscale image; clamp to [0, 1] after each step); hue evaluates torchvision's
``_rgb2hsv`` -> shift -> ``_hsv2rgb`` in closed form (``min + chroma * curve(h6)``) without
materializing HSV.  Images are float32 ``[N, 3, H, W]`` in [0, 1]; factors / shifts are ``[N]``.
"""

from __future__ import annotations

import torch

from augstudy.policy.kernels import _gray_weights, grayscale, to_float

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
ADJUSTMENTS = (("brightness", brightness_), ("contrast", contrast_), ("saturation", saturation_), ("hue", hue_))


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


def apply_color_jitter(x: torch.Tensor, fields: dict, active: set[int]) -> torch.Tensor:
    """ColorJitter on a batch: per-image factors, per-image random order, no per-image Python.

    ``x``: uint8 or float [B,3,H,W]; ``fields``: the draw's ``apply``, ``order`` and factors;
    ``active``: the adjustments (0..3, torchvision's numbering) whose range is not the identity.
    Returns float32 [B,3,H,W] (``x`` itself when nothing changes).

    The applied images are sorted once by their whole permutation (key o0*64 + o1*16 + o2*4 + o3),
    so at step k the images sharing order[:, :k+1] form contiguous slices: each adjustment runs in
    place on a slice view (at most 4 + 12 + 24 + 24 slices, whatever the batch size; on CPU each
    slice is further cut into L2-sized blocks), and one index_copy_ puts the images back.  An
    adjustment whose range is the identity is skipped.
    """
    apply, order = fields["apply"], fields["order"]
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
    factors = {name: fields[name].index_select(0, perm).to(xs.dtype) for name, _ in ADJUSTMENTS}
    for step in range(4):
        prefix = torch.div(sorted_key, 4 ** (3 - step), rounding_mode="floor")
        _, counts = torch.unique_consecutive(prefix, return_counts=True)
        ends = counts.cumsum(0)
        starts = ends - counts
        which = (prefix.index_select(0, starts) % 4).tolist()  # the adjustment at this step, per slice
        for begin, end, j in zip(starts.tolist(), ends.tolist(), which):
            if j in active:
                name, fn = ADJUSTMENTS[j]
                for lo in range(begin, end, block):  # cache-sized blocks on CPU (see _cache_block)
                    hi = min(lo + block, end)
                    fn(xs[lo:hi], factors[name][lo:hi])
    out = to_float(x) if n_applied < x.shape[0] else xs.new_empty(x.shape)
    if out is x:  # float input: never write into the caller's tensor
        out = x.clone()
    return out.index_copy_(0, perm, xs)


__all__ = ["ADJUSTMENTS", "apply_color_jitter", "adjust_brightness", "adjust_contrast", "adjust_saturation",
           "adjust_hue", "brightness_", "contrast_", "saturation_", "hue_", "use_compiled_kernels", "CPU_BLOCK_BYTES"]
