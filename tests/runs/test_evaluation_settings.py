"""Evaluation settings given for a task that has no use for them are refused, naming the setting and its flag."""

from __future__ import annotations

import re

import pytest

from tscl.errors import ConfigError
from tscl.runs.evaluation import check_settings_apply


@pytest.mark.parametrize(("key", "value"), [("horizons", (24, 48)), ("split", "ltsf"), ("features", "MS")])
def test_forecasting_settings_on_classification_data_name_the_setting_and_its_flag(key: str, value: object) -> None:
    expected = f"{key} (--{key}) must be given only for datasets it applies to but the dataset is evaluated by"
    with pytest.raises(ConfigError, match=re.escape(expected) + " classification") as raised:
        check_settings_apply("classification", {key: value})
    assert raised.value.hint == f"drop --{key}"


def test_the_default_protocol_and_settings_left_out_are_not_refused() -> None:
    check_settings_apply("classification", {"protocol": "ts2vec", "horizons": None, "split": None, "features": None})
    check_settings_apply("forecasting", {"protocol": "ltsf", "horizons": (24,), "split": "ltsf", "features": "MS"})
