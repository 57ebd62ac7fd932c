"""One registry of backend implementations: ``(backend, op name) -> function``.

Each reference backend module registers its per-op functions here when imported
(``@register("kornia", "Affine", "Rotation")``); the batched engine (backend ``"augstudy"``)
registers every op's :meth:`~augstudy.policy.ops.base.Op.apply`.  :func:`implementation` is the
only lookup, so a backend that lacks an op fails with one clear sentence.  Torch-free.
"""

from __future__ import annotations

from typing import Callable

_IMPLEMENTATIONS: dict[str, dict[str, Callable]] = {}


class BackendOpError(ValueError):
    """A backend has no implementation of an op."""


def register(backend: str, *ops: str) -> Callable[[Callable], Callable]:
    """Decorator: ``fn`` implements ``ops`` (names of :data:`augstudy.policy.ops.OPS`) in ``backend``."""
    def decorate(fn: Callable) -> Callable:
        table = _IMPLEMENTATIONS.setdefault(backend, {})
        for op in ops:
            if op in table:
                raise ValueError(f"backend {backend!r} registers op {op!r} twice")
            table[op] = fn
        return fn
    return decorate


def implemented_ops(backend: str) -> tuple[str, ...]:
    """Op names ``backend`` implements (its module must have been imported)."""
    return tuple(_IMPLEMENTATIONS.get(backend, {}))


def implementation(backend: str, op: str) -> Callable:
    """The function implementing ``op`` in ``backend``, or :class:`BackendOpError`."""
    table = _IMPLEMENTATIONS.get(backend, {})
    if op not in table:
        raise BackendOpError(f"backend {backend} does not implement op {op!r}; "
                             f"it implements: {', '.join(sorted(table)) or 'nothing'}")
    return table[op]


__all__ = ["register", "implementation", "implemented_ops", "BackendOpError"]
