"""Tests that every evaluation plot writes a non-empty PNG atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tscl.errors import DataError
from tscl.tasks.plots import (
    plot_confusion_matrix,
    plot_embedding,
    plot_forecasts,
    plot_metric_by_horizon,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path: Path) -> None:
    assert path.exists() and path.stat().st_size > 1000
    assert path.read_bytes()[:8] == PNG_MAGIC
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left behind


def test_plot_forecasts(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    truth = {24: rng.normal(size=(3, 24, 2)), 48: rng.normal(size=(2, 48, 2))}
    pred = {h: v + 0.1 for h, v in truth.items()}
    history = {24: rng.normal(size=(3, 24, 2)), 48: rng.normal(size=(2, 48, 2))}
    _assert_png(plot_forecasts(truth, pred, tmp_path / "forecast.png", history=history, title="demo"))


def test_plot_metric_by_horizon(tmp_path: Path) -> None:
    results: dict[str, dict[str, Any]] = {
        "tscl": {"horizons": {"24": {"mse": 0.05}, "48": {"mse": 0.07}}},
        "raw input": {"horizons": {"24": {"mse": 0.08}, "48": {"mse": None}}},
        "paper": {"horizons": {"24": {"mse": 0.039}}},
    }
    _assert_png(plot_metric_by_horizon(results, tmp_path / "sub" / "mse.png"))


def test_plot_embedding(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    labels = np.arange(40) % 3
    reprs = rng.normal(size=(40, 16)) + labels[:, None]
    _assert_png(plot_embedding(reprs, labels, tmp_path / "pca.png", class_names=["a", "b", "c"]))
    with pytest.raises(DataError):
        plot_embedding(reprs, labels[:5], tmp_path / "bad.png")


def test_plot_confusion_matrix_overwrites(tmp_path: Path) -> None:
    target = tmp_path / "confusion.png"
    target.write_bytes(b"old")
    _assert_png(plot_confusion_matrix(np.array([[5, 1], [2, 7]]), target, class_names=["no", "yes"]))
