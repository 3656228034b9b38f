"""Formatting shared by the tasks' report tables (each task builds its own tables from stored metric dicts,
so ``tscl report`` can re-render metrics.json without recomputing anything)."""

from __future__ import annotations

import io
import re
import textwrap
from typing import Any

from rich.console import Console
from rich.measure import Measurement
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


def _plain(cell: Any) -> str:
    """A cell as shown (markup removed); empty for renderables other than text."""
    if isinstance(cell, Text):
        return cell.plain
    if isinstance(cell, str):
        try:
            return Text.from_markup(cell).plain
        except Exception:  # not valid markup: shown as is
            return cell
    return ""


def _stacked(cell: Any) -> Any:
    """A numeric cell of several words (``0.738 ±0.012``, ``0.9 ± 0.01``) with one word a line (``±`` kept
    with the number after it); markup tags stay whole."""
    if not isinstance(cell, str):
        return cell
    return re.sub(r" +(?![^\[]*\])", "\n", re.sub(r"± +", "±", cell))


def _natural_width(table: Table) -> int:
    """The width ``table`` takes with no line wrapped."""
    console = Console(width=100_000, file=io.StringIO())
    return Measurement.get(console, console.options, table).maximum


def fitted(table: Table, width: int | None = None) -> Table:
    """``table`` laid out so that no number is ever cut, at any terminal width or in a pipe (80 columns).

    Numeric columns (right-aligned) are never wrapped nor cut: each is as wide as its longest line (its header
    wraps between words to fit). When the table is wider than ``width`` (the console's), numeric cells of
    several words (mean and ``±`` std) go one word a line. Text columns (names, run directories, trial ids)
    fold long cells onto further lines and take what narrowing remains.
    """
    for column in table.columns:
        column.overflow = "fold"
    numeric = [column for column in table.columns if column.justify == "right"]
    if width is not None and _natural_width(table) > width:
        for column in numeric:
            column._cells = [_stacked(cell) for cell in column._cells]
    for column in numeric:
        header = _plain(column.header)
        lines = [line for cell in column.cells for line in _plain(cell).splitlines()]
        words = header.replace("_", "_ ").split()  # a header such as valid_macro_f1 may wrap after "_"
        longest = max(map(len, [*lines, *words]), default=0)
        if not longest:
            continue
        if isinstance(column.header, str) and len(header) > longest:
            wrapped = textwrap.fill(" ".join(words), longest, break_long_words=False, break_on_hyphens=False)
            column.header = wrapped.replace("_ ", "_")
        column.no_wrap = True
        column.min_width = max(column.min_width or 0, longest)
    return table
