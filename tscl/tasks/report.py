"""Formatting shared by the tasks' report tables (each task builds its own tables from stored metric dicts,
so ``tscl report`` can re-render metrics.json without recomputing anything)."""

from __future__ import annotations

import io
import re
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


def _longest(texts: list[str], words: bool) -> int:
    """The longest line (or word) of ``texts``."""
    return max((len(part) for text in texts for part in (text.split() if words else text.splitlines())), default=0)


def _share(hard: list[int], want: list[int], room: int) -> list[int]:
    """Widths from ``hard`` minimums towards ``want``, one character at a time to the narrowest column that
    still wants more, while ``room`` lasts."""
    widths = list(hard)
    spare = room - sum(widths)
    while spare > 0:
        growing = [i for i, width in enumerate(widths) if width < want[i]]
        if not growing:
            break
        widths[min(growing, key=lambda i: widths[i])] += 1
        spare -= 1
    return widths


def fitted(table: Table, width: int | None = None) -> Table:
    """``table`` laid out so that no number is ever cut, at any terminal width or in a pipe (80 columns).

    Numeric columns (right-aligned) are never wrapped nor cut. When the table is wider than ``width`` (the
    console's), numeric cells of several words (mean and ``±`` std) go one word a line, each numeric column
    keeps at least its longest number, and the other columns share the rest: text columns (names, run
    directories, trial ids) and headers fold onto further lines instead of being cut with "…".
    """
    for column in table.columns:
        column.overflow = "fold"
    numeric = [column.justify == "right" for column in table.columns]
    if width is None or _natural_width(table) <= width:
        for column, is_number in zip(table.columns, numeric, strict=True):
            column.no_wrap = is_number
        return table
    hard, want = [], []
    for column, is_number in zip(table.columns, numeric, strict=True):
        if is_number:
            column._cells = [_stacked(cell) for cell in column._cells]
        cells = [_plain(cell) for cell in column.cells]
        header = _plain(column.header)
        longest_number = _longest(cells, words=False) if is_number else 0
        hard.append(max(longest_number, 1))
        want.append(max(longest_number, _longest([header], words=True), _longest(cells, words=False)))
    padding = sum(table._get_padding_width(index) for index in range(len(table.columns)))
    room = width - table._extra_width - padding
    for column, size in zip(table.columns, _share(hard, want, room), strict=True):
        column.width = size
    return table
