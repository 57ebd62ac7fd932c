"""What the automatic policies (RandAugment, TrivialAugmentWide, AutoAugment, AugMix) share:
their common fields, the strength rule, keyed sub-op draws and the chain engine.

Semantics are torchvision.transforms.v2's (``torchvision/transforms/v2/_auto_augment.py``,
``_AutoAugmentBase`` and its subclasses): the same op tables (:mod:`augstudy.policy.auto_spaces`),
the same magnitude bins, signed magnitudes negated with probability 1/2, the same interpolation
defaults (nearest; AugMix bilinear) and ``fill`` (None = zero padding, torchvision's default).

Draw fields (leading dim B, K = the number of sequential sub-op steps of the policy):

- ``sub_op``: int64 [B, K], ids into :data:`~augstudy.policy.auto_spaces.SUB_OPS` (``Identity``
  where a step does nothing, e.g. an AutoAugment sub-op whose probability did not fire);
- ``magnitude``: float32 [B, K], the signed magnitude torchvision would pass to the sub-op (bits for
  Posterize, threshold fraction for Solarize, pixels for translations, degrees for Rotate, ``m``
  of ``1 + m`` for the colour factors, ``tan`` of the shear angle for shears);
- ``bin``: float32 [B, K], RandAugment with ``magnitude_std > 0`` only: each step's continuous
  magnitude bin (timm's noise, :func:`noisy_bins`), before sign and strength.

Every choice is keyed (:mod:`augstudy.policy.sampling`): which sub-op an image gets, the sign and
the bin are pure functions of (seed, epoch, index, op position, slot), so they do not depend on
the batch, the device or the backend.

Strength ``s`` (field ``magnitude_scale``, which ``strength`` multiplies): every drawn magnitude's
distance from its sub-op's neutral value is multiplied by ``magnitude_scale`` (0 for the signed
sub-ops, 8 bits for Posterize, threshold 1 for Solarize; clamped to each sub-op's valid range);
the choice of sub-ops is unchanged.  AutoContrast, Equalize and Invert have no magnitude, so they
are not weakened; ``s = 0`` therefore sets ``p = 0`` (the identity ``scale_policy`` promises).
"""

from __future__ import annotations

from typing import Any, ClassVar

from augstudy.policy.ops.base import FieldError, Number, Op, _fmt, _is_number, _number

INTERPOLATIONS = ("nearest", "bilinear")
_TABLES: dict = {}  # (space, sub-ops, bins, side) -> op tables (read-only tensors)
MAX_MAGNITUDE_SCALE = 10.0


def OptionalFill():  # noqa: N802 - a type factory
    """``null`` (torchvision's ``fill=None``: zero padding) or a fraction of full scale in [0, 1]."""
    from typing import Annotated

    from pydantic import BeforeValidator

    return Annotated[Any, BeforeValidator(lambda v: None if v is None else _number(v, 0.0, 1.0, False))]


def Interpolation():  # noqa: N802
    from augstudy.policy.ops.base import Choice

    return Choice(*INTERPOLATIONS)


FILL_DOC = "null: zero padding (torchvision's fill=None), or a fraction of full scale"
SCALE_DOC = "policy strength: each magnitude's distance from neutral times this (1 = torchvision)"


def MagnitudeScale():  # noqa: N802
    return Number(0.0, MAX_MAGNITUDE_SCALE)


def _magnitude_std(value: Any) -> float:
    """A number >= 0, or infinity (``inf``, ``.inf``, YAML's ``.inf``): timm's uniform switch."""
    import math

    if isinstance(value, str) and value.strip().lower() in ("inf", ".inf", "+inf", "infinity"):
        return math.inf
    if _is_number(value) and math.isinf(value) and value > 0:
        return math.inf
    if _is_number(value) and math.isnan(value):
        raise FieldError("must be a number >= 0 or inf, got nan")
    if not _is_number(value):
        raise FieldError(f"must be a number >= 0 or inf, got {value!r}")
    if value < 0:
        raise FieldError(f"must be >= 0 (0: one magnitude bin, torchvision; inf: uniform in [0, magnitude]), "
                         f"got {_fmt(float(value))}")
    return float(value)


def MagnitudeStd():  # noqa: N802
    """RandAugment's ``magnitude_std``: a float >= 0 or ``inf`` (see :func:`noisy_bins`)."""
    from typing import Annotated

    from pydantic import BeforeValidator

    return Annotated[Any, BeforeValidator(_magnitude_std)]


