"""Checks of objective hyper-parameters: a ConfigError naming the option, the expectation and the value."""

from __future__ import annotations

import math
from collections.abc import Collection
from typing import Any

from tscl.errors import ConfigError

__all__ = ["check_choice", "check_int", "check_number", "check_optional_int"]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_number(
    name: str, value: Any, *, low: float | None = None, high: float | None = None, open_low: bool = False
) -> float:
    """``value`` as a float in [low, high] (``(low, high]`` with ``open_low``), else ConfigError."""
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
    if not bad:
        bad = (low is not None and (value < low or (open_low and value == low))) or (high is not None and value > high)
    if bad:
        left = "(" if open_low else "["
        bounds = f"{left}{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise ConfigError(f"{name} must be a number in {bounds} but got {value!r}", hint=f"check {_flag(name)}")
    return float(value)


def check_int(name: str, value: Any, *, low: int = 1) -> int:
    """``value`` if it is an int >= low, else ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{name} must be an integer >= {low} but got {value!r}", hint=f"check {_flag(name)}")
    return value


def check_optional_int(name: str, value: Any, *, low: int = 1) -> int | None:
    """``value`` if it is None or an int >= low, else ConfigError."""
    return None if value is None else check_int(name, value, low=low)


def check_choice(name: str, value: Any, choices: Collection[str]) -> str:
    """``value`` if it is one of ``choices``, else ConfigError listing them."""
    if value not in choices:
        raise ConfigError(
            f"{name} must be one of {', '.join(sorted(choices))} but got {value!r}",
            hint=f"check {_flag(name)}",
        )
    return str(value)
