"""Formatting shared by the tasks' report tables (each task builds its own tables from stored metric dicts,
so ``tscl report`` can re-render metrics.json without recomputing anything)."""

from __future__ import annotations

from typing import Any

__all__ = ["MISSING", "best_cells", "format_metric"]

MISSING = "—"


def format_metric(value: Any, digits: int = 3) -> str:
    """A metric as fixed-point text; None / NaN / missing as an em dash."""
    if value is None:
        return MISSING
    number = float(value)
    return MISSING if number != number else f"{number:.{digits}f}"


def _best(values: list[Any], lower_is_better: bool) -> float | None:
    """The best finite value of a row (None when fewer than two finite values compete)."""
    finite = [float(v) for v in values if v is not None and float(v) == float(v)]
    if len(finite) < 2:
        return None
    return min(finite) if lower_is_better else max(finite)


def best_cells(values: list[Any], digits: int, lower_is_better: bool) -> list[str]:
    """Formatted cells of one row of competing results, the best value in bold."""
    best = _best(values, lower_is_better)
    cells = []
    for value in values:
        text = format_metric(value, digits)
        is_best = best is not None and value is not None and float(value) == best
        cells.append(f"[bold]{text}[/bold]" if is_best else text)
    return cells
