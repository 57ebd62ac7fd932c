"""Models a study trains: the report's CNNs, a user's factory, a timm model; what they cost.

- :func:`build_model` (``final``, ``first``, ``timm:<name>``, ``package.module:function`` or a
  callable), :func:`build_model_from_config` (a run config's ``model`` section);
- knobs: :data:`KNOBS`, :func:`check_model_knobs` (refuses a knob a model does not take, before
  anything is built), :func:`accepted_knobs`, :func:`canonical_model_section` (what a config hashes);
- cost: :func:`count_parameters`, :func:`summarize` + :func:`format_summary` (the torchsummary
  table), :func:`count_flops` (forward FLOPs per image), :data:`INPUT_SIZES`.

The knob and name helpers import no torch; the rest loads torch on first use.
"""

from __future__ import annotations

import importlib

from augstudy.models.knobs import (
    BUILTIN_MODELS, FIRST_KNOBS, KNOBS, OMITTED_AT_DEFAULT, Knob, accepted_knobs, canonical_model_section,
    check_model_knobs, check_model_name, knob_defaults, model_label, model_reference, parse_knob_assignment,
    validate_knob,
)

MODEL_NAMES = BUILTIN_MODELS

# name -> module holding it; imported (with torch) on first access
_LAZY = {
    "build_model": "factory", "build_model_from_config": "factory", "input_size_for": "factory",
    "INPUT_SIZES": "factory", "DEFAULT_CLASSES": "factory",
    "build_final": "cnn", "build_first": "cnn", "ACTIVATIONS": "cnn", "BN_ORDERS": "cnn",
    "CONV_REGULARIZERS": "cnn", "FINAL_CHANNELS": "cnn", "HIDDEN_FEATURES": "cnn",
    "count_parameters": "summary", "summarize": "summary", "format_summary": "summary",
    "format_flops": "summary", "count_flops": "summary", "SummaryRow": "summary",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f"augstudy.models.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'augstudy.models' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BUILTIN_MODELS", "FIRST_KNOBS", "KNOBS", "Knob", "MODEL_NAMES", "OMITTED_AT_DEFAULT", "accepted_knobs",
    "canonical_model_section", "check_model_knobs", "check_model_name", "knob_defaults", "model_label",
    "model_reference",
    "parse_knob_assignment", "validate_knob", *_LAZY,
]
