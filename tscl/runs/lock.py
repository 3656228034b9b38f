"""Operating-system file locks held by the process working on something (a run, a sweep's trial).

The lock is taken through the ``filelock`` library: the system releases it when its holder exits, however it
exits (SIGKILL, an out-of-memory kill, a crash), so no stale lock ever needs to be found and broken, and a run
whose ``meta.json`` says "running" while nobody holds its lock was killed. The holder's pid and host are
written beside the lock (``<lock>.owner.json``) for messages only. :func:`is_held` asks whether a lock is held
without taking it and without writing anything, so listing runs changes no file.
"""

from __future__ import annotations

import errno
import os
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from tscl.runs.files import read_json_or_none, write_json

__all__ = ["ProcessLock", "is_held"]

_CONTENDED = (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)


class ProcessLock:
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

    def __enter__(self) -> ProcessLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def is_held(path: Path) -> bool:
    """Whether some process (this one included) holds the lock at ``path``; nothing is taken or written.

    A missing lock file is a free lock. Where ``flock`` is missing (Windows), the lock is taken and given back.
    """
    if not path.is_file():
        return False
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        probe = FileLock(str(path))
        try:
            probe.acquire(timeout=0)
        except Timeout:
            return True
        probe.release()
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # conflicts with the holder's exclusive lock only
    except OSError as exc:
        return exc.errno in _CONTENDED
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)
