"""Rich tables rendered purely from stored metric dicts (so ``tscl report`` can re-render metrics.json).

``results`` maps a column name ("tscl", "random init", "raw input", ...) to the dict returned by
``evaluate_forecasting`` / ``evaluate_classification``; ``paper`` is the matching published-numbers dict
(``paper_forecasting`` / ``paper_classification``) or None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.table import Table

__all__ = ["classification_table", "forecasting_table", "format_metric"]

_MISSING = "—"


def format_metric(value: Any, digits: int = 3) -> str:
    """A metric as fixed-point text; None / NaN / missing as an em dash."""
    if value is None:
        return _MISSING
    number = float(value)
    return _MISSING if number != number else f"{number:.{digits}f}"


def _best(values: list[Any], lower_is_better: bool) -> float | None:
    """The best finite value of a row (None when fewer than two finite values compete)."""
    finite = [float(v) for v in values if v is not None and float(v) == float(v)]
    if len(finite) < 2:
        return None
    return min(finite) if lower_is_better else max(finite)


def _cells(values: list[Any], digits: int, lower_is_better: bool) -> list[str]:
    """Formatted cells with the row's best value in bold."""
    best = _best(values, lower_is_better)
    cells = []
    for value in values:
        text = format_metric(value, digits)
        is_best = best is not None and value is not None and float(value) == best
        cells.append(f"[bold]{text}[/bold]" if is_best else text)
    return cells


def forecasting_table(
    results: Mapping[str, Mapping[str, Any]],
    paper: Mapping[str, Any] | None = None,
    raw: bool = False,
    title: str | None = None,
    digits: int = 3,
    valid: bool = False,
) -> Table:
    """Forecasting metrics: one row per horizon plus a mean row, MSE and MAE columns per result.

    Args:
        results: Column name -> ``evaluate_forecasting`` dict.
        paper: Published numbers (normalised scale) shaped like a result, or None; shown unless ``raw``.
        raw: Show ``mse_raw`` / ``mae_raw`` instead of the normalised metrics.
        title: Table title.
        digits: Decimals shown.
        valid: Show the validation-split errors ``valid_mse`` / ``valid_mae`` (normalised; no paper column).

    Returns:
        The rich table; the best value of each row and metric among ``results`` is bold.
    """
    keys = ("valid_mse", "valid_mae") if valid else ("mse_raw", "mae_raw") if raw else ("mse", "mae")
    columns: dict[str, Mapping[str, Any]] = dict(results)
    if paper is not None and not raw and not valid:
        columns["paper"] = paper
    scale = "validation split, normalised" if valid else "raw scale" if raw else "normalised scale"
    table = Table(title=title or f"Forecasting ({scale})")
    table.add_column("horizon", justify="right")
    for name in columns:
        for key in keys:
            table.add_column(f"{name} {key.removeprefix('valid_').split('_')[0].upper()}", justify="right")
    horizons = sorted({h for r in columns.values() for h in r.get("horizons", {})}, key=int)
    rows: list[tuple[str, list[Mapping[str, Any]]]] = [
        (h, [r.get("horizons", {}).get(h, {}) for r in columns.values()]) for h in horizons
    ]
    rows.append(("mean", [r.get("mean", {}) for r in columns.values()]))
    for index, (label, entries) in enumerate(rows):
        if index == len(rows) - 1:
            table.add_section()
        per_key = {
            key: _cells([e.get(key) for e in entries[: len(results)]], digits, lower_is_better=True)
            + [format_metric(e.get(key), digits) for e in entries[len(results) :]]
            for key in keys
        }
        cells = [per_key[key][i] for i in range(len(entries)) for key in keys]
        table.add_row(label, *cells)
    return table


def classification_table(
    results: Mapping[str, Mapping[str, Any]],
    paper: Mapping[str, Any] | None = None,
    title: str | None = None,
    digits: int = 3,
) -> Table:
    """Classification metrics: rows accuracy / AUPRC / head, one column per result (+ "paper").

    Args:
        results: Column name -> ``evaluate_classification`` dict.
        paper: Published numbers such as ``{"accuracy": 0.98}``, or None.
        title: Table title.
        digits: Decimals shown.

    Returns:
        The rich table; the best accuracy / AUPRC among ``results`` is bold.
    """
    columns: dict[str, Mapping[str, Any]] = dict(results)
    if paper is not None:
        columns["paper"] = paper
    table = Table(title=title or "Classification")
    table.add_column("metric")
    for name in columns:
        table.add_column(name, justify="right")
    for key, label in (("accuracy", "accuracy"), ("auprc", "AUPRC")):
        values = [columns[name].get(key) for name in columns]
        competing = _cells(values[: len(results)], digits, lower_is_better=False)
        table.add_row(label, *competing, *[format_metric(v, digits) for v in values[len(results) :]])
    cv_values = [columns[name].get("cv_accuracy") for name in results]
    if any(v is not None for v in cv_values):
        table.add_row("CV accuracy (train)", *_cells(cv_values, digits, lower_is_better=False),
                      *[_MISSING] * (len(columns) - len(results)))  # fmt: skip
    table.add_row("head", *[str(columns[name].get("head", _MISSING)) for name in columns])
    return table
