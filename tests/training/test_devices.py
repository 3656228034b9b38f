"""Device names: what resolves, and the one-line refusals for devices tscl cannot run on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from tests.cli_helpers import one_line_error, run_cli
from tscl.errors import ConfigError
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
    """``torch.save`` records every storage as living on cuda:0, as a checkpoint written on a GPU does."""
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
