"""Readers for the archive formats of timeseriesclassification.com: sktime/aeon ``.ts`` and Weka ``.arff``.

The ``.ts`` parser is our own so that each error names the file, the line, the case and expected versus found
(for example: ``case 12 (line 40) must have 3 dimensions but got 2``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tscl.data.readers import (
    LabeledSeries,
    first_line,
    labeled_series,
    out_of_range,
    pad_series,
    parse_floats,
    range_problem,
    read_text,
)
from tscl.errors import DataError

_TS_HINT = "see the .ts format: header lines @name value, then @data, one case per line, channels separated by ':'"


@dataclass
class _TsHeader:
    has_labels: bool = False
    declared_labels: list[str] = field(default_factory=list)
    dimensions: int | None = None
    equal_length: bool = False
    series_length: int | None = None


def read_ts(path: Path) -> LabeledSeries:
    """Read a sktime/aeon ``.ts`` file (``@classLabel true`` or unlabelled, equal or unequal length).

    Missing values written ``?`` or ``NaN`` become NaN; cases of different lengths are NaN padded at the end.
    The file is streamed twice: once to size the array, once to parse each case straight into it, so the
    memory used is the float32 array plus one line.
    """
    n_cases, length, dims = _measure(path)
    X = np.full((n_cases, length, dims), np.nan, dtype=np.float32)
    lines = _numbered_lines(path)
    header, _ = _parse_header(lines, path)
    labels: list[str] = []
    case = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # numpy's "could not be read to its end"
        for lineno, raw in lines:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            label = _parse_case(X[case], line, path, lineno, case + 1, header)
            case += 1
            if label is not None:
                labels.append(label)
    return labeled_series(X, labels if header.has_labels else None)


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """``(line number, line)`` of a UTF-8 text file, streamed; read problems become DataErrors."""
    read_text_head(path)
    lineno = 0
    try:
        with open(path, encoding="utf-8", errors="strict") as handle:
            for lineno, line in enumerate(handle, start=1):  # noqa: B007  (lineno is reported on errors)
                yield lineno, line
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} must be UTF-8 text but it is not (after line {lineno})",
            "is this a binary or compressed file? unzip it first",
        ) from exc
    except OSError as exc:
        raise DataError(f"{path} must be readable but got: {exc.strerror or exc}", "check the file") from exc


def read_text_head(path: Path, size: int = 1 << 16) -> None:
    """Check that a file exists, is readable and starts as non-empty UTF-8 text (for readers that stream)."""
    if not path.is_file():
        raise DataError(f"file {path} must exist but it was not found", "check the path or run `tscl data list`")
    try:
        with open(path, "rb") as handle:
            head = handle.read(size)
    except OSError as exc:
        raise DataError(
            f"{path} must be readable but got: {exc.strerror or exc}", "check the file's permissions"
        ) from exc
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if len(head) < size or exc.start < len(head) - 4:  # not a character cut by the end of the head
            raise DataError(
                f"{path} must be UTF-8 text but byte {exc.start} is not",
                "is this a binary or compressed file? unzip it first",
            ) from exc
        text = head[: exc.start].decode("utf-8")
    if len(head) < size and not text.strip():
        raise DataError(
            f"{path} must contain data but it is empty", "check the path; re-create or re-download the file"
        )


def _measure(path: Path) -> tuple[int, int, int]:
    """First pass: the number of cases, the longest channel and the most channels of any case."""
    lines = _numbered_lines(path)
    header, _ = _parse_header(lines, path)
    n_cases = length = dims = 0
    for _, raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split(":")
        if header.has_labels:
            parts.pop()
        n_cases += 1
        dims = max(dims, len(parts))
        length = max(length, max((part.count(",") + 1 for part in parts), default=0))
    if n_cases == 0:
        raise DataError(f"{path} must hold at least one case after @data but got none", _TS_HINT)
    return n_cases, length, dims


def _parse_header(lines: Iterator[tuple[int, str]], path: Path) -> tuple[_TsHeader, int]:
    """Read the ``@`` header from ``lines`` (consumed up to ``@data``); returns it and ``@data``'s line number."""
    header = _TsHeader()
    for lineno, raw in lines:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not line.startswith("@"):
            raise DataError(
                f"{path} line {lineno} must be a comment, a @header or @data but got {line[:40]!r}", _TS_HINT
            )
        key, _, value = line[1:].partition(" ")
        key, tokens = key.lower(), value.split()
        if key == "data":
            return header, lineno
        _apply_header_line(header, key, tokens, path, lineno)
    raise DataError(f"{path} must contain a @data line but none was found", _TS_HINT)


