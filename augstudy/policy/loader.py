"""``load_policy``: one entry point for every way a user names a policy.

Accepts a preset name, a YAML/JSON policy file, an albumentations file written by
``A.save(pipeline, path, data_format="yaml"|"json")`` (recognised by its ``__version__`` /
``transform`` keys), a dict, a bare list of ops, or a :class:`Policy`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from augstudy.errors import UserError
from augstudy.policy.presets import PRESETS, preset_path
from augstudy.policy.spec import Policy


def load_policy(spec: str | Path | dict | list | Policy, image_size: int | None = None) -> Policy:
    """Resolve ``spec`` to a validated :class:`Policy`.

    ``image_size`` (px) overrides the policy's own ``image_size`` (default 64) when given.
    Raises :class:`~augstudy.errors.UserError` with one line naming the file, op and field.
    """
    if isinstance(spec, Policy):
        if image_size is None or image_size == spec.image_size:
            return spec
        return Policy.from_dict(spec.to_dict(), source=f"policy {spec.name!r}", image_size=image_size)
    if isinstance(spec, (dict, list, tuple)):
        return _from_data(spec, "<dict>", image_size, name=None)
    if isinstance(spec, Path) or isinstance(spec, str):
        text = str(spec)
        if isinstance(spec, str) and text in PRESETS:
            return _from_file(preset_path(text), image_size, source=f"preset {text!r}")
        path = Path(text).expanduser()
        if path.is_file():
            return _from_file(path, image_size, source=str(spec))
        if path.exists():
            raise UserError(f"{spec}: is not a file; pass a policy YAML file or a preset ({', '.join(PRESETS)})")
        raise UserError(f"unknown policy {text!r}: not a preset ({', '.join(PRESETS)}) and no such file")
    raise UserError(f"a policy must be a preset name, a file, a dict or a list of ops, got {type(spec).__name__}")


def read_policy_data(path: Path, source: str | None = None) -> Any:
    """Parse a policy file (YAML, or JSON for ``.json``); syntax errors name the file and line."""
    source = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{source}: cannot read the policy file ({exc})") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise UserError(f"{source}: JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        raise UserError(f"{source}: YAML syntax error{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{source}: YAML syntax error: {str(exc).splitlines()[0]}") from None


def is_albumentations_data(data: Any) -> bool:
    """True for what ``albumentations.save`` writes: ``{"__version__": ..., "transform": {...}}``."""
    return isinstance(data, dict) and ("__version__" in data or
                                       (isinstance(data.get("transform"), dict)
                                        and "__class_fullname__" in data["transform"]))


def _from_file(path: Path, image_size: int | None, source: str) -> Policy:
    data = read_policy_data(path, source)
    if data is None:
        raise UserError(f"{source}: the file is empty; write e.g. 'ops: [{{op: HorizontalFlip, p: 0.5}}]'")
    return _from_data(data, source, image_size, name=path.stem)


def _from_data(data: Any, source: str, image_size: int | None, name: str | None) -> Policy:
    if is_albumentations_data(data):
        from augstudy.policy.albumentations_import import policy_from_albumentations

        return policy_from_albumentations(data, source=source, image_size=image_size, name=name)
    return Policy.from_dict(data, source=source, image_size=image_size, name=name)


__all__ = ["load_policy", "read_policy_data", "is_albumentations_data"]
