"""Hand-crafted views (tsaug pipeline) objective: transforms, seeding, NaN, alignment rule, resume."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tests.synthetic import random_walks as _data
from tscl.augment.pipeline import ViewPipeline, list_transforms, parse_augmentations
from tscl.errors import ConfigError
from tscl.model import ContrastiveModel
from tscl.objectives import create_objective, list_objectives

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"repr_dims": 16, "hidden_dims": 8, "depth": 2, "batch_size": 4, "device": "cpu"}


def _with_missing(n: int = 6, t: int = 50, c: int = 3) -> np.ndarray:
    x = _data(n, t, c)
    x[0, 40:] = np.nan  # variable length
    x[1, 5, c - 1] = np.nan  # one missing value
    return x


# -- the pipeline ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list_transforms())
def test_each_transform_is_seeded_and_keeps_shape(name: str) -> None:
    x = _with_missing()
    pipeline = ViewPipeline(name, n_covariates=1)
    state = np.random.get_state()
    a, b = pipeline(x, [7]), pipeline(x, [7])
    assert _same_state(state, np.random.get_state())  # numpy's global RNG is never used
    assert a.shape == x.shape and a.dtype == np.float32
    np.testing.assert_array_equal(a, b)  # same seed, same view (NaN compare equal here)
    assert np.isfinite(a[~np.isnan(a)]).all()
    if pipeline.time_aligned:
        np.testing.assert_array_equal(np.isnan(a), np.isnan(x))  # missing stays missing, nothing else
        np.testing.assert_array_equal(a[..., 0], x[..., 0])  # covariate channel untouched


def _same_state(a: tuple, b: tuple) -> bool:
    return all(np.array_equal(u, v) if isinstance(u, np.ndarray) else u == v for u, v in zip(a, b, strict=True))


@pytest.mark.parametrize("name", ["jitter", "scaling", "drift", "timewarp", "crop", "dropout"])
def test_random_transforms_differ_across_seeds(name: str) -> None:
    x = _data(4, 60, 2)
    pipeline = ViewPipeline(name)
    assert not np.allclose(pipeline(x, [1]), pipeline(x, [2]))


def test_time_moving_transforms_move_the_missing_mask() -> None:
    x = _data(2, 60, 1)
    x[:, 30:] = np.nan
    view = ViewPipeline("crop")(x, [3])
    observed = ~np.isnan(view[..., 0])
    assert observed[:, 0].all() and not observed[:, -1].any()  # the padding is still at the end
    # The 48-step crop starts at s <= 12 and keeps 30 - s observed steps, stretched by 60 / 48.
    assert ((observed.sum(axis=1) >= 22) & (observed.sum(axis=1) <= 38)).all()


def test_parse_errors_list_the_valid_names() -> None:
    assert parse_augmentations(" jitter, scaling ,") == ["jitter", "scaling"]
    with pytest.raises(ConfigError, match="crop, drift, dropout"):
        parse_augmentations("jitter,magwarp")
    with pytest.raises(ConfigError, match="at least one"):
        parse_augmentations(" , ")


# -- the objective --------------------------------------------------------------------------------------
def _encoder() -> torch.nn.Module:
    from tscl.models import create_encoder

    return create_encoder("ts2vec", input_dims=2, output_dims=8, hidden_dims=8, depth=1)


def test_hierarchical_loss_refuses_unaligned_views() -> None:
    assert "augment" in list_objectives()
    with pytest.raises(ConfigError, match="time-aligned"):
        create_objective("augment", _encoder(), augmentations="jitter,timewarp", loss="hierarchical")
    create_objective("augment", _encoder(), augmentations="jitter,drift", loss="hierarchical")
    with pytest.raises(ConfigError, match="loss must be one of"):
        create_objective("augment", _encoder(), loss="triplet")


@pytest.mark.parametrize(
    ("loss", "augmentations"),
    [("infonce", "jitter,scaling,timewarp"), ("dcl", "crop,jitter"), ("siglip", "drift"), ("hierarchical", "jitter")],
)
def test_every_loss_trains_with_missing_values(loss: str, augmentations: str) -> None:
    options = {"loss": loss, "augmentations": augmentations, "window": 30}
    model = ContrastiveModel(**SMALL, objective="augment", objective_options=options).fit(_with_missing(), n_iters=3)
    assert all(np.isfinite(model.progress.losses))
    assert np.isfinite(model.encode(_with_missing())).all()


# Every combination of transforms with every instance-level loss: all 511 non-empty subsets through the
# pipeline (cheap), and a short training run for each loss with every pair and with all nine at once.
def test_every_subset_of_transforms_gives_valid_views() -> None:
    x = _with_missing(n=3, t=24)
    names = list_transforms()
    for size in range(1, len(names) + 1):
        for subset in itertools.combinations(names, size):
            pipeline = ViewPipeline(",".join(subset), n_covariates=1)
            view = pipeline(x, list(range(len(subset))))
            assert view.shape == x.shape and view.dtype == np.float32, subset
            assert np.isfinite(view[~np.isnan(view)]).all(), subset
            if pipeline.time_aligned:
                np.testing.assert_array_equal(np.isnan(view), np.isnan(x), err_msg=str(subset))


_PAIRS = [",".join(pair) for pair in itertools.combinations(list_transforms(), 2)]


@pytest.mark.parametrize("augmentations", [*_PAIRS, ",".join(list_transforms())])
@pytest.mark.parametrize("loss", ["infonce", "dcl", "siglip"])
def test_every_loss_trains_with_every_combination_of_transforms(loss: str, augmentations: str) -> None:
    options = {"loss": loss, "augmentations": augmentations, "window": 20}
    model = ContrastiveModel(**SMALL, objective="augment", objective_options=options)
    model.fit(_with_missing(n=4, t=30), n_iters=2)
    assert all(np.isfinite(model.progress.losses))


def test_views_are_independent_and_reproducible() -> None:
    objective = create_objective("augment", _encoder(), augmentations="jitter,scaling")
    x = torch.from_numpy(_data(4, 30, 2))
    v1, v2 = objective.views(x, torch.Generator().manual_seed(0))  # type: ignore[attr-defined]
    w1, _ = objective.views(x, torch.Generator().manual_seed(0))  # type: ignore[attr-defined]
    assert not torch.allclose(v1, v2) and torch.equal(v1, w1)


def test_resume_equals_straight_run(tmp_path) -> None:
    X = _with_missing(n=10, t=40, c=2)
    options = {"loss": "siglip", "augmentations": "jitter,timewarp,dropout"}
    straight = ContrastiveModel(**SMALL, objective="augment", objective_options=options).fit(X, n_iters=6)
    first = ContrastiveModel(**SMALL, objective="augment", objective_options=options).fit(X, n_iters=3)
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(X, n_iters=6)
    for key, value in straight.net.state_dict().items():
        assert torch.allclose(value, resumed.net.state_dict()[key], atol=1e-6), key
    for key, value in straight.objective.loss.state_dict().items():  # type: ignore[attr-defined]
        assert torch.allclose(value, resumed.objective.loss.state_dict()[key], atol=1e-6), key  # type: ignore[attr-defined]
    assert resumed.progress.losses == pytest.approx(straight.progress.losses)


def test_run_layer_passes_augmentations(tmp_path) -> None:
    from tscl.pretraining import pretrain
    from tscl.training.config import PretrainConfig

    config = PretrainConfig(
        dataset="BasicMotions", objective="augment", augmentations="drift,quantize", loss="dcl", iters=2,
        repr_dims=8, hidden_dims=8, depth=1, device="cpu",
    )  # fmt: skip
    result = pretrain(config, run_dir=tmp_path / "run")
    assert result.steps == 2 and 'augmentations = "drift,quantize"' in (result.run_dir / "config.toml").read_text()
    with pytest.raises(ConfigError, match="local_weight must not be set for objective augment"):
        pretrain(config.replace(local_weight=0.5), run_dir=tmp_path / "other")
