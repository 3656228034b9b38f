"""Tests that report tables render stored metric dicts."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from tscl.tasks import create_task
from tscl.tasks.classification import classification_table
from tscl.tasks.forecasting import forecasting_table
from tscl.tasks.report import best_cells, format_metric


def _text(table: Table) -> str:
    console = Console(record=True, width=200)
    console.print(table)
    return console.export_text()


def _forecast(mse: float, mae: float) -> dict:
    entry = {"mse": mse, "mae": mae, "mse_raw": mse * 10, "mae_raw": mae * 10, "valid_mse": mse / 2,
             "valid_mae": mae / 2, "alpha": 1.0}  # fmt: skip
    return {"task": "forecasting", "horizons": {"24": entry, "48": entry}, "mean": entry}


def test_forecasting_table_renders_every_number_and_the_paper_column() -> None:
    results = {"tscl": _forecast(0.0412, 0.1556), "raw input": _forecast(0.0873, 0.2211)}
    paper = create_task("forecasting").published("ts2vec", "ETTh1", univariate=True)
    text = _text(forecasting_table(results, paper=paper))
    for number in ("0.041", "0.156", "0.087", "0.221", "0.039", "0.152", "0.110", "0.252"):
        assert number in text
    assert "tscl MSE" in text and "paper MAE" in text and "mean" in text
    assert "168" in text and "—" in text  # paper-only horizon; missing results as a dash


def test_forecasting_table_raw_scale_hides_the_paper() -> None:
    text = _text(forecasting_table({"tscl": _forecast(0.0412, 0.1556)}, paper={"mean": {"mse": 1}}, raw=True))
    assert "0.412" in text and "1.556" in text and "paper" not in text and "raw" in text


def test_forecasting_table_validation_split_shows_the_validation_errors_without_the_paper() -> None:
    table = forecasting_table({"tscl": _forecast(0.0412, 0.1556)}, paper={"mean": {"mse": 1}}, valid=True)
    text = _text(table)
    assert "0.021" in text and "0.078" in text and "0.041" not in text
    assert "paper" not in text and "validation" in text and "tscl MSE" in text


def test_classification_table() -> None:
    results = {
        "tscl": {"task": "classification", "accuracy": 0.9733, "auprc": 0.9912, "head": "svm"},
        "raw input": {"task": "classification", "accuracy": 0.9133, "auprc": None, "head": "svm"},
    }
    text = _text(classification_table(results, paper={"accuracy": 0.98}))
    for expected in ("0.973", "0.991", "0.913", "0.980", "—", "svm", "AUPRC", "paper"):
        assert expected in text


def test_format_metric() -> None:
    assert format_metric(None) == "—"
    assert format_metric(float("nan")) == "—"
    assert format_metric(0.12345, digits=2) == "0.12"


def test_best_cells_bold_the_best_of_two_or_more_finite_values() -> None:
    assert best_cells([0.2, 0.1, None], 2, lower_is_better=True) == ["0.20", "[bold]0.10[/bold]", "—"]
    assert best_cells([0.2, 0.1], 1, lower_is_better=False) == ["[bold]0.2[/bold]", "0.1"]
    assert best_cells([0.2, float("nan")], 2, lower_is_better=True) == ["0.20", "—"]  # nothing competes


def test_label_efficiency_table_keeps_every_number_whole_at_80_columns() -> None:
    """At 80 columns (a terminal, a pipe) the rows count and each mean and std stay whole (they used to be
    cut: 1367 shown as 1, 0.744±0.012 as 0.744±0.)."""
    from tscl.tasks import task_named
    from tscl.tasks.report import fitted

    summary = {key: {"mean": 0.7444, "std": 0.0123} for key in ("accuracy", "macro_f1", "auroc", "auprc",
                                                                "valid_macro_f1")}  # fmt: skip
    metrics = {
        "task": "label-efficiency",
        "dataset": "watch",
        "objective": "ts2vec",
        "protocols": ["linear"],
        "seeds": 3,
        "labelled_rows": {"1.0": 1367},
        "results": {"1.0": {"linear": {"tscl": summary, "random init": summary, "raw input": summary}}},
    }
    for width in (80, 70):
        (table,) = task_named("label-efficiency").tables(metrics)
        console = Console(record=True, width=width, file=io.StringIO())
        console.print(fitted(table, width))
        text = console.export_text()
        assert max(len(line) for line in text.splitlines()) <= width
        cells = text.replace("│", " ").split()
        assert "1367" in cells and cells.count("0.744") == 15 and cells.count("±0.012") == 15, text
