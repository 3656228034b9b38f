"""Ti-MAE: masking, the reconstruction error against a loop, its own loss, learning, resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tscl.config import RunConfig, resolve_for_task
from tscl.encoders import create_encoder
from tscl.errors import ConfigError
from tscl.objectives import create_objective
from tscl.objectives.base import Setup
from tscl.objectives.timae import draw_mask, masked_reconstruction_error
from tscl.training.model import ContrastiveModel

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"encoder": {"name": "transformer", "options": {"repr_dims": 16, "hidden_dims": 16, "depth": 1}}}


def test_mask_hides_the_ratio_and_keeps_the_rest_in_order() -> None:
    keep, hidden = draw_mask(5, 40, 0.75, torch.Generator().manual_seed(0))
    assert keep.shape == (5, 10) and hidden.shape == (5, 40)
    assert (keep.diff(dim=1) > 0).all()
    assert (hidden.sum(dim=1) == 30).all()
    assert not hidden.gather(1, keep).any()
    keep2, hidden2 = draw_mask(5, 40, 0.75, torch.Generator().manual_seed(0))
    assert torch.equal(keep, keep2) and torch.equal(hidden, hidden2)
    assert draw_mask(1, 2, 0.99, torch.Generator())[0].shape == (1, 1)  # at least one step each way
    assert draw_mask(1, 4, 0.01, torch.Generator())[0].shape == (1, 3)


def test_reconstruction_error_counts_hidden_observed_values_only() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 6, 2, generator=g)
    x[1, 2, 0] = float("nan")
    recon = torch.randn(2, 6, 2, generator=g)
    hidden = torch.zeros(2, 6, dtype=torch.bool)
    hidden[0, [1, 4]] = True
    hidden[1, [2, 3]] = True
    total, count = 0.0, 0
    for b in range(2):
        for t in range(6):
            for c in range(2):
                if hidden[b, t] and not torch.isnan(x[b, t, c]):
                    total += float(recon[b, t, c] - x[b, t, c]) ** 2
                    count += 1
    assert count == 7
    assert float(masked_reconstruction_error(recon, x, hidden)) == pytest.approx(total / count, rel=1e-6)
    nothing = masked_reconstruction_error(recon, x, torch.zeros(2, 6, dtype=torch.bool))
    assert float(nothing) == 0.0


def test_it_owns_its_loss() -> None:
    config = RunConfig.model_validate({"objective": {"name": "timae"}})
    resolved = resolve_for_task(config, "classification")
    assert resolved.encoder.name == "transformer" and resolved.loss.name is None
    with pytest.raises(ConfigError, match="loss must not be set for objective timae"):
        resolve_for_task(RunConfig.model_validate({"objective": {"name": "timae"}, "loss": {"name": "infonce"}}), "")
    setup = Setup(create_encoder("transformer", 2, hidden_dims=8, heads=4), None, 2)
    with pytest.raises(ConfigError, match=r"objective\.decoder_heads must divide"):
        create_objective("timae", setup, decoder_dims=10, decoder_heads=4)
    with pytest.raises(ConfigError, match="must be given a loss"):
        create_objective("ts2vec", setup)


def _sines(n: int = 16, t: int = 64) -> np.ndarray:
    rng = np.random.default_rng(0)
    steps = np.arange(t)
    x = np.sin(2 * np.pi * steps / rng.uniform(8, 16, size=(n, 1)) + rng.uniform(0, 6, size=(n, 1)))
    return x[:, :, None].astype(np.float32)


def test_it_learns_to_fill_in_and_resumes_exactly(tmp_path) -> None:
    def model() -> ContrastiveModel:
        objective = {"name": "timae", "options": {"window": 32, "mask_ratio": 0.5}}
        return ContrastiveModel(1, objective=objective, lr=3e-3, batch_size=8, device="cpu", **SMALL)

    trained = model().fit(_sines(), n_iters=300)
    losses = trained.progress.losses
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20]), "the reconstruction error falls"
    first = model().fit(_sines(), n_iters=5)
    first.save(tmp_path / "ckpt.pt")
    resumed = ContrastiveModel.load(tmp_path / "ckpt.pt", device="cpu").fit(_sines(), n_iters=10)
    assert resumed.progress.losses == pytest.approx(model().fit(_sines(), n_iters=10).progress.losses, rel=1e-6)
    assert trained.encode(_sines(2)).shape == (2, 16)  # instance level: max over time
