"""Text renderings of a policy: the ``policy show`` table and YAML/JSON dumps."""

from __future__ import annotations

import json

from augstudy.policy.ops import OPS, _fmt
from augstudy.policy.spec import Policy


def _value(value) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def format_policy_table(policy: Policy) -> str:
    """A fixed-width table: ``#  op  p  parameters  output``, one row per op, every field shown."""
    sizes = policy.sizes()
    rows = [("#", "op", "p", "parameters", "output")]
    for i, spec in enumerate(policy.ops, start=1):
        params = ", ".join(f"{name}={_value(spec.params[name])}" for name in OPS[spec.op].field_names) or "-"
        rows.append((str(i), spec.op, _fmt(spec.p), params, f"{sizes[i]}x{sizes[i]}"))
    if policy.needs_resize():
        rows.append(("", "(resize back)", "1", "bilinear", f"{policy.image_size}x{policy.image_size}"))
    widths = [max(len(row[c]) for row in rows) for c in range(5)]
    lines = [f"policy {policy.name!r}: {len(policy.ops)} ops, input/output {policy.image_size}x{policy.image_size}"
             + (f", applied with p={_fmt(policy.p)}" if policy.p < 1 else "")]
    for n, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(widths[c]) for c, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    if not policy.ops:
        lines.append("(no ops: images pass through unchanged)")
    return "\n".join(lines)


def policy_as_text(policy: Policy, output_format: str) -> str:
    """The resolved policy (``to_dict``) as ``yaml`` or ``json`` text; loads back to an equal policy."""
    data = policy.to_dict()
    if output_format == "json":
        return json.dumps(data, indent=2)
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None).rstrip()


__all__ = ["format_policy_table", "policy_as_text"]
