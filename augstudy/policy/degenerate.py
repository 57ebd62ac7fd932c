"""Warnings for policies that validate but whose draws are mostly degenerate.

A policy can be valid and still useless: ``padding: 1024`` around a 64x64 image makes almost every
crop pure fill (black previews), a tiny RandomErasing area rounds every box to zero pixels, a
RandomResizedCrop area no box can meet always falls back to the same centre crop.  Each op states
its own rule (:meth:`augstudy.policy.ops.base.Op.warnings`); :func:`policy_warnings` asks every op
at the image size it receives.  Torch-free, so ``augstudy policy check`` stays fast.
"""

from __future__ import annotations

from augstudy.policy.ops import OPS
from augstudy.policy.spec import Policy


def policy_warnings(policy: Policy) -> list[str]:
    """One sentence per op whose parameters make most draws degenerate, ``"op 1 (RandomCrop): ..."``.

    Ops with ``p = 0`` never apply and are not checked.  Empty list: nothing to warn about.
    """
    sizes = policy.sizes()
    found = []
    for position, spec in enumerate(policy.ops, start=1):
        if spec.p == 0:
            continue
        for message in OPS[spec.op].warnings(spec.params, sizes[position - 1]):
            found.append(f"op {position} ({spec.op}): {message}")
    return found


__all__ = ["policy_warnings"]
