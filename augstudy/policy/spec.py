"""Policies as plain, validated data: :class:`OpSpec`, :class:`Policy`, ``from_dict`` / ``to_dict``.

A policy is a mapping ``{name, ops: [{op: Name, <fields>..., p}, ...], image_size, p}`` or, as a
shorthand, a bare list of ops.  It is validated when built: a bad value raises ONE
:class:`~augstudy.errors.UserError` naming the source (file), the op's 1-based position, the op and
the field, e.g. ``policy.yaml: op 2 (ColorJitter): field 'hue' must be in [0, 0.5], got 0.7``.
Defaults from :data:`augstudy.policy.ops.OPS` are filled in on load, so
``Policy.from_dict(p.to_dict()) == p`` holds exactly.

``image_size`` is the side of the images the policy receives AND must return (the model's input,
64 by default).  Ops that change the size (RandomCrop 56, RandomResizedCrop 48) are allowed; a final
bilinear resize back to ``image_size`` is then implied and listed in :attr:`Policy.notes`.
``p`` (default 1) is the probability that the policy as a whole is applied to an image
(albumentations' ``Compose(p=...)``); it is folded into every op's ``apply`` mask when sampling.
``strength`` (default 1, optional) scales every magnitude of the policy once it is validated
(:func:`augstudy.policy.strength.scale_policy`); the resolved policy holds the scaled values.

Validation is pydantic v2 throughout: :class:`PolicyFields` for the policy-level fields and one
parameter model per op (:mod:`augstudy.policy.ops`); pydantic's errors are turned into the one
line above by :func:`augstudy.policy.ops.base.first_error`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, ValidationError

from augstudy.errors import UserError
from augstudy.policy.ops import OP_NAMES, OPS, FieldError, _fmt
from augstudy.policy.ops.base import OpParams, Probability, first_error

POLICY_KEYS = ("name", "image_size", "p", "ops", "strength")
_NO_DEFAULT = object()
DEFAULT_IMAGE_SIZE = 64


@dataclass
class OpSpec:
    """One op of a policy: its registry name, all its fields (defaults filled in) and probability ``p``."""

    op: str
    params: dict
    p: float

    def to_dict(self) -> dict:
        """Flat ``{op, <fields>..., p}``; fields an op lists in ``omitted_at_default`` are left out at that value."""
        omitted = getattr(OPS.get(self.op), "omitted_at_default", None) or {}
        return {"op": self.op, **{k: _copy(v) for k, v in self.params.items() if omitted.get(k, _NO_DEFAULT) != v},
                "p": self.p}


@dataclass
class Policy:
    """A validated augmentation policy; build with :meth:`from_dict` or :func:`augstudy.policy.load_policy`."""

    name: str
    ops: list[OpSpec]
    image_size: int = DEFAULT_IMAGE_SIZE
    p: float = 1.0
    #: notes added by whoever built the policy (e.g. the albumentations importer); not compared
    source_notes: list[str] = field(default_factory=list, compare=False, repr=False)

    # ------------------------------------------------------------------ sizes and notes
    def sizes(self, input_size: int | None = None) -> list[int]:
        """Image side (px) before op 1, after op 1, ..., after the last op (length ``len(ops)+1``)."""
        side = self.image_size if input_size is None else int(input_size)
        out = [side]
        for spec in self.ops:
            side = OPS[spec.op].output_size(spec.params, side)
            out.append(side)
        return out

    def needs_resize(self, input_size: int | None = None) -> bool:
        """True when the ops end at a side other than ``image_size`` (a final bilinear resize follows)."""
        return self.sizes(input_size)[-1] != self.image_size

    @property
    def notes(self) -> list[str]:
        """Human-readable facts about the resolved policy (resize-back, import approximations)."""
        notes = []
        sizes = self.sizes()
        if sizes[-1] != self.image_size:
            last = max(i for i, spec in enumerate(self.ops) if OPS[spec.op].changes_size)
            notes.append(
                f"op {last + 1} ({self.ops[last].op}) outputs {sizes[-1]}x{sizes[-1]}; a final bilinear resize "
                f"back to the model input {self.image_size}x{self.image_size} is applied"
            )
        if self.p < 1.0:
            notes.append(f"the whole policy is applied to an image with probability p={_fmt(self.p)}")
        return notes + list(self.source_notes)

    # ------------------------------------------------------------------ (de)serialization
    def to_dict(self) -> dict:
        """Plain data (YAML/JSON-ready), with every field explicit."""
        return {"name": self.name, "image_size": self.image_size, "p": self.p,
                "ops": [spec.to_dict() for spec in self.ops]}

    @classmethod
    def from_dict(cls, data: Any, source: str = "<dict>", image_size: int | None = None,
                  name: str | None = None) -> "Policy":
        """Validate ``data`` (a policy mapping or a bare list of ops) and fill in defaults.

        ``source`` names the origin in error messages (a file path); ``image_size`` overrides the
        file's ``image_size``; ``name`` is used when the data has none.
        """
        if isinstance(data, (list, tuple)):
            data = {"ops": list(data)}
        if not isinstance(data, dict):
            raise UserError(f"{source}: a policy must be a mapping with 'ops' (or a list of ops), "
                            f"got {type(data).__name__}")
        data = dict(data)
        if image_size is not None:
            data["image_size"] = image_size
        if "name" not in data:
            data["name"] = name if name is not None else "custom"
        try:
            fields = PolicyFields.model_validate(data)
        except ValidationError as exc:
            raise UserError(_policy_error(exc, source)) from None

        ops = [_parse_op(item, i, source) for i, item in enumerate(fields.ops, start=1)]
        policy = cls(name=fields.name, ops=ops, image_size=fields.image_size, p=float(fields.p))
        _check_sequence(policy, source)
        if "strength" in data:
            from augstudy.policy.strength import scale_policy

            policy = scale_policy(policy, fields.strength)
        return policy


# ----------------------------------------------------------------------------- policy-level fields
def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise FieldError(f"must be a non-empty string, got {value!r}")
    return value


def _check_image_size(value: Any) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 4096:
        raise FieldError(f"must be an integer in [1, 4096], got {value!r}")
    return value


def _check_ops(value: Any) -> list:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise FieldError(f"must be a list of ops, got {type(value).__name__}")
    return list(value)


def check_strength(value: Any) -> float:
    """A policy strength: a finite number >= 0 (1 = as written, 0 = identity)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise FieldError(f"must be a number >= 0 (the scale of every magnitude: 0 = no augmentation, 1 = as "
                         f"written), got {value!r}")
    return float(value)


