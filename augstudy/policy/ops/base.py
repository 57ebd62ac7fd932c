"""The op registry: one table of op name -> parameter schema (defaults, ranges, meaning).

Everything that knows about an op's parameters reads this table: validation and
default-filling (:mod:`augstudy.policy.spec`), ``augstudy policy show``, the
albumentations importer and the tests.  Sampling and application live in
:mod:`augstudy.policy.sampling` and :mod:`augstudy.policy.engine`.

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

=================  ==========================================================  =======
op                 fields (default)                                            p
=================  ==========================================================  =======
HorizontalFlip     -                                                           0.5
VerticalFlip       -                                                           0.5
RandomCrop         size (64), padding (0), padding_mode (constant|reflect),     1.0
                   fill (0.0)
RandomResizedCrop  size (64), scale ([0.08, 1]), ratio ([3/4, 4/3])             1.0
ColorJitter        brightness (0), contrast (0), saturation (0), hue (0)        1.0
RandomGrayscale    -                                                           0.1
RandomErasing      scale ([0.02, 0.33]), ratio ([0.3, 3.3]), value (0.0)        0.5
Rotation           degrees (10), fill (0.0)                                    1.0
Affine             degrees (0), translate ([0, 0]), scale ([1, 1]), fill (0)   1.0
GaussianBlur       kernel_size (3), sigma ([0.1, 2.0])                         1.0
Normalize          mean (ImageNet), std (ImageNet); must be the last op        1.0
=================  ==========================================================  =======
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
PADDING_MODES = ("constant", "reflect")


class FieldError(ValueError):
    """A field value is invalid; the message says what is allowed (spec.py adds file/op/field)."""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_bounds(value: float, low: float | None, high: float | None) -> None:
    if (low is not None and value < low) or (high is not None and value > high):
        raise FieldError(f"must be in [{_fmt(low)}, {_fmt(high)}], got {_fmt(value)}")


def _fmt(value: Any) -> str:
    if value is None:
        return "inf"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e6:
        return str(int(value)) if value != 0 or math.copysign(1, value) > 0 else "0"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    return str(value)


@dataclass(frozen=True)
class Field:
    """One parameter of an op.

    kind: ``int`` | ``float`` | ``range`` (``[low, high]``) | ``pair`` (``[a, b]``) | ``scalar_or_range``
    (``x`` or ``[low, high]``) | ``choice`` | ``triple`` (three floats, one per channel).
    ``low``/``high`` bound every number in the value.
    """

    name: str
    kind: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    odd: bool = False
    positive: bool = False  # strictly > 0 (std, ratio)

    def normalize(self, value: Any) -> Any:
        """Return the canonical stored form of ``value`` or raise :class:`FieldError`."""
        if self.kind == "int":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if not isinstance(value, int) or isinstance(value, bool):
                raise FieldError(f"must be an integer, got {value!r}")
            _check_bounds(value, self.low, self.high)
            if self.odd and value % 2 == 0:
                raise FieldError(f"must be odd, got {value}")
            return value
        if self.kind == "float":
            return self._number(value)
        if self.kind == "choice":
            if value not in self.choices:
                raise FieldError(f"must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        if self.kind == "range":
            return self._range(value)
        if self.kind == "pair":
            if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
                raise FieldError(f"must be a pair of numbers [a, b], got {value!r}")
            return [self._number(v) for v in value]
        if self.kind == "scalar_or_range":
            if _is_number(value):  # the shorthand x means [-x, x] or [1-x, 1+x]: x itself is >= 0
                return self._number(value, low=max(0.0, self.low if self.low is not None else 0.0))
            return self._range(value)
        if self.kind == "triple":
            if not isinstance(value, (list, tuple)) or len(value) != 3 or not all(_is_number(v) for v in value):
                raise FieldError(f"must be a list of 3 numbers (R, G, B), got {value!r}")
            return [self._number(v) for v in value]
        raise AssertionError(f"unknown field kind {self.kind}")

    def _number(self, value: Any, low: float | None = None) -> float:
        if not _is_number(value):
            raise FieldError(f"must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise FieldError(f"must be finite, got {value}")
        _check_bounds(value, self.low if low is None else low, self.high)
        if self.positive and value <= 0:
            raise FieldError(f"must be > 0, got {_fmt(value)}")
        return value

    def _range(self, value: Any) -> list[float]:
        if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
            shape = "a number or " if self.kind == "scalar_or_range" else ""
            raise FieldError(f"must be {shape}a [low, high] pair of numbers, got {value!r}")
        low, high = (self._number(v) for v in value)
        if low > high:
            raise FieldError(f"must have low <= high, got [{_fmt(low)}, {_fmt(high)}]")
        return [low, high]


@dataclass(frozen=True)
class OpSchema:
    """An op: its fields, default probability, and how it changes the image size."""

    name: str
    doc: str
    fields: tuple[Field, ...] = ()
    p_default: float = 1.0
    #: (params, input side in px) -> output side in px; None = size-preserving
    output_size: Callable[[dict, int], int] | None = None
    #: (params, input side in px) -> error message or None (checks needing the image size)
    check_size: Callable[[dict, int], str | None] | None = None
    must_be_last: bool = False
    field_names: tuple[str, ...] = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "field_names", tuple(f.name for f in self.fields))

    def defaults(self) -> dict:
        return {f.name: (list(f.default) if isinstance(f.default, (list, tuple)) else f.default) for f in self.fields}


def _crop_output(params: dict, side: int) -> int:
    return params["size"]


def _crop_check(params: dict, side: int) -> str | None:
    padded = side + 2 * params["padding"]
    if params["size"] > padded:
        return (f"field 'size' = {params['size']} is larger than the padded image "
                f"({side} + 2*{params['padding']} = {padded}); use size <= {padded} or more padding")
    if params["padding_mode"] == "reflect" and params["padding"] >= side:
        return f"field 'padding' = {params['padding']} must be < the image side {side} for padding_mode reflect"
    return None


def _blur_check(params: dict, side: int) -> str | None:
    if params["kernel_size"] // 2 >= side:
        return f"field 'kernel_size' = {params['kernel_size']} is too large for a {side}x{side} image"
    return None


_P_FIELD_DOC = "probability that the op is applied to an image"
_FILL = Field("fill", "float", 0.0, "value of pixels with no source, fraction of full scale", 0.0, 1.0)

OPS: dict[str, OpSchema] = {
    op.name: op
    for op in [
        OpSchema("HorizontalFlip", "mirror left-right", p_default=0.5),
        OpSchema("VerticalFlip", "mirror top-bottom", p_default=0.5),
        OpSchema(
            "RandomCrop",
            "pad every side by `padding` px, then cut a random size x size window",
            (
                Field("size", "int", 64, "output side in px", 1, 4096),
                Field("padding", "int", 0, "px added on every side before cropping", 0, 1024),
                Field("padding_mode", "choice", "constant", "constant (fill) or reflect (mirror, no edge repeat)",
                      choices=PADDING_MODES),
                _FILL,
            ),
            output_size=_crop_output,
            check_size=_crop_check,
        ),
        OpSchema(
            "RandomResizedCrop",
            "cut a random box (area fraction `scale`, aspect w/h `ratio`) and resize it to size x size",
            (
                Field("size", "int", 64, "output side in px", 1, 4096),
                Field("scale", "range", [0.08, 1.0], "box area as a fraction of the image", 0.0, 1.0, positive=True),
                Field("ratio", "range", [3 / 4, 4 / 3], "box aspect ratio width/height", 0.0, None, positive=True),
            ),
            output_size=_crop_output,
        ),
        OpSchema(
            "ColorJitter",
            "brightness, contrast, saturation, hue in a random order per image (torchvision semantics)",
            (
                Field("brightness", "scalar_or_range", 0.0, "x -> factor in [max(0, 1-x), 1+x]", 0.0, None),
                Field("contrast", "scalar_or_range", 0.0, "x -> factor in [max(0, 1-x), 1+x]", 0.0, None),
                Field("saturation", "scalar_or_range", 0.0, "x -> factor in [max(0, 1-x), 1+x]", 0.0, None),
                Field("hue", "scalar_or_range", 0.0, "h -> hue shift in [-h, h] (fraction of the colour circle)",
                      -0.5, 0.5),
            ),
        ),
        OpSchema("RandomGrayscale", "replace RGB by its luma (0.2989, 0.587, 0.114), kept 3-channel", p_default=0.1),
        OpSchema(
            "RandomErasing",
            "fill a random box (area fraction `scale`, aspect h/w `ratio`) with `value`",
            (
                Field("scale", "range", [0.02, 0.33], "box area as a fraction of the image", 0.0, 1.0),
                Field("ratio", "range", [0.3, 3.3], "box aspect ratio height/width", 0.0, None, positive=True),
                Field("value", "float", 0.0, "fill value, fraction of full scale", 0.0, 1.0),
            ),
            p_default=0.5,
        ),
        OpSchema(
            "Rotation",
            "rotate about the centre by a random angle (bilinear, `fill` outside)",
            (Field("degrees", "scalar_or_range", 10.0, "d -> angle in [-d, d] degrees", -180.0, 180.0), _FILL),
        ),
        OpSchema(
            "Affine",
            "random rotation, translation and scale about the centre (bilinear, `fill` outside)",
            (
                Field("degrees", "scalar_or_range", 0.0, "d -> angle in [-d, d] degrees", -180.0, 180.0),
                Field("translate", "pair", [0.0, 0.0], "[a, b]: |dx| <= a*width, |dy| <= b*height", 0.0, 1.0),
                Field("scale", "range", [1.0, 1.0], "zoom factor range", 0.0, 10.0, positive=True),
                _FILL,
            ),
        ),
        OpSchema(
            "GaussianBlur",
            "separable Gaussian blur with a random sigma per image (reflect padding)",
            (
                Field("kernel_size", "int", 3, "odd kernel side in px", 1, 63, odd=True),
                Field("sigma", "range", [0.1, 2.0], "sigma range in px", 0.0, 100.0, positive=True),
            ),
            check_size=_blur_check,
        ),
        OpSchema(
            "Normalize",
            "(x - mean) / std per channel; output leaves [0, 1], so it must be the last op",
            (
                Field("mean", "triple", list(IMAGENET_MEAN), "per-channel mean, fraction of full scale"),
                Field("std", "triple", list(IMAGENET_STD), "per-channel std, fraction of full scale", positive=True),
            ),
            must_be_last=True,
        ),
    ]
}

OP_NAMES: tuple[str, ...] = tuple(OPS)


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


__all__ = ["OPS", "OP_NAMES", "OpSchema", "Field", "FieldError", "factor_range", "symmetric_range",
           "IMAGENET_MEAN", "IMAGENET_STD", "PADDING_MODES"]
