"""Every objective x encoder keeps one training step on the model's device (checked on the meta device).

No GPU is needed: the model is built on ``meta`` and a step runs under `tests.one_device.OneDevice`, which
fails any operation mixing the model's device with tensors left on the CPU (as CUDA would). Meta tensors hold
no values, so the step ends where the loss is read (``.item()``); objectives that read their batch on the CPU
(numpy view makers, window draws) stop at that read.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import tscl.training.model as model_module
from tests.one_device import OneDevice
from tscl.encoders import list_encoders
from tscl.objectives import list_objectives
from tscl.training.model import ContrastiveModel

META = torch.device("meta")


@pytest.fixture
def on_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(model_module, "resolve_device", lambda device: META)
    # torch has no fused AdamW kernel for meta tensors: the optimizers take the per-parameter loop.
    monkeypatch.delattr(torch.autograd.graph, "increment_version")


def _no_values(exc: BaseException) -> bool:
    return "meta" in str(exc) and ("item" in str(exc) or "Cannot copy out" in str(exc))


@pytest.mark.parametrize("encoder", list_encoders())
@pytest.mark.parametrize("objective", list_objectives())
def test_a_training_step_stays_on_the_model_device(objective: str, encoder: str, on_meta: None) -> None:
    X = np.random.default_rng(0).normal(size=(8, 48, 3)).astype(np.float32)
    model = ContrastiveModel(
        objective=objective, encoder=encoder, repr_dims=8, hidden_dims=8, depth=1, batch_size=4, threads=1
    )
    with OneDevice(), pytest.raises((RuntimeError, NotImplementedError)) as stopped:
        model.fit(X, n_iters=1)
    assert _no_values(stopped.value), stopped.value
    # Objectives that read their batch on the CPU (augment, dbpm, rebar: numpy views, then moved) stop at that
    # read ("Cannot copy out of meta"): checked up to there.
    assert all(p.device == META for p in model.net.parameters())


@pytest.mark.parametrize("encoder", list_encoders())
@pytest.mark.parametrize(("mode", "window"), [("instance", None), ("timestamp", None), ("timestamp", 16)])
def test_encoding_stays_on_the_model_device(encoder: str, mode: str, window: int | None, on_meta: None) -> None:
    X = np.random.default_rng(0).normal(size=(3, 24, 3)).astype(np.float32)
    model = ContrastiveModel(3, encoder=encoder, repr_dims=8, hidden_dims=8, depth=1, threads=1)
    with OneDevice(), pytest.raises(NotImplementedError, match="Cannot copy out of meta"):
        model.encode(X, mode=mode, causal_window=window)  # stops where the first result reaches the CPU


class _Forked(Exception):
    """Raised by the recording fork_rng: the test only needs the devices it was asked to fork."""


@pytest.fixture
def forked_devices(monkeypatch: pytest.MonkeyPatch) -> list[list[int]]:
    """The ``devices`` of every ``torch.random.fork_rng`` call (the first call stops the code under test).

    A CPU-only machine has no CUDA generator to compare before and after, so the test checks the request
    instead: ``fork_rng(devices=[])`` saves and restores the CPU generator only, and the code inside calls
    ``torch.manual_seed`` (which reseeds every CUDA generator) and draws on the model's GPU (dropout in the
    probe forward passes of timedrl/timae, fine-tuning's dropout): the caller's CUDA state would change.
    """
    calls: list[list[int]] = []

    def recording(devices: Any = None, *args: Any, **kwargs: Any) -> Any:
        calls.append(list(devices))
        raise _Forked

    monkeypatch.setattr(torch.random, "fork_rng", recording)
    return calls


def test_building_a_cuda_model_forks_its_gpu_generator(
    forked_devices: list[list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(model_module, "resolve_device", lambda device: torch.device("cuda:1"))
    with pytest.raises(_Forked):
        ContrastiveModel(3, repr_dims=8, hidden_dims=8, depth=1, device="cuda:1", threads=1)
    assert forked_devices == [[1]]


def test_fine_tuning_a_cuda_network_forks_its_gpu_generator(forked_devices: list[list[int]]) -> None:
    from types import SimpleNamespace

    from tscl.tasks.finetune import finetune

    # finetune reads only the network's device before it forks: a stand-in whose parameter is on cuda:1
    network: Any = SimpleNamespace(parameters=lambda: iter([SimpleNamespace(device=torch.device("cuda:1"))]))
    empty = (np.zeros((0, 8, 1), np.float32), np.zeros(0, np.int64))
    with pytest.raises(_Forked):
        finetune(network, empty, empty, empty, n_classes=2, seed=0)
    assert forked_devices == [[1]]


@pytest.mark.parametrize(("name", "expected"), [("cpu", []), ("mps", []), ("cuda:1", [1]), ("cuda", [3])])
def test_the_generators_to_fork_are_the_cpu_and_the_models_gpu(
    name: str, expected: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tscl.training.devices import rng_devices

    monkeypatch.setattr(torch.cuda, "current_device", lambda: 3)  # "cuda" means the current CUDA device
    assert rng_devices(torch.device(name)) == expected
