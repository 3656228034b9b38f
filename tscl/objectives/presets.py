"""Named settings (presets) across objectives: each objective class lists its own in ``presets``."""

from __future__ import annotations

from typing import Any

from tscl.errors import ConfigError
from tscl.objectives import OBJECTIVES
from tscl.objectives.base import Preset

__all__ = ["find_preset", "list_presets", "preset_layer"]


def _all() -> dict[str, tuple[str, Preset]]:
    found: dict[str, tuple[str, Preset]] = {}
    for name in OBJECTIVES.names():
        for preset in getattr(OBJECTIVES.entry(name).factory, "presets", {}).values():
            found[preset.name] = (name, preset)
    return found


def list_presets() -> list[str]:
    """Names accepted by ``--preset``."""
    return sorted(_all())


def find_preset(name: str) -> tuple[str, Preset]:
    """(objective name, preset) of preset ``name``, or ConfigError listing the valid names."""
    found = _all()
    if name not in found:
        raise ConfigError(
            f"preset must be one of {', '.join(sorted(found))} but got {name!r}",
            hint="presets are listed by `tscl objectives show NAME`",
        )
    return found[name]


def preset_layer(name: str) -> dict[str, Any]:
    """The configuration layer of preset ``name``: its values, in the section of its objective."""
    objective, preset = find_preset(name)
    values = dict(preset.values)
    spec = dict(values.get("objective") or {})
    values["objective"] = {"name": objective, "options": dict(spec.get("options") or {})}
    return values
