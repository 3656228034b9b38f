"""``tscl sweep --backend ray`` on a real local Ray instance: the same trials and summary as the local back-end."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest

from tests.cli_helpers import one_line_error, run_cli
from tests.sweep.test_sweep import TINY_TOML

GRID = """
datasets = ["GunPoint"]
seeds = [0, 1]
output = "{output}"
[base]
{base}
[[settings]]
name = "ok"
[[settings]]
name = "wrong-task"
task = "forecasting"
"""


def _summary(tmp_path: Path, name: str, backend: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    path = tmp_path / f"{name}.toml"
    path.write_text(GRID.format(output=(tmp_path / name).as_posix(), base=TINY_TOML))
    code, _, err = run_cli(["sweep", str(path), *backend], capsys)
    assert code == 1 and "2 of 4 trials did not finish" in err, err  # the wrong-task trials fail alone
    return json.loads((tmp_path / name / "summary.json").read_text())


def test_a_sweep_on_ray_gives_the_local_summary(
    tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ray = pytest.importorskip("ray")
    local = _summary(tmp_path, "local", [], capsys)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = _summary(tmp_path, "ray", ["--backend", "ray", "--cpus-per-trial", "1"], capsys)
        rerun = run_cli(["sweep", str(tmp_path / "ray.toml"), "--backend", "ray", "--json"], capsys)
    finally:
        ray.shutdown()
    assert {t["id"]: t["status"] for t in on_ray["trials"]} == {t["id"]: t["status"] for t in local["trials"]}
    assert [r["metrics"] for r in on_ray["rows"]] == [r["metrics"] for r in local["rows"]]
    errors = [t["error"] for t in on_ray["trials"] if t["status"] == "failed"]
    assert len(errors) == 2 and all("task must match" in e for e in errors)
    # re-running resumes: finished trials are skipped, the failing ones are tried again
    assert json.loads(rerun[1])["counts"] == {"finished": 2, "failed": 2}


def test_ray_backend_without_ray_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        import ray  # noqa: F401

        pytest.skip("ray is installed")
    except ImportError:
        pass
    path = tmp_path / "grid.toml"
    path.write_text(GRID.format(output=(tmp_path / "out").as_posix(), base=TINY_TOML))
    code, _, err = run_cli(["sweep", str(path), "--backend", "ray"], capsys)
    assert code == 1 and "pip install" in err and not (tmp_path / "out").exists()


def test_ray_missing_names_the_back_end_and_its_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    """Checked with ``import ray`` made to fail, so that it runs where ray is installed too."""
    import sys

    from tscl.errors import ConfigError
    from tscl.sweep.ray_backend import check_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(ConfigError) as raised:
        check_ray()
    assert str(raised.value) == "backend ray (--backend ray) must have the ray package installed but it is not"
    assert raised.value.hint == 'pip install "tscl[ray]"'


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (
            "auto",
            "address (--address) must be a Ray cluster Ray can join but joining auto failed: "
            "ConnectionError: no cluster here",
        ),
        (
            None,
            "backend ray (--backend ray) must start a local Ray instance but starting it failed: "
            "ConnectionError: no cluster here",
        ),
    ],
)
def test_ray_that_cannot_be_joined_names_the_setting(
    address: str | None, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from tscl.errors import ConfigError
    from tscl.sweep import ray_backend

    def init(**_: object) -> None:
        raise ConnectionError("no cluster here")

    monkeypatch.setattr(ray_backend, "_ray", lambda: SimpleNamespace(is_initialized=lambda: False, init=init))
    with pytest.raises(ConfigError) as raised:
        ray_backend.connect(address, 1, 0)
    assert str(raised.value) == expected and raised.value.hint


def _closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("scheme", ["", "ray://"])
def test_an_address_where_nothing_listens_fails_in_seconds_before_any_work(
    scheme: str, tmp_path: Path, isolated_data_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("ray")
    path = tmp_path / "grid.toml"
    path.write_text(GRID.format(output=(tmp_path / "out").as_posix(), base=TINY_TOML))
    address = f"{scheme}127.0.0.1:{_closed_port()}"
    began = time.monotonic()
    code, out, err = run_cli(["sweep", str(path), "--backend", "ray", "--address", address], capsys)
    assert time.monotonic() - began < 10
    one_line_error(
        code, err, "address (--address) must be a Ray cluster that is listening", f"nothing answers at {address}"
    )
    assert out == "" and not (tmp_path / "out").exists()


def test_addresses_without_a_port_are_left_to_ray() -> None:
    from tscl.sweep.ray_backend import _endpoint

    assert _endpoint("auto") is None and _endpoint("local") is None and _endpoint("head") is None
    assert _endpoint("ray://head") == ("head", 10001) and _endpoint("[::1]:6379") == ("::1", 6379)
