"""Import paths of modules that moved, kept importable: ``augstudy.ablate.<module>`` -> ``augstudy.ablation...``.

``augstudy.ablate`` is the API function (:func:`augstudy.api.ablate`); the machinery behind it is the
package :mod:`augstudy.ablation`.  Code written against the old flat layout (``from augstudy.ablate.stats
import decide``, ``augstudy.ablate.spec``, ...) still imports: :class:`LegacyPathFinder` answers those
names with the module that lives at the new path (the same object, so ``isinstance`` and monkeypatching
agree).  Nothing in augstudy itself imports through it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

OLD_PACKAGE = "augstudy.ablate"
NEW_PACKAGE = "augstudy.ablation"

#: old module name under ``augstudy.ablate`` -> its module under ``augstudy.ablation``
MOVED = {
    "spec": "spec.study_spec", "spec_schema": "spec.file_schema", "compose": "spec.compose",
    "train": "execution.train", "executors": "execution.executors", "ray_executor": "execution.ray_executor",
    "driver": "execution.driver", "checkpoints": "execution.checkpoints",
    "checkpoint_schedule": "execution.checkpoint_schedule", "tensorboard": "execution.tensorboard",
    "precision": "execution.precision", "preflight": "execution.preflight", "mixing": "execution.mixing",
    "ema": "execution.ema", "tta": "execution.tta", "seeds_auto": "execution.seeds_auto",
    "assets": "execution.assets", "mix_preview": "execution.mix_preview",
    "store": "storage.store", "recovery": "storage.recovery", "exporter": "storage.exporter",
    "schema": "storage.schema",
    "effects": "analysis.effects", "effect_table": "analysis.effect_table", "stats": "analysis.stats",
    "factorial": "designs.factorial", "factorial_table": "designs.factorial_table",
    "response": "designs.response", "strength_study": "designs.strength",
    "runner": "runner", "plan": "plan",
}


def new_name(old_name: str) -> str | None:
    """``augstudy.ablate.stats.core`` -> ``augstudy.ablation.analysis.stats.core``; None if not an old path."""
    if old_name == OLD_PACKAGE:
        return NEW_PACKAGE
    if not old_name.startswith(OLD_PACKAGE + "."):
        return None
    head, _, rest = old_name[len(OLD_PACKAGE) + 1:].partition(".")
    if head not in MOVED:
        return None
    return f"{NEW_PACKAGE}.{MOVED[head]}" + (f".{rest}" if rest else "")


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        return None   # default module; replaced in exec_module

    def exec_module(self, module):
        if module.__name__ == OLD_PACKAGE:
            # The old package itself: its attributes are the old flat modules (``from augstudy.ablate
            # import spec`` is the spec module, not the new ``spec`` sub-package).
            module.__getattr__ = _old_package_attribute
            return
        # The import system returns whatever sys.modules holds for the name after exec_module.
        sys.modules[module.__name__] = importlib.import_module(self.target)


def _old_package_attribute(name: str):
    target = new_name(f"{OLD_PACKAGE}.{name}")
    if target is None:
        raise AttributeError(f"module {OLD_PACKAGE!r} has no attribute {name!r} (it moved to {NEW_PACKAGE})")
    return importlib.import_module(target)


class LegacyPathFinder(importlib.abc.MetaPathFinder):
    """Finds ``augstudy.ablate`` and ``augstudy.ablate.<old module>`` as aliases of their new modules."""

    def find_spec(self, fullname, path=None, target=None):
        target_name = new_name(fullname)
        if target_name is None:
            return None
        is_package = (fullname == OLD_PACKAGE
                      or importlib.util.find_spec(target_name).submodule_search_locations is not None)
        return importlib.util.spec_from_loader(fullname, _AliasLoader(target_name), is_package=is_package)


def install() -> None:
    """Put the finder on ``sys.meta_path`` once (called by ``import augstudy``)."""
    if not any(isinstance(finder, LegacyPathFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, LegacyPathFinder())
