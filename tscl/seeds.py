"""The range of a seed: what torch's and numpy's generators both accept and a TOML file can hold.

torch takes seeds up to 2**64 - 1 and numpy none below 0; a run's ``config.toml`` holds 64-bit signed
integers. So a seed is an integer from 0 to 2**63 - 1, checked where it is given (flags, files, the API).
"""

from __future__ import annotations

from typing import Any

from tscl.errors import ConfigError

MAX_SEED = 2**63 - 1
SEED_RANGE = "an integer from 0 to 2**63 - 1"


def check_seed(value: Any, name: str, hint: str | None = None) -> int:
    """``value`` if it is a valid seed, else a ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise ConfigError(f"{name} must be {SEED_RANGE} but got {value!r}", hint=hint or "e.g. 0, 1 or 42")
    return value
