"""Third-party components: a plug-in package installed with pip adds a loss that tscl finds by entry point.

The package is ``tests/fixtures/l2views_plugin`` (loss ``l2views``, entry-point group ``tscl.losses``). It is
installed with pip into a private folder put on ``PYTHONPATH``, then used through the command line in a
subprocess, exactly as a user would after ``pip install tscl-l2views``; tscl itself is not changed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_contracts import loss_contract

PLUGIN = Path(__file__).parent / "fixtures" / "l2views_plugin"
ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The plug-in installed by pip (no network: no dependencies, the local setuptools) into a folder."""
    work = tmp_path_factory.mktemp("plugin")
    source = shutil.copytree(PLUGIN, work / "source")
    target = work / "site"
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
               "--no-index", "--target", str(target), str(source)]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, text=True)
    assert (target / "tscl_l2views").is_dir() and list(target.glob("tscl_l2views-*.dist-info"))
    return target


def _tscl(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": f"{site}:{ROOT}", "PATH": "/usr/bin:/bin", "TSCL_CACHE_DIR": str(cwd / "cache")}
    return subprocess.run([sys.executable, "-m", "tscl", *args], cwd=cwd, env=env, text=True, capture_output=True)


def test_an_installed_loss_is_usable_from_the_command_line(installed: Path, tmp_path: Path) -> None:
    listed = _tscl(["losses", "list", "--json"], installed, tmp_path)
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["l2views"]["origin"] == "plug-in (tscl-l2views)"
    run = tmp_path / "run"
    args = ["pretrain", "--objective", "augment", "--loss", "l2views", "--iters", "2", "--set", "loss.weight=2",
            "--repr-dims", "16", "--depth", "2", "--threads", "1", "--run-dir", str(run), "--json"]  # fmt: skip
    done = _tscl(args, installed, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["steps"] == 2
    assert '[loss]\nname = "l2views"\n\n[loss.options]\nweight = 2.0' in (run / "config.toml").read_text()
    bad = _tscl(["pretrain", "--loss", "l2views", "--set", "loss.weight=-1", "--run-dir", str(tmp_path / "x")],
                installed, tmp_path)  # fmt: skip
    assert bad.returncode == 1 and "loss.weight must be greater than 0" in bad.stderr
    assert not (tmp_path / "x").exists()


def test_an_installed_loss_meets_the_loss_contract(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tscl.losses import LOSSES

    monkeypatch.syspath_prepend(str(installed))
    monkeypatch.setattr(LOSSES, "_installed", None)  # discover again, now that the package is on the path
    monkeypatch.setattr(LOSSES, "_loaded", {})
    assert "l2views" in LOSSES.names()
    loss_contract(LOSSES.create("l2views", weight=0.5), lambda: LOSSES.create("l2views", weight=0.5))
