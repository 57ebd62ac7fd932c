"""Sampling, separated from application: every random number is keyed, none is drawn from a stream.

Each uniform is a pure function of ``(seed, epoch, sample index, op position, slot)``:

    u = mix(mix(index + key(seed, epoch)) XOR key(op position, slot)) >> 11  ->  [0, 1) with 53 bits

where ``mix`` is the splitmix64 finalizer (a bijective integer mixer) run on int64 tensors with
wrapping arithmetic and logical shifts.  This is a counter-based generator in the Philox/Threefry
family, hand-written because no library offers it vectorized: a per-image ``torch.Generator``
means a per-image Python loop, and the keyed counter-based hash is its vectorized equivalent: a whole batch of draws is a handful of int64 tensor ops on ``indices``, and
an image's draw does not depend on the batch it sits in, the number of DataLoader workers, the
device, or the backend that later applies it.  (Integer hashing is exact on every device; the
float64 arithmetic that turns uniforms into parameters is IEEE-exact for +,*,/,sqrt; log/exp in
RandomResizedCrop/RandomErasing could in principle differ by one ulp between CPU and CUDA.)

Slot 0 of every op is its apply coin (``apply = u < p``); op position 0 is the policy-level coin
(``Policy.p``, albumentations' ``Compose(p)``), ANDed into every op's ``apply``.  Parameters are
sampled for every image whether or not the op applies, so ``p`` never shifts other draws.

The draw format (:class:`PolicyDraw`) is the contract with the backends; see ARCHITECTURE.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from augstudy.policy.ops import OPS
from augstudy.policy.ops.box_draws import ATTEMPTS
from augstudy.policy.spec import Policy

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15
_C1 = 0xBF58476D1CE4E5B9
_C2 = 0x94D049BB133111EB
#: draw fields that are integers (pixels); everything else but "apply"/"order" is float32
INT_FIELDS = ("top", "left", "height", "width", "order")


def _signed(value: int) -> int:
    value &= _M64
    return value - (1 << 64) if value >= 1 << 63 else value


def mix_int(value: int) -> int:
    """splitmix64 on a Python int (mod 2**64); the scalar twin of :func:`mix_tensor`."""
    z = (value + _GOLDEN) & _M64
    z = ((z ^ (z >> 30)) * _C1) & _M64
    z = ((z ^ (z >> 27)) * _C2) & _M64
    return z ^ (z >> 31)


def _srl(x: torch.Tensor, k: int) -> torch.Tensor:
    """Logical right shift of int64 (torch's >> is arithmetic, so mask off the sign extension)."""
    return (x >> k) & ((1 << (64 - k)) - 1)


def mix_tensor(x: torch.Tensor) -> torch.Tensor:
    """splitmix64 on an int64 tensor (wrapping arithmetic); bit-identical to :func:`mix_int`."""
    z = x + _signed(_GOLDEN)
    z = (z ^ _srl(z, 30)) * _signed(_C1)
    z = (z ^ _srl(z, 27)) * _signed(_C2)
    return z ^ _srl(z, 31)


class KeyedUniforms:
    """Uniforms in [0, 1) (float64, 53 bits) for a batch of sample ``indices`` at (seed, epoch)."""

    def __init__(self, seed: int, epoch: int, indices: torch.Tensor):
        key = mix_int((mix_int(int(seed) & _M64) + (int(epoch) & _M64) * _GOLDEN) & _M64)
        self.per_index = mix_tensor(indices.to(torch.int64) + _signed(key))

    def uniform(self, op_position: int, slot: int) -> torch.Tensor:
        """float64 [B] in [0, 1): the value for (op position, slot) of every image."""
        key = _signed(mix_int(((op_position & 0xFFFFFFFF) << 32) | (slot & 0xFFFFFFFF)))
        bits = _srl(mix_tensor(self.per_index ^ key), 11)
        return bits.to(torch.float64) * (1.0 / (1 << 53))


class OpUniforms:
    """The uniforms of one op position: ``u(slot)``."""

    def __init__(self, keyed: KeyedUniforms, op_position: int):
        self.keyed, self.op_position = keyed, op_position

    def __call__(self, slot: int) -> torch.Tensor:
        return self.keyed.uniform(self.op_position, slot)

    def between(self, slot: int, low: float, high: float) -> torch.Tensor:
        """float64 [B] uniform in [low, high) (exactly ``low`` when low == high)."""
        return low + (high - low) * self(slot)

    def integer(self, slot: int, n: torch.Tensor | int) -> torch.Tensor:
        """int64 [B] uniform in {0, ..., n-1} (n may be a per-image tensor, n >= 1)."""
        return torch.floor(self(slot) * n).to(torch.int64)


# ---------------------------------------------------------------------------------- box candidates
# Shared by RandomResizedCrop and RandomErasing (their samplers live in their op modules).

def candidate_boxes(u: OpUniforms, side: int, scale, log_ratio, ratio_is_w_over_h: bool) -> tuple:
    """torchvision's rejection sampling of a box, ATTEMPTS tries at once: [B, ATTEMPTS] candidates."""
    area = side * side
    target = torch.stack([u.between(1 + 4 * a, scale[0], scale[1]) for a in range(ATTEMPTS)], 1) * area
    aspect = torch.exp(torch.stack([u.between(2 + 4 * a, log_ratio[0], log_ratio[1]) for a in range(ATTEMPTS)], 1))
    first = torch.round(torch.sqrt(target * aspect))
    second = torch.round(torch.sqrt(target / aspect))
    width, height = (first, second) if ratio_is_w_over_h else (second, first)
    return height, width


def first_valid(valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the first True per row of [B, A] and whether any is True."""
    any_valid = valid.any(1)
    first = torch.argmax(valid.to(torch.int8), 1)  # argmax returns the first maximum
    return first, any_valid


# ---------------------------------------------------------------------------------- the draw
@dataclass
class PolicyDraw:
    """Sampled parameters of every op for a batch of B images.

    ``ops[i]`` is a dict of tensors with leading dim B: ``apply`` (bool [B]) plus the op's fields
    (see ARCHITECTURE.md: ``top``/``left``/``height``/``width``/``order`` int64, the rest float32;
    pixels are in the op's INPUT coordinates; angles in degrees).
    Added beyond the contract: ``names`` (op name per position) and ``meta`` (seed, epoch,
    indices, input image side), both informative only.
    """

    ops: list[dict[str, torch.Tensor]]
    names: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        return int(self.meta.get("batch_size", 0)) if not self.ops else int(self.ops[0]["apply"].shape[0])

    def to(self, device) -> "PolicyDraw":
        return PolicyDraw([{k: v.to(device) for k, v in op.items()} for op in self.ops], list(self.names),
                          dict(self.meta))

    def select(self, index: torch.Tensor | slice | int) -> "PolicyDraw":
        """The draw of a subset of the batch (``index`` into dim 0), e.g. one image: ``select([i])``."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return PolicyDraw([{k: v[index] for k, v in op.items()} for op in self.ops], list(self.names),
                          dict(self.meta))

    def to_jsonable(self) -> list[dict]:
        """``[{"op": name, "fields": {field: {"dtype": "int64", "values": [...]}}}]`` (exact round trip)."""
        out = []
        for i, op in enumerate(self.ops):
            name = self.names[i] if i < len(self.names) else None
            fields = {k: {"dtype": str(v.dtype).replace("torch.", ""), "values": v.cpu().tolist()}
                      for k, v in op.items()}
            out.append({"op": name, "fields": fields})
        return out

    @classmethod
    def from_jsonable(cls, data: list[dict]) -> "PolicyDraw":
        ops, names = [], []
        for entry in data:
            names.append(entry.get("op"))
            ops.append({k: torch.tensor(f["values"], dtype=getattr(torch, f["dtype"]))
                        for k, f in entry["fields"].items()})
        return cls(ops, names)

    def equal(self, other: "PolicyDraw") -> bool:
        """Bit-identical fields (device-insensitive)."""
        if len(self.ops) != len(other.ops):
            return False
        for a, b in zip(self.ops, other.ops):
            if a.keys() != b.keys():
                return False
            for k in a:
                if a[k].dtype != b[k].dtype or not torch.equal(a[k].cpu(), b[k].cpu()):
                    return False
        return True


def sample_draw(policy: Policy, *, seed: int, epoch: int, indices, image_size: int | None = None) -> PolicyDraw:
    """Sample every op's parameters for the images ``indices`` (int64 [B]; dataset sample indices).

    ``image_size``: side (px) of the input images (default: ``policy.image_size``).
    The draw is computed on ``indices``' device and returned there (CPU indices -> CPU draw).
    """
    indices = torch.as_tensor(indices, dtype=torch.int64)
    if indices.dim() != 1:
        raise ValueError(f"indices must be a 1-D tensor of sample indices, got shape {tuple(indices.shape)}")
    keyed = KeyedUniforms(seed, epoch, indices)
    sizes = policy.sizes(image_size)
    policy_gate = keyed.uniform(0, 0) < policy.p
    ops, names = [], []
    for position, spec in enumerate(policy.ops, start=1):
        u = OpUniforms(keyed, position)
        fields = {"apply": (u(0) < spec.p) & policy_gate}
        fields.update(OPS[spec.op].sample(spec, u, sizes[position - 1]))
        ops.append(fields)
        names.append(spec.op)
    meta = {"seed": int(seed), "epoch": int(epoch), "image_size": sizes[0], "batch_size": int(indices.shape[0])}
    return PolicyDraw(ops, names, meta)


__all__ = ["PolicyDraw", "sample_draw", "KeyedUniforms", "OpUniforms", "mix_int", "mix_tensor", "candidate_boxes",
           "first_valid", "ATTEMPTS", "INT_FIELDS"]
