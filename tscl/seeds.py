"""The range of a seed: what torch's and numpy's generators both accept and a TOML file can hold.

torch takes seeds up to 2**64 - 1 and numpy none below 0; a run's ``config.toml`` holds 64-bit signed
integers. So a seed is an integer from 0 to 2**63 - 1, checked where it is given (flags, files, the API).
An evaluation's seed (``tscl evaluate --seed``, a grid's ``eval_seed``) also goes to scikit-learn's
``random_state``, which takes no more than 2**32 - 1: its range is 0 to 2**32 - 1.
"""

from __future__ import annotations

import numbers
from typing import Any

from tscl.errors import ConfigError

MAX_SEED = 2**63 - 1
SEED_RANGE = "an integer from 0 to 2**63 - 1"
MAX_EVAL_SEED = 2**32 - 1
EVAL_SEED_RANGE = "an integer from 0 to 2**32 - 1"


def check_seed(value: Any, name: str, hint: str | None = None) -> int:
    """``value`` if it is a valid seed, else a ConfigError naming ``name``."""
    return _in_range(value, name, MAX_SEED, SEED_RANGE, hint)


def check_eval_seed(value: Any, name: str, hint: str | None = None) -> int:
    """``value`` if it is a valid evaluation seed (scikit-learn's range), else a ConfigError naming ``name``."""
    return _in_range(value, name, MAX_EVAL_SEED, EVAL_SEED_RANGE, hint)


def _in_range(value: Any, name: str, maximum: int, expected: str, hint: str | None) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 0 <= int(value) <= maximum:
        raise ConfigError(f"{name} must be {expected} but got {value!r}", hint=hint or "e.g. 0, 1 or 42")
    return int(value)  # numpy integers too


def rng_devices(device: Any) -> list[int]:
    """The CUDA devices whose generator work on ``device`` draws from: ``torch.random.fork_rng(devices=...)``.

    ``fork_rng(devices=[])`` saves and restores the CPU generator only; code inside that draws on a GPU
    (dropout, ``randn(device=...)``) or calls ``torch.manual_seed`` (which reseeds every CUDA generator) would
    leave the caller's CUDA generator changed. ``cuda`` without an index is the current CUDA device.
    """
    if device.type != "cuda":
        return []
    import torch  # only for a CUDA device: this module stays free of torch

    return [device.index if device.index is not None else torch.cuda.current_device()]
