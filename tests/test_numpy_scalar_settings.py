"""Settings given as numpy scalars (a loop over ``np.arange``, values from an array) are the numbers they are,
for the model, the run configuration and every component's options."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import tscl
from tests.synthetic import random_walks
from tscl.losses import LOSSES, create_loss, list_losses


def test_the_model_takes_numpy_integers() -> None:
    X = random_walks(8, 20, 2)
    small = {"device": "cpu", "batch_size": np.int64(4), "max_train_length": np.int32(64)}
    given = tscl.ContrastiveModel(seed=np.int64(3), threads=np.int64(1), repr_dims=np.int64(8), **small)
    plain = tscl.ContrastiveModel(seed=3, threads=1, repr_dims=8, device="cpu", batch_size=4, max_train_length=64)
    assert given.config == plain.config and given.threads == 1 and type(given.threads) is int
    assert np.array_equal(given.fit(X, n_iters=2).encode(X), plain.fit(X, n_iters=2).encode(X))


def test_the_run_configuration_and_components_take_numpy_scalars() -> None:
    config = tscl.RunConfig(iters=np.int64(3), lr=np.float32(0.5), seed=np.uint8(7))
    assert (config.iters, config.lr, config.seed) == (3, 0.5, 7) and type(config.iters) is int
    nested = tscl.RunConfig.model_validate({"encoder": {"name": "ts2vec", "options": {"depth": np.int64(2)}}})
    assert nested.encoder.options == {"depth": 2}
    for name in list_losses():  # every option at its default, as a numpy scalar
        defaults = LOSSES.entry(name).defaults()
        numbers = {k: np.float64(v) if type(v) is float else np.int64(v) for k, v in defaults.items()
                   if type(v) in (float, int)}  # fmt: skip
        create_loss(name, **numbers)


def test_run_functions_take_numpy_integers(tmp_path: Path) -> None:
    from tscl.seeds import check_eval_seed, check_seed

    assert check_seed(np.int64(5), "seed") == 5 and type(check_eval_seed(np.uint32(5), "seed")) is int
    grid = {"datasets": ["GunPoint"], "seeds": list(np.arange(2)), "base": {"batch_size": np.int64(4)}}
    result = tscl.run_sweep(grid, workers=np.int64(1), threads=np.int64(1), dry_run=True, output=tmp_path / "sw")
    assert [trial.seed for trial in result.trials] == [0, 1]
