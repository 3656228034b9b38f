"""The augment objective (hand-crafted views + a menu loss): alignment rule, NaN, every loss, resume."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.cli_helpers import run_cli
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


def test_batches_of_one_series_are_refused_before_a_run_exists_when_the_loss_has_no_negatives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tiny = ["--iters", "1", "--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--threads", "1"]
    run = tmp_path / "run"
    one_series = tmp_path / "one.npy"
    np.save(one_series, _data(1, 60, 2))
    refused = {
        ("--batch-size", "1"): "error: batch_size must be at least 2 for objective augment",
        ("--batch-size", "1", "--set", "objective.window=20"): "error: batch_size must be at least 2",
        ("--set", "objective.window=20", "--set", "objective.window_batch=1"): "error: objective.window_batch must",
        ("--dataset", str(one_series)): "error: the training data must have at least 2 series",
        ("--objective", "dbpm", "--batch-size", "1"): "error: batch_size must be at least 2",  # dbpm wraps augment
    }
    for args, message in refused.items():
        command = ["pretrain", "--objective", "augment", *args, *tiny, "--run-dir", str(run)]
        code, out, err = run_cli(command, capsys)
        assert code == 1 and err.startswith(message) and "\nhint: " in err and out == "", (args, err)
        assert not run.exists()
    # one series cut into several windows has negatives; so does a loss with a temporal term in a batch of one
    code, _, err = run_cli(["pretrain", "--objective", "augment", "--dataset", str(one_series), "--set",
                            "objective.window=20", *tiny, "--run-dir", str(tmp_path / "windows")], capsys)  # fmt: skip
    assert code == 0, err
    code, _, err = run_cli(["pretrain", "--batch-size", "1", *tiny, "--run-dir", str(tmp_path / "ts2vec")], capsys)
    assert code == 0, err


@pytest.mark.parametrize(("loss", "refused"), [("infonce", True), ("dcl", True), ("local_infonce", False)])
def test_the_losses_that_learn_nothing_from_one_series_say_so(loss: str, refused: bool) -> None:
    z1, z2 = torch.randn(1, 12, 4, requires_grad=True), torch.randn(1, 12, 4)
    value = create_loss(loss)(z1, z2)
    assert (float(value.detach()) == 0.0) == refused and (getattr(create_loss(loss), "min_batch", 1) == 2) == refused
