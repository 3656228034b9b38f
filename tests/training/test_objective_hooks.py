"""The training loop's optional objective hooks: series indices, the plan, steps that leave the encoder, epoch logs."""

from __future__ import annotations

import csv
from typing import Any

import numpy as np
import pytest
import torch

from tscl.objectives import OBJECTIVES, register_objective
from tscl.objectives.base import Setup
from tscl.runs.logs import write_losses
from tscl.training.model import ContrastiveModel

pytestmark = pytest.mark.usefixtures("one_thread")


class Recorder:
    """Steps the encoder only on even steps; records what the loop tells it."""

    takes_index = True
    default_encoder = "ts2vec"
    default_loss = None
    default_views = None

    def __init__(self, setup: Setup) -> None:
        self.encoder = setup.encoder
        self.optimizer = torch.optim.SGD(setup.encoder.parameters(), lr=0.1)
        self.indices: list[list[int]] = []
        self.plans: list[tuple[int, int]] = []
        self.encoder_stepped = True
        self.epoch_log: list[dict[str, float]] = []

    def plan(self, planned_iters: int, iters_per_epoch: int) -> None:
        self.plans.append((planned_iters, iters_per_epoch))

    def training_step(self, x: torch.Tensor, generator: torch.Generator, index: torch.Tensor) -> float:
        self.indices.append(index.tolist())
        self.encoder_stepped = len(self.indices) % 2 == 0
        if self.encoder_stepped:
            self.optimizer.zero_grad()
            self.encoder(x).square().mean().backward()
            self.optimizer.step()
        return 1.0

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


@pytest.fixture
def recorder() -> Any:
    register_objective("recorder-test", Recorder)
    yield
    OBJECTIVES._registered.pop("recorder-test", None)


def test_loop_gives_indices_plan_and_averages_only_encoder_steps(recorder: Any) -> None:
    X = np.random.default_rng(0).normal(size=(10, 16, 1)).astype(np.float32)
    model = ContrastiveModel(1, objective="recorder-test", encoder={"name": "ts2vec", "options": {"depth": 1}},
                             batch_size=4, device="cpu")  # fmt: skip
    model.fit(X, n_iters=5)
    objective = model.objective
    assert objective.plans == [(5, 2)]  # 10 series, batches of 4: 2 iterations per epoch
    assert objective.indices[4] == model.progress.epoch_order[:4]  # the fifth step opens the third epoch
    assert len(set(objective.indices[0] + objective.indices[1])) == 8  # an epoch's batches differ
    assert all(len(rows) == 4 and len(set(rows)) == 4 for rows in objective.indices)
    assert int(model.averaged.n_averaged) == 1 + 2  # the initial weights and the two encoder steps
    model.fit(X, n_epochs=4)
    assert objective.plans[-1] == (8, 2)


def test_epoch_log_adds_columns_to_losses_csv(tmp_path: Any) -> None:
    write_losses(tmp_path / "losses.csv", [0.5, 0.4, 0.3], [{"step": 2, "epoch": 1, "noisy": 3}])
    rows = list(csv.reader((tmp_path / "losses.csv").open()))
    assert rows == [["step", "loss", "epoch", "noisy"], ["1", "0.5", "", ""], ["2", "0.4", "1", "3"],
                    ["3", "0.3", "", ""]]  # fmt: skip
    write_losses(tmp_path / "plain.csv", [0.5])
    assert (tmp_path / "plain.csv").read_text().splitlines() == ["step,loss", "1,0.5"]
