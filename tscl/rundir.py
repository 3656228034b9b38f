"""Run directories: unique creation, metadata, loss log and plots, all written atomically."""

from __future__ import annotations

import csv
import io
import json
import os
import platform
import secrets
import sys
import time
from pathlib import Path
from typing import Any

from tscl.errors import CheckpointError, ConfigError
from tscl.training.checkpoint import atomic_write_bytes, atomic_write_text

CHECKPOINT = Path("checkpoints") / "last.pt"


def default_runs_root() -> Path:
    """``$TSCL_RUNS_DIR`` or ``./runs``."""
    return Path(os.environ.get("TSCL_RUNS_DIR", "runs"))


def create_run_dir(run_dir: Path | None, runs_root: Path, label: str) -> Path:
    """Create a fresh run directory; an existing non-empty one is never reused silently.

    Creation is exclusive, also between processes: of two runs started at once with the same ``run_dir``, one
    gets it and the other fails; runs without ``run_dir`` get distinct ``runs_root/<stamp>-<label>-<hex>``.

    Raises:
        ConfigError: ``run_dir`` exists and is not an empty folder, or a folder cannot be created.
    """
    if run_dir is not None:
        return _claim_named_dir(run_dir)
    _make_dirs(runs_root, "runs folder")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for _ in range(100):
        candidate = runs_root / f"{stamp}-{label}-{secrets.token_hex(2)}"
        try:
            candidate.mkdir()  # exclusive: concurrent runs never share a directory
            return candidate
        except FileExistsError:
            continue
        except OSError as exc:
            raise _cannot_create(candidate, exc) from exc
    raise ConfigError(f"could not create a unique run directory under {runs_root}")


def _claim_named_dir(run_dir: Path) -> Path:
    """Create ``run_dir`` (or take it when empty); an exclusive mkdir of its checkpoint folder claims it."""
    taken = ConfigError(
        f"run directory {run_dir} must be new or empty but it already exists"
        + (" and is not empty" if run_dir.is_dir() else " as a file"),
        hint=f"continue it with `tscl pretrain --resume {run_dir}` or choose another --run-dir",
    )
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        if run_dir.is_dir() and _only_empty_claim(run_dir):
            raise ConfigError(
                f"run directory {run_dir} must be new or empty but it holds an empty {CHECKPOINT.parent}/ "
                "folder only: a run was stopped as it started, or is starting now",
                hint=f"if no tscl process is using it, delete {run_dir} and start again",
            )
        raise taken
    _make_dirs(run_dir, "run directory")
    try:
        (run_dir / CHECKPOINT.parent).mkdir()  # exclusive: a second process racing for run_dir fails here
    except FileExistsError:
        raise taken from None
    except OSError as exc:
        raise _cannot_create(run_dir, exc) from exc
    return run_dir


def _only_empty_claim(run_dir: Path) -> bool:
    claim = run_dir / CHECKPOINT.parent
    return [p.name for p in run_dir.iterdir()] == [claim.name] and claim.is_dir() and not any(claim.iterdir())


def _make_dirs(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _cannot_create(path, exc, what) from exc


def _cannot_create(path: Path, exc: OSError, what: str = "run directory") -> ConfigError:
    return ConfigError(
        f"{what} {path} must be creatable but got: {exc.strerror or exc}",
        hint="check that every parent is a folder you may write to (--run-dir, TSCL_RUNS_DIR)",
    )


def versions() -> dict[str, str]:
    import numpy
    import torch

    import tscl

    return {
        "tscl": tscl.__version__,
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, default=str) + "\n")


def read_json(path: Path, what: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path} does not exist", hint=f"is {path.parent} a tscl run directory?") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise CheckpointError(f"{what} {path} is corrupted (not valid JSON)") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{what} {path} must hold a JSON object")
    return data


def check_run_dir(run_dir: Path) -> Path:
    """Raise a clear error unless ``run_dir`` looks like a tscl run directory."""
    if not run_dir.is_dir():
        raise CheckpointError(f"run directory {run_dir} does not exist", hint="list runs with `tscl runs`")
    if not (run_dir / "config.toml").is_file():
        raise CheckpointError(f"{run_dir} is not a tscl run directory (no config.toml)")
    return run_dir


def write_losses(path: Path, losses: list[float]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["step", "loss"])
    for step, loss in enumerate(losses, start=1):
        writer.writerow([step, f"{loss:.6g}"])
    atomic_write_text(path, buffer.getvalue())


def plot_losses(path: Path, losses: list[float], title: str) -> None:
    """Loss per iteration with a running mean, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=120)
    steps = np.arange(1, len(losses) + 1)
    ax.plot(steps, losses, lw=0.8, alpha=0.5, label="loss")
    if len(losses) >= 10:
        k = max(len(losses) // 20, 5)
        smooth = np.convolve(losses, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], smooth, lw=1.6, label=f"mean of {k}")
    ax.set_xlabel("iteration")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())
