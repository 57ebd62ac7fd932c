"""Cross-backend equivalence, measured: every backend vs torchvision on the same draw, one op at a time.

For each op of :data:`EQUIVALENCE_OPS` (alone, ``p=1``), one draw is sampled with
``sample_draw(seed, epoch=0, indices=0..B-1)`` and applied by every backend; each output is
compared with torchvision's (the reference).  Differences are in 0..255 units (uint8 inputs).

Bounds the tests assert (:data:`BOUNDS`), from measurements on smooth random colour fields
(:func:`colour_fields`, 64x64, seed 0) and Fashion-MNIST, 2026-11-28:

==================  ===============================  ====================================
op                  kornia (max / mean)              albumentations (max / mean)
==================  ===============================  ====================================
flips, RandomCrop   0 / 0 (exact)                    0 / 0 (exact)
RandomErasing       0 / 0 (exact)                    0 / 0 (exact)
RandomResizedCrop   1 / ~0.2 (interpolation rounding) 1 / ~0.2 (cv2 fixed point)
brightness          1 / ~0.45 (torchvision truncates 1 / ~0.0 (same LUT rounding)
contrast            uint8 after each step; we round) 1 / ~0.1
saturation          1 / ~0.46                        1 / ~0.46
hue (h=0.25)        1 / ~0.05 (same float HSV maths) ~13-20 / ~1 (OpenCV uint8 HSV: 180 hue levels)
grayscale           1 / ~0.5                         1 / ~0.5
Rotation / Affine   1 / ~0.0                         1 / ~0.0
GaussianBlur        1 / ~0.0                         1 / ~0.0
==================  ===============================  ====================================

So: geometry and erasing are interchangeable across backends; brightness, contrast and
saturation agree within 1/255 on average (rounding only); hue agrees with kornia (same
formulas) but NOT with albumentations, whose OpenCV HSV quantizes hue to 2-degree steps:
up to ~20/255 on single pixels, ~1/255 on average.  The batched engine (backend
``augstudy``) is compared the same way.
"""

from __future__ import annotations

import torch

REFERENCE_BACKEND = "torchvision"
COMPARED_BACKENDS = ("kornia", "albumentations", "augstudy")

#: label -> a one-op policy (p=1); labels name the op and, for ColorJitter, the one factor that varies
EQUIVALENCE_OPS: dict[str, dict] = {
    "HorizontalFlip": {"op": "HorizontalFlip", "p": 1.0},
    "VerticalFlip": {"op": "VerticalFlip", "p": 1.0},
    "RandomCrop": {"op": "RandomCrop", "size": 64, "padding": 4, "p": 1.0},
    "RandomCrop(reflect)": {"op": "RandomCrop", "size": 64, "padding": 6, "padding_mode": "reflect", "p": 1.0},
    "RandomResizedCrop": {"op": "RandomResizedCrop", "size": 64, "p": 1.0},
    "ColorJitter.brightness": {"op": "ColorJitter", "brightness": 0.4, "p": 1.0},
    "ColorJitter.contrast": {"op": "ColorJitter", "contrast": 0.4, "p": 1.0},
    "ColorJitter.saturation": {"op": "ColorJitter", "saturation": 0.4, "p": 1.0},
    "ColorJitter.hue": {"op": "ColorJitter", "hue": 0.25, "p": 1.0},
    "RandomGrayscale": {"op": "RandomGrayscale", "p": 1.0},
    "RandomErasing": {"op": "RandomErasing", "value": 0.5, "p": 1.0},
    "Rotation": {"op": "Rotation", "degrees": 30, "p": 1.0},
    "Affine": {"op": "Affine", "degrees": 15, "translate": [0.1, 0.1], "scale": [0.9, 1.1], "fill": 0.5, "p": 1.0},
    "GaussianBlur": {"op": "GaussianBlur", "kernel_size": 5, "sigma": [0.1, 2.0], "p": 1.0},
}

EXACT = (0.0, 0.0)
ROUNDING = (1.0, 1.0)   # off by at most one level, within 1/255 on average
#: label -> (max_abs_diff bound, mean_abs_diff bound) in 0..255 units, for every compared backend
BOUNDS: dict[str, tuple[float, float]] = {
    "HorizontalFlip": EXACT,
    "VerticalFlip": EXACT,
    "RandomCrop": EXACT,
    "RandomCrop(reflect)": EXACT,
    "RandomErasing": EXACT,
    "RandomResizedCrop": ROUNDING,
    "ColorJitter.brightness": ROUNDING,
    "ColorJitter.contrast": ROUNDING,
    "ColorJitter.saturation": ROUNDING,
    "ColorJitter.hue": ROUNDING,
    "RandomGrayscale": ROUNDING,
    "Rotation": ROUNDING,
    "Affine": ROUNDING,
    "GaussianBlur": ROUNDING,
}
#: albumentations' hue runs through OpenCV's uint8 HSV (180 hue levels): measured max ~13-20, mean ~1
BACKEND_BOUNDS: dict[tuple[str, str], tuple[float, float]] = {
    ("ColorJitter.hue", "albumentations"): (32.0, 2.0),
}


