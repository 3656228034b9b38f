"""The private folder a fetch builds a dataset in, inside the data root, and the renames that move the finished
files into place (see :mod:`tscl.data.fetch`)."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from tscl.data.transfer import park_abandoned
from tscl.errors import DownloadError

_STAGING = ".tscl-fetch-"


@contextmanager
def staging(root: Path) -> Iterator[Path]:
    """A private folder inside ``root``, removed at exit; folders created for it go too if left empty.

    Its name carries the process id and the host name, so the folders of a fetch that was killed (no chance to
    clean up) are removed by the next fetch into the same root on the same machine — and a root shared between
    machines (a cluster's home folder) keeps the folders of fetches running elsewhere.
    """
    created = [folder for folder in (root, *root.parents) if not folder.exists()]
    try:
        root.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(root)
        stage = Path(tempfile.mkdtemp(prefix=f"{_STAGING}{os.getpid()}-{socket.gethostname()}-", dir=root))
    except OSError as exc:
        raise DownloadError(
            f"{root} must be a folder tscl can write to but got: {exc.strerror or exc}",
            "pass another --data-dir (or set TSCL_CACHE_DIR for the default one), or fix its permissions",
        ) from exc
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        for folder in created:  # deepest first; stop at the first that holds something
            try:
                folder.rmdir()
            except OSError:
                break


def _remove_abandoned(root: Path) -> None:
    """Remove staging folders of processes of this machine that no longer run, parking the bytes of the
    downloads they were doing for the next fetch to resume."""
    for folder in root.glob(f"{_STAGING}*-*"):
        pid, _, rest = folder.name[len(_STAGING) :].partition("-")
        if pid.isdigit() and rest.startswith(f"{socket.gethostname()}-") and not _alive(int(pid)):
            park_abandoned(folder, root)
            shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists but belongs to someone else, or cannot tell: leave it
    return True


def install(files: tuple[str, ...], root: Path, built: Path) -> None:
    """Move the finished files into ``root``: the dataset's folder in one rename when it is new, else file by
    file (each an atomic replace), so a reader never sees half a file."""
    folder = PurePosixPath(os.path.commonpath(files)) if len(files) > 1 else None
    if folder is not None and not (root / folder).exists():
        (root / folder).parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(built / folder, root / folder)
            return
        except OSError:
            if not (root / folder).is_dir():
                raise
            # another fetch of the same dataset put its folder there since the check: replace file by file
    for relative in files:
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        os.replace(built / relative, root / relative)
