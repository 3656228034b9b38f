"""One lock file per trial, so two sweeps (or two workers) never run the same trial at once.

The lock is created with ``O_CREAT | O_EXCL`` and holds the owner's pid, host and process start time. A
lock whose owner is gone (killed with SIGKILL, machine rebooted) is stale and is broken by the next process,
under a short-lived "breaker" lock so two processes breaking the same stale lock cannot both win. A lock held
on another host is never broken automatically (its pid cannot be checked from here).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

BREAKER_STALE_SECONDS = 30.0


def process_token(pid: int) -> str | None:
    """Start time of process ``pid`` (Linux ``/proc``), to spot a reused pid; None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return None


def owner_alive(owner: dict[str, Any]) -> bool:
    """Whether the process that wrote ``owner`` may still be running (unknown hosts count as alive)."""
    if owner.get("host") != socket.gethostname():
        return True
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if _process_state(pid) == "Z":  # killed but not yet reaped by its parent
        return False
    token = owner.get("token")
    return token is None or process_token(pid) in (None, token)


class TrialLock:
    """An exclusive, non-blocking lock file; ``acquire`` returns False while another live process holds it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.held = False

    def owner(self) -> dict[str, Any] | None:
        """The holder's record, or None when there is no readable lock file."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            if self._create():
                return True
            owner = self.owner()
            if owner is None and self._age() < BREAKER_STALE_SECONDS:
                return False  # being written right now, or vanished: let the other process have it
            if owner is not None and owner_alive(owner):
                return False
            self._break_stale(owner)
        return False

    def release(self) -> None:
        if self.held:
            owner = self.owner()
            if owner is not None and owner.get("pid") == os.getpid():
                self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> TrialLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def _create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        record = {"pid": os.getpid(), "host": socket.gethostname(), "token": process_token(os.getpid()),
                  "created": time.strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(record, handle)
        self.held = True
        return True

    def _age(self) -> float:
        try:
            return time.time() - self.path.stat().st_mtime
        except OSError:
            return 0.0

    def _break_stale(self, seen: dict[str, Any] | None) -> None:
        """Remove the lock if it still holds the stale record ``seen`` (checked under the breaker lock)."""
        breaker = self.path.with_name(self.path.name + ".break")
        try:
            fd = os.open(breaker, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                if time.time() - breaker.stat().st_mtime > BREAKER_STALE_SECONDS:
                    breaker.unlink(missing_ok=True)
            except OSError:
                pass
            return
        os.close(fd)
        try:
            if self.owner() == seen:
                self.path.unlink(missing_ok=True)
        finally:
            breaker.unlink(missing_ok=True)


def clear_stale(path: Path) -> None:
    """Remove the lock at ``path`` when its owner is gone: a trial that finished just before its process died."""
    lock = TrialLock(path)
    owner = lock.owner()
    if owner is not None and not owner_alive(owner):
        lock._break_stale(owner)