def bound_for(label: str, backend: str) -> tuple[float, float]:
    """``(max, mean)`` abs-diff bound in 0..255 units for ``backend`` on op ``label``."""
    return BACKEND_BOUNDS.get((label, backend), BOUNDS.get(label, (255.0, 255.0)))


def colour_fields(n: int, size: int = 64, seed: int = 0, cells: int = 6) -> torch.Tensor:
    """Smooth random colour fields: uint8 ``[n, 3, size, size]``.

    A ``cells x cells`` grid of uniform random RGB values, bicubically upsampled: every hue,
    saturation and brightness occurs, with gradients (so resampling ops are exercised) and no
    pixel noise.  Deterministic in ``seed``.
    """
    generator = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, cells, cells, generator=generator)
    smooth = torch.nn.functional.interpolate(low, size=(size, size), mode="bicubic", align_corners=False)
    return (smooth.clamp(0, 1) * 255).round().to(torch.uint8)


def available_backends() -> dict:
    """``{name: apply_draw(images, policy, draw)}`` for every backend: the references and the batched
    engine ``augstudy`` (a backend whose package is missing raises a clear MissingDependencyError)."""
    from augstudy.policy.apply import BACKENDS, apply_draw

    return {name: (lambda images, policy, draw, name=name: apply_draw(images, policy, draw, backend=name))
            for name in BACKENDS}


def single_op_policy(label: str, image_size: int = 64):
    """The one-op :class:`~augstudy.policy.Policy` of ``label`` (a key of :data:`EQUIVALENCE_OPS`)."""
    from augstudy.policy.spec import Policy

    op = dict(EQUIVALENCE_OPS[label])
    if "size" in op:
        op["size"] = image_size
    return Policy.from_dict({"name": label, "image_size": image_size, "ops": [op]}, source=f"equivalence op {label!r}")


def equivalence_table(images: torch.Tensor, ops=None, seed: int = 0, backends=None) -> list[dict]:
    """Compare every backend with torchvision on the same draw, each op alone with ``p=1``.

    Args:
        images: uint8 ``[B, 3, H, W]`` (0..255), square.
        ops: labels of :data:`EQUIVALENCE_OPS` to test (default: all); an op name such as
            ``"ColorJitter"`` selects every label starting with it.
        seed: draw seed (``sample_draw(seed=seed, epoch=0, indices=0..B-1)``).
        backends: names to compare (default: kornia, albumentations and augstudy when present).

    Returns:
        one row per (op, backend): ``{"op", "backend", "max_abs_diff", "mean_abs_diff",
        "bound_max", "bound_mean", "within_bound"}``, differences in 0..255 units.
    """
    from augstudy.policy.sampling import sample_draw

    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"equivalence_table needs uint8 [B, 3, H, W] images, got {images.dtype} {tuple(images.shape)}")
    labels = _select_labels(ops)
    available = available_backends()
    names = [b for b in (backends or COMPARED_BACKENDS) if b in available and b != REFERENCE_BACKEND]
    indices = torch.arange(images.shape[0])
    rows = []
    for label in labels:
        policy = single_op_policy(label, image_size=int(images.shape[-1]))
        draw = sample_draw(policy, seed=seed, epoch=0, indices=indices, image_size=int(images.shape[-1]))
        reference = available[REFERENCE_BACKEND](images, policy, draw).float()
        for backend in names:
            diff = (available[backend](images, policy, draw).float().cpu() - reference.cpu()).abs()
            bound_max, bound_mean = bound_for(label, backend)
            max_diff, mean_diff = float(diff.max()), float(diff.mean())
            rows.append({"op": label, "backend": backend, "max_abs_diff": max_diff, "mean_abs_diff": mean_diff,
                         "bound_max": bound_max, "bound_mean": bound_mean,
                         "within_bound": max_diff <= bound_max and mean_diff <= bound_mean})
    return rows


def _select_labels(ops) -> list[str]:
    if ops is None:
        return list(EQUIVALENCE_OPS)
    labels = []
    for name in ops:
        matched = [label for label in EQUIVALENCE_OPS if label == name or label.startswith(f"{name}.")
                   or label.startswith(f"{name}(")]
        if not matched:
            raise ValueError(f"unknown equivalence op {name!r}; choose from {', '.join(EQUIVALENCE_OPS)}")
        labels.extend(m for m in matched if m not in labels)
    return labels


def format_equivalence_table(rows: list[dict]) -> str:
    """The rows as a fixed-width text table (0..255 units)."""
    header = f"{'op':<24} {'backend':<15} {'max |diff|':>10} {'mean |diff|':>11} {'bound max/mean':>15}  ok"
    lines = [header, "-" * len(header)]
    for row in rows:
        bound = f"{row['bound_max']:g}/{row['bound_mean']:g}"
        lines.append(f"{row['op']:<24} {row['backend']:<15} {row['max_abs_diff']:>10.2f} {row['mean_abs_diff']:>11.4f} "
                     f"{bound:>15}  {'yes' if row['within_bound'] else 'NO'}")
    return "\n".join(lines)


__all__ = ["equivalence_table", "format_equivalence_table", "colour_fields", "EQUIVALENCE_OPS", "BOUNDS",
           "bound_for", "available_backends", "single_op_policy"]
