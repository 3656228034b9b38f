"""Grid keys ``protocol``, ``horizons``, ``split`` and ``features``: validated, checked against the data before
any trial starts, and settings of different protocols never ranked against each other."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.tasks.illness import write_illness_layout
from tscl.errors import ConfigError
from tscl.sweep import load_grid, run_sweep

TINY = {"iters": 2, "repr_dims": 8, "hidden_dims": 8, "depth": 1, "batch_size": 4, "max_train_length": 64,
        "device": "cpu", "threads": 1, "plots": False, "baselines": False, "univariate": True}  # fmt: skip


@pytest.fixture(scope="module")
def illness_csv(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_illness_layout(shared_datasets, tmp_path_factory.mktemp("grid") / "national_illness.csv")


def _grid(csv: Path, output: Path, **grid: list[object]) -> dict[str, object]:
    return {"datasets": [str(csv)], "seeds": [0], "output": str(output), "base": TINY, "grid": grid}


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("horizons", ["24", "x"], "grid.horizons[1]: horizons (--horizons) must be positive integers"),
        ("horizons", [[0, 24]], "grid.horizons[0]: horizons (--horizons) must be positive integers"),
        ("split", [[0.7, 0.1]], "grid.split[0]: split (--split) must be three fractions"),
        ("protocol", ["informer"], "grid.protocol[0]: protocol (--protocol) must be one of ltsf, ts2vec"),
        ("features", ["X"], "grid.features[0]: features (--features) must be one of M, MS, S"),
        ("horizons", [24], "grid.horizons[0] must be list or str"),
    ],
)
def test_values_are_validated_with_their_location(
    illness_csv: Path, tmp_path: Path, key: str, value: list[object], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_grid(_grid(illness_csv, tmp_path / "out", **{key: value}))


def test_a_horizon_the_data_cannot_serve_fails_before_any_trial(illness_csv: Path, tmp_path: Path) -> None:
    grid = _grid(illness_csv, tmp_path / "out", protocol=["ltsf", "ts2vec"])
    with pytest.raises(
        ConfigError, match=r"setting 'protocol=ts2vec' on .*horizons \(--horizons\) must be at most 192"
    ) as err:
        run_sweep(grid)
    assert err.value.hint is not None and "--horizons 24,48,168" in err.value.hint
    assert not (tmp_path / "out").exists()  # nothing written, nothing trained


def test_forecasting_keys_on_a_classification_dataset_fail_up_front(tmp_path: Path) -> None:
    grid = {"datasets": ["GunPoint"], "seeds": [0], "output": str(tmp_path / "out"), "base": TINY,
            "grid": {"horizons": [[24]]}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"horizons \(--horizons\) must be given only for datasets it applies to"):
        run_sweep(grid)
    assert not (tmp_path / "out").exists()


def test_settings_of_different_protocols_are_ranked_apart(illness_csv: Path, tmp_path: Path) -> None:
    grid = _grid(illness_csv, tmp_path / "out", protocol=["ltsf", "ts2vec"], lr=[0.001, 0.01])
    grid["base"] = {**TINY, "horizons": "24,36,48,60"}
    assert run_sweep(grid).ok
    rows = json.loads((tmp_path / "out" / "summary.json").read_text())["rows"]
    assert {row["setting"]: row["protocol"] for row in rows} == {
        "protocol=ltsf,lr=0.001": "forecasting-ltsf-h24-36-48-60",
        "protocol=ltsf,lr=0.01": "forecasting-ltsf-h24-36-48-60",
        "protocol=ts2vec,lr=0.001": "forecasting-h24-36-48-60",
        "protocol=ts2vec,lr=0.01": "forecasting-h24-36-48-60",
    }
    best = sorted(row["protocol"] for row in rows if row["best"])
    assert best == ["forecasting-h24-36-48-60", "forecasting-ltsf-h24-36-48-60"]  # one per protocol
    assert all(row["paper"] is None for row in rows)  # no published numbers for these settings
