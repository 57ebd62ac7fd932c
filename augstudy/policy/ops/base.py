"""What every op shares: units, the pydantic field types, and the :class:`Op` base class.

An op is one class (one module under :mod:`augstudy.policy.ops`) holding

- ``Params``: a pydantic v2 model of its fields (types below, defaults, one-line docs);
- ``p_default``, ``must_be_last``, ``output_size`` / ``check_size`` (image-size rules);
- ``is_identity(params)``: whether these parameters can never change an image (the one place
  that decides it, e.g. ColorJitter with every factor neutral);
- ``scale(params, p, strength, side)``: the policy-strength rule, documented in the module;
- ``warnings(params, side)``: parameters that make most draws degenerate;
- ``sample(spec, u, side)``: its fields of a :class:`~augstudy.policy.sampling.PolicyDraw`;
- ``apply(x, spec, fields)``: the batched engine implementation (backend ``"augstudy"``).

Op modules import torch only inside ``sample`` / ``apply``, so loading and validating a policy
does not import torch.

Units and conventions (shared by every backend):

- images are RGB; intensities are fractions in [0, 1] (a uint8 image is divided by 255),
  so ``fill`` / ``value`` are fractions of full scale (0 = black, 1 = white);
- sizes and paddings are pixels; ``translate`` is a fraction of the image side;
- angles are degrees, positive = counter-clockwise (torchvision's convention);
- a "range" is ``[low, high]``; ColorJitter factors and angles accept torchvision's
  shorthand ``x`` (brightness/contrast/saturation -> ``[max(0, 1-x), 1+x]``,
  hue / degrees -> ``[-x, x]``) or an explicit range, and are stored as written;
- ``p`` is the per-image probability that the op is applied; an op that changes the image size
  (RandomCrop/RandomResizedCrop with ``size`` != its input side) must have ``p`` = 1, and a
  policy whose ops end at another size than ``image_size`` is resized back (bilinear) at the end.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, create_model
from pydantic import Field as PydanticField

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PADDING_MODES = ("constant", "reflect")


class FieldError(ValueError):
    """A field value is invalid; the message says what is allowed (the caller adds file/op/field)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fmt(value: Any) -> str:
    """Numbers as a user wrote them: ``4.0`` -> ``4``, ``None`` (no bound) -> ``inf``."""
    if value is None:
        return "inf"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(int(value)) if value != 0 or math.copysign(1, value) > 0 else "0"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


