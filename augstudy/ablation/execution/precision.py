"""How the training step computes: ``--device`` (:func:`resolve_device`), ``--precision auto|fp32|bf16``
and ``--compile``.

Precision
    ``bf16`` runs the forward pass (and the loss) under ``torch.autocast(dtype=bfloat16)``;
    weights, gradients and optimizer state stay fp32.  ``auto`` is bf16 where the hardware
    computes it natively -- CUDA, and CPUs with AVX512-BF16 or AMX (:func:`cpu_has_native_bf16`:
    the ``avx512_bf16`` / ``amx_bf16`` flags of ``/proc/cpuinfo``, else torch's own CPU
    capability) -- and fp32 elsewhere, where bf16 would be emulated and slower.  On this
    project's CPU (AMD EPYC with AVX512-BF16) bf16 trains the fixed CNN 1.5-1.7x faster.
    The precision a study trains in is part of its identity (``study.json`` ``precision``):
    :func:`pin_precision` refuses a rerun that asks for another one, so no study mixes them.

Compile
    ``--compile`` runs the model through ``torch.compile`` (:class:`CompiledForward`).  The
    compilation happens at the first call, so a failure surfaces there: it is caught, one
    ``warning:`` line says so, and the run goes on eagerly -- a compiler problem never fails
    a study.  The weights are the eager module's (``state_dict`` keys unchanged).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Callable

from augstudy.ablation.spec.options import PRECISIONS  # noqa: F401 - its home is the options; public here too
from augstudy.errors import UserError

#: the study meta / study.json key holding the resolved precision
PRECISION_META_KEY = "precision"
#: ``/proc/cpuinfo`` flags of native bf16 arithmetic (AVX512-BF16 dot products, AMX tiles)
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def resolve_device(device="auto"):
    """``auto`` -> cuda if available else cpu; ``cuda``/``cuda:K`` without CUDA -> UserError (a torch.device)."""
    import torch

    name = str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"--device {name}: CUDA is not available on this machine; use --device cpu or auto")
        dev = torch.device(name)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise UserError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here (cuda:0..)")
        return dev
    if name == "cpu":
        return torch.device("cpu")
    raise UserError(f"--device {name}: must be auto, cpu, cuda or cuda:K")


def cpu_has_native_bf16(cpuinfo: str | Path = "/proc/cpuinfo") -> bool:
    """True when this CPU computes bf16 natively (AVX512-BF16 or AMX).  Reads the ``flags`` line of
    ``cpuinfo``; where there is no such file (not Linux), asks torch's CPU capability (``AVX512``
    alone is not enough: it has no bf16 dot product)."""
    try:
        text = Path(cpuinfo).read_text()
    except OSError:
        text = None
    if text is not None:
        flags = set()
        for line in text.splitlines():
            if line.startswith("flags"):
                flags.update(line.partition(":")[2].split())
        return any(flag in flags for flag in NATIVE_BF16_FLAGS)
    import torch

    capability = str(getattr(torch.backends.cpu, "get_cpu_capability", lambda: "")()).upper()
    return "AMX" in capability


def resolve_precision(name: str | None, device) -> str:
    """``fp32`` or ``bf16`` for ``--precision name`` on ``device`` (a torch.device or its name);
    None = ``auto``.  An unknown name is a UserError."""
    name = "auto" if name is None else str(name)
    if name not in PRECISIONS:
        raise UserError(f"--precision {name}: must be one of {', '.join(PRECISIONS)}")
    if name != "auto":
        return name
    kind = getattr(device, "type", str(device).split(":")[0])
    if kind == "cuda":
        return "bf16"
    return "bf16" if kind == "cpu" and cpu_has_native_bf16() else "fp32"


def legacy_precision(device) -> str:
    """What a study recorded before ``--precision`` existed trained in: bf16 autocast on CUDA, fp32 on the CPU."""
    return "bf16" if getattr(device, "type", str(device).split(":")[0]) == "cuda" else "fp32"


def pin_precision(store, requested: str | None, device, out_dir) -> str:
    """The precision this invocation trains in, stored in the study's meta.

    A study that holds a precision keeps it: ``auto`` (or None) adopts it, an explicit other one is
    refused with one line (the way a changed SESOI is).  A study recorded before precisions were
    pinned holds :func:`legacy_precision` when it has trained anything."""
    meta = store.meta()
    held = meta.get(PRECISION_META_KEY)
    if held is None and any(r["epochs_done"] for r in store.runs().values()):
        held = legacy_precision(device)
    if held is not None:
        if requested not in (None, "auto") and resolve_precision(requested, device) != held:
            raise UserError(f"{out_dir}: this study trains in {held} (study.json precision); rerun with "
                            f"--precision {held} (or auto), or pass --out DIR for a new study")
        resolved = held
    else:
        resolved = resolve_precision(requested, device)
    store.set_meta({PRECISION_META_KEY: resolved})
    return resolved


def autocast(device, precision: str | None):
    """The context the forward pass runs in: bf16 autocast for ``bf16``; None = the pre-``--precision``
    behaviour (bf16 on CUDA, fp32 on the CPU)."""
    import torch

    device = torch.device(device)
    precision = legacy_precision(device) if precision is None else precision
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def _warn(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class CompiledForward:
    """``model(x)`` through ``torch.compile(model)``, falling back to ``model`` itself for good when
    compiling (or running the compiled code) raises: one ``warning:`` line through ``warn``."""

    def __init__(self, model, warn: Callable[[str], None] = _warn):
        import torch

        self.model, self.warn = model, warn
        try:
            self.compiled = torch.compile(model)
        except Exception as exc:  # noqa: BLE001 - e.g. an unsupported Python: run eagerly
            self._fall_back(exc)

    #: failures already reported in this process (a study's runs fail alike: one line, not one per run)
    reported: set[str] = set()

    def _fall_back(self, exc: BaseException) -> None:
        self.compiled = None
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        line = (f"warning: --compile: torch.compile failed ({type(exc).__name__}: {reason[:200]}); "
                f"training eagerly instead")
        if line not in CompiledForward.reported:
            CompiledForward.reported.add(line)
            self.warn(line)

    def __call__(self, x):
        if self.compiled is not None:
            try:
                return self.compiled(x)
            except Exception as exc:  # noqa: BLE001 - compilation errors surface at the first call
                self._fall_back(exc)
        return self.model(x)


def forward_fn(model, compile: bool, warn: Callable[[str], None] = _warn):
    """``model`` itself, or a :class:`CompiledForward` of it when ``compile``."""
    return CompiledForward(model, warn) if compile else model


__all__ = ["resolve_device", "PRECISIONS", "PRECISION_META_KEY", "cpu_has_native_bf16", "resolve_precision",
           "legacy_precision",
           "pin_precision", "autocast", "CompiledForward", "forward_fn"]
