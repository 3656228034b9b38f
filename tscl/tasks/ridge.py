"""Ridge regression for the forecasting head, solved for a whole grid of penalties at once.

The TS2Vec forecasting protocol (Yue et al., AAAI 2022) fits one ridge regression per penalty in
{0.1, ..., 1000}, picks the penalty with the lowest RMSE + MAE on the validation split and refits on the
training split. Fitting thirteen independent ``sklearn.linear_model.Ridge`` models on up to 100 000 x 320
features with up to 720 * 7 outputs repeats the expensive part (the Gram matrix and ``X^T Y``) thirteen
times. Here it is done once: with centred features ``Xc`` (a ridge with intercept is the centred solve) and
the eigendecomposition ``Xc^T Xc = V diag(lam) V^T``, the coefficients for any penalty are
``V diag(1 / (lam + alpha)) V^T Xc^T Y`` — the same solution as sklearn's ``Ridge(alpha)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from tscl.errors import ConfigError

DEFAULT_ALPHAS: tuple[float, ...] = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
_CHUNK_ELEMENTS = 4_000_000  # rows per chunk x outputs: bounds the float64 temporaries to ~32 MB


@dataclass(frozen=True)
class RidgeModel:
    """A fitted linear map ``Y = X @ coef.T + intercept`` (the attributes of sklearn's ``Ridge``).

    Attributes:
        coef: Coefficients, float64 ``[P, D]`` (P outputs, D features).
        intercept: Intercepts, float64 ``[P]``.
        alpha: The L2 penalty the model was fitted with.
    """

    coef: np.ndarray
    intercept: np.ndarray
    alpha: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predict outputs ``[M, P]`` (float64) for features ``X`` ``[M, D]``."""
        return np.asarray(X, dtype=np.float64) @ self.coef.T + self.intercept


class RidgePath:
    """Ridge solutions for any penalty from one eigendecomposition of the centred training features.

    Computation is in float64 whatever the input dtype; ``Y`` is converted chunk by chunk so no float64 copy
    of a large target matrix is made.

    Args:
        X: Training features ``[N, D]``.
        Y: Training targets ``[N, P]``.
    """

    def __init__(self, X: np.ndarray, Y: np.ndarray) -> None:
        if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0] or X.shape[0] == 0:
            raise ConfigError(
                f"`X` and `Y` must be non-empty 2-D arrays with the same number of rows "
                f"but got shapes {X.shape} and {Y.shape}"
            )
        self.x_mean = X.mean(axis=0, dtype=np.float64)
        self.y_mean = Y.mean(axis=0, dtype=np.float64)
        centred = X.astype(np.float64) - self.x_mean
        eigvals, self.basis = np.linalg.eigh(centred.T @ centred)
        # Round-off can make the smallest eigenvalues of a PSD matrix slightly negative.
        self.eigvals = np.clip(eigvals, 0.0, None)
        # Xc^T (Y - y_mean) == Xc^T Y because the columns of Xc sum to zero.
        xty = np.zeros((X.shape[1], Y.shape[1]))
        for rows in _row_chunks(Y.shape[0], Y.shape[1]):
            xty += centred[rows].T @ Y[rows].astype(np.float64)
        self.projected_xty = self.basis.T @ xty  # [D, P]

    def model(self, alpha: float) -> RidgeModel:
        """The ridge model with penalty ``alpha`` (equal to sklearn ``Ridge(alpha).fit(X, Y)``)."""
        coef = self.basis @ (self.projected_xty / (self.eigvals + alpha)[:, None])  # [D, P]
        return RidgeModel(coef=coef.T, intercept=self.y_mean - self.x_mean @ coef, alpha=float(alpha))

    def validation_scores(self, X: np.ndarray, Y: np.ndarray, alphas: Sequence[float]) -> list[float]:
        """RMSE + MAE of each penalty's predictions of ``Y`` ``[M, P]`` from ``X`` ``[M, D]``."""
        rotated = (X.astype(np.float64) - self.x_mean) @ self.basis  # [M, D]
        scores = []
        for alpha in alphas:
            weights = self.projected_xty / (self.eigvals + alpha)[:, None]
            squared, absolute = 0.0, 0.0
            for rows in _row_chunks(Y.shape[0], Y.shape[1]):
                error = rotated[rows] @ weights + self.y_mean - Y[rows]
                squared += float(np.square(error).sum())
                absolute += float(np.abs(error).sum())
            scores.append(float(np.sqrt(squared / Y.size) + absolute / Y.size))
        return scores


def fit_ridge_validated(
    Xtr: np.ndarray,
    Ytr: np.ndarray,
    Xva: np.ndarray,
    Yva: np.ndarray,
    alphas: Sequence[float] = DEFAULT_ALPHAS,
    max_samples: int = 100_000,
    seed: int = 0,
) -> tuple[RidgeModel, float, dict[float, float]]:
    """Fit the protocol's ridge head: penalty chosen on validation only, model fitted on train.

    Train and validation are each subsampled to at most ``max_samples`` rows exactly as
    ``train_test_split(X, Y, train_size=max_samples, random_state=seed)`` would (seed 0 is the reference).

    Args:
        Xtr: Training features ``[N, D]``.
        Ytr: Training targets ``[N, P]``.
        Xva: Validation features ``[M, D]``.
        Yva: Validation targets ``[M, P]``.
        alphas: Candidate L2 penalties, all > 0.
        max_samples: Row cap for each of train and validation.
        seed: ``random_state`` of the subsampling split.

    Returns:
        ``(model, chosen_alpha, scores)`` where ``scores`` maps each penalty to its validation RMSE + MAE and
        ``chosen_alpha`` is the first penalty with the lowest score.

    Raises:
        ConfigError: If ``alphas`` is empty or holds a non-positive value, or shapes are inconsistent.
    """
    if len(alphas) == 0 or min(alphas) <= 0:
        raise ConfigError(f"`alphas` must be a non-empty list of positive penalties but got {list(alphas)}")
    if Xva.shape[0] != Yva.shape[0] or Xva.shape[1:] != Xtr.shape[1:] or Yva.shape[1:] != Ytr.shape[1:]:
        raise ConfigError(
            f"validation arrays must match the training layout but got X {Xva.shape}, Y {Yva.shape} "
            f"against X {Xtr.shape}, Y {Ytr.shape}"
        )
    Xtr, Ytr = _subsample(Xtr, Ytr, max_samples, seed)
    Xva, Yva = _subsample(Xva, Yva, max_samples, seed)
    path = RidgePath(Xtr, Ytr)
    scores = path.validation_scores(Xva, Yva, alphas)
    chosen = float(alphas[int(np.argmin(scores))])
    return path.model(chosen), chosen, {float(a): s for a, s in zip(alphas, scores, strict=True)}


def _subsample(X: np.ndarray, Y: np.ndarray, max_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows kept by ``train_test_split(X, Y, train_size=max_samples, random_state=seed)``, in its order."""
    if X.shape[0] <= max_samples:
        return X, Y
    # Splitting indices selects the same rows as splitting the arrays, without copying the dropped part.
    kept = train_test_split(np.arange(X.shape[0]), train_size=max_samples, random_state=seed)[0]
    return X[kept], Y[kept]


def _row_chunks(n_rows: int, n_cols: int) -> list[slice]:
    """Row slices covering ``n_rows`` with at most ~``_CHUNK_ELEMENTS`` elements each."""
    step = max(1, _CHUNK_ELEMENTS // max(1, n_cols))
    return [slice(start, min(start + step, n_rows)) for start in range(0, n_rows, step)]
