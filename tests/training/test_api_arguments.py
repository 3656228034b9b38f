"""The Python API refuses bad call arguments by name, as tscl errors, instead of failing inside torch or
returning a wrong result."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.synthetic import random_walks
from tscl.errors import ConfigError, DataError
from tscl.training.model import ContrastiveModel

SMALL = {"repr_dims": 16, "hidden_dims": 8, "depth": 2, "batch_size": 4, "device": "cpu", "threads": 1}


@pytest.fixture(scope="module")
def fitted() -> ContrastiveModel:
    return ContrastiveModel(**SMALL).fit(random_walks(8, 30, 2), n_iters=1)


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "8"])
def test_encode_refuses_a_bad_batch_size(fitted: ContrastiveModel, batch_size: object) -> None:
    with pytest.raises(ConfigError, match="batch_size must be a positive integer"):
        fitted.encode(random_walks(3, 30, 2), batch_size=batch_size)  # type: ignore[arg-type]


@pytest.mark.parametrize("window", [0, -1, 5.5])
def test_encode_refuses_a_bad_causal_window(fitted: ContrastiveModel, window: object) -> None:
    with pytest.raises(ConfigError, match="causal_window must be a positive integer"):
        fitted.encode(random_walks(3, 30, 2), mode="timestamp", causal_window=window)  # type: ignore[arg-type]


def test_encode_refuses_a_causal_window_without_timestamp_mode(fitted: ContrastiveModel) -> None:
    with pytest.raises(ConfigError, match="causal_window needs mode='timestamp'"):
        fitted.encode(random_walks(3, 30, 2), causal_window=5)


def test_encode_takes_numpy_integer_arguments(fitted: ContrastiveModel) -> None:
    X = random_walks(3, 30, 2)
    out = fitted.encode(X, mode="timestamp", causal_window=np.int64(4), batch_size=np.int32(2))  # type: ignore[arg-type]
    assert np.allclose(out, fitted.encode(X, mode="timestamp", causal_window=4), atol=1e-5)


@pytest.mark.parametrize(("name", "value"), [("n_iters", -1), ("n_iters", 1.5), ("n_epochs", -2), ("n_epochs", "3")])
def test_fit_refuses_a_bad_target(name: str, value: object) -> None:
    model = ContrastiveModel(**SMALL)
    with pytest.raises(ConfigError, match=f"{name} must be an integer >= 0"):
        model.fit(random_walks(8, 30, 2), **{name: value})  # type: ignore[arg-type]
    assert model.progress.step == 0


def test_fit_to_zero_iterations_builds_without_training() -> None:
    model = ContrastiveModel(**SMALL).fit(random_walks(8, 30, 2), n_iters=np.int64(0))  # type: ignore[arg-type]
    assert model.progress.step == 0
    assert model.encode(random_walks(2, 30, 2)).shape == (2, 16)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"iters": 5}, "must not be given iters: the training length is an argument of fit"),
        ({"epochs": 2}, "must not be given epochs"),
        ({"dataset": "GunPoint"}, "must not be given the run setting dataset"),
        ({"checkpoint_every": 5}, "must not be given the run setting checkpoint_every"),
        ({"repr_dim": 8}, "repr_dim is not an option of ContrastiveModel"),
    ],
)
def test_model_refuses_keywords_it_would_ignore(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        ContrastiveModel(**options)
    assert caught.value.hint


def test_model_suggests_the_keyword_meant() -> None:
    with pytest.raises(ConfigError) as caught:
        ContrastiveModel(repr_dim=8)
    assert caught.value.hint is not None and caught.value.hint.startswith("did you mean repr_dims?")
    assert "dataset" not in caught.value.hint  # run settings are not keywords of the model


def test_model_refuses_an_unknown_task() -> None:
    from tscl.tasks import list_tasks

    with pytest.raises(ConfigError, match="task must be one of") as caught:
        ContrastiveModel(task="forcasting")
    assert all(name in str(caught.value) for name in list_tasks())
    assert caught.value.hint == "did you mean forecasting?"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([[[1.0], [2.0]], [[1.0]]], "must be an array \\[N, T, C\\] of numbers but got list"),
        (np.array([["a", "b"]]), "must be an array \\[N, T, C\\] of numbers but got ndarray"),
        (np.ones((2, 30, 2), dtype=np.complex64), "must be real numbers but got complex64 values"),
        (np.ones((2, 0, 2), dtype=np.float32), "must have at least one time step but got shape \\(2, 0, 2\\)"),
    ],
)
def test_data_that_is_not_series_is_a_data_error(fitted: ContrastiveModel, data: object, message: str) -> None:
    with pytest.raises(DataError, match=message):
        fitted.encode(data)  # type: ignore[arg-type]


def test_fit_on_no_series_says_so() -> None:
    with pytest.raises(DataError, match="training data must hold at least one series but got shape \\(0, 30, 2\\)"):
        ContrastiveModel(**SMALL).fit(np.zeros((0, 30, 2), dtype=np.float32), n_iters=1)


def test_torch_tensors_are_encoded_like_their_arrays(fitted: ContrastiveModel) -> None:
    X = random_walks(3, 30, 2)
    tensor = torch.from_numpy(X).double().requires_grad_()
    assert np.array_equal(fitted.encode(tensor), fitted.encode(X))


@pytest.mark.parametrize("n_covariates", [-1, 1.5])
def test_model_refuses_a_bad_covariate_count(n_covariates: object) -> None:
    with pytest.raises(ConfigError, match="n_covariates must be an integer >= 0"):
        ContrastiveModel(n_covariates=n_covariates, **SMALL)  # type: ignore[arg-type]


def test_covariates_must_leave_a_series_channel() -> None:
    model = ContrastiveModel(n_covariates=2, **SMALL)
    with pytest.raises(DataError, match="more channels than n_covariates \\(2\\) but has 2 channels"):
        model.fit(random_walks(8, 30, 2), n_iters=1)
    assert ContrastiveModel(n_covariates=1, **SMALL).fit(random_walks(8, 30, 2), n_iters=1).progress.step == 1


def test_the_data_argument_is_annotated_as_what_is_accepted() -> None:
    import typing

    from numpy.typing import ArrayLike

    for method in (ContrastiveModel.fit, ContrastiveModel.encode):
        assert typing.get_type_hints(method)["X"] == ArrayLike, method.__name__


def test_repr_says_what_the_model_is(fitted: ContrastiveModel) -> None:
    text = repr(fitted)
    assert text.startswith("ContrastiveModel(")
    config = fitted.config
    for section in ("objective", "encoder", "loss", "views"):
        assert f"{section}={getattr(config, section).name!r}" in text
    assert "input_dims=2" in text and "device='cpu'" in text and "threads=1" in text and "step=1" in text


def test_no_series_encode_to_no_rows_of_the_representation_width(fitted: ContrastiveModel) -> None:
    empty = np.zeros((0, 30, 2), dtype=np.float32)
    assert fitted.encode(empty).shape == (0, 16)
    assert fitted.encode(empty, mode="timestamp").shape == (0, 30, 16)
    assert fitted.encode(empty, mode="timestamp", causal_window=5).shape == (0, 30, 16)
    assert fitted.encode(empty).dtype == fitted.encode(random_walks(1, 30, 2)).dtype
