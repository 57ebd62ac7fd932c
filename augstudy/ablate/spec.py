"""Study specs: ``ablations/baseline.yaml`` plus one ``ablations/<factor>.yaml`` per factor.

A *run config* is one plain, fully resolved dict (``model``, ``optimizer``,
``schedule``, ``train``, ``data``, ``augment``, ``tag``) that :func:`augstudy.ablate.train.train_run`
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
``update: {OpName: {<fields>..., p}}`` (merged into that op); fields are flat, as in policy files;
then ``strength: s`` scales every magnitude of the result (:func:`augstudy.policy.scale_policy`;
``s = 1`` changes nothing, so it resolves to the same config as no ``strength``).  Resolution
replaces the section by ``{"policy": <the resolved policy dict>}``, so the hash
covers what actually runs.

Every section is a pydantic v2 model (:class:`RunConfigModel`); :func:`validate_config` turns the
first pydantic error into one line naming the file/level, the dotted field and what is allowed.

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
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, create_model

from augstudy.errors import UserError
from augstudy.models.knobs import KNOBS, OMITTED_AT_DEFAULT, canonical_model_section, check_model_name

#: environment variable naming an alternative study-spec folder (default: the repo's ``ablations/``)
SPECS_DIR_ENV = "AUGSTUDY_ABLATIONS_DIR"
BASELINE_FILE = "baseline.yaml"
#: name of the shared baseline arm in ``augstudy ablate all``
ALL_FACTORS = "all"
SHARED_BASELINE_ARM = "baseline"

_MISSING = object()


# ----------------------------------------------------------------------------- schema
# One pydantic v2 model per config section.  Each field's check runs on the raw YAML value (no
# coercion), returns the normalized value and raises ValueError with the text shown after
# "field 'section.key' "; validate_config turns pydantic's errors into that one line.

def _float_in(lo: float, hi: float, lo_open=False, hi_open=False):
    interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"

    def check(v):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"must be a number in {interval}")
        v = float(v)
        ok = (v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)
        if not ok:
            raise ValueError(f"must be in {interval}, got {v}")
        return v
    return Annotated[Any, BeforeValidator(check)]


def _int_min(lo: int):
    def check(v):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"must be an integer >= {lo}, got {v!r}")
        if v < lo:
            raise ValueError(f"must be an integer >= {lo}, got {v}")
        return v
    return Annotated[Any, BeforeValidator(check)]


def _choice(*options):
    def check(v):
        if v not in options:
            raise ValueError(f"must be one of {', '.join(map(str, options))}, got {v!r}")
        return v
    return Annotated[Any, BeforeValidator(check)]


def _check_boolean(v):
    if not isinstance(v, bool):
        raise ValueError(f"must be true or false, got {v!r}")
    return v


def _check_subset(v):
    """``null`` = all, an int = that many images, a float in (0, 1] = that fraction."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError(f"must be null, a count >= 2 or a fraction in (0, 1], got {v!r}")
    if isinstance(v, int):
        if v < 2:
            raise ValueError(f"must be a count >= 2, got {v}")
        return v
    if isinstance(v, float):
        if not 0.0 < v <= 1.0:
            raise ValueError(f"must be a fraction in (0, 1], got {v}")
        return v
    raise ValueError(f"must be null, a count or a fraction, got {v!r}")


def _check_text(v):
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        return str(v)
    raise ValueError(f"must be text, got {v!r}")


_Boolean = Annotated[Any, BeforeValidator(_check_boolean)]
_Subset = Annotated[Any, BeforeValidator(_check_subset)]
_Text = Annotated[Any, BeforeValidator(_check_text)]


class _Section(BaseModel):
    """A config section: every field optional here (``load_baseline`` checks that all are present)."""

    model_config = ConfigDict(extra="forbid")


def _check_model_name(v):
    try:
        return check_model_name(v)
    except UserError:
        raise ValueError(f"must be final, first, timm:<model> or an import path package.module:function, "
                         f"got {v!r}") from None


class _ModelCore(_Section):
    name: Annotated[Any, BeforeValidator(_check_model_name)] = None
    dropout: _float_in(0.0, 1.0, hi_open=True) = None
    bn_order: _choice("after", "before") = None
    activation: _choice("relu", "leaky_relu") = None


#: the model section: the fields above plus every architecture knob (:data:`augstudy.models.KNOBS`),
#: each checked by the knob's own ``check`` (raises ValueError with the message)
ModelSection = create_model(
    "ModelSection", __base__=_ModelCore,
    **{knob: (Annotated[Any, BeforeValidator(KNOBS[knob].check)], None) for knob in OMITTED_AT_DEFAULT})


