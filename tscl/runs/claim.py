"""Claiming a fresh run directory: exclusive creation, also between processes."""

from __future__ import annotations

import secrets
import time
from pathlib import Path

from tscl.errors import ConfigError
from tscl.runs.layout import CHECKPOINT, LOCK, is_run_dir
from tscl.text import shell


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
        hint=f"continue it with `tscl pretrain --resume {shell(run_dir)}` or choose another --run-dir"
        if is_run_dir(run_dir)
        else "choose another --run-dir (it is not a tscl run: nothing to resume)",
    )
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        if run_dir.is_dir() and _only_empty_claim(run_dir):
            raise ConfigError(
                f"run directory {run_dir} must be new or empty but it holds an empty {CHECKPOINT.parent}/ "
                "folder only: a run was stopped as it started, or is starting now",
                hint=f"if no tscl process is using it, delete {shell(run_dir)} and start again",
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
    names = {p.name for p in run_dir.iterdir()} - {LOCK, f"{LOCK}.owner.json"}  # the lock is taken right after
    return names == {claim.name} and claim.is_dir() and not any(claim.iterdir())


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
