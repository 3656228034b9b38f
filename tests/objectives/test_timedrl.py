"""TimeDRL: its two losses against loops, dropout-only views, the forecasting default, learning and resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tscl.config import RunConfig, resolve_for_task
from tscl.encoders import create_encoder
from tscl.objectives import create_objective
from tscl.objectives.base import Setup
from tscl.objectives.presets import preset_layer
from tscl.objectives.timedrl import negative_cosine, predictive_error
from tscl.training.model import ContrastiveModel

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"repr_dims": 8, "hidden_dims": 8, "depth": 1, "heads": 2, "ff_dims": 16, "patch_len": 4, "stride": 4}


def test_negative_cosine_against_a_loop_and_stops_the_targets_gradient() -> None:
    g = torch.Generator().manual_seed(0)
    p = torch.randn(5, 3, generator=g, requires_grad=True)
    z = torch.randn(5, 3, generator=g, requires_grad=True)
    a, b = p.detach(), z.detach()
    expected = -sum(float(a[i] @ b[i]) / (float(a[i].norm()) * float(b[i].norm())) for i in range(5)) / 5
    value = negative_cosine(p, z)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert p.grad is not None and z.grad is None


def test_predictive_error_skips_missing_targets() -> None:
    prediction = torch.tensor([[[1.0, 2.0], [3.0, 4.0]]])
    target = torch.tensor([[[0.0, float("nan")], [1.0, 1.0]]])
    assert float(predictive_error(prediction, target)) == pytest.approx((1 + 4 + 9) / 3)
    assert float(predictive_error(prediction, torch.full_like(target, float("nan")))) == 0.0


def _objective(contrastive_weight: float = 1.0):
    torch.manual_seed(0)
    encoder = create_encoder("patch_transformer", 2, **SMALL)
    return create_objective("timedrl", Setup(encoder, None, 2, batch_size=4), contrastive_weight=contrastive_weight,
                            window=16)  # fmt: skip


def test_losses_match_a_hand_computation_and_the_views_differ_only_by_dropout() -> None:
    objective = _objective()
    x = torch.randn(4, 16, 2, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(5)
    predictive, contrastive = objective.losses(x)
    torch.manual_seed(5)
    first, second = objective.encoder.encode_tokens(x), objective.encoder.encode_tokens(x)
    assert not torch.allclose(first.patches, second.patches), "dropout makes the two passes differ"
    expected_pred = (F.mse_loss(objective.head(first.patches), first.targets)
                     + F.mse_loss(objective.head(second.patches), second.targets)) / 2  # fmt: skip
    p1, p2 = objective.predictor(first.cls), objective.predictor(second.cls)
    expected_con = -(F.cosine_similarity(p1, second.cls, dim=-1).mean()
                     + F.cosine_similarity(p2, first.cls, dim=-1).mean()) / 2  # fmt: skip
    torch.testing.assert_close(predictive, expected_pred)
    torch.testing.assert_close(contrastive, expected_con)
    objective.encoder.eval()
    with torch.no_grad():
        torch.testing.assert_close(objective.encoder.encode_tokens(x).cls, objective.encoder.encode_tokens(x).cls)


def test_forecasting_data_gets_channel_independence_and_the_preset_resolves() -> None:
    config = RunConfig.model_validate({"objective": {"name": "timedrl"}})
    assert resolve_for_task(config, "forecasting").encoder.options["channel_independent"] is True
    assert resolve_for_task(config, "classification").encoder.options["channel_independent"] is False
    other = RunConfig.model_validate({"objective": {"name": "timedrl"}, "encoder": {"name": "ts2vec"}})
    assert resolve_for_task(other, "forecasting").encoder.name == "ts2vec"  # an explicit encoder wins
    layer = preset_layer("timedrl-etth1-univariate")
    assert layer["iters"] == 2650 and layer["objective"]["options"]["contrastive_weight"] == 5.0


def _series() -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(32)
    period = rng.uniform(4, 12, size=(12, 1, 1))
    return np.sin(2 * np.pi * t[None, :, None] / period + rng.uniform(0, 6, size=(12, 1, 2))).astype(np.float32)


def test_it_learns_and_resumes_exactly(tmp_path) -> None:
    def model() -> ContrastiveModel:
        return ContrastiveModel(2, objective={"name": "timedrl", "options": {"window": 0}}, lr=3e-3, batch_size=6,
                                encoder={"name": "patch_transformer", "options": SMALL}, device="cpu")  # fmt: skip

    trained = model().fit(_series(), n_iters=120)
    losses = trained.progress.losses
    assert np.mean(losses[-10:]) < np.mean(losses[:10]) - 0.2, "the combined loss falls"
    first = model().fit(_series(), n_iters=4)
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(_series(), n_iters=8)
    assert resumed.progress.losses == pytest.approx(model().fit(_series(), n_iters=8).progress.losses, rel=1e-6)
