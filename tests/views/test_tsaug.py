"""The tsaug view maker: transforms, seeding, NaN, alignment, every combination of transforms."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tests.synthetic import random_walks as _data
from tscl.errors import ConfigError
from tscl.views import create_views, list_views
from tscl.views.tsaug import ViewPipeline, list_transforms, parse_augmentations

pytestmark = pytest.mark.usefixtures("one_thread")


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


def test_registered_view_maker_validates_its_options() -> None:
    assert "tsaug" in list_views()
    views = create_views("tsaug", 1, augmentations=" jitter, timewarp ")
    assert views.pipeline.names == ["jitter", "timewarp"] and not views.time_aligned
    with pytest.raises(ConfigError, match=r"views\.augmentations must be comma-separated names among convolve, crop"):
        create_views("tsaug", 0, augmentations="jitter,magwarp")


def test_views_are_independent_and_reproducible() -> None:
    views = create_views("tsaug", 0, augmentations="jitter,scaling")
    x = torch.from_numpy(_data(4, 30, 2))
    v1, v2 = views.views(x, torch.Generator().manual_seed(0))
    w1, _ = views.views(x, torch.Generator().manual_seed(0))
    assert not torch.allclose(v1, v2) and torch.equal(v1, w1)


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