class PolicyFields(OpParams):
    """The policy-level fields (each op is validated by its own model, :mod:`augstudy.policy.ops`)."""

    ops: Annotated[Any, BeforeValidator(_check_ops)]
    name: Annotated[Any, BeforeValidator(_check_name)] = "custom"
    image_size: Annotated[Any, BeforeValidator(_check_image_size)] = DEFAULT_IMAGE_SIZE
    p: Probability = 1.0
    strength: Annotated[Any, BeforeValidator(check_strength)] = 1.0


def _policy_error(exc: ValidationError, source: str) -> str:
    kind, key, detail = first_error(exc, tuple(PolicyFields.model_fields))
    if kind == "unknown":
        return f"{source}: unknown policy field {key!r}; valid fields: {', '.join(POLICY_KEYS)}"
    if kind == "missing":
        return f"{source}: missing 'ops' (a list like [{{op: HorizontalFlip, p: 0.5}}])"
    if key == "ops":
        return f"{source}: 'ops' {detail}"
    return f"{source}: field {key!r} {detail}"


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def _parse_op(item: Any, position: int, source: str) -> OpSpec:
    if isinstance(item, str):  # "HorizontalFlip" alone: all defaults
        item = {"op": item}
    if not isinstance(item, dict):
        raise UserError(f"{source}: op {position} must be a mapping like {{op: HorizontalFlip, p: 0.5}}, got {item!r}")
    if "op" not in item:
        raise UserError(f"{source}: op {position} has no 'op' key; add e.g. 'op: HorizontalFlip'")
    name = item["op"]
    if name not in OPS:
        raise UserError(f"{source}: op {position}: unknown op {name!r}; known ops: {', '.join(OP_NAMES)}")
    op = OPS[name]
    where = f"{source}: op {position} ({name})"
    try:
        params, p = op.validate({k: v for k, v in item.items() if k != "op"})
    except ValidationError as exc:
        kind, key, detail = first_error(exc, op.field_names + ("p",))
        if kind == "unknown":
            raise UserError(f"{where}: unknown field {key!r}; valid fields: {', '.join(op.field_names + ('p',))}") from None
        raise UserError(f"{where}: field {key!r} {detail}") from None
    return OpSpec(op=name, params=params, p=p)


def _check_sequence(policy: Policy, source: str) -> None:
    """Checks that need the image size at each op, and op-order rules."""
    sizes = policy.sizes()
    for i, spec in enumerate(policy.ops):
        schema = OPS[spec.op]
        where = f"{source}: op {i + 1} ({spec.op})"
        if schema.must_be_last and i != len(policy.ops) - 1:
            raise UserError(f"{where}: must be the last op (its output leaves [0, 1]); move it to the end")
        if sizes[i + 1] != sizes[i] and spec.p < 1.0:
            raise UserError(f"{where}: field 'p' must be 1 when the op changes the image size "
                            f"({sizes[i]} -> {sizes[i + 1]}); set p: 1.0 or size: {sizes[i]}")
        problem = schema.check_size(spec.params, sizes[i])
        if problem:
            raise UserError(f"{where}: {problem}")


__all__ = ["OpSpec", "Policy", "PolicyFields", "POLICY_KEYS", "DEFAULT_IMAGE_SIZE", "check_strength"]
