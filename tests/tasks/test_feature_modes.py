"""Feature modes M, MS and S on a small real multivariate file (the first 1 200 hours of ETTh1, 7 variables)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from tscl.data import ForecastingData, load_dataset
from tscl.forecasting_protocols import ForecastingSetting
from tscl.tasks import create_task
from tscl.tasks.forecasting_protocol import horizon_samples, target_values

ROWS = 1200
VARIABLES = ["HUFL", "HULL", "MUFL", "MULL", "LUFL", "LULL", "OT"]


@pytest.fixture(scope="module")
def etth1_head(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 1 200 rows of ETTh1.csv, every column (a name outside the ETT rules: a 60/20/20 split)."""
    lines = (shared_datasets / "ETT" / "ETTh1.csv").read_text().splitlines()[: ROWS + 1]
    path = tmp_path_factory.mktemp("modes") / "etth1_head.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _load(path: Path, features: str, target: str | None = None) -> ForecastingData:
    data = load_dataset(path, forecasting=ForecastingSetting(features=features), target=target)
    assert isinstance(data, ForecastingData)
    return data


class _Identity:
    """Stand-in encoder: the inputs themselves are the representation."""

    def encode(self, X: np.ndarray, mode: str = "instance", causal_window: int | None = None) -> np.ndarray:
        return np.asarray(X, dtype=np.float32)


@pytest.mark.parametrize(
    ("features", "channels", "targets", "names"),
    [("M", 14, 7, VARIABLES), ("MS", 14, 1, ["OT"]), ("S", 8, 1, ["OT"])],
)
def test_inputs_and_targets_of_each_mode(
    etth1_head: Path, features: str, channels: int, targets: int, names: list[str]
) -> None:
    data = _load(etth1_head, features)
    assert data.feature_mode == features and data.target_names == names
    assert data.data.shape == (1, ROWS, channels) and data.n_covariates == 7
    assert target_values(data).shape == data.targets().shape == (1, ROWS, targets)
    assert data.target_mean.shape == data.target_std.shape == (targets,)
    train = data.train_slice
    X, Y = horizon_samples(data.data[:, train], target_values(data)[:, train], horizon=24, drop=200)
    assert X.shape == (720 - 24 - 200, channels) and Y.shape == (720 - 24 - 200, 24 * targets)
    assert data.info()["features"] == features


def test_ms_predicts_the_target_the_s_mode_sees_alone(etth1_head: Path) -> None:
    every, target, alone = _load(etth1_head, "M"), _load(etth1_head, "MS"), _load(etth1_head, "S")
    np.testing.assert_array_equal(target.data, every.data)  # all variables in
    np.testing.assert_allclose(target.targets(), alone.targets(), atol=1e-6)  # the target out, scaled alike
    np.testing.assert_allclose(target.targets()[0, :, 0], every.targets()[0, :, 6], atol=1e-6)
    assert target.target_mean[0] == pytest.approx(every.target_mean[6])
    hufl = _load(etth1_head, "MS", target="HUFL")
    assert hufl.target_names == ["HUFL"] and hufl.target_channels == (7,)
    np.testing.assert_allclose(hufl.to_raw(hufl.targets()[0, :3]).ravel(), [5.827, 5.693, 5.157], atol=1e-3)


@pytest.mark.parametrize(("features", "words"), [("M", "multivariate (M)"), ("MS", "multivariate in, target out (MS)"),
                                                 ("S", "univariate (S)")])  # fmt: skip
def test_each_mode_is_reported_as_such(etth1_head: Path, features: str, words: str) -> None:
    data = _load(etth1_head, features)
    data = ForecastingData(**{**data.__dict__, "horizons": (24, 48)})
    task = create_task("forecasting", features=features if features == "MS" else None)
    metrics, _ = task.evaluate(_Identity(), data, baseline=None, objective="ts2vec", seed=0, timings={})
    assert metrics["features"] == features and list(metrics["horizons"]) == ["24", "48"]
    assert metrics["targets"] == (None if features == "M" else ["OT"])
    assert metrics["split"] == {"rule": "60/20/20", "train": [0, 720], "valid": [720, 960], "test": [960, 1200]}
    tables = task.tables({**metrics, "dataset": "etth1_head", "objective": "ts2vec"})
    assert str(tables[0].title) == f"etth1_head · ts2vec · {words} (normalised)"
    console = Console(record=True, width=300)
    console.print(tables[0])
    assert f"features {features}: " in console.export_text()
    assert task.protocol() == ("forecasting-MS" if features == "MS" else "forecasting")
