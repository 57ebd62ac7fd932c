"""Preset policies shipped as YAML files in this folder, each with a comment block saying why."""

from __future__ import annotations

from pathlib import Path

PRESETS = ("none", "light", "medium", "heavy", "final", "randaugment_m9", "trivialaugment", "autoaugment", "augmix")
PRESET_DIR = Path(__file__).resolve().parent


def preset_path(name: str) -> Path:
    """Path of the YAML file for preset ``name`` (one of :data:`PRESETS`)."""
    if name not in PRESETS:
        raise KeyError(name)
    return PRESET_DIR / f"{name}.yaml"


__all__ = ["PRESETS", "PRESET_DIR", "preset_path"]
