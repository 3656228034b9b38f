"""File permissions of atomically written files.

Files written atomically start as ``tempfile.mkstemp`` temporaries, which are private (mode 0600) whatever the
user's umask; renamed over their target they would keep that mode, so results in a shared folder (a lab
server, a web server serving plots) would be unreadable to the group. `share_like_open` gives a temporary the
mode a plain ``open(path, "w")`` would have created: 0666 less the process's umask.
"""

from __future__ import annotations

import os
import threading

__all__ = ["new_file_mode", "share_like_open"]

_lock = threading.Lock()


def new_file_mode() -> int:
    """0666 less the current umask (read by setting it and restoring it at once, under a lock)."""
    with _lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def share_like_open(target: int | str | os.PathLike[str]) -> None:
    """Give a file (an open descriptor or a path) the mode ``open(path, "w")`` would have given it."""
    if isinstance(target, int):
        os.fchmod(target, new_file_mode())
    else:
        os.chmod(target, new_file_mode())