class OptimizerSection(_Section):
    name: _choice("sgd", "adamw") = None
    lr: _float_in(0.0, 1e12, lo_open=True) = None
    momentum: _float_in(0.0, 1.0, hi_open=True) = None
    nesterov: _Boolean = None
    weight_decay: _float_in(0.0, 1.0) = None
    label_smoothing: _float_in(0.0, 1.0, hi_open=True) = None


class ScheduleSection(_Section):
    name: _choice("warmup_cosine", "warmup_linear", "constant") = None
    warmup: _float_in(0.0, 1.0, hi_open=True) = None


class TrainSection(_Section):
    epochs: _int_min(1) = None
    batch_size: _int_min(2) = None
    eval_batch_size: _int_min(1) = None


class DataSection(_Section):
    train_subset: _Subset = None
    val_subset: _Subset = None
    subset_seed: _int_min(0) = None


class AugmentSection(_Section):
    """``augment``: a policy plus optional edits (resolved by :func:`resolve_augment`)."""

    policy: Any = None
    remove: Any = None
    replace: Any = None
    update: Any = None
    strength: Any = None


class RunConfigModel(_Section):
    """A run config: the sections plus free-text ``tag``."""

    model: ModelSection = None
    optimizer: OptimizerSection = None
    schedule: ScheduleSection = None
    train: TrainSection = None
    data: DataSection = None
    augment: AugmentSection = None
    tag: _Text = None


_SECTIONS = {"model": ModelSection, "optimizer": OptimizerSection, "schedule": ScheduleSection,
             "train": TrainSection, "data": DataSection}
#: every field a run config must have, as dotted paths -> its section model's field
CONFIG_FIELDS: dict[str, Any] = {
    **{f"{section}.{name}": info for section, model in _SECTIONS.items() for name, info in model.model_fields.items()},
    "tag": RunConfigModel.model_fields["tag"],
}
#: fields a baseline may leave out: model knobs at their default are omitted from resolved configs
OPTIONAL_FIELDS = tuple(f"model.{knob}" for knob in OMITTED_AT_DEFAULT)
_AUGMENT_KEYS = tuple(AugmentSection.model_fields)


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key != "augment" and not key.startswith("augment."):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def deep_merge(base: dict, override: dict) -> dict:
    """A new dict: ``override`` merged into ``base`` (dicts recurse, other values replace)."""
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def validate_config(config: dict, where: str) -> dict:
    """Check every field of an (unresolved-augment) config; return it with values normalized
    (floats as floats).  ``where`` prefixes error messages, e.g. ``ablations/lr.yaml: level 10``."""
    if not isinstance(config, dict):
        raise UserError(f"{where}: must be a mapping of config sections, got {type(config).__name__}")
    augment = config.get("augment", {})
    if not isinstance(augment, dict):
        raise UserError(f"{where}: field 'augment' must be a mapping with 'policy' (and optional "
                        f"remove/replace/update/strength)")
    try:
        model = RunConfigModel.model_validate(config)
    except ValidationError as exc:
        raise UserError(_config_error(exc, config, where)) from None
    out = copy.deepcopy(config)
    for key in _flatten({k: v for k, v in config.items() if k != "augment"}):
        section, _, leaf = key.rpartition(".")
        node, value = out, getattr(getattr(model, section), leaf) if section else getattr(model, leaf)
        for part in key.split(".")[:-1]:
            node = node[part]
        node[key.split(".")[-1]] = value
    return out


def _config_error(exc: ValidationError, config: dict, where: str) -> str:
    """pydantic's first error as the one line users get: file/level, dotted field, what to fix."""
    errors = exc.errors(include_url=False)
    err = sorted(errors, key=lambda e: e["type"] != "extra_forbidden")[0]
    loc = [str(part) for part in err["loc"]]
    if err["type"] == "extra_forbidden" or err["type"] in ("model_type", "model_attributes_type"):
        if loc and loc[0] == "augment":
            return (f"{where}: unknown field 'augment.{loc[1]}' "
                    f"(known: {', '.join('augment.' + k for k in _AUGMENT_KEYS)})")
        node = config
        for part in loc:
            node = node.get(part) if isinstance(node, dict) else None
        # an unknown section given as a mapping: name its first leaf, as the fields are listed
        while isinstance(node, dict) and node:
            first = next(iter(node))
            loc.append(str(first))
            node = node[first]
        known = ", ".join(sorted(CONFIG_FIELDS) + ["augment.policy"])
        return f"{where}: unknown field '{'.'.join(loc)}' (known fields: {known})"
    cause = (err.get("ctx") or {}).get("error")
    return f"{where}: field '{'.'.join(loc)}' {cause if cause is not None else err['msg']}"