def _apply_header_line(header: _TsHeader, key: str, tokens: list[str], path: Path, lineno: int) -> None:
    where = f"{path} line {lineno}"
    if key == "classlabel":
        header.has_labels = bool(tokens) and tokens[0].lower() == "true"
        header.declared_labels = tokens[1:]
    elif key == "timestamps" and tokens and tokens[0].lower() == "true":
        raise DataError(f"{where} @timeStamps must be false but got true", "timestamped .ts files are not supported")
    elif key == "targetlabel" and tokens and tokens[0].lower() == "true":
        raise DataError(
            f"{where} must be a classification file but got @targetLabel true", "regression is not supported"
        )
    elif key == "equallength":
        header.equal_length = bool(tokens) and tokens[0].lower() == "true"
    elif key in ("dimensions", "serieslength"):
        if len(tokens) != 1 or not (tokens[0].isascii() and tokens[0].isdigit()):
            raise DataError(f"{where} @{key} must be a positive integer but got {' '.join(tokens)!r}", _TS_HINT)
        if key == "dimensions":
            header.dimensions = int(tokens[0])
        else:
            header.series_length = int(tokens[0])


def _parse_case(out: np.ndarray, line: str, path: Path, lineno: int, case: int, header: _TsHeader) -> str | None:
    """Parse one ``@data`` line into ``out`` (``[T, C]``, NaN filled) and return its label."""
    parts = line.split(":")
    label = None
    where = f"{path} case {case} (line {lineno})"
    if header.has_labels:
        label = parts.pop().strip()
        if header.declared_labels and label not in header.declared_labels:
            raise DataError(
                f"{where} label must be one of {', '.join(header.declared_labels[:20])} but got {label[:40]!r}",
                "fix the label or add it to the @classLabel line",
            )
    if not parts:
        raise DataError(f"{where} must hold values before the label but got only {line[:40]!r}", _TS_HINT)
    if header.dimensions is None:
        header.dimensions = len(parts)
    if len(parts) != header.dimensions:
        raise DataError(f"{where} must have {header.dimensions} dimensions but got {len(parts)}", _TS_HINT)
    values = _fast_case(parts)
    if values is None:  # missing-value tokens, ragged channels or a bad value: parse field by field
        channels = _slow_case(parts, path, case, lineno, where)
        _check_length([len(channel) for channel in channels], where, header)
        for dim, channel in enumerate(channels):
            out[: len(channel), dim] = channel
        return label
    _check_length([len(values)] * len(parts), where, header)
    out[: len(values), : len(parts)] = values
    return label


def _fast_case(parts: list[str]) -> np.ndarray | None:
    """``[T, C]`` float32 values of a case whose channels have equal lengths and hold only numbers (NaN
    included), parsed in one call; None when anything needs the careful parser."""
    counts = {part.count(",") for part in parts}
    if len(counts) != 1:
        return None
    length = counts.pop() + 1
    try:
        values = np.fromstring(",".join(parts), sep=",", dtype=np.float32)
    except (ValueError, DeprecationWarning):
        return None
    if values.size != length * len(parts) or np.isinf(values).any():
        return None
    return values.reshape(len(parts), length).T


def _slow_case(parts: list[str], path: Path, case: int, lineno: int, where: str) -> list[np.ndarray]:
    channels = []
    for dim, part in enumerate(parts, start=1):
        if not part.strip():
            raise DataError(f"{where} dimension {dim} must hold values but it is empty", _TS_HINT)
        channels.append(parse_floats(part.split(","), path, f"case {case} (line {lineno}) dimension {dim}"))
    return channels


def _check_length(lengths: list[int], where: str, header: _TsHeader) -> None:
    expected = header.series_length if header.equal_length else None
    if expected is None:
        return
    for dim, length in enumerate(lengths, start=1):
        if length != expected:
            raise DataError(
                f"{where} dimension {dim} must have length {expected} (@seriesLength) but got {length}",
                "the header says @equalLength true; fix the case or the header",
            )


def read_arff(path: Path) -> LabeledSeries:
    """Read a Weka ``.arff`` file: univariate (one numeric attribute per step) or multivariate (relational).

    The last attribute is the class label.
    """
    from scipy.io import arff  # local: scipy is only needed for this format

    read_text(path)  # uniform errors for missing, empty or binary files
    try:
        records, meta = arff.loadarff(path)
    except Exception as exc:  # scipy raises many types (even StopIteration) on malformed files
        raise DataError(
            f"{path} must be a valid ARFF file but the parser said: {first_line(exc)}",
            "check the @attribute lines and @data rows, or convert the file to .ts",
        ) from exc
    names = list(meta.names())
    if len(records) == 0 or len(names) < 2:
        raise DataError(f"{path} must hold at least one row and a class attribute but got none", "check the file")
    labels = [_decode(value) for value in records[names[-1]]]
    if records.dtype[names[0]].kind == "O":  # relational attribute: one [C] structured array per case
        cases = [_relational_case(records[names[0]][i]) for i in range(len(records))]
    else:
        steps = np.stack([records[name].astype(np.float64) for name in names[:-1]], axis=1)
        cases = [row[:, None] for row in steps]
    for i, case in enumerate(cases, start=1):
        bad = out_of_range(case)
        if bad.any():
            raise DataError(
                f"{path} case {i} {range_problem(float(case[bad][0]))}",
                "replace infinite or huge values by NaN",
            )
    return labeled_series(pad_series(cases), labels)


def _relational_case(case: np.ndarray) -> np.ndarray:
    """``[C]`` structured array with T float fields -> ``[T, C]``."""
    rows = np.array([list(channel) for channel in case], dtype=np.float64)
    return rows.T


def _decode(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
