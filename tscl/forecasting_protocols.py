"""Forecasting protocols as data: splits, horizons and feature modes (``data/tables/forecasting_protocols.toml``).

A protocol (``ts2vec``: Yue et al., AAAI 2022; ``ltsf``: the long-horizon setting of Informer, Autoformer and
their successors) says how a series is split and which horizons are predicted, with per-dataset rules (ETT's
12/4/4 months, ETTm's horizons, illness's short horizons) kept in the table, never in code. A
:class:`ForecastingSetting` is what a user chose: a protocol, optionally other horizons, another split (three
fractions or another protocol's) and a feature mode; :meth:`ForecastingSetting.resolve` turns it into the rows
and horizons of one dataset (:class:`ResolvedSetting`).

Feature modes, as the field names them: ``M`` all variables in, all out; ``MS`` all variables in, the target
out; ``S`` the target alone in and out.

This module sits beside, not inside, :mod:`tscl.data` (whose loaders use it) because ``tscl evaluate --help``
lists the protocols and must not import pandas, which importing the ``tscl.data`` package does; it imports
nothing of tscl but the errors.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from tscl.errors import ConfigError, DataError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "DEFAULT_PROTOCOL",
    "FEATURE_MODES",
    "ENCODING_PADDING",
    "ForecastingProtocol",
    "ForecastingSetting",
    "ResolvedSetting",
    "get_protocol",
    "list_protocols",
    "longest_horizon",
    "parse_horizons",
    "parse_split",
]

DEFAULT_PROTOCOL = "ts2vec"
FEATURE_MODES = {
    "M": "all variables in, all out",
    "MS": "all variables in, the target out",
    "S": "the target alone in and out",
}
ENCODING_PADDING = 200  # leading training rows the protocol drops (their causal window is NaN-padded)
_ROUNDINGS = ("cumulative", "test-from-end")


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    split_rows: tuple[int, int, int] | None
    split_label: str | None
    horizons: tuple[int, ...] | None


@dataclass(frozen=True)
class ForecastingProtocol:
    """One row of the protocol table.

    Attributes:
        name: Registry name (``ts2vec``, ``ltsf``).
        title: Human name, for reports.
        reference: The papers that define it.
        split: Default train/valid/test fractions.
        rounding: ``cumulative`` or ``test-from-end`` (see the table's header).
        horizons: Default prediction lengths.
    """

    name: str
    title: str
    reference: str
    split: tuple[float, float, float]
    rounding: str
    horizons: tuple[int, ...]
    rules: tuple[_Rule, ...] = ()

    def _rule(self, dataset: str) -> _Rule | None:
        return next((rule for rule in self.rules if rule.pattern.fullmatch(dataset)), None)

    def horizons_for(self, dataset: str) -> tuple[int, ...]:
        """The protocol's horizons of ``dataset`` (its rule's, else the default)."""
        rule = self._rule(dataset)
        return rule.horizons if rule is not None and rule.horizons else self.horizons

    def bounds(self, dataset: str, n_rows: int, fractions: tuple[float, float, float] | None = None) -> _Bounds:
        """Row bounds of the three parts: ``fractions`` of the rows if given, else the dataset's rule or default.

        Raises:
            DataError: The series has too few rows for the split.
        """
        rule = self._rule(dataset)
        if fractions is None and rule is not None and rule.split_rows is not None:
            cuts = [0]
            for rows in rule.split_rows:
                cuts.append(cuts[-1] + rows)
            label = rule.split_label or "/".join(map(str, rule.split_rows)) + " rows"
            if n_rows < cuts[-1]:
                raise DataError(
                    f"{dataset} must have at least {cuts[-1]} rows for its {label} split but got {n_rows}",
                    f"is the file truncated? re-download it with `tscl data fetch {dataset} --force`",
                )
            return _Bounds(cuts[1], cuts[2], cuts[3], label)
        train, valid, test = fractions or self.split
        label = "/".join(f"{round(100 * f, 4):g}" for f in (train, valid, test))
        if n_rows < 5:  # below 5 every part is at most one row
            raise DataError(
                f"{dataset} must have at least 5 rows for a {label} split but got {n_rows}", "use a longer series"
            )
        if self.rounding == "cumulative":
            return _Bounds(int(train * n_rows), int(round(train + valid, 12) * n_rows), n_rows, label)
        train_end, test_rows = int(train * n_rows), int(test * n_rows)
        return _Bounds(train_end, n_rows - test_rows, n_rows, label)


@dataclass(frozen=True)
class _Bounds:
    train_end: int
    valid_end: int
    test_end: int
    label: str


@dataclass(frozen=True)
class ResolvedSetting:
    """A setting applied to one dataset.

    Attributes:
        protocol: The protocol's name.
        splits: Train, valid and test row ranges.
        split_label: How the split was chosen (``12/4/4 months``, ``70/10/20``).
        horizons: Prediction lengths.
        features: ``M``, ``MS`` or ``S``.
    """

    protocol: str
    splits: tuple[slice, slice, slice]
    split_label: str
    horizons: tuple[int, ...]
    features: str


@dataclass(frozen=True)
class ForecastingSetting:
    """What a user chose for forecasting (every ``None``: the protocol's, or the run's, choice).

    Attributes:
        protocol: A name from :func:`list_protocols`.
        horizons: Prediction lengths instead of the protocol's.
        split: Train/valid/test fractions, or the name of the protocol whose split to use.
        features: ``M``, ``MS`` or ``S`` (None: ``S`` for univariate data, else ``M``).
    """

    protocol: str = DEFAULT_PROTOCOL
    horizons: tuple[int, ...] | None = None
    split: tuple[float, float, float] | str | None = None
    features: str | None = None

    @classmethod
    def from_options(
        cls,
        protocol: str | None = None,
        horizons: str | Sequence[int] | None = None,
        split: str | Sequence[float] | None = None,
        features: str | None = None,
    ) -> ForecastingSetting:
        """A validated setting from command-line text (``"24,36"``, ``"0.7,0.1,0.2"``) or Python values.

        Raises:
            ConfigError: An unknown protocol or feature mode, bad horizons or a bad split (naming the option).
        """
        name = protocol if protocol is not None else DEFAULT_PROTOCOL
        get_protocol(name)
        if features is not None and features not in FEATURE_MODES:
            raise ConfigError(
                f"features (--features) must be one of {', '.join(FEATURE_MODES)} but got {features!r}",
                "M: " + FEATURE_MODES["M"] + "; MS: " + FEATURE_MODES["MS"] + "; S: " + FEATURE_MODES["S"],
            )
        return cls(name, parse_horizons(horizons), parse_split(split), features)

    @property
    def is_default(self) -> bool:
        """Whether nothing but the default protocol was chosen (the numbers of the reference's protocol)."""
        return self == ForecastingSetting(features=self.features) and self.features in (None, "S", "M")

    def label(self) -> str:
        """A short stable name of the choices that differ from the defaults (``ltsf-h24-36-MS``); empty if none."""
        parts = [] if self.protocol == DEFAULT_PROTOCOL else [self.protocol]
        if self.horizons is not None:
            parts.append("h" + "-".join(map(str, self.horizons)))
        if isinstance(self.split, str):
            parts.append(f"split-{self.split}")
        elif self.split is not None:
            parts.append("split" + "-".join(f"{f:g}" for f in self.split))
        if self.features == "MS":
            parts.append("MS")
        return "-".join(parts)

    def resolve(self, dataset: str, n_rows: int, univariate: bool) -> ResolvedSetting:
        """Rows and horizons of ``dataset`` (``n_rows`` long) under this setting.

        Raises:
            DataError: Too few rows for the split.
        """
        protocol = get_protocol(self.protocol)
        if isinstance(self.split, str):
            bounds = get_protocol(self.split).bounds(dataset, n_rows)
        else:
            bounds = protocol.bounds(dataset, n_rows, self.split)
        splits = (slice(0, bounds.train_end), slice(bounds.train_end, bounds.valid_end),
                  slice(bounds.valid_end, bounds.test_end))  # fmt: skip
        horizons = self.horizons or protocol.horizons_for(dataset)
        features = self.features or ("S" if univariate else "M")
        return ResolvedSetting(protocol.name, splits, bounds.label, horizons, features)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready choices (sweep keys and ``metrics.json``)."""
        split = list(self.split) if isinstance(self.split, tuple) else self.split
        horizons = list(self.horizons) if self.horizons is not None else None
        return {"protocol": self.protocol, "horizons": horizons, "split": split, "features": self.features}


def longest_horizon(splits: Sequence[slice], padding: int = ENCODING_PADDING) -> tuple[int, str]:
    """The longest horizon every split yields a sample for, and the split that limits it.

    A sample at t needs t+1 .. t+H inside its split; the train split also drops its first ``padding`` rows.
    """
    train, valid, test = splits
    limits = {
        "train": train.stop - train.start - padding - 1,
        "valid": valid.stop - valid.start - 1,
        "test": test.stop - test.start - 1,
    }
    split = min(limits, key=lambda name: limits[name])
    return limits[split], split


def parse_horizons(value: str | Sequence[int] | None) -> tuple[int, ...] | None:
    """``"24,36,48"`` or ``[24, 36, 48]`` as distinct positive ints in increasing order (None stays None).

    Raises:
        ConfigError: Not a list of positive integers, or a repeated one.
    """
    if value is None:
        return None
    items = [item.strip() for item in value.split(",")] if isinstance(value, str) else list(value)
    horizons: list[int] = []
    for item in items:
        number = _whole(item)
        if number is None or number < 1:
            raise ConfigError(
                f"horizons (--horizons) must be positive integers separated by commas but got {item!r}",
                "e.g. --horizons 24,36,48,60",
            )
        horizons.append(number)
    if not horizons or len(set(horizons)) != len(horizons):
        raise ConfigError(
            f"horizons (--horizons) must be distinct positive integers but got {value!r}", "e.g. --horizons 24,48"
        )
    return tuple(sorted(horizons))


def _whole(item: Any) -> int | None:
    if isinstance(item, bool):
        return None
    if isinstance(item, int):
        return item
    if isinstance(item, str) and re.fullmatch(r"\d+", item):
        return int(item)
    return None


def parse_split(value: str | Sequence[float] | None) -> tuple[float, float, float] | str | None:
    """Three fractions ``"0.7,0.1,0.2"`` (each > 0, summing to 1), or a protocol name whose split to use.

    Raises:
        ConfigError: Anything else (naming ``split (--split)``).
    """
    if value is None:
        return None
    if isinstance(value, str) and value in _table():
        return value
    hint = f"e.g. --split 0.7,0.1,0.2, or a protocol's split: --split {' or --split '.join(list_protocols())}"
    items = value.split(",") if isinstance(value, str) else list(value)
    try:
        fractions = tuple(float(item) for item in items)
    except (TypeError, ValueError):
        raise ConfigError(
            f"split (--split) must be train,valid,test fractions or a protocol but got {value!r}", hint
        ) from None
    if len(fractions) != 3 or not all(0 < f < 1 for f in fractions) or abs(sum(fractions) - 1) > 1e-6:
        raise ConfigError(f"split (--split) must be three fractions in (0, 1) summing to 1 but got {value!r}", hint)
    return (fractions[0], fractions[1], fractions[2])


def list_protocols() -> list[str]:
    """Names of the protocols in the table, sorted."""
    return sorted(_table())


def get_protocol(name: str) -> ForecastingProtocol:
    """The protocol ``name``; ConfigError listing the valid names when unknown."""
    table = _table()
    if name not in table:
        raise ConfigError(
            f"protocol (--protocol) must be one of {', '.join(sorted(table))} but got {name!r}",
            f"e.g. --protocol {DEFAULT_PROTOCOL} (the default)",
        )
    return table[name]


@cache
def _table() -> dict[str, ForecastingProtocol]:
    table = resources.files("tscl").joinpath("data", "tables", "forecasting_protocols.toml")
    text = table.read_text(encoding="utf-8")
    return {name: _protocol(name, entry) for name, entry in tomllib.loads(text).items()}


def _protocol(name: str, entry: dict[str, Any]) -> ForecastingProtocol:
    if entry["rounding"] not in _ROUNDINGS:  # the packaged table is ours: an internal invariant
        raise AssertionError(f"protocol {name}: rounding must be one of {_ROUNDINGS}")
    rules = tuple(
        _Rule(
            re.compile(rule["datasets"], re.IGNORECASE),
            tuple(rule["split_rows"]) if "split_rows" in rule else None,  # type: ignore[arg-type]
            rule.get("split_label"),
            tuple(rule["horizons"]) if "horizons" in rule else None,
        )
        for rule in entry.get("rules", [])
    )
    split = tuple(float(f) for f in entry["split"])
    return ForecastingProtocol(name, entry["title"], entry["reference"], (split[0], split[1], split[2]),
                               entry["rounding"], tuple(entry["horizons"]), rules)  # fmt: skip
