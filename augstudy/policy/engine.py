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

Each op's engine implementation is its ``apply`` method (one module per op, :mod:`augstudy.policy.ops`);
shared torch helpers live in :mod:`augstudy.policy.kernels` and ColorJitter's kernels in
:mod:`augstudy.policy.colour_kernels`.  This module runs the ops in order and keeps the dtype rules.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from augstudy.policy.colour_kernels import (  # noqa: F401 - re-exported: the engine's public kernels
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    use_compiled_kernels,
)
from augstudy.policy.backends.registry import implementation, register
from augstudy.policy.kernels import crop_windows, gaussian_kernels, grayscale, to_float, to_uint8  # noqa: F401
from augstudy.policy.ops import OPS
from augstudy.policy.sampling import PolicyDraw, sample_draw
from augstudy.policy.spec import OpSpec, Policy

BACKEND = "augstudy"
for _name, _op in OPS.items():  # the engine implementation of every op is the op's own ``apply``
    register(BACKEND, _name)(_op.apply)


def _uint8_exact(spec: OpSpec) -> bool:
    """True when the op is exact on uint8 pixels with this spec's fill value (then the batch stays uint8)."""
    if not OPS[spec.op].uint8_exact:
        return False
    value = spec.params.get("fill", spec.params.get("value", 0.0))
    return abs(value * 255 - round(value * 255)) < 1e-9


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
    functions = [implementation(BACKEND, spec.op) for spec in policy.ops]
    for fn, spec, fields in zip(functions, policy.ops, draw.ops):
        if x.dtype == torch.uint8 and not _uint8_exact(spec) and not OPS[spec.op].converts_itself:
            x = to_float(x)
        elif x.dtype != torch.uint8 and x.dtype != torch.float32:
            x = x.to(torch.float32)
        x = fn(x, spec, fields)
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




__all__ = ["apply_draw", "apply_draw_float", "BatchAugmenter", "adjust_brightness", "adjust_contrast",
           "adjust_saturation", "adjust_hue", "grayscale", "gaussian_kernels", "crop_windows", "to_float", "to_uint8",
           "use_compiled_kernels"]
