"""The augment objective (hand-crafted views + a menu loss): alignment rule, NaN, every loss, resume."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tests.synthetic import random_walks as _data
from tscl.encoders import create_encoder
from tscl.errors import ConfigError
from tscl.losses import create_loss
from tscl.objectives import create_objective, list_objectives
from tscl.objectives.base import Setup
from tscl.training.model import ContrastiveModel
from tscl.views import create_views
from tscl.views.tsaug import list_transforms

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"repr_dims": 16, "hidden_dims": 8, "depth": 2, "batch_size": 4, "device": "cpu"}


def _with_missing(n: int = 6, t: int = 50, c: int = 3) -> np.ndarray:
    x = _data(n, t, c)
    x[0, 40:] = np.nan  # variable length
    x[1, 5, c - 1] = np.nan  # one missing value
    return x


def _setup(loss: str = "infonce", augmentations: str = "jitter") -> Setup:
    encoder = create_encoder("ts2vec", 2, repr_dims=8, hidden_dims=8, depth=1)
    return Setup(encoder, create_loss(loss), 2, views=create_views("tsaug", 0, augmentations=augmentations))


def test_hierarchical_loss_refuses_unaligned_views() -> None:
    assert "augment" in list_objectives()
    with pytest.raises(ConfigError, match="time-aligned"):
        create_objective("augment", _setup("hierarchical", "jitter,timewarp"))
    create_objective("augment", _setup("hierarchical", "jitter,drift"))
    with pytest.raises(ConfigError, match="loss must be one of"):
        ContrastiveModel(2, objective="augment", loss="triplet")
    with pytest.raises(ConfigError, match="objective.window must be 0"):
        create_objective("augment", _setup(), window=1)


@pytest.mark.parametrize(
    ("loss", "augmentations"),
    [("infonce", "jitter,scaling,timewarp"), ("dcl", "crop,jitter"), ("siglip", "drift"), ("hierarchical", "jitter")],
)
def test_every_loss_trains_with_missing_values(loss: str, augmentations: str) -> None:
    options = {"loss": loss, "augmentations": augmentations, "window": 30}
    model = ContrastiveModel(**SMALL, objective="augment", **options).fit(_with_missing(), n_iters=3)
    assert all(np.isfinite(model.progress.losses))
    assert np.isfinite(model.encode(_with_missing())).all()


_PAIRS = [",".join(pair) for pair in itertools.combinations(list_transforms(), 2)]


@pytest.mark.parametrize("augmentations", [*_PAIRS, ",".join(list_transforms())])
@pytest.mark.parametrize("loss", ["infonce", "dcl", "siglip"])
def test_every_loss_trains_with_every_combination_of_transforms(loss: str, augmentations: str) -> None:
    options = {"loss": loss, "augmentations": augmentations, "window": 20}
    model = ContrastiveModel(**SMALL, objective="augment", **options)
    model.fit(_with_missing(n=4, t=30), n_iters=2)
    assert all(np.isfinite(model.progress.losses))


def test_resume_equals_straight_run(tmp_path) -> None:
    X = _with_missing(n=10, t=40, c=2)
    options = {"loss": "siglip", "augmentations": "jitter,timewarp,dropout"}
    straight = ContrastiveModel(**SMALL, objective="augment", **options).fit(X, n_iters=6)
    first = ContrastiveModel(**SMALL, objective="augment", **options).fit(X, n_iters=3)
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(X, n_iters=6)
    for key, value in straight.net.state_dict().items():
        assert torch.allclose(value, resumed.net.state_dict()[key], atol=1e-6), key
    for key, value in straight.objective.loss.state_dict().items():  # type: ignore[attr-defined]
        assert torch.allclose(value, resumed.objective.loss.state_dict()[key], atol=1e-6), key  # type: ignore[attr-defined]
    assert resumed.progress.losses == pytest.approx(straight.progress.losses)


def test_run_layer_passes_augmentations(tmp_path) -> None:
    from tscl.config import resolve_config
    from tscl.runs.pretraining import pretrain

    flags = {"dataset": "BasicMotions", "iters": 2, "device": "cpu"}
    sets = ["objective=augment", "views.augmentations=drift,quantize", "loss=dcl", "encoder.repr_dims=8",
            "encoder.hidden_dims=8", "encoder.depth=1"]  # fmt: skip
    result = pretrain(resolve_config(flags=flags, sets=sets), run_dir=tmp_path / "run")
    text = (result.run_dir / "config.toml").read_text()
    assert result.steps == 2 and 'augmentations = "drift,quantize"' in text and 'name = "dcl"' in text
    with pytest.raises(ConfigError, match="objective.local_weight is not an option of augment"):
        resolve_config(flags=flags, sets=[*sets, "objective.local_weight=0.5"])
    assert not (tmp_path / "other").exists()