def field_error(op_name: str, field_name: str, value: Any, message: str):
    """A pydantic ValidationError on ``field_name`` (so the policy loader prints its one line)."""
    from pydantic import ValidationError

    return ValidationError.from_exception_data(op_name, [
        {"type": "value_error", "loc": (field_name,), "input": value, "ctx": {"error": FieldError(message)}}])


class AutoPolicyOp(Op):
    """Base of the four automatic policies; subclasses set ``space`` and implement ``sample``."""

    #: key of :data:`~augstudy.policy.auto_spaces.SPACES`
    space: ClassVar[str]
    converts_itself = True  # uint8 in -> uint8 out, quantizing like torchvision on uint8
    strength_rule = ("magnitude_scale -> s*magnitude_scale (each magnitude's distance from neutral; "
                     "s = 0: p = 0)")
    interpolation_default: ClassVar[str] = "nearest"

    def scale(self, params: dict, p: float, strength: float, side: int) -> tuple[dict, float]:
        out = dict(params)
        out["magnitude_scale"] = min(float(params["magnitude_scale"]) * strength, MAX_MAGNITUDE_SCALE)
        return out, (0.0 if strength == 0.0 else p)

    # ---------------------------------------------------------------- keyed draws
    def _tables(self, names: tuple[str, ...], num_bins: int, side: int):
        """(global ids int64 [n], magnitudes float64 [n, num_bins] (0 where none), signed bool [n]),
        CPU tensors, computed once per (sub-ops, bins, side)."""
        key = (self.space, names, num_bins, side)
        if key not in _TABLES:
            _TABLES[key] = self._compute_tables(names, num_bins, side)
        return _TABLES[key]

    def _compute_tables(self, names: tuple[str, ...], num_bins: int, side: int):
        import torch

        from augstudy.policy.auto_spaces import SPACES, SUB_OP_ID, magnitude_table

        space = SPACES[self.space]
        mags = torch.zeros(len(names), num_bins, dtype=torch.float64)
        for j, name in enumerate(names):
            values = magnitude_table(space[name][0], num_bins, side)
            if values is not None:
                mags[j] = values
        ids = torch.tensor([SUB_OP_ID[n] for n in names], dtype=torch.int64)
        signed = torch.tensor([space[n][1] for n in names], dtype=torch.bool)
        return ids, mags, signed

    def _signed_scaled(self, names, choice, magnitude, negate, signed, params, side):
        """Apply the sign (signed sub-ops only) and the strength rule to drawn magnitudes [B]."""
        import torch

        from augstudy.policy.auto_spaces import scale_magnitude

        magnitude = torch.where(signed[choice] & negate, -magnitude, magnitude)
        scale = float(params.get("magnitude_scale", 1.0))
        if scale != 1.0:
            for j, name in enumerate(names):
                magnitude = torch.where(choice == j, scale_magnitude(name, magnitude, scale, side), magnitude)
        return magnitude

    def draw_step(self, u, slot: int, names: tuple[str, ...], num_bins: int, bin_index, params: dict, side: int):
        """One sub-op per image, uniformly among ``names`` (slot), sign (slot + 1); ``bin_index``:
        an int or an int64 [B] tensor (a table bin), or a float64 [B] tensor of continuous bins in
        ``[0, num_bins - 1]`` (RandAugment's ``magnitude_std``; magnitudes by
        :func:`~augstudy.policy.auto_spaces.magnitude_at`).  Returns (global ids int64 [B],
        magnitudes float64 [B])."""
        import torch

        ids, mags, signed = self._tables(names, num_bins, side)
        device = u.keyed.per_index.device
        ids, mags, signed = ids.to(device), mags.to(device), signed.to(device)
        choice = u.integer(slot, len(names))
        if torch.is_tensor(bin_index) and bin_index.is_floating_point():
            magnitude = self._continuous_magnitudes(names, choice, bin_index, num_bins, side)
        else:
            bins = torch.as_tensor(bin_index, device=device).expand_as(choice)
            magnitude = mags[choice, bins]
        negate = u(slot + 1) <= 0.5  # torchvision: ``if signed and torch.rand(()) <= 0.5: magnitude *= -1``
        return ids[choice], self._signed_scaled(names, choice, magnitude, negate, signed, params, side)

    def _continuous_magnitudes(self, names, choice, bins, num_bins: int, side: int):
        """float64 [B]: sub-op ``names[choice]``'s magnitude at continuous bin ``bins`` (0 without one)."""
        import torch

        from augstudy.policy.auto_spaces import SPACES, magnitude_at

        space = SPACES[self.space]
        out = torch.zeros_like(bins, dtype=torch.float64)
        for j, name in enumerate(names):
            values = magnitude_at(space[name][0], bins, num_bins, side)
            if values is not None:
                out = torch.where(choice == j, values, out)
        return out

    # ---------------------------------------------------------------- engine and preview
    def interpolation(self, params: dict) -> str:
        return params.get("interpolation", self.interpolation_default)

    def apply_chain(self, x, spec, sub_op, magnitude, apply):
        """Run the K steps of ``sub_op``/``magnitude`` [B, K] on the images where ``apply``."""
        from augstudy.policy.auto_kernels import apply_sub_ops
        from augstudy.policy.kernels import on_subset

        mode, fill = self.interpolation(spec.params), spec.params.get("fill")
        for k in range(sub_op.shape[1]):
            x = on_subset(x, apply, lambda sub, ids, mags: apply_sub_ops(sub, ids, mags, interpolation=mode, fill=fill),
                          sub_op[:, k], magnitude[:, k])
        return x

    def apply(self, x, spec, fields: dict):
        return self.apply_chain(x, spec, fields["sub_op"], fields["magnitude"], fields["apply"])

    def describe_draw(self, fields: dict, i: int) -> str:
        """Which sub-ops image ``i`` got and at what magnitude, e.g. ``"Rotate +12deg, Posterize 6"``."""
        from augstudy.policy.auto_spaces import describe

        ids = fields["sub_op"][i].reshape(-1).tolist()
        mags = fields["magnitude"][i].reshape(-1).tolist()
        steps = [describe(s, m) for s, m in zip(ids, mags)]
        return ", ".join(steps) if steps else "no sub-op"


