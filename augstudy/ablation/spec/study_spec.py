"""Study specs: ``ablations/baseline.yaml`` plus one ``ablations/<factor>.yaml`` per factor.

A *run config* is one plain, fully resolved dict (``model``, ``optimizer``,
``schedule``, ``train``, ``data``, ``augment``, ``tag``) that :func:`augstudy.ablation.execution.train.train_run`
consumes.  Its :func:`config_hash` (12 hex digits of a SHA-256 over canonical JSON)
identifies its runs: two arms with the same resolved config share runs.

Resolution order for an arm ``FACTOR=LEVEL`` at a budget::

    baseline.yaml (minus ``budgets``)  <-  budgets[BUDGET]  <-  levels[LEVEL]

each step a deep merge (dicts merge, everything else replaces).  The level comes
last so a factor's own levels are honoured whatever the budget sets (the smoke
budget's smaller batch never overrides the ``batch_size`` factor's levels).

The ``augment`` section names a policy (``policy: final``: a preset, a policy file,
or an inline policy dict) plus optional edits applied in this order:
``remove: [OpName, ...]``, ``replace: {OpName: {op: NewOp, <fields>..., p}}`` (in place),
``update: {OpName: {<fields>..., p}}`` (merged into that op), ``add: [{op: NewOp, <fields>..., p}, ...]``
(appended after the policy's ops, in order); fields are flat, as in policy files; then ``strength: s`` scales every magnitude of the result (:func:`augstudy.policy.scale_policy`;
``s = 1`` changes nothing, so it resolves to the same config as no ``strength``).  Resolution
replaces the section by ``{"policy": <the resolved policy dict>}``, so the hash
covers what actually runs.

Validation lives in :mod:`augstudy.ablation.spec.file_schema`: every config section and every factor file is
a pydantic v2 model, and its first error becomes one line naming the file/level, the dotted field
and what is allowed.

A level that changes nothing relative to the baseline recipe (resolved without a
budget) is an error, except the baseline level, which must change nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from augstudy.ablation.spec.file_schema import (  # noqa: F401 - CONFIG_FIELDS and validate_config are public here too
    CONFIG_FIELDS,
    OPTIONAL_FIELDS,
    canonical_regularizers,
    check_sesoi,
    level_name,
    validate_config,
    validate_factor_file,
)
from augstudy.errors import UserError
from augstudy.models.knobs import canonical_model_section

#: environment variable naming an alternative study-spec folder (default: the repo's ``ablations/``)
SPECS_DIR_ENV = "AUGSTUDY_ABLATIONS_DIR"
BASELINE_FILE = "baseline.yaml"
#: name of the shared baseline arm in ``augstudy ablate all``
ALL_FACTORS = "all"
SHARED_BASELINE_ARM = "baseline"

_MISSING = object()
#: ``ablate --list`` shows this many characters of a factor's description
LIST_DESCRIPTION_CHARS = 72


# ----------------------------------------------------------------------------- merging
def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: ``override`` merged into ``base`` (dicts recurse, other values replace)."""
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


# ----------------------------------------------------------------------------- policy edits
def _load_policy_dict(spec, where: str, image_size: int = 64) -> dict:
    from augstudy.policy import load_policy

    try:
        return load_policy(spec, image_size=image_size).to_dict()
    except UserError as exc:
        raise UserError(f"{where}: augment.policy: {exc}") from None


def _flat_op(op: dict) -> dict:
    """Policy ops are flat (``{op, <fields>..., p}``); also accept fields nested under ``params``."""
    flat = {k: v for k, v in op.items() if k != "params"}
    flat.update(op.get("params") or {})
    return flat


