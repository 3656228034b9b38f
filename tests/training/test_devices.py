"""Device names: what resolves, and the one-line refusals for devices tscl cannot run on."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from tests.cli_helpers import one_line_error, run_cli
from tscl.errors import ConfigError
from tscl.training.devices import resolve_device

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
