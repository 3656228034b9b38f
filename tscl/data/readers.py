"""Readers for labelled series files: one function per format, all returning the same ``LabeledSeries``.

Every reader returns ``X`` as float32 ``[N, T, C]`` (NaN for missing values, trailing NaN padding for unequal
lengths) and the labels as strings exactly as written in the file. Labels become integers only in
:func:`encode_labels`, which sees the train and test labels together. Malformed input raises
:class:`~tscl.errors.DataError` naming the file, the line or case, and what was expected versus found.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tscl.errors import DataError

CLASSIFICATION_SUFFIXES = (".tsv", ".ts", ".arff", ".npy", ".npz")
_MISSING_TOKENS = frozenset({"", "?", "nan", "NaN", "NAN"})


@dataclass(frozen=True)
class LabeledSeries:
    """The content of one classification file.

    Attributes:
        X: float32 ``[N, T, C]``; NaN marks missing values and trailing padding.
        labels: ``[N]`` label strings as written in the file, or None for unlabelled data.
        class_names: sorted unique labels of this file (see :func:`sort_labels`); empty when unlabelled.
    """

    X: np.ndarray
    labels: np.ndarray | None
    class_names: list[str]


def labeled_series(X: np.ndarray, labels: Sequence[str] | None) -> LabeledSeries:
    """Build a :class:`LabeledSeries`, deriving the class names from the labels."""
    if labels is None:
        return LabeledSeries(X, None, [])
    label_array = np.asarray([str(label) for label in labels], dtype=object)
    return LabeledSeries(X, label_array, sort_labels(label_array))


def read_text(path: Path) -> str:
    """Read a text file, turning missing, empty and undecodable files into a DataError."""
    if not path.is_file():
        raise DataError(f"file {path} must exist but it was not found", "check the path or run `tscl data list`")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except OSError as exc:  # no permission, vanished, a special file
        raise DataError(
            f"{path} must be readable but got: {exc.strerror or exc}", "check the file's permissions"
        ) from exc
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{path} must be UTF-8 text but byte {exc.start} is not",
            "is this a binary or compressed file? unzip it first",
        ) from exc
    if not text.strip():
        raise DataError(
            f"{path} must contain data but it is empty", "check the path; re-create or re-download the file"
        )
    return text


FLOAT32_MAX = np.float64(np.finfo(np.float32).max)  # a float64 scalar: float16 input is compared without overflow


def out_of_range(values: np.ndarray) -> np.ndarray:
    """Mask of values that are infinite or too large for float32 (the data contract); NaN is not."""
    with np.errstate(invalid="ignore"):
        return np.abs(values) > FLOAT32_MAX


def range_problem(value: float) -> str:
    """``must ... but got ...`` wording for an out-of-range value (see :func:`out_of_range`)."""
    if np.isinf(value):
        return f"must be finite but got {value}"
    return f"must be within the float32 range (|x| <= {FLOAT32_MAX:.3g}) but got {value:.6g}"


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (at most 200 characters), or its type when it has none."""
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def parse_floats(fields: Sequence[str], path: Path, where: str, first_column: int = 1) -> np.ndarray:
    """Parse text fields as float64; '', '?' and 'NaN' become NaN.

    Args:
        fields: the value fields of one line.
        path: file being read (for the error message).
        where: location prefix such as ``"line 12"``.
        first_column: 1-based column number of ``fields[0]`` in the line.

    Raises:
        DataError: a field is not a number, or is infinite.
    """
    try:
        values = np.array(fields, dtype=np.float64)
    except ValueError:
        values = np.empty(len(fields), dtype=np.float64)
        for i, field in enumerate(fields):
            token = field.strip()
            if token in _MISSING_TOKENS:
                values[i] = math.nan
                continue
            try:
                values[i] = float(token)
            except ValueError:
                raise DataError(
                    f"{path} {where}, column {first_column + i} must be a number but got {token[:40]!r}",
                    "fix or remove that value; write missing values as NaN or ?",
                ) from None
    bad = out_of_range(values)
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{path} {where}, column {first_column + index} {range_problem(values[index])}",
            "replace infinite or huge values by NaN (missing) or a finite number",
        )
    return values


def pad_series(series: Sequence[np.ndarray]) -> np.ndarray:
    """Stack ``[T_i, C]`` arrays into float32 ``[N, max T_i, C]`` with trailing NaN padding."""
    n_channels = series[0].shape[1]
    length = max(s.shape[0] for s in series)
    out = np.full((len(series), length, n_channels), np.nan, dtype=np.float32)
    for i, s in enumerate(series):
        out[i, : s.shape[0]] = s
    return out


def sort_labels(labels: Sequence[str] | np.ndarray) -> list[str]:
    """Sorted unique labels: numerically when every label is a number (-1 < 1 < 2), else as strings."""
    unique = sorted({str(label) for label in labels})
    try:
        keyed = [(float(label), label) for label in unique]
    except ValueError:
        return unique
    return [label for _, label in sorted(keyed)]


def encode_labels(
    train: np.ndarray, test: np.ndarray | None, train_path: Path, test_path: Path | None
) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """Map labels to 0..K-1 by the sorted unique *train* labels.

    Returns:
        ``(y_train, y_test, class_names)`` with int64 label arrays.

    Raises:
        DataError: the test file holds labels the train file does not.
    """
    class_names = sort_labels(train)
    index = {name: i for i, name in enumerate(class_names)}
    y_train = np.array([index[str(label)] for label in train], dtype=np.int64)
    if test is None:
        return y_train, None, class_names
    unseen = sort_labels([label for label in test if str(label) not in index])
    if unseen:
        shown = ", ".join(repr(label) for label in unseen[:10])
        raise DataError(
            f"labels of {test_path} must all occur in {train_path} but got unseen {shown}",
            f"the train file has classes {', '.join(class_names[:20])}; check that the files belong together",
        )
    y_test = np.array([index[str(label)] for label in test], dtype=np.int64)
    return y_train, y_test, class_names


