"""The forecasting setting of an evaluation: checked before any work, recorded in metrics.json, stated in reports.

A setting (:class:`tscl.forecasting_protocols.ForecastingSetting`: protocol, horizons, split, feature
mode) is applied by the loader; here the loaded data is checked against it (every horizon must leave samples
in every split; the test split must not hold rows the encoder was pretrained on), and the metrics say which
setting they were computed under, so that reports and comparisons never mix settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from tscl.errors import ConfigError, DataError
from tscl.forecasting_protocols import (
    DEFAULT_PROTOCOL,
    ENCODING_PADDING,
    FEATURE_MODES,
    ForecastingSetting,
    get_protocol,
    longest_horizon,
)

__all__ = [
    "check_forecasting_data",
    "comparable_paper",
    "features_text",
    "protocol_text",
    "setting_record",
]

_SPLITS = ("train", "valid", "test")
_FEATURE_WORDS = {"S": "univariate", "M": "multivariate", "MS": "multivariate in, target out"}


def _slices(data: Any) -> tuple[slice, slice, slice]:
    return data.train_slice, data.valid_slice, data.test_slice


def check_forecasting_data(data: Any, own: bool) -> None:
    """Refuse, before any encoding, horizons the splits cannot serve and a test split the encoder has seen.

    Args:
        data: A loaded ``ForecastingData``.
        own: Whether ``data`` is the run's pretraining dataset (pretraining saw the rows of the TS2Vec
            protocol's train split).

    Raises:
        DataError: A horizon longer than the data allows (naming ``--horizons`` and the longest possible
            horizon), or the test split starting inside the pretraining rows (naming ``--split``).
    """
    longest, split = longest_horizon(_slices(data))
    rows = {name: s.stop - s.start for name, s in zip(_SPLITS, _slices(data), strict=True)}
    padding = f" minus {ENCODING_PADDING} padding rows" if split == "train" else ""
    if longest < 1:
        needed = ENCODING_PADDING + 2 if split == "train" else 2
        counted = f" ({ENCODING_PADDING} padding rows included)" if split == "train" else ""
        length = int(data.data.shape[1])
        shortest = ENCODING_PADDING + 6  # train 202 rows, valid and test 2 each: horizon 1
        hint = f"give the {split} split more rows, e.g. --split 0.7,0.1,0.2, or use a longer series"
        if length < shortest:  # no --split can help
            hint = f"{data.name} has {length} rows in all; forecasting evaluation needs a series of at least {shortest}"
        raise DataError(
            f"split (--split) must give the {split} split of {data.name} at least {needed} rows{counted} but it has "
            f"{rows[split]}: the longest horizon this data allows is 0",
            hint,
        )
    too_long = [h for h in data.horizons if h > longest]
    if too_long:
        fitting = [h for h in data.horizons if h <= longest][-4:] or [longest]
        raise DataError(
            f"horizons (--horizons) must be at most {longest} for {data.name} (the longest horizon this data "
            f"allows: its {split} split has {rows[split]} rows{padding}) but got {too_long[0]}",
            f"pass shorter horizons, e.g. --horizons {','.join(map(str, fitting))}, or lengthen the {split} "
            "split with --split",
        )
    if own:
        _check_unseen_test(data)


def _check_unseen_test(data: Any) -> None:
    from tscl.data.protocols import forecasting_splits

    length = int(data.data.shape[1])
    try:
        seen = forecasting_splits(data.name, length)[0].stop
    except DataError:  # pretraining could not have used this split either
        return
    if data.test_slice.start < seen:
        raise DataError(
            f"split (--split) must start the test split of {data.name} at or after row {seen}, where the rows the "
            f"encoder was pretrained on end, but it starts at row {data.test_slice.start}",
            f"give train and valid together at least {_up(seen / length)} of the rows with --split",
        )


def _up(fraction: float) -> str:
    """``fraction`` rounded up to three decimals (a hint's fraction must be enough, not almost)."""
    return f"{math.ceil(1000 * fraction) / 1000:g}"


def check_features(features: str | None, univariate: bool, pretrained_on: str) -> None:
    """A feature mode must match the run's inputs: ``S`` the target alone, ``M``/``MS`` every variable.

    Raises:
        ConfigError: naming ``--features`` and the modes the run allows.
    """
    if features is None or (features == "S") == univariate:
        return
    if univariate:
        raise ConfigError(
            f"features {features} (--features {features}) must come with a run pretrained on every variable but the "
            f"run was pretrained on the target of {pretrained_on} alone (--univariate)",
            "use --features S, or pretrain a run with --multivariate",
        )
    raise ConfigError(
        f"features S (--features S) must come with a run pretrained on the target alone but the run was pretrained "
        f"on every variable of {pretrained_on}",
        "use --features M or --features MS, or pretrain a run with --univariate",
    )


def comparable_paper(paper: dict[str, Any] | None, data: Any, setting: ForecastingSetting) -> dict[str, Any] | None:
    """The published numbers that are comparable with this setting: the TS2Vec protocol's split and feature
    modes only; with other horizons, the published ones among them (their mean only for the same set)."""
    if paper is None or getattr(data, "protocol", DEFAULT_PROTOCOL) != DEFAULT_PROTOCOL:
        return None
    if setting.split is not None or getattr(data, "feature_mode", "") == "MS":
        return None
    if setting.horizons is None:
        return paper
    evaluated = {str(h) for h in data.horizons}
    horizons = {h: v for h, v in paper["horizons"].items() if h in evaluated}
    if not horizons:
        return None
    same = set(paper["horizons"]) == evaluated
    return {"horizons": horizons, **({"mean": paper["mean"]} if same else {})}


def setting_record(data: Any) -> dict[str, Any]:
    """What metrics.json states about the setting: protocol, feature mode, target and split rows."""
    split = {name: [int(s.start), int(s.stop)] for name, s in zip(_SPLITS, _slices(data), strict=True)}
    features = getattr(data, "feature_mode", "S" if data.univariate else "M")
    return {
        "protocol": getattr(data, "protocol", DEFAULT_PROTOCOL),
        "features": features,
        "targets": list(data.target_names) if features != "M" else None,
        "split": {"rule": getattr(data, "split_label", ""), **split},
    }


def features_text(metrics: Mapping[str, Any]) -> str:
    """``univariate`` / ``multivariate`` (metrics of earlier versions), else with the mode: ``multivariate (M)``."""
    features = metrics.get("features")
    if features not in _FEATURE_WORDS:
        return "univariate" if metrics.get("univariate") else "multivariate"
    return f"{_FEATURE_WORDS[features]} ({features})"


def protocol_text(metrics: Mapping[str, Any]) -> str | None:
    """One sentence stating the protocol, split, horizons and feature mode (None for earlier metrics)."""
    name = metrics.get("protocol")
    if not isinstance(name, str):
        return None
    try:
        protocol = get_protocol(name)
        about = f" ({protocol.title}; {protocol.reference})"
    except ConfigError:
        about = ""
    split = metrics.get("split") or {}
    rows = ", ".join(f"{part} {split[part][0]}-{split[part][1]}" for part in _SPLITS if part in split)
    horizons = ", ".join(sorted(metrics.get("horizons", {}), key=int))
    features = metrics.get("features", "")
    targets = f" ({', '.join(metrics['targets'])})" if metrics.get("targets") else ""
    return (
        f"protocol {name}{about}; split {split.get('rule', '?')} (rows: {rows}); horizons {horizons}; "
        f"features {features}: {FEATURE_MODES.get(features, '?')}{targets}"
    )