def _check_bounds(value: float, low: float | None, high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        raise FieldError(f"must be in [{_fmt(low)}, {_fmt(high)}], got {_fmt(value)}")


# ----------------------------------------------------------------------------- field types
# Each factory returns ``Annotated[Any, BeforeValidator(check)]``: the check runs on the raw value
# (no coercion: "64" is not an integer), returns the canonical stored form, and raises FieldError
# with the message shown after "field 'name' ".

def _number(value: Any, low: float | None, high: float | None, positive: bool) -> float:
    if not _is_number(value):
        raise FieldError(f"must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise FieldError(f"must be finite, got {value}")
    _check_bounds(value, low, high)
    if positive and value <= 0:
        raise FieldError(f"must be > 0, got {_fmt(value)}")
    return value


def _range(value: Any, low, high, positive: bool, shorthand: bool) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
        shape = "a number or " if shorthand else ""
        raise FieldError(f"must be {shape}a [low, high] pair of numbers, got {value!r}")
    lo, hi = (_number(v, low, high, positive) for v in value)
    if lo > hi:
        raise FieldError(f"must have low <= high, got [{_fmt(lo)}, {_fmt(hi)}]")
    return [lo, hi]


def Int(low: int, high: int, odd: bool = False):  # noqa: N802 - a type factory
    """An integer in [low, high] (``4.0`` accepted as 4); ``odd`` requires an odd value."""
    def check(value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise FieldError(f"must be an integer, got {value!r}")
        _check_bounds(value, low, high)
        if odd and value % 2 == 0:
            raise FieldError(f"must be odd, got {value}")
        return value
    return Annotated[Any, BeforeValidator(check)]


def Number(low: float | None = None, high: float | None = None, positive: bool = False):  # noqa: N802
    """A finite number in [low, high] (None = unbounded), stored as float; ``positive``: > 0."""
    return Annotated[Any, BeforeValidator(lambda value: _number(value, low, high, positive))]


def Range(low: float | None = None, high: float | None = None, positive: bool = False):  # noqa: N802
    """``[low, high]`` with low <= high, each number within the bounds."""
    return Annotated[Any, BeforeValidator(lambda value: _range(value, low, high, positive, False))]


def ScalarOrRange(low: float | None = None, high: float | None = None):  # noqa: N802
    """torchvision's shorthand ``x`` (>= 0, <= high) or an explicit ``[low, high]`` range."""
    def check(value: Any):
        if _is_number(value):
            return _number(value, max(0.0, low if low is not None else 0.0), high, False)
        return _range(value, low, high, False, True)
    return Annotated[Any, BeforeValidator(check)]


def Pair(low: float | None = None, high: float | None = None):  # noqa: N802
    """Two numbers ``[a, b]`` (not ordered), each within the bounds."""
    def check(value: Any) -> list[float]:
        if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
            raise FieldError(f"must be a pair of numbers [a, b], got {value!r}")
        return [_number(v, low, high, False) for v in value]
    return Annotated[Any, BeforeValidator(check)]


def Triple(positive: bool = False):  # noqa: N802
    """Three numbers, one per channel (R, G, B)."""
    def check(value: Any) -> list[float]:
        if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(_is_number(v) for v in value):
            raise FieldError(f"must be a list of 3 numbers (R, G, B), got {value!r}")
        return [_number(v, None, None, positive) for v in value]
    return Annotated[Any, BeforeValidator(check)]


def Choice(*choices: str):  # noqa: N802
    def check(value: Any) -> str:
        if value not in choices:
            raise FieldError(f"must be one of {', '.join(choices)}, got {value!r}")
        return value
    return Annotated[Any, BeforeValidator(check)]


def check_probability(value: Any) -> float:
    """A probability: a number in [0, 1], as float (message follows "field 'p' ")."""
    if not _is_number(value):
        raise FieldError(f"(probability) must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise FieldError(f"(probability) must be in [0, 1], got {_fmt(float(value))}")
    return float(value)


Probability = Annotated[Any, BeforeValidator(check_probability)]


def field(default: Any, doc: str):
    """A parameter's default and one-line meaning (shown by ``augstudy policy show``)."""
    return PydanticField(default=default, description=doc)


class OpParams(BaseModel):
    """Base of every op's parameter model: unknown keys are errors, values are never coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True)


FILL_DOC = "value of pixels with no source, fraction of full scale"


def Fill():  # noqa: N802
    return Number(0.0, 1.0)


# ----------------------------------------------------------------------------- errors -> one line
def first_error(exc: ValidationError, field_order: tuple[str, ...]) -> tuple[str, str, Any]:
    """The error a user should fix first: ``(kind, dotted field, message or value)``.

    Unknown keys come first (``kind`` "unknown"), then, in the order the model declares its
    fields, required fields that are absent (``kind`` "missing"), invalid values (``kind``
    "invalid", the field check's message) and type errors of whole sections (``kind`` "type").
    """
    errors = exc.errors(include_url=False)

    def rank(err: dict) -> tuple:
        top = str(err["loc"][0]) if err["loc"] else ""
        return (err["type"] != "extra_forbidden", field_order.index(top) if top in field_order else len(field_order))

    err = sorted(errors, key=rank)[0]
    dotted = ".".join(str(part) for part in err["loc"])
    if err["type"] == "extra_forbidden":
        return "unknown", dotted, err.get("input")
    if err["type"] == "missing":
        return "missing", dotted, None
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, Exception):
        return "invalid", dotted, str(cause)
    return "type", dotted, err["msg"]


# ----------------------------------------------------------------------------- the op base class
@dataclass(frozen=True)
class FieldInfo:
    """A parameter as ``policy show`` and the docs list it."""

    name: str
    default: Any
    doc: str


class Op:
    """Base class of an augmentation op; subclasses set the class attributes and override hooks."""

    name: ClassVar[str]
    doc: ClassVar[str]
    Params: ClassVar[type[OpParams]] = OpParams
    p_default: ClassVar[float] = 1.0
    must_be_last: ClassVar[bool] = False
    #: True for ops whose ``output_size`` may differ from the input side
    changes_size: ClassVar[bool] = False
    #: one line: what ``strength`` scales (the full rule is in the module docstring)
    strength_rule: ClassVar[str] = ""

    def __init__(self) -> None:
        self._model = create_model(f"{self.name}Spec", __base__=self.Params,
                                   p=(Probability, PydanticField(default=self.p_default, description="probability")))
        self.fields = tuple(FieldInfo(n, f.default, f.description or "") for n, f in self.Params.model_fields.items())
        self.field_names = tuple(f.name for f in self.fields)

    def defaults(self) -> dict:
        return {f.name: (list(f.default) if isinstance(f.default, (list, tuple)) else f.default) for f in self.fields}

    def validate(self, item: dict) -> tuple[dict, float]:
        """``{<fields>..., p}`` -> (params with defaults filled in, p); raises ``ValidationError``."""
        model = self._model.model_validate(item)
        params = {name: _copy(getattr(model, name)) for name in self.field_names}
        return params, float(model.p)

    # -- image-size rules
    def output_size(self, params: dict, side: int) -> int:
        """Output side in px for an input side ``side``."""
        return side

    def check_size(self, params: dict, side: int) -> str | None:
        """An error message when the params do not fit an input of ``side`` px, else None."""
        return None

    # -- knowledge about the parameters
    def is_identity(self, params: dict, side: int | None = None) -> bool:
        """True when these parameters can never change an image of ``side`` px (whatever the draw)."""
        return False

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        """Params and p at policy strength ``strength`` (>= 0) for an input of ``side`` px."""
        return dict(params), p

    def warnings(self, params: dict, side: int) -> list[str]:
        """Sentences about parameters that make most draws degenerate (mostly fill, empty boxes)."""
        return []

    # -- import from albumentations (``A.save`` files)
    #: albumentations class names this op imports (see :mod:`augstudy.policy.albumentations_import`)
    albumentations_names: ClassVar[tuple[str, ...]] = ()

    def from_albumentations(self, entry: dict, name: str, ctx) -> dict:
        """The serialized transform ``entry`` (class ``name``) as this op's fields (no ``op``/``p``);
        raises :class:`~augstudy.policy.ops.albumentations_forms.Unsupported`."""
        raise NotImplementedError

    # -- sampling and the batched engine
    def sample(self, spec, u, side: int) -> dict:
        """The op's draw fields for a batch (``u``: :class:`~augstudy.policy.sampling.OpUniforms`)."""
        return {}

    def apply(self, x, spec, fields: dict):
        """Batched engine: ``x`` [B,3,H,W] (uint8 or float32) -> transformed batch."""
        raise NotImplementedError(f"op {self.name} has no engine implementation")

    def describe_draw(self, fields: dict, i: int) -> str | None:
        """What image ``i`` of a draw got, for ``preview --per-op`` notes (None: nothing to add)."""
        return None

    #: ops that are exact on uint8 pixels given an 8-bit-exact fill (the engine stays in uint8)
    uint8_exact: ClassVar[bool] = False
    #: ops that accept uint8 input and convert to float themselves
    converts_itself: ClassVar[bool] = False


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def factor_range(value: float | list[float]) -> tuple[float, float]:
    """ColorJitter brightness/contrast/saturation: ``x`` -> ``(max(0, 1-x), 1+x)``; a range as is."""
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[1])
    return max(0.0, 1.0 - value), 1.0 + value


def symmetric_range(value: float | list[float]) -> tuple[float, float]:
    """Hue and degrees: ``x`` -> ``(-x, x)``; a range as is."""
    if isinstance(value, (list, tuple)):
        return float(value[0]), float(value[1])
    return -float(value), float(value)


def clamp(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


def scale_symmetric(value, strength: float, limit: float):
    """Shorthand ``x`` -> ``min(s*x, limit)``; a range -> both ends times s, clamped to [-limit, limit]."""
    if isinstance(value, (list, tuple)):
        return [clamp(strength * float(v), -limit, limit) for v in value]
    return min(strength * float(value), limit)


def scale_about_one(value, strength: float, low: float, high: float | None = None):
    """A range of factors: each end's deviation from 1 times s, clamped to [low, high]."""
    hi = math.inf if high is None else high
    return [clamp(1.0 + strength * (float(v) - 1.0), low, hi) for v in value]


__all__ = ["Op", "OpParams", "FieldInfo", "FieldError", "Int", "Number", "Range", "ScalarOrRange", "Pair", "Triple",
           "Choice", "Probability", "check_probability", "field", "Fill", "FILL_DOC", "first_error", "factor_range",
           "symmetric_range", "clamp", "scale_symmetric", "scale_about_one", "IMAGENET_MEAN", "IMAGENET_STD",
           "PADDING_MODES"]
