"""Op fields only the batched engine (backend ``augstudy``) implements, and the one-line refusal of
the reference backends that cannot apply them (as :mod:`augstudy.policy.backends.no_auto_equivalent`
refuses the automatic policies in albumentations; images where the op does not apply pass through,
so a policy scaled to strength 0 still runs everywhere).

Today one field: RandAugment's ``magnitude_std`` (timm's per-application magnitude noise,
:mod:`augstudy.policy.ops.rand_augment`).  The torchvision backend replays torchvision's own
RandAugment sub-op code at one fixed bin, and the kornia backend replays the same choices, so
neither applies it; ``measure`` leaves them out of such a policy's throughput columns with
:func:`engine_only_reason`.  Torch-free.
"""

from __future__ import annotations

from augstudy.errors import UserError

#: (op, field) -> why only backend augstudy applies the field when it is not 0
ENGINE_ONLY_FIELDS = {
    ("RandAugment", "magnitude_std"): "timm's per-application magnitude noise; torchvision's RandAugment, "
                                      "which the torchvision and kornia backends replay, has one fixed magnitude bin",
}
#: the backends that refuse them
REFUSING_BACKENDS = ("torchvision", "kornia")


def engine_only_setting(op: str, params: dict) -> tuple[str, float] | None:
    """``(field, value)`` of the first engine-only field ``op`` sets to a non-zero value, or None."""
    for (name, field), _ in ENGINE_ONLY_FIELDS.items():
        if name == op and params.get(field):
            return field, params[field]
    return None


def engine_only_reason(policy, backend: str) -> str | None:
    """Why ``backend`` cannot apply ``policy`` (a Policy), or None when it can."""
    if backend not in REFUSING_BACKENDS:
        return None
    for spec in policy.ops:
        setting = engine_only_setting(spec.op, spec.params)
        if setting is not None:
            return (f"{spec.op} sets {setting[0]} {setting[1]:g}, "
                    f"{ENGINE_ONLY_FIELDS[(spec.op, setting[0])]}")
    return None


def refuse_engine_only_fields(backend: str, op: str, params: dict, fields: dict | None = None) -> None:
    """Raise a one-line UserError when ``op`` sets an engine-only field and applies to some image of
    ``fields`` (``apply`` bool [B]; absent: a per-image call for an image it applies to)."""
    setting = engine_only_setting(op, params)
    if setting is None:
        return
    apply = fields.get("apply") if isinstance(fields, dict) else None
    if apply is not None and hasattr(apply, "any") and not bool(apply.any()):
        return
    field, value = setting
    raise UserError(f"backend {backend} cannot apply {op} with {field} {value:g} "
                    f"({ENGINE_ONLY_FIELDS[(op, field)]}): use backend augstudy, or set {field}: 0")


__all__ = ["ENGINE_ONLY_FIELDS", "REFUSING_BACKENDS", "engine_only_setting", "engine_only_reason",
           "refuse_engine_only_fields"]
