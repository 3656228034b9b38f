"""Published numbers for the reports' "paper" column (normalised test MSE / MAE; accuracies).

Sources: TS2Vec (Yue et al., AAAI 2022) and AutoTCL (Zheng et al., ICLR 2024) as transcribed in the project
specs (``spec/ts2vec.md``, ``spec/autotcl.md``). Only values stated there are listed; nothing is guessed.
"""

from __future__ import annotations

from typing import Any

# (dataset, univariate) -> {horizon: (mse, mae)}; TS2Vec.
PAPER_FORECASTING: dict[tuple[str, bool], dict[int, tuple[float, float]]] = {
    ("ETTh1", True): {
        24: (0.039, 0.152),
        48: (0.062, 0.191),
        168: (0.134, 0.282),
        336: (0.154, 0.310),
        720: (0.163, 0.327),
    },
    ("ETTh1", False): {
        24: (0.599, 0.534),
        48: (0.629, 0.555),
        168: (0.755, 0.636),
        336: (0.907, 0.717),
        720: (1.048, 0.790),
    },
    ("ETTh2", True): {
        24: (0.090, 0.229),
        48: (0.124, 0.273),
        168: (0.208, 0.360),
        336: (0.213, 0.369),
        720: (0.214, 0.374),
    },
    ("ETTm1", True): {
        24: (0.015, 0.092),
        48: (0.027, 0.126),
        96: (0.044, 0.161),
        288: (0.103, 0.246),
        672: (0.156, 0.307),
    },
}

# AutoTCL per-horizon results (only ETTh1 univariate is published per horizon).
PAPER_FORECASTING_AUTOTCL: dict[tuple[str, bool], dict[int, tuple[float, float]]] = {
    ("ETTh1", True): {
        24: (0.037, 0.148),
        48: (0.054, 0.176),
        168: (0.078, 0.210),
        336: (0.093, 0.231),
        720: (0.120, 0.272),
    },
}

# (objective, dataset, univariate) -> mean over horizons (mse, mae), where only the mean is published.
PAPER_FORECASTING_MEANS: dict[tuple[str, str, bool], tuple[float, float]] = {
    ("autotcl", "ETTh1", True): (0.076, 0.207),
    ("autotcl", "ETTh2", True): (0.158, 0.299),
    ("autotcl", "ETTm1", True): (0.046, 0.154),
    ("autotcl", "ETTh1", False): (0.656, 0.590),
    ("ts2vec", "ETTh1", True): (0.110, 0.252),
    ("ts2vec", "ETTh1", False): (0.788, 0.646),
}

_PER_HORIZON = {"ts2vec": PAPER_FORECASTING, "autotcl": PAPER_FORECASTING_AUTOTCL}

# UCR dataset name -> TS2Vec test accuracy (RBF-SVM protocol).
PAPER_CLASSIFICATION: dict[str, float] = {"GunPoint": 0.980}

# archive -> (average TS2Vec accuracy, number of datasets averaged).
PAPER_CLASSIFICATION_AVERAGES: dict[str, tuple[float, int]] = {"UCR": (0.830, 125), "UEA": (0.712, 29)}


def paper_forecasting(dataset: str, univariate: bool, objective: str = "ts2vec") -> dict[str, Any] | None:
    """Published forecasting numbers shaped like ``evaluate_forecasting``'s result, or None if unknown.

    Args:
        dataset: Dataset name, case-insensitive (``"ETTh1"``, ``"etth1"``).
        univariate: Univariate (True) or multivariate (False) setting.
        objective: ``"ts2vec"`` or ``"autotcl"``.

    Returns:
        ``{"horizons": {"24": {"mse": .., "mae": ..}, ...}, "mean": {"mse": .., "mae": ..}}``; ``horizons`` is
        empty when only the mean is published; the mean is the published one, else the average of horizons.
    """
    known = [key[0] for key in PAPER_FORECASTING] + [key[1] for key in PAPER_FORECASTING_MEANS]
    name = {n.lower(): n for n in known}.get(dataset.lower(), dataset)
    table = _PER_HORIZON.get(objective.lower(), {}).get((name, univariate), {})
    horizons = {str(h): {"mse": mse, "mae": mae} for h, (mse, mae) in sorted(table.items())}
    published = PAPER_FORECASTING_MEANS.get((objective.lower(), name, univariate))
    if published is not None:
        mean = {"mse": published[0], "mae": published[1]}
    elif horizons:
        mean = {m: round(sum(v[m] for v in horizons.values()) / len(horizons), 4) for m in ("mse", "mae")}
    else:
        return None
    return {"horizons": horizons, "mean": mean}


def paper_classification(dataset: str) -> dict[str, float] | None:
    """Published TS2Vec accuracy as ``{"accuracy": ..}`` for a UCR dataset name, or None if unknown."""
    lookup = {name.lower(): value for name, value in PAPER_CLASSIFICATION.items()}
    value = lookup.get(dataset.lower())
    return None if value is None else {"accuracy": value}
