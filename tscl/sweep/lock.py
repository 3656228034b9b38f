"""One lock per trial, so two sweeps (or two workers, or two machines on a shared folder) never run it at once.

The lock is an operating-system file lock taken through the ``filelock`` library: the system releases it when
its holder exits, however it exits (SIGKILL, an out-of-memory kill, a crash), so no stale lock ever needs to be
found and broken. The holder's pid and host are written beside it (``<lock>.owner.json``) for messages only.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from tscl.runs.files import read_json_or_none, write_json


class TrialLock:
    """An exclusive, non-blocking lock; ``acquire`` returns False while another holder (process or lock) has it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.record = path.with_name(path.name + ".owner.json")
        self._lock = FileLock(str(path))
        self.held = False

    def owner(self) -> dict[str, Any] | None:
        """The holder's record (pid, host, since), or None when unknown."""
        return read_json_or_none(self.record)

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire(timeout=0)
        except Timeout:
            return False
        self.held = True
        write_json(self.record, {"pid": os.getpid(), "host": socket.gethostname(),
                                 "since": time.strftime("%Y-%m-%dT%H:%M:%S")})  # fmt: skip
        return True

    def release(self) -> None:
        if self.held:
            self.record.unlink(missing_ok=True)
            self._lock.release()
            self.held = False

    def __enter__(self) -> TrialLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
