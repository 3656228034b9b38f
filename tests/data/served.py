"""A local HTTP server on 127.0.0.1 standing in for the upstreams (no internet in tests), and archive helpers."""

from __future__ import annotations

import email.utils
import functools
import hashlib
import re
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def etag_of(body: bytes) -> str:
    """The strong ETag the test server gives a file: it changes whenever the content does."""
    return f'"{hashlib.sha256(body).hexdigest()[:16]}"'


@dataclass(frozen=True)
class Answer:
    """One GET the server answered: the path, the Range and If-Range headers it saw, its status, and the body
    bytes it sent."""

    path: str
    range: str | None
    if_range: str | None
    status: int
    sent: int


class _Handler(SimpleHTTPRequestHandler):
    """Serves a folder, with ETag, Last-Modified and single ``bytes=N-`` ranges (206, or 416 past the end; a
    200 when If-Range names another version), like the upstreams' servers; records every path asked for and
    every answer; sends only half of the files named in ``cut_short`` (with the full Content-Length) and then
    closes the connection, like a server dying mid-file; sends only the first K bytes of the body to the
    first request of a file in ``drop_after`` (name -> K) and closes; answers 200 with the whole file to
    ranges of the files in ``ignore_range``; answers a request for a file named in ``redirect_loop`` with a
    redirect to itself; sends half of the files named in ``stall`` and then nothing more until the server
    stops."""

    requests_served: list[str] = []
    answers: list[Answer] = []
    cut_short: set[str] = set()
    drop_after: dict[str, int] = {}
    ignore_range: set[str] = set()
    redirect_loop: set[str] = set()
    stall: set[str] = set()
    stopping = threading.Event()

    def do_GET(self) -> None:  # noqa: N802  (http.server naming)
        type(self).requests_served.append(self.path)
        name = self.path.lstrip("/")
        if name in type(self).redirect_loop:
            self.send_response(302)
            self.send_header("Location", self.path)
            self.end_headers()
            return
        if name in type(self).cut_short | type(self).stall:
            body = (Path(self.directory) / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if name in type(self).stall:
                type(self).stopping.wait()
            self.close_connection = True
            return
        path = Path(self.directory) / name
        if name and path.is_file():
            self._send_file(name, path)
            return
        super().do_GET()

    def _send_file(self, name: str, path: Path) -> None:
        body = path.read_bytes()
        etag = etag_of(body)
        asked, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        found = re.fullmatch(r"bytes=(\d+)-", asked or "")
        ranged = found is not None and name not in type(self).ignore_range and if_range in (None, etag)
        start = int(found[1]) if found is not None and ranged else 0
        status = (416 if start >= len(body) else 206) if ranged else 200
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", email.utils.formatdate(path.stat().st_mtime, usegmt=True))
        self.send_header("Accept-Ranges", "bytes")
        if status == 416:
            self.send_header("Content-Range", f"bytes */{len(body)}")
            body = b""
        elif status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            body = body[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if name in type(self).drop_after:  # the first request only: the connection drops after K bytes
            body = body[: type(self).drop_after.pop(name)]
            self.close_connection = True
        self.wfile.write(body)
        self.wfile.flush()
        type(self).answers.append(Answer(self.path, asked, if_range, status, len(body)))

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the test output quiet."""


@dataclass
class Mirror:
    """The served folder, its URL, the paths requested so far, the answers given to the files it served, and
    the files to cut short, to drop after K bytes once, to serve whole to a range, to redirect to themselves
    or to stall."""

    folder: Path
    url: str
    requests: list[str] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    cut_short: set[str] = field(default_factory=set)
    drop_after: dict[str, int] = field(default_factory=dict)
    ignore_range: set[str] = field(default_factory=set)
    redirect_loop: set[str] = field(default_factory=set)
    stall: set[str] = field(default_factory=set)


@contextmanager
def serve(folder: Path) -> Iterator[Mirror]:
    """Serve ``folder`` on 127.0.0.1 (a free port) while the context is open."""
    served = Mirror(folder, "")
    _Handler.requests_served = served.requests
    _Handler.answers = served.answers
    _Handler.cut_short = served.cut_short
    _Handler.drop_after = served.drop_after
    _Handler.ignore_range = served.ignore_range
    _Handler.redirect_loop = served.redirect_loop
    _Handler.stall = served.stall
    _Handler.stopping = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield served
    finally:
        _Handler.stopping.set()
        server.shutdown()
        server.server_close()


def write_zip(path: Path, members: dict[str, bytes | Path]) -> Path:
    """A zip archive holding ``members`` (name -> content, or a file to copy)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content.read_bytes() if isinstance(content, Path) else content)
    return path


def all_files(root: Path) -> list[str]:
    """Every path under ``root``, relative and sorted (empty when it does not exist)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() else []