def noisy_bins(u, slot: int, magnitude: float, std: float, num_bins: int):
    """float64 [B] continuous magnitude bins with timm's noise (``timm/data/auto_augment.py``,
    ``AugmentOp.__call__``): ``Normal(magnitude, std)`` clipped to ``[0, num_bins - 1]``, or for
    ``std = inf`` uniform in ``[0, magnitude)`` (timm's ``random.uniform(0, magnitude)``).  Keyed:
    the normal is the inverse normal CDF (``torch.special.ndtri``) of the one keyed uniform of
    ``slot`` (u = 0 gives -inf, clipped to bin 0), so a value depends on (seed, epoch, index, op
    position, slot) only (``ndtri``, like ``log``/``exp`` elsewhere, could in principle differ by
    one ulp between CPU and CUDA)."""
    import math

    import torch

    uniform = u(slot)
    if math.isinf(std):
        bins = magnitude * uniform
    else:
        bins = magnitude + std * torch.special.ndtri(uniform)
    return bins.clamp(0.0, float(num_bins - 1))


def keyed_gamma(u, slot: int, alpha: float, attempts: int = 8):
    """float64 [B] Gamma(alpha, 1) variates from keyed uniforms (Marsaglia and Tsang 2000, with
    ``attempts`` proposals drawn at once and the first accepted one kept; alpha < 1 by the boost
    ``Gamma(alpha + 1) * U**(1/alpha)``).  Each proposal accepts with probability > 0.95 for
    alpha >= 1, so falling back to the mode ``d`` after ``attempts`` rejections has probability
    < 0.05**8.  Slots ``slot .. slot + 3*attempts``."""
    import math

    import torch

    boost = alpha < 1.0
    a = alpha + 1.0 if boost else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    result, done = None, None
    for t in range(attempts):
        u1, u2, u3 = u(slot + 3 * t), u(slot + 3 * t + 1), u(slot + 3 * t + 2)
        normal = torch.sqrt(-2.0 * torch.log1p(-u1)) * torch.cos(2.0 * math.pi * u2)  # Box-Muller
        v = (1.0 + c * normal) ** 3
        ok = (v > 0) & (torch.log1p(-u3) < 0.5 * normal ** 2 + d - d * v + d * torch.log(v.clamp_min(1e-300)))
        value = d * v
        if result is None:
            result, done = torch.where(ok, value, torch.full_like(value, d)), ok
        else:
            result = torch.where(~done & ok, value, result)
            done = done | ok
    if boost:
        result = result * torch.pow(1.0 - u(slot + 3 * attempts), 1.0 / alpha)
    return result


__all__ = ["AutoPolicyOp", "FILL_DOC", "SCALE_DOC", "MagnitudeScale", "OptionalFill", "Interpolation", "INTERPOLATIONS",
           "field_error",
           "keyed_gamma", "noisy_bins", "MagnitudeStd", "MAX_MAGNITUDE_SCALE"]
