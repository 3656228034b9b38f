"""Formatting shared by the tasks' report tables (each task builds its own tables from stored metric dicts,
so ``tscl report`` can re-render metrics.json without recomputing anything)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text

__all__ = ["MISSING", "best_cells", "fitted", "format_metric"]

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


def _words(cell: Any) -> list[str]:
    """The words of a cell as shown (markup removed)."""
    if isinstance(cell, Text):
        return cell.plain.split()
    if isinstance(cell, str):
        try:
            return Text.from_markup(cell).plain.split()
        except Exception:  # not valid markup: shown as is
            return cell.split()
    return []


def fitted(table: Table) -> Table:
    """``table`` laid out so that no number is ever cut, whatever the width (an 80-column terminal, a pipe).

    Text columns (left-aligned: names, run directories, trial ids) fold long cells onto further lines.
    Numeric columns (right-aligned) never go narrower than their longest word, so a number such as 1367 or
    ``0.738`` stays whole; a cell of several words (``0.738 ±0.012``) wraps between them when space is short.
    """
    for column in table.columns:
        column.overflow = "fold"
        if column.justify == "right":
            column.no_wrap = False
            longest = max((len(word) for cell in column.cells for word in _words(cell)), default=0)
            if longest:
                column.min_width = max(column.min_width or 0, longest)
    return table
