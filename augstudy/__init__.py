"""augstudy: which augmentation or regularizer actually helps my CNN, and by how much.

Library first, CLI thin: every command is a function a notebook can call::

    import augstudy
    data = augstudy.load_dataset()                          # or a path, uint8 tensors, a torchvision dataset
    fig = augstudy.preview("light", data=data, n=4)         # a matplotlib Figure (PNG only with out=)
    result = augstudy.measure("light", data=data, n=128)    # MeasureResult: .throughput, .stats, .warnings
    study = augstudy.ablate("dropout", seeds=3, data=data)  # Study: .effects, .runs, .curves, .verdicts
    study = augstudy.load_study("reports/dropout-fashion-mnist-mini")   # read-only
    p = augstudy.plan("reports/dropout-fashion-mnist-mini", val_size=10000)   # PlanResult: seeds, runs, hours

The API lives in :mod:`augstudy.api`; its names load on first use, so ``import augstudy`` and
``augstudy --help`` never import torch, matplotlib or pandas.  ``augstudy.preview``
and ``augstudy.measure`` are also the subpackages of those commands; calling one calls the API
function of the same name.  ``augstudy.ablate`` is only the function: the machinery behind it is
:mod:`augstudy.ablation` (old ``augstudy.ablate.<module>`` import paths still resolve there, see
:mod:`augstudy.legacy_paths`).
"""

import importlib as _importlib
import os as _os
import sys as _sys
import types as _types

from augstudy import legacy_paths as _legacy_paths

__version__ = "0.1.0"

# Same seed, same result on the same device: MKL and OpenMP may otherwise shrink their thread
# teams when the machine is busy, which changes float summation order between two runs of the
# same config (seen on a loaded 2-core machine).  Set before torch initializes its BLAS; a
# user's explicit setting wins.
_os.environ.setdefault("MKL_DYNAMIC", "FALSE")
_os.environ.setdefault("OMP_DYNAMIC", "FALSE")

#: public name -> "module:attribute", imported on first access
_LAZY = {
    "load_dataset": "augstudy.api.data:load_dataset",
    "dataset_from_tensors": "augstudy.data:dataset_from_tensors",
    "dataset_from_torchvision": "augstudy.data:dataset_from_torchvision",
    "ImageDataset": "augstudy.data:ImageDataset",
    "load_policy": "augstudy.policy:load_policy",
    "scale_policy": "augstudy.policy:scale_policy",
    "Policy": "augstudy.policy:Policy",
    "MeasureResult": "augstudy.api.measurement:MeasureResult",
    "Study": "augstudy.ablation.storage.reader:Study",
    "load_study": "augstudy.ablation.storage.reader:load_study",
    "ablate": "augstudy.api.ablation:ablate",
    "plan": "augstudy.api.planning:plan",
    "PlanResult": "augstudy.ablation.plan.result:PlanResult",
    "UserError": "augstudy.errors:UserError",
}
#: subpackages that are also API functions: ``augstudy.preview(...)`` calls ``augstudy.api.preview``
_CALLABLE_SUBPACKAGES = ("preview", "measure")


class _CallablePackage(_types.ModuleType):
    """A subpackage that, called, runs the :mod:`augstudy.api` function of its name."""

    _api_name = ""

    def __call__(self, *args, **kwargs):
        return getattr(_importlib.import_module("augstudy.api"), self._api_name)(*args, **kwargs)

    @property
    def __signature__(self):  # inspect.signature / Jupyter show the API function's signature
        import inspect

        return inspect.signature(getattr(_importlib.import_module("augstudy.api"), self._api_name))


_CALLABLE_CLASSES = {name: type(f"CallablePackage_{name}", (_CallablePackage,), {"_api_name": name})
                     for name in _CALLABLE_SUBPACKAGES}


class _AugstudyPackage(_types.ModuleType):
    """The ``augstudy`` module: when the import system binds one of :data:`_CALLABLE_SUBPACKAGES` as
    an attribute (whoever imports it first, and however), that subpackage becomes callable."""

    def __setattr__(self, name, value):
        if name == "ablate" and isinstance(value, _types.ModuleType):
            return   # the old import path augstudy.ablate.* (legacy_paths) never hides the function
        if (name in _CALLABLE_CLASSES and isinstance(value, _types.ModuleType)
                and value.__name__ == f"{self.__name__}.{name}" and not isinstance(value, _CallablePackage)):
            value.__class__ = _CALLABLE_CLASSES[name]
        super().__setattr__(name, value)


_sys.modules[__name__].__class__ = _AugstudyPackage
_legacy_paths.install()


def __getattr__(name: str):
    if name in _CALLABLE_CLASSES:
        return _importlib.import_module(f"{__name__}.{name}")   # bound (and made callable) on import
    if name in _LAZY:
        module_name, attr = _LAZY[name].split(":")
        value = getattr(_importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'augstudy' has no attribute {name!r}")


def __dir__() -> list:
    return sorted(set(globals()) | set(_LAZY) | set(_CALLABLE_CLASSES))


__all__ = ["__version__", "load_dataset", "dataset_from_tensors", "dataset_from_torchvision", "ImageDataset",
           "load_policy", "scale_policy", "Policy", "preview", "measure", "MeasureResult", "ablate", "Study",
           "load_study", "plan", "PlanResult", "UserError"]
