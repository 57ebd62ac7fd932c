"""The study-spec files as pydantic v2 models: run-config sections, factor files, one-line errors.

A run config (``baseline.yaml`` without ``budgets``, each budget and each level merged into it) is a
:class:`RunConfigModel`: one model per section (``model``, ``optimizer``, ``schedule``, ``train``,
``data``, ``augment``) plus free-text ``tag``.  Every field's check runs on the raw YAML value (no
coercion), returns the normalized value (floats as floats) and raises ``ValueError`` with the text
shown after "field 'section.key' ".  A ``<factor>.yaml`` is a :class:`FactorFile`.  The functions
here turn pydantic's first error into the one line a user gets: file (and level), dotted field, fix.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, create_model

from augstudy.errors import UserError
from augstudy.models.knobs import KNOBS, OMITTED_AT_DEFAULT, check_model_name


# ----------------------------------------------------------------------------- run configs
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


def check_sesoi(v):
    """``sesoi``: the smallest effect size of interest, accuracy points, a number > 0."""
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < float(v) < 100.0:
        raise ValueError(f"must be a number of accuracy points in (0, 100), got {v!r}")
    return float(v)


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
    # shifts the keys of the data order and the augmentation draws (not the initialization): a
    # placebo arm with another order_key differs from the baseline by noise only; 0 = the default,
    # omitted from resolved configs so existing config hashes do not change
    order_key: _int_min(0) = None


def _alpha(name: str):
    def check(v):
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not float(v) > 0.0 or float(v) == float("inf"):
            raise ValueError(f"must be a number > 0 (Beta({name}, {name}) draws lambda; null turns it off), got {v!r}")
        return float(v)
    return Annotated[Any, BeforeValidator(check)]


def _positive_or_null(v):
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 < float(v) <= 1.0:
        raise ValueError(f"must be a fraction of all training steps in (0, 1] (null = no EMA), got {v!r}")
    return float(v)


class MixSection(_Section):
    """``mix``: batch-level MixUp/CutMix (:mod:`augstudy.ablation.execution.mixing`); both alphas null = off."""

    mixup_alpha: _alpha("mixup_alpha") = None
    cutmix_alpha: _alpha("cutmix_alpha") = None
    prob: _float_in(0.0, 1.0) = None
    switch_prob: _float_in(0.0, 1.0) = None


class EmaSection(_Section):
    """``ema``: weight EMA (:mod:`augstudy.ablation.execution.ema`); ``horizon`` null = off."""

    horizon: Annotated[Any, BeforeValidator(_positive_or_null)] = None


class EvalSection(_Section):
    """``eval``: how the val metrics are computed (:mod:`augstudy.ablation.execution.tta`)."""

    tta: _choice("none", "flip") = None


#: the optional regularizer sections and the values that mean "off": a section at these values is left out
#: of resolved configs (:func:`canonical_regularizers`), so configs (and hashes) without them stay as they were
REGULARIZER_DEFAULTS = {"mix": {"mixup_alpha": None, "cutmix_alpha": None, "prob": 1.0, "switch_prob": 0.5},
                        "ema": {"horizon": None}, "eval": {"tta": "none"}}


def canonical_regularizers(config: dict) -> dict:
    """``config`` with the ``mix``/``ema``/``eval`` sections filled with their defaults, or dropped when they
    switch nothing on (mix: no alpha; ema: no horizon; eval: tta none)."""
    out = dict(config)
    for section, defaults in REGULARIZER_DEFAULTS.items():
        values = {**defaults, **{k: v for k, v in (config.get(section) or {}).items() if v is not None}}
        off = (values["mixup_alpha"] is None and values["cutmix_alpha"] is None) if section == "mix" else \
            values == defaults
        if off:
            out.pop(section, None)
        else:
            out[section] = values
    return out


class AugmentSection(_Section):
    """``augment``: a policy plus optional edits (resolved by :func:`resolve_augment`)."""

    policy: Any = None
    remove: Any = None
    replace: Any = None
    update: Any = None
    add: Any = None
    strength: Any = None


class RunConfigModel(_Section):
    """A run config: the sections plus free-text ``tag``."""

    model: ModelSection = None
    optimizer: OptimizerSection = None
    schedule: ScheduleSection = None
    train: TrainSection = None
    data: DataSection = None
    augment: AugmentSection = None
    mix: MixSection = None
    ema: EmaSection = None
    eval: EvalSection = None
    tag: _Text = None


_SECTIONS = {"model": ModelSection, "optimizer": OptimizerSection, "schedule": ScheduleSection,
             "train": TrainSection, "data": DataSection, "mix": MixSection, "ema": EmaSection,
             "eval": EvalSection}
#: every field a run config must have, as dotted paths -> its section model's field
CONFIG_FIELDS: dict[str, Any] = {
    **{f"{section}.{name}": info for section, model in _SECTIONS.items() for name, info in model.model_fields.items()},
    "tag": RunConfigModel.model_fields["tag"],
}
#: fields a baseline may leave out: model knobs at their default are omitted from resolved configs
OPTIONAL_FIELDS = tuple(f"model.{knob}" for knob in OMITTED_AT_DEFAULT) + ("data.order_key",) + tuple(
    f"{section}.{name}" for section, defaults in REGULARIZER_DEFAULTS.items() for name in defaults)
AUGMENT_KEYS = tuple(AugmentSection.model_fields)


def _flatten(d: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key != "augment" and not key.startswith("augment."):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def validate_config(config: dict, where: str) -> dict:
    """Check every field of an (unresolved-augment) config; return it with values normalized
    (floats as floats).  ``where`` prefixes error messages, e.g. ``ablations/lr.yaml: level 10``."""
    if not isinstance(config, dict):
        raise UserError(f"{where}: must be a mapping of config sections, got {type(config).__name__}")
    augment = config.get("augment", {})
    if not isinstance(augment, dict):
        raise UserError(f"{where}: field 'augment' must be a mapping with 'policy' (and optional "
                        f"remove/replace/update/add/strength)")
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
                    f"(known: {', '.join('augment.' + k for k in AUGMENT_KEYS)})")
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


# ----------------------------------------------------------------------------- factor files
FACTOR_KEYS = ("factor", "description", "baseline_level", "levels", "sesoi")


def level_name(key: Any) -> str:
    """YAML level keys as arm text: ``0.1`` -> ``"0.1"``, YAML ``on``/``true`` -> ``"on"``."""
    if isinstance(key, bool):
        return "on" if key else "off"
    return str(key)


class _LevelsError(ValueError):
    """A bad ``levels`` value; the message is the whole line after the file name."""


def _check_levels(value: Any) -> dict[str, dict]:
    if not isinstance(value, dict) or len(value) < 2:
        raise _LevelsError("field 'levels' must map at least 2 level names to config overrides")
    levels: dict[str, dict] = {}
    for key, override in value.items():
        name = level_name(key)
        if override is None:
            override = {}
        if not isinstance(override, dict):
            raise _LevelsError(f"levels.{name} must be a mapping of config overrides, got {override!r}")
        levels[name] = override
    return levels


class FactorFile(BaseModel):
    """``<factor>.yaml``: ``factor`` (optional, must match the file name), ``description``,
    ``baseline_level`` (one of the levels) and ``levels`` (level name -> deep-merge override)."""

    model_config = ConfigDict(extra="forbid")

    levels: Annotated[Any, BeforeValidator(_check_levels)] = None
    baseline_level: Any
    factor: Any = None
    description: Any = ""
    sesoi: Annotated[Any, BeforeValidator(check_sesoi)] = None   # accuracy points; None: baseline.yaml's or 1.0


def validate_factor_file(raw: Any, path: Path, factor: str) -> FactorFile:
    """The parsed ``<factor>.yaml`` as a :class:`FactorFile`, or one :class:`UserError` line."""
    if not isinstance(raw, dict):
        raise UserError(f"{path}: must be a mapping with {', '.join(FACTOR_KEYS)}")
    try:
        parsed = FactorFile.model_validate({"levels": None, **raw})
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        err = sorted(errors, key=lambda e: (e["type"] != "extra_forbidden", e["loc"] != ("levels",)))[0]
        if err["type"] == "extra_forbidden":
            raise UserError(f"{path}: unknown field '{err['loc'][0]}' (known: {', '.join(FACTOR_KEYS)})") from None
        if err["loc"] == ("levels",):
            raise UserError(f"{path}: {(err.get('ctx') or {}).get('error', err['msg'])}") from None
        if err["loc"] == ("sesoi",):
            raise UserError(f"{path}: field 'sesoi' {(err.get('ctx') or {}).get('error', err['msg'])}") from None
        levels = _check_levels(raw.get("levels"))
        raise UserError(f"{path}: field 'baseline_level' is missing (one of: {', '.join(levels)})") from None
    if parsed.factor is not None and parsed.factor != factor:
        raise UserError(f"{path}: field 'factor' is '{parsed.factor}' but the file name says '{factor}'; make them match")
    baseline_level = level_name(parsed.baseline_level)
    if baseline_level not in parsed.levels:
        raise UserError(f"{path}: field 'baseline_level' is '{baseline_level}' but levels are: "
                        f"{', '.join(parsed.levels)}")
    return parsed


__all__ = ["RunConfigModel", "ModelSection", "OptimizerSection", "ScheduleSection", "TrainSection", "DataSection",
           "AugmentSection", "MixSection", "EmaSection", "EvalSection", "REGULARIZER_DEFAULTS",
           "canonical_regularizers", "CONFIG_FIELDS", "OPTIONAL_FIELDS", "AUGMENT_KEYS", "validate_config", "FactorFile",
           "FACTOR_KEYS", "validate_factor_file", "level_name", "check_sesoi"]
