"""Checks of the Python API's call arguments, so a bad one fails by name instead of deep inside torch."""

from __future__ import annotations

import numbers
from typing import Any

from tscl.errors import ConfigError


def check_count(name: str, value: Any, minimum: int = 1, hint: str | None = None) -> int | None:
    """``value`` when it is None or an integer >= ``minimum`` (numpy integers too); else a ConfigError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        expected = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigError(f"{name} must be {expected} or None but got {value!r}", hint=hint)
    return int(value)