def resolve_augment(augment: dict, where: str) -> dict:
    """Turn ``{policy, remove?, replace?, update?, add?, strength?}`` into ``{"policy": <resolved policy dict>}``."""
    if "policy" not in augment:
        raise UserError(f"{where}: field 'augment.policy' is missing (a preset name such as 'final', a file or a dict)")
    policy = _load_policy_dict(augment["policy"], where)
    ops = policy.setdefault("ops", [])
    names = [op.get("op") for op in ops]

    def index_of(name: str, field_name: str) -> int:
        if name not in names:
            raise UserError(f"{where}: augment.{field_name}: the policy has no op '{name}' (its ops: {', '.join(map(str, names)) or 'none'})")
        return names.index(name)

    remove = augment.get("remove") or []
    if isinstance(remove, str):
        remove = [remove]
    for name in remove:
        i = index_of(name, "remove")
        del ops[i], names[i]
    for name, new in (augment.get("replace") or {}).items():
        if not isinstance(new, dict) or "op" not in new:
            raise UserError(f"{where}: augment.replace.{name} must be a mapping with 'op', its fields and 'p'")
        i = index_of(name, "replace")
        ops[i] = _flat_op(new)
        names[i] = new["op"]
    for name, change in (augment.get("update") or {}).items():
        if not isinstance(change, dict) or "op" in change:
            raise UserError(f"{where}: augment.update.{name} must be a mapping of that op's fields (and/or 'p')")
        i = index_of(name, "update")
        ops[i] = {**ops[i], **_flat_op(change)}
    add = augment.get("add") or []
    if not isinstance(add, list) or not all(isinstance(new, dict) and "op" in new for new in add):
        raise UserError(f"{where}: augment.add must be a list of ops, each a mapping with 'op', its fields and 'p'")
    for new in add:
        ops.append(_flat_op(new))
        names.append(new["op"])
    if augment.get("strength") is not None:  # scales every magnitude of the edited policy
        from augstudy.policy.ops import FieldError
        from augstudy.policy.spec import check_strength

        try:
            policy["strength"] = check_strength(augment["strength"])
        except FieldError as exc:
            raise UserError(f"{where}: field 'augment.strength' {exc}") from None
    # round-trip through the policy core so a bad edit fails here, naming the file
    return {"policy": _load_policy_dict(policy, where)}


# ----------------------------------------------------------------------------- specs
def default_specs_dir() -> Path:
    """``$AUGSTUDY_ABLATIONS_DIR``, else the repo's ``ablations/`` (beside the package), else ``./ablations``."""
    env = os.environ.get(SPECS_DIR_ENV)
    if env:
        return Path(env)
    repo = Path(__file__).resolve().parents[2] / "ablations"
    return repo if repo.is_dir() else Path.cwd() / "ablations"


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1})" if mark is not None else ""
        raise UserError(f"{path}: not valid YAML{at}: {getattr(exc, 'problem', exc)}") from None


@dataclass
class Baseline:
    """``baseline.yaml``: the recipe (without budgets) and its budgets (name -> override)."""

    path: Path
    config: dict
    budgets: dict[str, dict]
    sesoi: float | None = None   # top-level ``sesoi:`` (accuracy points), the default of every factor


@dataclass
class FactorSpec:
    """One ``<factor>.yaml``: its levels (name -> deep-merge override) in file order."""

    factor: str
    path: Path
    description: str
    baseline_level: str
    levels: dict[str, dict]
    sesoi: float | None = None   # the factor file's ``sesoi:`` (accuracy points), overrides baseline.yaml's


