"""``apply_draw``: apply a sampled :class:`PolicyDraw` with any backend.

Backends: ``"augstudy"`` (the batched engine, :mod:`augstudy.policy.engine`) and the per-image
references ``"torchvision"``, ``"kornia"``, ``"albumentations"``, each a module
``augstudy.policy.backends.<name>_backend`` exporting ``apply_draw(images, policy, draw) -> Tensor``.
Because every backend applies the same draw, previews, tests and training see identical parameters.
"""

from __future__ import annotations

import importlib

from augstudy.errors import MissingDependencyError, UserError

BACKENDS = ("augstudy", "torchvision", "kornia", "albumentations")
_BACKEND_MODULES = {
    "augstudy": "augstudy.policy.engine",
    "torchvision": "augstudy.policy.backends.torchvision_backend",
    "kornia": "augstudy.policy.backends.kornia_backend",
    "albumentations": "augstudy.policy.backends.albumentations_backend",
}
#: third-party package each backend needs, and how to install it
_REQUIREMENTS = {"torchvision": "torchvision", "kornia": "kornia", "albumentations": "albumentations"}


def backend_module(backend: str):
    """Import the module implementing ``backend``; clear errors for unknown or uninstalled ones."""
    if backend not in _BACKEND_MODULES:
        raise UserError(f"unknown augmentation backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    try:
        return importlib.import_module(_BACKEND_MODULES[backend])
    except ModuleNotFoundError as exc:
        package = _REQUIREMENTS.get(backend)
        if package and exc.name and exc.name.split(".")[0] == package:
            raise MissingDependencyError(
                f"backend {backend!r} needs the {package} package; install it with "
                f"'.venv/bin/pip install {package}'") from exc
        raise


def apply_draw(images, policy, draw, backend: str = "augstudy"):
    """Apply ``draw`` (from :func:`augstudy.policy.sample_draw`) to ``images`` with ``backend``.

    images: uint8 [B,3,H,W] or float in [0, 1]; returns the same dtype, shape [B,3,S,S] with
    S = ``policy.image_size`` (float32 for a policy ending with Normalize).  The draw is moved to
    the images' device.
    """
    module = backend_module(backend)
    return module.apply_draw(images, policy, draw.to(images.device))


__all__ = ["apply_draw", "BACKENDS", "backend_module"]
