"""Composing two factors' levels by meaning (the cells of ``augstudy ablate A --by B``).

Two level overrides combine field by field; only a true conflict is refused:

- any field outside ``augment`` that both set to different values (``optimizer.lr`` 0.1 and 0.2);
- ``augment.policy``: two different whole policies (``none`` and ``final``);
- one op of the policy set two ways: removed by one level and updated or replaced by the other, replaced by
  both differently, or one field of it updated by both to different values (``ColorJitter.hue``);
- the same op added by both with different fields; ``augment.strength`` set by both differently.

Everything else merges: ``remove`` lists are united (``flip=off`` x ``color_jitter=none`` removes
HorizontalFlip and ColorJitter), ``update``/``replace`` of different ops are both applied, ``update`` of
different fields of one op are merged, ``add`` lists are concatenated (A's ops first).  A level without
``augment.policy`` edits the other level's policy.  The merged override is then resolved like any level
(:func:`augstudy.ablation.spec.study_spec.resolve_config`), so the policy core validates the result.
"""

from __future__ import annotations

import copy

from augstudy.ablation.spec.study_spec import deep_merge
from augstudy.errors import UserError


def _leaves(tree: dict, prefix: str = "") -> dict[str, object]:
    out: dict[str, object] = {}
    for key, value in (tree or {}).items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            out.update(_leaves(value, path))
        else:
            out[path] = value
    return out


def field_clashes(a: dict, b: dict) -> list[str]:
    """Dotted fields outside ``augment`` that both overrides set to different values."""
    la = _leaves({k: v for k, v in (a or {}).items() if k != "augment"})
    lb = _leaves({k: v for k, v in (b or {}).items() if k != "augment"})
    return sorted(k for k in la.keys() & lb.keys() if la[k] != lb[k])


def _as_list(value) -> list:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def augment_conflicts(a: dict, b: dict) -> list[str]:
    """What makes two ``augment`` overrides incompatible, one phrase each (empty: they compose)."""
    a, b = a or {}, b or {}
    out = []
    if "policy" in a and "policy" in b and a["policy"] != b["policy"]:
        out.append(f"two different whole policies ({a['policy']!r} and {b['policy']!r})")
    if a.get("strength") is not None and b.get("strength") is not None and a["strength"] != b["strength"]:
        out.append(f"augment.strength set to {a['strength']} and {b['strength']}")
    for first, second in ((a, b), (b, a)):
        edited = set((second.get("update") or {})) | set((second.get("replace") or {}))
        for name in sorted(set(_as_list(first.get("remove"))) & edited):
            out.append(f"op {name} removed by one level and edited by the other")
    ra, rb = a.get("replace") or {}, b.get("replace") or {}
    for name in sorted(ra.keys() & rb.keys()):
        if ra[name] != rb[name]:
            out.append(f"op {name} replaced two ways")
    for name in sorted(set(ra) & set(b.get("update") or {}) | set(rb) & set(a.get("update") or {})):
        out.append(f"op {name} replaced by one level and updated by the other")
    ua, ub = a.get("update") or {}, b.get("update") or {}
    for name in sorted(ua.keys() & ub.keys()):
        for key in sorted(set(ua[name] or {}) & set(ub[name] or {})):
            if ua[name][key] != ub[name][key]:
                out.append(f"{name}.{key} set to {ua[name][key]!r} and {ub[name][key]!r}")
    added_a = {op.get("op"): op for op in _as_list(a.get("add")) if isinstance(op, dict)}
    for op in _as_list(b.get("add")):
        if isinstance(op, dict) and op.get("op") in added_a and added_a[op["op"]] != op:
            out.append(f"op {op['op']} added two ways")
    return out


def merge_augment(a: dict, b: dict) -> dict:
    """The union of two compatible ``augment`` overrides (see the module docstring)."""
    a, b = a or {}, b or {}
    out = deep_merge(a, {k: v for k, v in b.items() if k not in ("remove", "replace", "update", "add")})
    remove = list(dict.fromkeys(_as_list(a.get("remove")) + _as_list(b.get("remove"))))
    if remove:
        out["remove"] = remove
    replace = {**copy.deepcopy(a.get("replace") or {}), **copy.deepcopy(b.get("replace") or {})}
    if replace:
        out["replace"] = replace
    update = deep_merge(a.get("update") or {}, b.get("update") or {})
    if update:
        out["update"] = update
    added = [copy.deepcopy(op) for op in _as_list(a.get("add"))]
    added += [copy.deepcopy(op) for op in _as_list(b.get("add")) if op not in added]
    if added:
        out["add"] = added
    return out


def compose_levels(a: dict, b: dict, where_a: str, where_b: str) -> dict:
    """One override doing what both levels do; UserError (one line) on a true conflict."""
    problems = [f"both set {', '.join(field_clashes(a, b))}"] if field_clashes(a, b) else []
    problems += augment_conflicts((a or {}).get("augment"), (b or {}).get("augment"))
    if problems:
        raise UserError(f"{where_a} and {where_b} conflict: {'; '.join(problems)}; a two-factor study needs "
                        f"levels that change different things")
    merged = deep_merge({k: v for k, v in (a or {}).items() if k != "augment"},
                       {k: v for k, v in (b or {}).items() if k != "augment"})
    if (a or {}).get("augment") is not None or (b or {}).get("augment") is not None:
        merged["augment"] = merge_augment((a or {}).get("augment"), (b or {}).get("augment"))
    return merged


__all__ = ["compose_levels", "augment_conflicts", "field_clashes", "merge_augment"]
