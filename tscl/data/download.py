"""The mechanics of one upstream file: download with requests, resuming an interrupted one
(:mod:`tscl.data.transfer`), checksum, unpack with pooch's ``Unzip``/``Decompress`` processors, and a rich
progress bar on terminals. Every failure becomes a one-line :class:`~tscl.errors.DownloadError`.

``TSCL_DATA_MIRROR=http://host:port`` makes every download come from ``<mirror>/<upstream file name>``
(``Libras.zip``, ``ETTh1.csv``, ``electricityloaddiagrams20112014.zip``) instead of the upstream URL.
"""

from __future__ import annotations

import fnmatch
import os
import sys
import zipfile
import zlib
from pathlib import Path

import pooch
import requests
import urllib3
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TransferSpeedColumn

from tscl.data import transfer
from tscl.data.catalog import Download
from tscl.data.manifest import file_sha256
from tscl.errors import ConfigError, DownloadError

MIRROR_ENV = "TSCL_DATA_MIRROR"
TIMEOUT_SECONDS = 60
CHUNK_BYTES = 256 * 1024
NETWORK_HINT = (
    "check the network, or set TSCL_DATA_MIRROR=http://host:port to a server holding the upstream files, "
    "or copy the files yourself into --data-dir (see datasets/README.md)"
)


class UnreachableError(DownloadError):
    """The file could not be downloaded at all (no network, HTTP error): a caller may say how to get it by hand."""


def source_url(download: Download) -> str:
    """The URL to fetch: the upstream one, or ``<mirror>/<file name>`` when ``TSCL_DATA_MIRROR`` is set."""
    mirror = checked_mirror()
    return f"{mirror.rstrip('/')}/{download.file_name}" if mirror else download.url


def checked_mirror() -> str | None:
    """``TSCL_DATA_MIRROR`` (None when unset); ConfigError unless it is an http(s):// URL."""
    mirror = os.environ.get(MIRROR_ENV)
    if not mirror:
        return None
    problem = "" if mirror.lower().startswith(("http://", "https://")) else "no http:// or https://"
    if not problem:
        try:  # the parse requests does before each download: a bad host or port fails here, once
            requests.models.PreparedRequest().prepare_url(f"{mirror.rstrip('/')}/file", None)
        except requests.exceptions.RequestException as exc:
            problem = " ".join(str(exc).split())
    if problem:
        raise ConfigError(
            f"{MIRROR_ENV} must be an http:// or https:// URL but got {mirror!r} ({problem})",
            hint=f"e.g. {MIRROR_ENV}=http://127.0.0.1:8000 (a server holding the upstream files), or unset it",
        )
    return mirror


def fetch_upstream(download: Download, folder: Path, root: Path) -> tuple[Path, str, str]:
    """Download one upstream file into ``folder`` and check its pinned sha256.

    ``folder`` is in the private staging folder of the data root ``root``, where the bytes of an interrupted
    download are parked for the next one to resume (:mod:`tscl.data.transfer`).

    Returns:
        ``(path, sha256, url)`` of the downloaded file.

    Raises:
        UnreachableError: network or HTTP failure.
        DownloadError: a pinned checksum that does not match.
    """
    url = source_url(download)
    path = _retrieve(url, folder / download.file_name, root)
    actual = file_sha256(path)
    if download.sha256 is not None and actual != download.sha256:  # the file goes: a retry starts from zero
        raise DownloadError(
            f"sha256 of {download.file_name} must be {download.sha256} but got {actual}",
            f"the file at {url} is not the expected one; retry, or check {MIRROR_ENV}",
        )
    return path, actual, url


def unpack(download: Download, archive: Path, folder: Path) -> list[Path]:
    """The files taken from a downloaded file: its ``members`` after unpacking, or the file itself.

    Raises:
        DownloadError: the file is not a valid archive, or a member is missing.
    """
    pooch.get_logger().setLevel("WARNING")  # pooch logs every unpacking at INFO level
    try:
        if download.unpack == "zip":
            extracted = pooch.Unzip(extract_dir=str(folder))(str(archive), "download", None)
        elif download.unpack == "gzip":
            name = download.members[0] if download.members else archive.stem
            extracted = [pooch.Decompress(method="gzip", name=name)(str(archive), "download", None)]
        else:
            return [archive]
    # zlib.error: a damaged deflate stream (zip member or gzip); NotImplementedError: a compression method
    # zipfile lacks (Deflate64, which Windows writes for large archives).
    except (zipfile.BadZipFile, zlib.error, NotImplementedError, OSError, EOFError) as exc:
        if isinstance(exc, OSError) and exc.errno is not None:
            raise  # the disk refused a write (full, quota, permissions): the archive is fine, fetch() says so
        raise DownloadError(
            f"{download.file_name} must be a {download.unpack} archive but it cannot be unpacked: {exc}",
            f"the download is damaged or not the upstream file; retry, or check {MIRROR_ENV}",
        ) from exc
    return _members(download, [Path(p) for p in extracted])


