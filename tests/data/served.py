"""A local HTTP server on 127.0.0.1 standing in for the upstreams (no internet in tests), and archive helpers."""

from __future__ import annotations

import functools
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _Handler(SimpleHTTPRequestHandler):
    """Serves a folder; records every path asked for; sends only half of the files named in ``cut_short``
    (with the full Content-Length) and then closes the connection, like a server dying mid-file; answers a
    request for a file named in ``redirect_loop`` with a redirect to itself; sends half of the files named in
    ``stall`` and then nothing more until the server stops."""

    requests_served: list[str] = []
    cut_short: set[str] = set()
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
        super().do_GET()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Keep the test output quiet."""


@dataclass
class Mirror:
    """The served folder, its URL, the paths requested so far, and the files to cut short, to redirect to
    themselves or to stall."""

    folder: Path
    url: str
    requests: list[str] = field(default_factory=list)
    cut_short: set[str] = field(default_factory=set)
    redirect_loop: set[str] = field(default_factory=set)
    stall: set[str] = field(default_factory=set)


@contextmanager
def serve(folder: Path) -> Iterator[Mirror]:
    """Serve ``folder`` on 127.0.0.1 (a free port) while the context is open."""
    served = Mirror(folder, "")
    _Handler.requests_served = served.requests
    _Handler.cut_short = served.cut_short
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