# ----------------------------------------------------------------------------- policy edits
def _load_policy_dict(spec, where: str, image_size: int = 64) -> dict:
    try:
        from augstudy.policy import load_policy
    except ImportError as exc:  # the policy core is a hard dependency of ablations
        raise UserError(f"augstudy.policy is not importable ({exc}); it is needed to resolve augment.policy") from None
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
    """Turn ``{policy, remove?, replace?, update?, strength?}`` into ``{"policy": <resolved policy dict>}``."""
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


def level_name(key: Any) -> str:
    """YAML level keys as arm text: ``0.1`` -> ``"0.1"``, YAML ``on``/``true`` -> ``"on"``."""
    if isinstance(key, bool):
        return "on" if key else "off"
    return str(key)


@dataclass
class Baseline:
    """``baseline.yaml``: the recipe (without budgets) and its budgets (name -> override)."""

    path: Path
    config: dict
    budgets: dict[str, dict]


@dataclass
class FactorSpec:
    """One ``<factor>.yaml``: its levels (name -> deep-merge override) in file order."""

    factor: str
    path: Path
    description: str
    baseline_level: str
    levels: dict[str, dict]


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
    if not isinstance(budgets, dict) or not all(isinstance(v, dict) for v in budgets.values()):
        raise UserError(f"{path}: field 'budgets' must map budget names to config overrides")
    config = validate_config(raw, str(path))
    missing = [k for k in CONFIG_FIELDS if k not in OPTIONAL_FIELDS and _get(config, k) is _MISSING]
    if missing:
        raise UserError(f"{path}: missing field(s) {', '.join(missing)}")
    for name, override in budgets.items():
        validate_config(deep_merge(config, override), f"{path}: budgets.{name}")
    return Baseline(path, config, {str(k): v for k, v in budgets.items()})


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
    raw = _read_yaml(path)
    if not isinstance(raw, dict):
        raise UserError(f"{path}: must be a mapping with factor, description, baseline_level, levels")
    for key in raw:
        if key not in ("factor", "description", "baseline_level", "levels"):
            raise UserError(f"{path}: unknown field '{key}' (known: factor, description, baseline_level, levels)")
    if raw.get("factor", factor) != factor:
        raise UserError(f"{path}: field 'factor' is '{raw['factor']}' but the file name says '{factor}'; make them match")
    levels_raw = raw.get("levels")
    if not isinstance(levels_raw, dict) or len(levels_raw) < 2:
        raise UserError(f"{path}: field 'levels' must map at least 2 level names to config overrides")
    levels: dict[str, dict] = {}
    for key, override in levels_raw.items():
        name = level_name(key)
        if override is None:
            override = {}
        if not isinstance(override, dict):
            raise UserError(f"{path}: levels.{name} must be a mapping of config overrides, got {override!r}")
        levels[name] = override
    if "baseline_level" not in raw:
        raise UserError(f"{path}: field 'baseline_level' is missing (one of: {', '.join(levels)})")
    baseline_level = level_name(raw["baseline_level"])
    if baseline_level not in levels:
        raise UserError(f"{path}: field 'baseline_level' is '{baseline_level}' but levels are: {', '.join(levels)}")
    return FactorSpec(factor, path, str(raw.get("description", "")).strip(), baseline_level, levels)


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


def format_factor_list(specs_dir: str | Path | None = None) -> str:
    """``augstudy ablate --list``: each factor, its levels (baseline marked) and description."""
    specs_dir = Path(specs_dir) if specs_dir else default_specs_dir()
    lines = [f"study specs in {specs_dir}:"]
    for name in list_factors(specs_dir):
        spec = load_factor(name, specs_dir)
        levels = ", ".join(f"{lv} (baseline)" if lv == spec.baseline_level else lv for lv in spec.levels)
        lines.append(f"  {name:<14} {levels}")
        if spec.description:
            lines.append(f"  {'':<14} {spec.description.splitlines()[0]}")
    lines.append(f"  {ALL_FACTORS:<14} every factor above against one shared baseline arm")
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
]
