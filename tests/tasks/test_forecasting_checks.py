"""The forecasting setting checks and records on hand-made data: horizons against splits, feature modes against
the run, the published numbers a setting may show."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tscl.errors import ConfigError, DataError
from tscl.forecasting_protocols import ForecastingSetting
from tscl.tasks.forecasting_checks import check_features, check_forecasting_data, comparable_paper

PAPER = {"horizons": {"24": {"mse": 0.039, "mae": 0.152}, "48": {"mse": 0.062, "mae": 0.191}},
         "mean": {"mse": 0.05, "mae": 0.17}}  # fmt: skip


def _data(n: int, cuts: tuple[int, int], horizons: tuple[int, ...], **extra: object) -> SimpleNamespace:
    return SimpleNamespace(
        name="series", data=np.zeros((1, n, 8), np.float32), horizons=horizons, train_slice=slice(0, cuts[0]),
        valid_slice=slice(cuts[0], cuts[1]), test_slice=slice(cuts[1], n), **extra,
    )  # fmt: skip


def test_the_longest_horizon_is_named_with_the_split_that_limits_it() -> None:
    check_forecasting_data(_data(966, (579, 772), (24, 192)), own=True)  # 192 fits exactly
    with pytest.raises(
        DataError, match=r"horizons \(--horizons\) must be at most 192 .* valid split has 193 rows\) but got 193"
    ):
        check_forecasting_data(_data(966, (579, 772), (24, 193)), own=True)
    with pytest.raises(DataError, match=r"at most 49 .* train split has 250 rows minus 200 padding rows") as err:
        check_forecasting_data(_data(1000, (250, 600), (24, 96)), own=False)
    assert err.value.hint == "pass shorter horizons, e.g. --horizons 24, or lengthen the train split with --split"
    with pytest.raises(DataError, match=r"split \(--split\) must give the train split of series at least 202 rows"):
        check_forecasting_data(_data(1000, (150, 600), (24,)), own=False)


def test_a_series_too_short_for_any_split_is_not_told_to_change_the_split() -> None:
    with pytest.raises(DataError, match="train split of series at least 202 rows") as err:
        check_forecasting_data(_data(30, (18, 24), (24,)), own=False)
    assert err.value.hint == "series has 30 rows in all; forecasting evaluation needs a series of at least 206"


def test_the_test_split_must_not_hold_pretraining_rows_of_the_runs_own_data() -> None:
    early = _data(1000, (300, 500), (24,))  # pretraining saw rows 0-600 (60/20/20)
    check_forecasting_data(early, own=False)  # another dataset: the encoder never saw it
    with pytest.raises(DataError, match="at or after row 600, .* but it starts at row 500") as err:
        check_forecasting_data(early, own=True)
    assert err.value.hint == "give train and valid together at least 0.6 of the rows with --split"


def test_feature_modes_must_match_the_runs_inputs() -> None:
    check_features(None, True, "ETTh1")
    check_features("S", True, "ETTh1")
    check_features("MS", False, "ETTh1")
    with pytest.raises(
        ConfigError, match=r"features MS \(--features MS\) must come with a run pretrained on every variable"
    ):
        check_features("MS", True, "ETTh1")
    with pytest.raises(
        ConfigError, match=r"features S \(--features S\) must come with a run pretrained on the target alone"
    ):
        check_features("S", False, "ETTh1")


def test_published_numbers_only_for_comparable_settings() -> None:
    data = _data(100, (60, 80), (24, 48), protocol="ts2vec", feature_mode="S")
    assert comparable_paper(PAPER, data, ForecastingSetting()) == PAPER
    same = ForecastingSetting(horizons=(24, 48))
    assert comparable_paper(PAPER, data, same) == PAPER
    fewer = _data(100, (60, 80), (24, 36), protocol="ts2vec", feature_mode="S")
    assert comparable_paper(PAPER, fewer, ForecastingSetting(horizons=(24, 36))) == {
        "horizons": {"24": {"mse": 0.039, "mae": 0.152}}
    }  # the published horizon among them, no mean: the sets differ
    assert comparable_paper(PAPER, _data(100, (60, 80), (36,), protocol="ts2vec"), ForecastingSetting(
        horizons=(36,))) is None  # fmt: skip
    assert comparable_paper(PAPER, data, ForecastingSetting(split=(0.7, 0.1, 0.2))) is None
    assert comparable_paper(PAPER, _data(100, (60, 80), (96,), protocol="ltsf"), ForecastingSetting("ltsf")) is None
    multi = _data(100, (60, 80), (24, 48), protocol="ts2vec", feature_mode="MS")
    assert comparable_paper(PAPER, multi, ForecastingSetting(features="MS")) is None
