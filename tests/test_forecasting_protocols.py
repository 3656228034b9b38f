"""The forecasting protocol table: splits and horizons per protocol and dataset, settings and their parsing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import tscl
from tscl.data.protocols import forecasting_horizons, forecasting_splits
from tscl.errors import ConfigError, DataError
from tscl.forecasting_protocols import (
    ForecastingSetting,
    get_protocol,
    list_protocols,
    longest_horizon,
    parse_horizons,
    parse_split,
)


def _rows(name: str, n: int, setting: ForecastingSetting) -> tuple[int, int, int]:
    train, valid, test = setting.resolve(name, n, univariate=True).splits
    assert train.start == 0 and valid.start == train.stop and test.start == valid.stop and test.stop <= n
    return train.stop, valid.stop, test.stop


@pytest.mark.parametrize(
    ("name", "n", "ts2vec", "ltsf"),
    [
        ("ETTh1", 17420, (8640, 11520, 14400), (8640, 11520, 14400)),  # 12/4/4 months in both
        ("ETTm2", 69680, (34560, 46080, 57600), (34560, 46080, 57600)),
        # ts2vec: ends at int(0.6 n), int(0.8 n); ltsf: int(0.7 n) train rows, the last int(0.2 n) rows test
        ("exchange_rate", 7588, (4552, 6070, 7588), (5311, 6071, 7588)),
        ("national_illness", 966, (579, 772, 966), (676, 773, 966)),
    ],
)
def test_splits_of_both_protocols(name: str, n: int, ts2vec: tuple[int, int, int], ltsf: tuple[int, int, int]) -> None:
    assert _rows(name, n, ForecastingSetting()) == ts2vec
    assert tuple(s.stop for s in forecasting_splits(name, n)) == ts2vec  # the TS2Vec wrapper: unchanged
    assert _rows(name, n, ForecastingSetting("ltsf")) == ltsf


def test_horizons_of_both_protocols() -> None:
    ts2vec, ltsf = get_protocol("ts2vec"), get_protocol("ltsf")
    assert ts2vec.horizons_for("ETTh1") == forecasting_horizons("weather") == (24, 48, 168, 336, 720)
    assert ts2vec.horizons_for("ETTm1") == forecasting_horizons("ettm2") == (24, 48, 96, 288, 672)
    assert ltsf.horizons_for("ETTh1") == ltsf.horizons_for("ETTm1") == (96, 192, 336, 720)
    assert ltsf.horizons_for("national_illness") == ltsf.horizons_for("ILI") == (24, 36, 48, 60)
    assert ts2vec.horizons_for("national_illness") == (24, 48, 168, 336, 720)  # TS2Vec defines no illness rule
    assert list_protocols() == ["ltsf", "ts2vec"]


def test_settings_change_only_what_they_name() -> None:
    split = ForecastingSetting(split=(0.7, 0.1, 0.2)).resolve("ETTh1", 17420, univariate=False)
    assert (split.split_label, split.horizons, split.features) == ("70/10/20", (24, 48, 168, 336, 720), "M")
    assert split.splits[0].stop == int(0.7 * 17420)  # fractions of every row, not of the 12/4/4-month span
    borrowed = ForecastingSetting(split="ltsf").resolve("exchange_rate", 7588, univariate=True)
    assert (borrowed.protocol, borrowed.splits[0].stop, borrowed.features) == ("ts2vec", 5311, "S")
    horizons = ForecastingSetting("ltsf", horizons=(12, 24)).resolve("ETTh1", 17420, univariate=True)
    assert (horizons.horizons, horizons.split_label) == ((12, 24), "12/4/4 months")


def test_labels_name_what_differs_from_the_defaults() -> None:
    assert ForecastingSetting().label() == ForecastingSetting(features="S").label() == ""
    assert ForecastingSetting().is_default and ForecastingSetting(features="M").is_default
    setting = ForecastingSetting.from_options("ltsf", "60,24,36", "0.7,0.1,0.2", "MS")
    assert setting.label() == "ltsf-h24-36-60-split0.7-0.1-0.2-MS" and not setting.is_default
    assert not ForecastingSetting(horizons=(24,)).is_default
    assert setting.to_dict() == {"protocol": "ltsf", "horizons": [24, 36, 60], "split": [0.7, 0.1, 0.2],
                                 "features": "MS"}  # fmt: skip


def test_parsing_horizons_and_splits() -> None:
    assert parse_horizons("24, 36,48") == (24, 36, 48) and parse_horizons([60, 24]) == (24, 60)
    assert parse_horizons(None) is None and parse_split(None) is None
    assert parse_split("0.7,0.1,0.2") == (0.7, 0.1, 0.2) and parse_split("ltsf") == "ltsf"
    for bad in ("0", "24,abc", "24,24", "", "-5", "1.5"):
        with pytest.raises(ConfigError, match="--horizons"):
            parse_horizons(bad)
    for bad in ("0.7,0.1", "0.7,0.2,0.2", "0,0.5,0.5", "a,b,c", "informer"):
        with pytest.raises(ConfigError, match="--split") as raised:
            parse_split(bad)
        assert raised.value.hint is not None and "--split 0.7,0.1,0.2" in raised.value.hint


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"protocol": "informer"}, "protocol (--protocol) must be one of ltsf, ts2vec but got 'informer'"),
        ({"features": "SM"}, "features (--features) must be one of M, MS, S but got 'SM'"),
        ({"horizons": "24,abc"}, "horizons (--horizons) must be positive integers separated by commas but got 'abc'"),
        ({"horizons": [24, 24]}, "horizons (--horizons) must be distinct positive integers but got [24, 24]"),
        ({"split": "a,b,c"}, "split (--split) must be train,valid,test fractions or a protocol but got 'a,b,c'"),
        ({"split": [0.7, 0.1]}, "split (--split) must be three fractions in (0, 1) summing to 1 but got [0.7, 0.1]"),
    ],
)
def test_bad_settings_fail_naming_the_setting_and_its_flag(options: dict[str, object], message: str) -> None:
    """The Python argument and the command-line flag are both named: the same error reaches both callers."""
    with pytest.raises(ConfigError) as raised:
        ForecastingSetting.from_options(**options)  # type: ignore[arg-type]
    assert str(raised.value) == message and raised.value.hint


def test_too_short_series_fail_by_name() -> None:
    with pytest.raises(DataError, match="ETTh1 must have at least 14400 rows for its 12/4/4 months split"):
        ForecastingSetting("ltsf").resolve("ETTh1", 1000, univariate=True)
    with pytest.raises(DataError, match="at least 5 rows for a 70/10/20 split"):
        ForecastingSetting("ltsf").resolve("tiny", 4, univariate=True)


def test_longest_horizon_hand_computed() -> None:
    # train 579 rows - 200 padding: H <= 378; valid 193 rows: H <= 192; test 194 rows: H <= 193
    assert longest_horizon((slice(0, 579), slice(579, 772), slice(772, 966))) == (192, "valid")
    assert longest_horizon((slice(0, 250), slice(250, 400), slice(400, 600))) == (49, "train")
    assert longest_horizon((slice(0, 1000), slice(1000, 1100), slice(1100, 1150)), padding=0) == (49, "test")


def test_no_module_but_the_table_spells_a_protocols_dataset_rules() -> None:
    """Protocol rules are data: outside the protocol module no code names a protocol or an ETT pattern."""
    root = Path(tscl.__file__).parent
    spelled = []
    for path in root.rglob("*.py"):
        if path.name == "forecasting_protocols.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in ("ltsf", "national_illness", "illness"):
                spelled.append(f"{path.name}:{node.lineno}")
    assert spelled == []
