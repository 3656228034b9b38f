"""run_sweep(track="name") from Python: one string is one tracker, not a list of its letters."""

from __future__ import annotations

from pathlib import Path

import pytest

import tscl
from tscl.errors import ConfigError
from tscl.runs.tracking import check_trackers


def test_a_string_is_one_tracker_name() -> None:
    with pytest.raises(ConfigError, match="but got 'nope'"):
        check_trackers("nope")
    with pytest.raises(ConfigError, match="but got ''"):
        check_trackers("")


def test_run_sweep_names_the_tracker_given_as_a_string(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--track must be one of .* but got 'wandb'"):
        tscl.run_sweep({"datasets": ["GunPoint"]}, dry_run=True, output=tmp_path / "sweep", track="wandb")
    assert not (tmp_path / "sweep").exists()