@dataclass
class Arm:
    """One arm of a study: a factor at one level, resolved into a run config."""

    name: str                 # "dropout=0.3" or "baseline" in `ablate all`
    factor: str
    level: str
    is_baseline: bool
    config: dict              # the resolved run config
    config_hash: str
    description: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``dropout=0.3 (baseline)`` for the baseline arm, else the name."""
        return f"{self.name} (baseline)" if self.is_baseline and self.name != SHARED_BASELINE_ARM else self.name

    @property
    def policy(self) -> dict | None:
        return self.config.get("augment", {}).get("policy")


def load_baseline(specs_dir: str | Path | None = None) -> Baseline:
    """Read and validate ``baseline.yaml`` (every field present and valid)."""
    specs_dir = Path(specs_dir) if specs_dir else default_specs_dir()
    path = specs_dir / BASELINE_FILE
    if not path.is_file():
        raise UserError(f"{path}: baseline study spec not found (pass --specs DIR or set {SPECS_DIR_ENV})")
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: must be a mapping of config sections")
    raw = dict(raw)
    budgets = raw.pop("budgets", None) or {}
    sesoi = raw.pop("sesoi", None)
    if sesoi is not None:
        try:
            sesoi = check_sesoi(sesoi)
        except ValueError as exc:
            raise UserError(f"{path}: field 'sesoi' {exc}") from None
    if not isinstance(budgets, dict) or not all(isinstance(v, dict) for v in budgets.values()):
        raise UserError(f"{path}: field 'budgets' must map budget names to config overrides")
    config = validate_config(raw, str(path))
    missing = [k for k in CONFIG_FIELDS if k not in OPTIONAL_FIELDS and _get(config, k) is _MISSING]
    if missing:
        raise UserError(f"{path}: missing field(s) {', '.join(missing)}")
    for name, override in budgets.items():
        validate_config(deep_merge(config, override), f"{path}: budgets.{name}")
    return Baseline(path, config, {str(k): v for k, v in budgets.items()}, sesoi)


def _get(d: dict, dotted: str):
    node = d
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def list_factors(specs_dir: str | Path | None = None) -> list[str]:
    """Factor names: every ``*.yaml`` in the spec folder except ``baseline.yaml``, sorted."""
    specs_dir = Path(specs_dir) if specs_dir else default_specs_dir()
    return sorted(p.stem for p in specs_dir.glob("*.yaml") if p.name != BASELINE_FILE)


def load_factor(factor: str, specs_dir: str | Path | None = None) -> FactorSpec:
    """Read ``<factor>.yaml``; an unknown factor lists the available ones."""
    specs_dir = Path(specs_dir) if specs_dir else default_specs_dir()
    path = specs_dir / f"{factor}.yaml"
    if factor == BASELINE_FILE[:-5] or not path.is_file():
        available = ", ".join(list_factors(specs_dir)) or "none"
        raise UserError(f"unknown factor '{factor}' (available: {available}, all); add {specs_dir}/{factor}.yaml to define it")
    parsed = validate_factor_file(_read_yaml(path), path, factor)
    return FactorSpec(factor, path, str(parsed.description or "").strip(), level_name(parsed.baseline_level),
                      parsed.levels, parsed.sesoi)



# ----------------------------------------------------------------------------- resolution
def canonical_json(obj) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def config_hash(config: dict) -> str:
    """12 hex digits identifying a resolved run config."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()[:12]


def resolve_config(baseline: Baseline, budget: str | None, override: dict | None, where: str,
                   budget_override: dict | None = None) -> dict:
    """baseline <- budgets[budget] <- ``budget_override`` <- ``override``, validated, augment resolved."""
    config = baseline.config
    if budget is not None:
        if budget not in baseline.budgets:
            raise UserError(f"unknown budget '{budget}' (available in {baseline.path}: {', '.join(baseline.budgets)})")
        config = deep_merge(config, baseline.budgets[budget])
    config = deep_merge(config, budget_override or {})
    config = validate_config(deep_merge(config, override or {}), where)
    if not config["data"].get("order_key"):   # the default order key is left out, so hashes stay as they were
        config["data"].pop("order_key", None)
    config = canonical_regularizers(config)   # mix/ema/eval: left out when off, defaults filled in when on
    # the model must take every knob set away from its default (checked here, before any training)
    config["model"] = canonical_model_section(config["model"], where)
    config["augment"] = resolve_augment(config["augment"], where)
    return config


def resolve_factor_arms(spec: FactorSpec, baseline: Baseline, budget: str | None,
                        budget_override: dict | None = None) -> list[Arm]:
    """Every level of ``spec`` as an :class:`Arm`, baseline level first.

    Checks, on the recipe without budget: the baseline level changes nothing; every other
    level changes something; no two levels are the same config.
    """
    recipe_hash = config_hash(resolve_config(baseline, None, None, str(baseline.path)))
    seen: dict[str, str] = {}
    arms: list[Arm] = []
    for level, override in spec.levels.items():
        where = f"{spec.path}: levels.{level}"
        unbudgeted = config_hash(resolve_config(baseline, None, override, where))
        is_baseline = level == spec.baseline_level
        if is_baseline and unbudgeted != recipe_hash:
            raise UserError(f"{where}: this is the baseline level, so it must not change the baseline recipe; "
                            f"fix baseline_level or the override")
        if not is_baseline and unbudgeted == recipe_hash:
            raise UserError(f"{where}: changes nothing relative to the baseline; give it a different value or remove it")
        if unbudgeted in seen:
            raise UserError(f"{where}: same config as level '{seen[unbudgeted]}'; remove one of them")
        seen[unbudgeted] = level
        config = resolve_config(baseline, budget, override, where, budget_override)
        arms.append(Arm(f"{spec.factor}={level}", spec.factor, level, is_baseline, config, config_hash(config),
                        spec.description))
    arms.sort(key=lambda a: not a.is_baseline)
    return arms


