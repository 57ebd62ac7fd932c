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
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from augstudy.errors import UserError
from pydantic import ValidationError

from augstudy.policy.ops import OP_NAMES, OPS, FieldError, _fmt
from augstudy.policy.ops.base import check_probability, first_error

POLICY_KEYS = ("name", "image_size", "p", "ops")
DEFAULT_IMAGE_SIZE = 64


@dataclass
class OpSpec:
    """One op of a policy: its registry name, all its fields (defaults filled in) and probability ``p``."""

    op: str
    params: dict
    p: float

    def to_dict(self) -> dict:
        return {"op": self.op, **{k: _copy(v) for k, v in self.params.items()}, "p": self.p}


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
        unknown = [k for k in data if k not in POLICY_KEYS]
        if unknown:
            raise UserError(f"{source}: unknown policy field {unknown[0]!r}; valid fields: {', '.join(POLICY_KEYS)}")
        if "ops" not in data:
            raise UserError(f"{source}: missing 'ops' (a list like [{{op: HorizontalFlip, p: 0.5}}])")
        ops_data = data["ops"]
        if ops_data is None:
            ops_data = []
        if not isinstance(ops_data, (list, tuple)):
            raise UserError(f"{source}: 'ops' must be a list of ops, got {type(ops_data).__name__}")

        policy_name = data.get("name", name if name is not None else "custom")
        if not isinstance(policy_name, str) or not policy_name:
            raise UserError(f"{source}: field 'name' must be a non-empty string, got {policy_name!r}")
        size = data.get("image_size", DEFAULT_IMAGE_SIZE) if image_size is None else image_size
        if isinstance(size, float) and size.is_integer():
            size = int(size)
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 4096:
            raise UserError(f"{source}: field 'image_size' must be an integer in [1, 4096], got {size!r}")
        policy_p = _probability(data.get("p", 1.0), f"{source}: field 'p'")

        ops = [_parse_op(item, i, source) for i, item in enumerate(ops_data, start=1)]
        policy = cls(name=policy_name, ops=ops, image_size=size, p=policy_p)
        _check_sequence(policy, source)
        return policy


def _copy(value: Any) -> Any:
    return list(value) if isinstance(value, (list, tuple)) else value


def _probability(value: Any, where: str) -> float:
    try:
        return check_probability(value)
    except FieldError as exc:
        raise UserError(f"{where} {exc}") from None


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


__all__ = ["OpSpec", "Policy", "POLICY_KEYS", "DEFAULT_IMAGE_SIZE"]