def _members(download: Download, extracted: list[Path]) -> list[Path]:
    """The extracted files matching each member pattern (by file name, case-sensitive first), in order."""
    chosen: list[Path] = []
    for pattern in download.members or ("*",):
        matches = sorted(p for p in extracted if fnmatch.fnmatchcase(p.name, pattern))
        if not matches:  # some archives change the case of a name
            matches = sorted(p for p in extracted if fnmatch.fnmatch(p.name.lower(), pattern.lower()))
        if not matches:
            names = ", ".join(sorted(p.name for p in extracted)[:12]) or "nothing"
            raise DownloadError(
                f"{download.file_name} must hold {pattern} but it holds {names}",
                f"the archive is not the upstream one; check {MIRROR_ENV} or the catalog's URL",
            )
        chosen.extend(matches)
    return chosen


def _retrieve(url: str, destination: Path, root: Path) -> Path:
    """The resumable download (checksum checked by the caller) with its exceptions turned into one-line errors;
    the hint says when running the same command again resumes.

    An OSError is left to the caller: requests wraps every network failure, so it comes from writing the file
    (disk full, quota, permissions), which no network hint would help with.
    """
    bar = _DownloadBar(destination.name) if _on_terminal() else None
    try:
        transfer.download(url, destination, root, TIMEOUT_SECONDS, CHUNK_BYTES, bar)
    except requests.exceptions.HTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "an error"
        message = f"download of {url} must succeed but the server answered HTTP {status}"
        raise UnreachableError(message, resume_hint(root, [destination.name], NETWORK_HINT)) from exc
    except requests.exceptions.RequestException as exc:
        message = f"download of {url} must succeed but got: {_reason(exc)}"
        raise UnreachableError(message, resume_hint(root, [destination.name], NETWORK_HINT)) from exc
    finally:
        if bar is not None:
            bar.close()
    return destination


def resume_hint(root: Path, file_names: list[str], hint: str) -> str:
    """``hint``, after how to resume when the bytes of an interrupted download of these files are kept."""
    kept = [(name, found) for name in file_names if (found := transfer.parked(root, name)) is not None]
    if not kept:
        return hint
    files = ", ".join(f"{transfer.kept_text(*found)} of {name}" for name, found in kept)
    return f"run the same command again to resume ({files} kept); {hint}"


def _on_terminal() -> bool:
    return sys.stderr.isatty()


def _reason(exc: requests.exceptions.RequestException) -> str:
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "the connection closed before the whole file arrived"
    if isinstance(exc, requests.exceptions.Timeout):
        return f"no answer within {TIMEOUT_SECONDS} s"
    if exc.args and isinstance(exc.args[0], urllib3.exceptions.ReadTimeoutError):  # requests: a ConnectionError
        return f"the server stopped sending for {TIMEOUT_SECONDS} s before the whole file arrived"
    if isinstance(exc, requests.exceptions.ProxyError):  # before ConnectionError, its parent
        url = str(exc.request.url) if exc.request is not None and exc.request.url else ""
        proxy = requests.utils.select_proxy(url, requests.utils.get_environ_proxies(url)) or "the proxy"
        return f"cannot connect through {proxy} (set by http_proxy/https_proxy; fix it, or list the host in no_proxy)"
    if isinstance(exc, requests.exceptions.SSLError):
        reason = _last_reason(exc)
        if "CERTIFICATE_VERIFY_FAILED" in reason:  # often a company proxy that re-signs https
            reason += "; if a proxy re-signs https, set REQUESTS_CA_BUNDLE to its certificate file"
        return f"the TLS (https) handshake failed: {reason}"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "cannot connect (no network, or connection refused)"
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return "the server redirected too many times (a redirect loop)"
    return f"{type(exc).__name__}: {_last_reason(exc)}"


def _last_reason(exc: BaseException) -> str:
    """The innermost cause's message (urllib3 nests its reasons a few levels deep), on one line."""
    while exc.__context__ is not None and str(exc.__context__):
        exc = exc.__context__
    return " ".join(str(exc).split())


class _DownloadBar:
    """The progress bar a download drives (:class:`tscl.data.transfer.ProgressBar`), drawn by rich on stderr;
    a resumed download starts at the bytes already kept."""

    def __init__(self, label: str) -> None:
        self._label = label
        self.total: int | None = None
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, total: int | None, completed: int) -> None:
        """Called once the response headers are in (again when a download asks for more)."""
        self.total = total
        if self._progress is None:
            columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
            self._progress = Progress(*columns, console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=total, completed=completed)
        elif self._task is not None:
            self._progress.update(self._task, total=total, completed=completed)

    def update(self, advance: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=advance)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