def resolve_study_arms(factor: str, budget: str | None, specs_dir: str | Path | None = None,
                       budget_override: dict | None = None) -> list[Arm]:
    """The arms of ``augstudy ablate FACTOR`` (baseline first).

    ``factor == "all"``: one shared arm ``baseline`` (the recipe at this budget) plus every
    factor's non-baseline levels; a factor's baseline level is folded into the shared arm
    when it resolves to the same config (it does unless a budget overrides what it sets,
    e.g. the smoke budget's batch size, in which case it stays as its own arm).
    """
    baseline = load_baseline(specs_dir)
    if factor != ALL_FACTORS:
        return resolve_factor_arms(load_factor(factor, specs_dir), baseline, budget, budget_override)
    shared_config = resolve_config(baseline, budget, None, str(baseline.path), budget_override)
    shared = Arm(SHARED_BASELINE_ARM, SHARED_BASELINE_ARM, SHARED_BASELINE_ARM, True, shared_config,
                 config_hash(shared_config), "the baseline recipe shared by every factor")
    arms = [shared]
    for name in list_factors(specs_dir):
        for arm in resolve_factor_arms(load_factor(name, specs_dir), baseline, budget, budget_override):
            if arm.config_hash == shared.config_hash:
                continue
            arm.is_baseline = False
            arms.append(arm)
    return arms


def study_sesoi(factor: str, specs_dir: str | Path | None = None, default: float = 1.0) -> float:
    """The study's SESOI in accuracy points: the factor file's ``sesoi``, else baseline.yaml's, else ``default``
    (``factor`` may be ``all``: baseline.yaml's)."""
    baseline = load_baseline(specs_dir)
    spec_value = None if factor == ALL_FACTORS else load_factor(factor, specs_dir).sesoi
    for value in (spec_value, baseline.sesoi):
        if value is not None:
            return float(value)
    return float(default)


def format_factor_list(specs_dir: str | Path | None = None) -> str:
    """``augstudy ablate --list``: one line per factor: its name, levels (baseline marked) and the start of
    its description (cut at :data:`LIST_DESCRIPTION_CHARS`; the whole text is in its file)."""
    specs_dir = Path(specs_dir) if specs_dir else default_specs_dir()
    names = list_factors(specs_dir)
    width = max([len(n) for n in names] + [len(ALL_FACTORS)])
    lines = [f"study specs in {specs_dir}:"]
    for name in names:
        spec = load_factor(name, specs_dir)
        levels = ", ".join(f"{lv} (baseline)" if lv == spec.baseline_level else lv for lv in spec.levels)
        about = " ".join(spec.description.split())
        if len(about) > LIST_DESCRIPTION_CHARS:
            about = about[:LIST_DESCRIPTION_CHARS - 3].rstrip() + "..."
        lines.append(f"  {name:<{width}}  {levels}" + (f"  -- {about}" if about else ""))
    lines.append(f"  {ALL_FACTORS:<{width}}  every factor above against one shared baseline arm")
    try:
        budgets = ", ".join(load_baseline(specs_dir).budgets)
        lines.append(f"budgets: {budgets}")
    except UserError:
        pass
    return "\n".join(lines)


__all__ = [
    "Arm", "Baseline", "FactorSpec", "CONFIG_FIELDS", "ALL_FACTORS", "SHARED_BASELINE_ARM", "SPECS_DIR_ENV",
    "default_specs_dir", "load_baseline", "load_factor", "list_factors", "resolve_config", "resolve_factor_arms",
    "resolve_study_arms", "config_hash", "deep_merge", "validate_config", "format_factor_list", "level_name",
    "study_sesoi",
]