def read_ucr_tsv(path: Path) -> LabeledSeries:
    """Read a UCR 2018 ``.tsv`` file: one series per line, the first field is the label.

    Fields are tab separated (comma separated lines are accepted too). Rows may differ in length; shorter ones
    are NaN padded at the end.
    """
    text = read_text(path)
    rows: list[np.ndarray] = []
    labels: list[str] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t") if "\t" in line else line.split(",")
        while len(fields) > 1 and not fields[-1].strip():
            fields.pop()
        label = fields[0].strip()
        if not label:
            raise DataError(
                f"{path} line {lineno} must start with a class label but the first field is empty",
                "UCR .tsv lines are: label<TAB>value<TAB>value...",
            )
        if len(fields) < 2:
            raise DataError(
                f"{path} line {lineno} must hold a label and at least one value but got only {label[:40]!r}",
                "UCR .tsv lines are: label<TAB>value<TAB>value...",
            )
        rows.append(parse_floats(fields[1:], path, f"line {lineno}", first_column=2)[:, None])
        labels.append(label)
    return labeled_series(pad_series(rows), labels)


def read_npy(path: Path) -> LabeledSeries:
    """Read an unlabelled ``.npy`` array shaped ``[N, T, C]``, ``[N, T]`` or ``[T]``."""
    return labeled_series(as_series_array(_load_npy(path), path, "array"), None)


def read_npz(path: Path) -> tuple[LabeledSeries, LabeledSeries | None]:
    """Read a ``.npz`` with keys ``X`` (and optionally ``y``) or ``X_train, y_train, X_test, y_test``.

    Returns:
        ``(train, test)``; ``test`` is None when the archive has a single ``X``.
    """
    try:  # our own handle: numpy leaves its own open when the archive is damaged
        with open(path, "rb") as handle:
            loaded = np.load(handle, allow_pickle=False)
            if isinstance(loaded, np.ndarray):
                raise DataError(f"{path} must be a .npz archive but it is a .npy array", "rename it to .npy")
            with loaded as archive:
                arrays = {key: archive[key] for key in archive.files}
    except DataError:
        raise
    except Exception as exc:  # numpy, zipfile, zlib and tokenize raise many types on damaged files
        raise DataError(
            f"{path} must be a readable .npz archive but loading failed: {first_line(exc)}", _NPZ_HINT
        ) from exc
    if "X_train" in arrays:
        if "X_test" not in arrays:
            raise DataError(f"{path} must hold X_test next to X_train but got keys {sorted(arrays)}", _NPZ_HINT)
        train = _npz_part(arrays, path, "X_train", "y_train")
        return train, _npz_part(arrays, path, "X_test", "y_test")
    if "X" not in arrays:
        raise DataError(f"{path} must hold an array named X or X_train but got keys {sorted(arrays)}", _NPZ_HINT)
    return _npz_part(arrays, path, "X", "y"), None


_NPZ_HINT = "save with np.savez(path, X_train=, y_train=, X_test=, y_test=) or np.savez(path, X=, y=)"


def _load_npy(path: Path) -> np.ndarray:
    try:
        with open(path, "rb") as handle:
            array = np.load(handle, allow_pickle=False)
            if not isinstance(array, np.ndarray):  # np.load opens a .npz archive whatever the file is called
                array.close()
                raise DataError(f"{path} must be a .npy array but it is a .npz archive", "rename it to .npz")
    except DataError:
        raise
    except Exception as exc:  # numpy and tokenize raise many types on damaged headers
        raise DataError(
            f"{path} must be a numeric .npy array but loading failed: {first_line(exc)}",
            "save with np.save(path, X) where X is a float array [N, T, C]",
        ) from exc
    return array


def _npz_part(arrays: dict[str, np.ndarray], path: Path, x_key: str, y_key: str) -> LabeledSeries:
    X = as_series_array(arrays[x_key], path, x_key)
    if y_key not in arrays:
        return labeled_series(X, None)
    y = arrays[y_key]
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"{path} {y_key} must have shape [{len(X)}] but got {list(y.shape)}", _NPZ_HINT)
    return labeled_series(X, [_label_text(v) for v in y.tolist()])


def _label_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_series_array(array: np.ndarray, path: Path, key: str) -> np.ndarray:
    """Check and reshape a raw array to float32 ``[N, T, C]``."""
    if array.dtype.kind not in "biuf":
        raise DataError(f"{path} {key} must be numeric but got dtype {array.dtype}", _NPZ_HINT)
    if array.ndim == 1:
        array = array[None, :, None]
    elif array.ndim == 2:
        array = array[:, :, None]
    elif array.ndim != 3:
        raise DataError(f"{path} {key} must have shape [N, T, C], [N, T] or [T] but got {list(array.shape)}", _NPZ_HINT)
    if array.size == 0:
        raise DataError(f"{path} {key} must not be empty but got shape {list(array.shape)}", _NPZ_HINT)
    bad = out_of_range(array) if array.dtype.kind == "f" else np.zeros(array.shape, dtype=bool)
    if bad.any():
        first = np.argwhere(bad)[0]
        raise DataError(
            f"{path} {key} {range_problem(float(array[tuple(first)]))} at case {first[0]}, step {first[1]}",
            "replace infinite or huge values by NaN (missing) or a finite number",
        )
    return array.astype(np.float32)
