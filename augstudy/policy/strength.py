"""Policy strength: one scale ``s`` applied to every magnitude of a policy (RandAugment's idea of a
single magnitude), so "how much augmentation" becomes one number to sweep.

``scale_policy(policy, s)`` returns a new validated :class:`~augstudy.policy.Policy`:

- ``s = 1`` returns the policy unchanged (same name, same values, so the same config hash);
- ``s = 0`` is the identity policy: every op's parameters become neutral (no padding, crop size =
  input side, factors 1, hue 0, angle 0, no shift, zoom 1, zero-area erasing, no blur; flips and
  grayscale get ``p = 0``), so images pass through unchanged; Normalize (preprocessing) is kept;
- other values scale each op's magnitudes as documented in the op's module (the rule in one line
  is ``OPS[name].strength_rule``); a value that would leave an op's valid range is clamped there
  (hue to 0.5, degrees to 180, translate to 1, erasing area to 1, p to 1, ...).

Scaled floats are rounded to 12 decimals.  The scaled policy is named ``"<name>@<s>"`` (e.g. ``final@0.5``).
"""

from __future__ import annotations

from augstudy.errors import UserError
from augstudy.policy.ops import OPS, FieldError
from augstudy.policy.spec import Policy, check_strength


def scale_policy(policy: Policy, strength: float) -> Policy:
    """``policy`` with every magnitude scaled by ``strength`` (>= 0); see the module docstring."""
    try:
        strength = check_strength(strength)
    except FieldError as exc:
        raise UserError(f"policy {policy.name!r}: strength {exc}") from None
    if strength == 1.0:
        return Policy.from_dict(policy.to_dict(), source=f"policy {policy.name!r}")
    side = policy.image_size
    ops = []
    for spec in policy.ops:
        op = OPS[spec.op]
        params, p = op.scale(spec.params, spec.p, strength, side)
        ops.append({"op": spec.op, **{k: _tidy(v) for k, v in params.items()}, "p": _tidy(p)})
        side = op.output_size(params, side)
    name = f"{policy.name}@{strength:g}"
    scaled = Policy.from_dict({"name": name, "image_size": policy.image_size, "p": policy.p, "ops": ops},
                              source=f"policy {name!r}")
    scaled.source_notes = list(policy.source_notes) + [
        f"every magnitude of policy {policy.name!r} scaled by strength {strength:g} (rules: augstudy.policy.ops)"]
    return scaled


def _tidy(value):
    """Floats rounded to 12 decimals (0.3 * 1.5 -> 0.45, not 0.44999999999999996); others as is."""
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    if isinstance(value, float):
        return round(value, 12)
    return value


__all__ = ["scale_policy"]
