"""Model names and ablation knobs: what a study spec's ``model`` section may say (no torch import).

A ``model`` section is ``{name, <knob>: <value>, ...}``.  ``name`` is one of

- ``final`` / ``first``: the report's CNNs (:mod:`augstudy.models.cnn`);
- ``timm:<model>``: a timm model (optional extra ``augstudy[timm]``), built with
  ``num_classes`` and ``pretrained=False`` (weights are never downloaded);
- ``package.module:function``: a user factory, called as ``function(num_classes=N, **knobs)``
  with the knobs its signature declares (all of them when it takes ``**kwargs``).

The Python API also accepts a callable (a function or an ``nn.Module`` class) in place of a name.

Every knob has a default: the value that reproduces the report's ``final`` network.  A knob a model
does not accept may appear only at its default; any other value is refused by
:func:`check_model_knobs` before a model is built, naming the knob and the model.
The architecture knobs of :data:`OMITTED_AT_DEFAULT` are dropped from a resolved config when at
their default, so a config that does not set them hashes as one that cannot (a spec without them).
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from augstudy.errors import MissingDependencyError, UserError

BUILTIN_MODELS = ("final", "first")
TIMM_PREFIX = "timm:"
TIMM_INSTALL_HINT = "pip install 'augstudy[timm]' (or: pip install 'timm>=1.0')"
_IMPORT_PATH = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


# ----------------------------------------------------------------------------- knob table
def _number(lo: float, hi: float, *, lo_open: bool = False, hi_open: bool = False) -> Callable[[Any], float]:
    interval = f"{'(' if lo_open else '['}{lo}, {hi}{')' if hi_open else ']'}"

    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be a number in {interval}, got {value!r}")
        v = float(value)
        if not ((v > lo if lo_open else v >= lo) and (v < hi if hi_open else v <= hi)):
            raise ValueError(f"must be in {interval}, got {v:g}")
        return v
    return check


def _integer(lo: int, hi: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"must be an integer in [{lo}, {hi}], got {value!r}")
        if not lo <= value <= hi:
            raise ValueError(f"must be an integer in [{lo}, {hi}], got {value}")
        return value
    return check


def _choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise ValueError(f"must be one of {', '.join(options)}, got {value!r}")
        return value
    return check


@dataclass(frozen=True)
class Knob:
    """One ablation knob: its default (the report's ``final``), a validator and what it means."""

    name: str
    default: Any
    check: Callable[[Any], Any]   # returns the normalized value or raises ValueError("must be ...")
    doc: str


KNOBS: dict[str, Knob] = {k.name: k for k in (
    Knob("dropout", 0.3, _number(0.0, 1.0, hi_open=True),
         "p of every classifier dropout (the report settled on 0.3)"),
    Knob("bn_order", "after", _choice("after", "before"),
         "BatchNorm after each max-pool (the report's table) or before it"),
    Knob("activation", "relu", _choice("relu", "leaky_relu"),
         "the nonlinearity everywhere (leaky_relu: slope 0.01)"),
    Knob("classifier_depth", 2, _integer(0, 4),
         "hidden Linear(3456)+activation+Dropout layers in the head (2 = the report's)"),
    Knob("width", 1.0, _number(0.0, 4.0, lo_open=True),
         "multiplier of every conv block's channels (32, 32, 96, 128, 256, 384 at 1)"),
    Knob("conv_regularizer", "batchnorm", _choice("batchnorm", "dropout"),
         "what sits in the conv blocks' six norm slots: BatchNorm2d, or Dropout(conv_dropout)"),
    Knob("conv_dropout", 0.2, _number(0.0, 1.0, hi_open=True),
         "p of the conv blocks' dropouts (only with conv_regularizer: dropout)"),
    Knob("pool_stride", 5, _integer(1, 15),
         "kernel = stride of the last max-pool: 15x15 -> floor(15 / stride) per side (5: 3x3)"),
)}

#: knobs ``first`` takes; ``final`` takes every knob in :data:`KNOBS`
FIRST_KNOBS = ("dropout", "bn_order", "activation")
#: knobs dropped from a resolved config when at their default (a spec that leaves them out keeps its hash)
OMITTED_AT_DEFAULT = ("classifier_depth", "width", "conv_regularizer", "conv_dropout", "pool_stride")
#: timm's keyword for each knob a timm model accepts
TIMM_KNOBS = {"dropout": "drop_rate"}


def validate_knob(name: str, value: Any) -> Any:
    """The normalized value of knob ``name`` (``width: 1`` -> ``1.0``); ValueError naming it otherwise."""
    if name not in KNOBS:
        raise ValueError(f"unknown knob '{name}' (knobs: {', '.join(KNOBS)})")
    try:
        return KNOBS[name].check(value)
    except ValueError as exc:
        raise ValueError(f"knob '{name}' {exc}") from None


def knob_defaults() -> dict[str, Any]:
    """``{knob: default}`` for every knob: the values of the report's ``final`` network."""
    return {name: knob.default for name, knob in KNOBS.items()}


# ----------------------------------------------------------------------------- model names
def check_model_name(name: Any) -> str:
    """The name's form only (nothing imported): ``final``, ``first``, ``timm:<model>`` or
    ``package.module:function``; UserError with the accepted forms otherwise."""
    if isinstance(name, str):
        if name in BUILTIN_MODELS or (name.startswith(TIMM_PREFIX) and len(name) > len(TIMM_PREFIX)):
            return name
        if _IMPORT_PATH.match(name):
            return name
    raise UserError(f"model {name!r} is not a model name: use final, first, timm:<model name> "
                    f"(with timm installed) or an import path package.module:function")


def model_label(model: str | Callable) -> str:
    """How messages name a model: its name, or ``module:qualname`` for a callable."""
    if isinstance(model, str):
        return model
    return f"{getattr(model, '__module__', '?')}:{getattr(model, '__qualname__', repr(model))}"


def model_reference(model: str | Callable) -> str:
    """The text a run config stores for ``model``: a checked name, or ``module:qualname`` of a callable.

    A callable must be found again by that path (a module-level function or class, including one
    defined in a notebook, whose module is ``__main__``), so runs built from the config get the same
    factory; a lambda or a function nested in another is a UserError.
    """
    if isinstance(model, str):
        return check_model_name(model)
    if not callable(model):
        raise UserError(f"model {model!r} is neither a model name nor a callable returning an nn.Module")
    label = model_label(model)
    try:
        found = import_factory(label) if _IMPORT_PATH.match(label) else None
    except UserError:
        found = None
    if found is not model:
        raise UserError(f"model {label}: a callable must be reachable as module:name (define it at the top "
                        f"level of a module or notebook, not as a lambda or inside a function)")
    return label


def import_factory(path: str) -> Callable:
    """The callable behind ``package.module:function``.

    The current folder is searched too (appended to ``sys.path`` when the module is not found
    otherwise), so a ``mymodels.py`` beside the study spec works from the console script.
    """
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if exc.name != module_name.split(".")[0] or cwd in sys.path:
            raise UserError(f"model '{path}': cannot import '{module_name}' ({exc}); install it or run "
                            f"from the folder that holds it") from None
        sys.path.append(cwd)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc2:
            raise UserError(f"model '{path}': cannot import '{module_name}' ({exc2}); install it or run "
                            f"from the folder that holds it") from None
    except Exception as exc:  # noqa: BLE001 - the user's module failed while importing
        raise UserError(f"model '{path}': importing '{module_name}' failed ({type(exc).__name__}: {exc})") from None
    factory: Any = module
    for part in attr.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise UserError(f"model '{path}': module '{module_name}' has no attribute '{attr}'")
    if not callable(factory):
        raise UserError(f"model '{path}': '{attr}' is not callable; it must build and return an nn.Module")
    return factory


def require_timm():
    """The ``timm`` module, or MissingDependencyError saying how to install it."""
    try:
        import timm
    except ImportError:
        raise MissingDependencyError(f"timm models need the optional dependency timm: {TIMM_INSTALL_HINT}") from None
    return timm


def _declared_knobs(factory: Callable, label: str) -> tuple[str, ...]:
    """The knobs in ``factory``'s signature (every knob when it takes ``**kwargs``); it must take
    ``num_classes``."""
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        raise UserError(f"model '{label}': its signature cannot be read; give it a num_classes parameter") from None
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    keyword_ok = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    named = {n for n, p in params.items() if p.kind in keyword_ok}
    if "num_classes" not in named and not takes_any:
        raise UserError(f"model '{label}': it must accept a 'num_classes' keyword argument "
                        f"(parameters: {', '.join(params) or 'none'})")
    return tuple(KNOBS) if takes_any else tuple(k for k in KNOBS if k in named)


def accepted_knobs(model: str | Callable) -> tuple[str, ...]:
    """The knobs ``model`` takes (a name or a callable); imports a user module, checks timm."""
    if callable(model):
        return _declared_knobs(model, model_label(model))
    name = check_model_name(model)
    if name == "final":
        return tuple(KNOBS)
    if name == "first":
        return FIRST_KNOBS
    if name.startswith(TIMM_PREFIX):
        timm = require_timm()
        timm_name = name[len(TIMM_PREFIX):]
        if not timm.is_model(timm_name):
            raise UserError(f"model '{name}': timm has no model '{timm_name}' (see timm.list_models())")
        return tuple(TIMM_KNOBS)
    return _declared_knobs(import_factory(name), name)


def check_model_knobs(model: str | Callable, knobs: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Validate ``knobs`` for ``model`` and return the keyword arguments its builder gets.

    Every knob value is validated; a knob the model does not accept is allowed only at its
    default (and then not passed), anything else is a UserError naming the knob and the model.
    A knob the model accepts but ``knobs`` leaves out is passed at its default, so a config's
    meaning never depends on a factory's own defaults.  ``knobs`` may contain ``name`` (ignored).

    Args:
        model: a model name (see :func:`check_model_name`) or a callable.
        knobs: ``{knob: value}``, e.g. a study spec's ``model`` section.
        where: prefix of error messages, e.g. ``ablations/width.yaml: levels.1.5``.
    """
    prefix = f"{where}: " if where else ""
    label = model_label(model)
    try:
        accepted = accepted_knobs(model)
    except UserError as exc:   # keep the class (MissingDependencyError stays one)
        raise type(exc)(f"{prefix}{exc}", exc.exit_code) from None
    given: dict[str, Any] = {}
    for key, value in knobs.items():
        if key == "name":
            continue
        if key not in KNOBS:
            raise UserError(f"{prefix}model '{label}' has no knob '{key}' (its knobs: {', '.join(accepted) or 'none'})")
        try:
            given[key] = validate_knob(key, value)
        except ValueError as exc:
            raise UserError(f"{prefix}model '{label}': {exc}") from None
    for key, value in given.items():
        if key not in accepted and value != KNOBS[key].default:
            raise UserError(f"{prefix}model '{label}' does not accept knob '{key}' (set to {value!r}); "
                            f"its knobs: {', '.join(accepted) or 'none'}; leave '{key}' at its default "
                            f"{KNOBS[key].default!r} or use a model that declares it")
    passed = {key: given.get(key, KNOBS[key].default) for key in accepted}
    if "conv_regularizer" in accepted and passed["conv_regularizer"] != "dropout" \
            and passed["conv_dropout"] != KNOBS["conv_dropout"].default:
        raise UserError(f"{prefix}model '{label}': knob 'conv_dropout' only applies with conv_regularizer: "
                        f"dropout; set conv_regularizer: dropout or remove conv_dropout")
    return passed


def canonical_model_section(section: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """A study spec's ``model`` section checked for its model and normalized for hashing:
    knob values normalized, the knobs of :data:`OMITTED_AT_DEFAULT` dropped at their default."""
    name = section.get("name", "final")
    check_model_knobs(name, section, where)
    out = {"name": name}
    for key, value in section.items():
        if key == "name":
            continue
        value = validate_knob(key, value)
        if key in OMITTED_AT_DEFAULT and value == KNOBS[key].default:
            continue
        out[key] = value
    if out.get("conv_regularizer") == "dropout":   # a dropout arm's config states its rate
        out.setdefault("conv_dropout", KNOBS["conv_dropout"].default)
    return out


def parse_knob_assignment(text: str) -> tuple[str, Any]:
    """``"width=1.5"`` -> ``("width", 1.5)``: the value is read as YAML (numbers, words)."""
    import yaml

    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"--set {text!r}: expected KNOB=VALUE, e.g. width=1.5 (knobs: {', '.join(KNOBS)})")
    try:
        value = yaml.safe_load(raw) if raw.strip() else raw
    except yaml.YAMLError:
        value = raw
    return key, value


__all__ = [
    "BUILTIN_MODELS", "FIRST_KNOBS", "KNOBS", "Knob", "OMITTED_AT_DEFAULT", "TIMM_KNOBS", "TIMM_PREFIX",
    "accepted_knobs", "canonical_model_section", "check_model_knobs", "check_model_name", "import_factory",
    "knob_defaults", "model_label", "model_reference", "parse_knob_assignment", "require_timm", "validate_knob",
]
