"""Device names: what resolves, and the one-line refusals for devices tscl cannot run on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch.utils._pytree import tree_leaves, tree_map

from tests.cli_helpers import one_line_error, run_cli
from tscl.errors import ConfigError
from tscl.training.checkpoint import save_checkpoint
from tscl.training.devices import resolve_device
from tscl.training.model import ContrastiveModel

TINY = ["--repr-dims", "8", "--hidden-dims", "8", "--depth", "1", "--threads", "1", "--iters", "1"]


@pytest.fixture
def two_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """A machine that reports two CUDA devices (nothing is ever placed on them here)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:0", "cuda:1"])
def test_devices_that_exist_resolve(name: str, two_gpus: None) -> None:
    assert resolve_device(name) == torch.device(name)


def test_auto_prefers_cuda(two_gpus: None) -> None:
    assert resolve_device("auto") == torch.device("cuda")


def test_a_gpu_index_past_the_last_gpu_names_the_range(two_gpus: None) -> None:
    with pytest.raises(ConfigError, match=r"cuda:2 must name one of this machine's CUDA devices \(cuda:0 to cuda:1\)"):
        resolve_device("cuda:2")


@pytest.mark.parametrize("name", ["meta", "xpu", "hpu", "ipu", "cuda:x", "gpu"])
def test_device_types_tscl_does_not_run_on_are_refused(name: str) -> None:
    with pytest.raises(ConfigError, match=r"device must be auto, cpu, cuda, cuda:N or mps but got"):
        resolve_device(name)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_names_the_device_asked_for() -> None:
    with pytest.raises(ConfigError, match=r"device cuda:1 was asked for but CUDA is not available"):
        resolve_device("cuda:1")


@pytest.mark.parametrize("name", ["meta", "xpu"])
def test_pretrain_refuses_an_unsupported_device_before_the_run_exists(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", *TINY, "--device", name, "--run-dir", str(run)], capsys)
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[0].startswith("error: device must be auto, cpu, cuda, cuda:N or mps")
    assert not run.exists()


def test_pretrain_refuses_a_missing_gpu_in_one_line(
    two_gpus: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    code, _, err = run_cli(["pretrain", *TINY, "--device", "cuda:5", "--run-dir", str(run)], capsys)
    one_line_error(code, err, "cuda:5", "cuda:0 to cuda:1")
    assert not run.exists()


@pytest.fixture
def saved_as_on_a_gpu() -> Iterator[None]:
    """``torch.save`` records every storage as living on cuda:0, as a checkpoint written on a GPU by a tscl that
    saved the state dicts as they were does (this one moves them to the CPU first)."""
    entry = (0, lambda storage: "cuda:0", lambda storage, location: None)
    registry = torch.serialization._package_registry
    registry.insert(0, entry)
    try:
        yield
    finally:
        registry.remove(entry)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_a_checkpoint_written_on_a_gpu_loads_and_resumes_on_a_cpu(tmp_path: Path, saved_as_on_a_gpu: None) -> None:
    X = np.random.default_rng(0).normal(size=(8, 24, 2)).astype(np.float32)
    model = ContrastiveModel(repr_dims=8, hidden_dims=8, depth=1, batch_size=4, device="cpu").fit(X, n_iters=2)
    path = tmp_path / "gpu.pt"
    model.save(path)
    with pytest.raises(RuntimeError, match="CUDA"):  # the file does name the GPU
        torch.load(path, weights_only=True)
    loaded = ContrastiveModel.load(path, device="cpu")
    np.testing.assert_array_equal(loaded.encode(X), model.encode(X))
    assert loaded.fit(X, n_iters=3).progress.step == 3


def test_mps_has_one_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("mps") == torch.device("mps")
    with pytest.raises(ConfigError, match=r"device must be mps \(a Mac has one MPS device\) but got 'mps:1'"):
        resolve_device("mps:1")


class _OnGpu(torch.Tensor):
    """A tensor that says it lives on cuda:0 (no GPU needed: it only holds its values on the CPU) and can only be
    copied to the CPU, as a CUDA run's weights and optimizer state are when they reach ``torch.save``."""

    values: torch.Tensor

    @staticmethod
    def __new__(cls, values: torch.Tensor) -> _OnGpu:
        tensor = torch.Tensor._make_wrapper_subclass(cls, values.shape, dtype=values.dtype, device="cuda:0")
        tensor.values = values
        return tensor  # type: ignore[no-any-return]

    @classmethod
    def __torch_dispatch__(cls, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        if func is torch.ops.aten._to_copy.default and (kwargs or {}).get("device") == torch.device("cpu"):
            return args[0].values.clone()
        raise NotImplementedError(f"{func} on a stand-in GPU tensor")


def _tensors(value: Any) -> list[torch.Tensor]:
    return [leaf for leaf in tree_leaves(value) if isinstance(leaf, torch.Tensor)]


def test_a_gpu_models_checkpoint_holds_cpu_tensors_only(tmp_path: Path) -> None:
    X = np.random.default_rng(0).normal(size=(8, 24, 2)).astype(np.float32)
    model = ContrastiveModel(repr_dims=8, hidden_dims=8, depth=1, batch_size=4, device="cpu").fit(X, n_iters=2)
    state = model.state_dict()
    assert state["objective"]["optimizer"]["state"][0]["exp_avg"] is not None  # AdamW's state is in it
    on_gpu = tree_map(lambda leaf: _OnGpu(leaf) if isinstance(leaf, torch.Tensor) else leaf, state)
    assert all(t.is_cuda for t in _tensors(on_gpu["objective"]))
    save_checkpoint(tmp_path / "gpu.pt", on_gpu)
    saved = torch.load(tmp_path / "gpu.pt", weights_only=True)  # no map_location needed on a CPU-only machine
    assert _tensors(saved) and all(t.device.type == "cpu" and type(t) is torch.Tensor for t in _tensors(saved))
    for a, b in zip(_tensors(state), _tensors({k: saved[k] for k in state}), strict=True):
        assert torch.equal(a, b)
    loaded = ContrastiveModel.from_state(saved, device="cpu")
    np.testing.assert_array_equal(loaded.encode(X), model.encode(X))


def test_a_cpu_run_writes_cpu_tensors_and_loads_them_to_the_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    X = np.random.default_rng(0).normal(size=(8, 24, 2)).astype(np.float32)
    model = ContrastiveModel(repr_dims=8, hidden_dims=8, depth=1, batch_size=4, device="cpu").fit(X, n_iters=2)
    model.save(tmp_path / "model.pt")
    saved = torch.load(tmp_path / "model.pt", weights_only=True)
    assert all(t.device.type == "cpu" for t in _tensors(saved))
    assert all(t.device.type == "cpu" for t in _tensors(saved["objective"]["optimizer"]["state"]))
    locations: list[Any] = []
    real_load = torch.load

    def spied(*args: Any, **kwargs: Any) -> Any:
        locations.append(kwargs.get("map_location"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spied)
    # Loaded to the CPU whatever the run's device (a Generator's state must be a CPU tensor); load_state_dict
    # copies the weights to the model's device and AdamW moves its state to its parameters' device.
    loaded = ContrastiveModel.load(tmp_path / "model.pt", device="cpu", threads=1)
    assert locations == ["cpu"]
    assert loaded.fit(X, n_iters=4).progress.step == model.fit(X, n_iters=4).progress.step == 4
    np.testing.assert_array_equal(loaded.encode(X), model.encode(X))  # resumed exactly
