"""Resumable HTTP downloads: the bytes an interrupted download received are kept, and the next one asks only for
the rest.

A download writes ``<name>.part`` in a folder ``<name>.partial`` beside its destination (inside the private
staging folder of :mod:`tscl.data.staging`, so nothing half-written is ever seen as a finished file), with a
sidecar ``<name>.part.json`` recording the URL and the validator (strong ETag, else Last-Modified) of the answer
that started it. When the download fails (network, HTTP error, Ctrl-C, a full disk) that folder is parked in
``<root>/.tscl-partial/<name>``; the next download of the file into the same root takes it back with a rename
(so two fetches never write one partial file) and asks for ``Range: bytes=N-`` with ``If-Range: <validator>``.

Only a 206 whose Content-Range starts at N continues the file. A 200 (the server ignores ranges, or the file
changed upstream) starts over from its body; a 416 (the partial file is complete or larger than the file) or a
206 at another offset starts over with a new request. The caller checks the completed file's sha256: a file
that fails it goes with the staging folder, so a retry starts from zero.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import requests
import urllib3
from rich.filesize import decimal

PARKED = ".tscl-partial"
_WORK_SUFFIX = ".partial"
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class ProgressBar(Protocol):
    """What a download drives while bytes arrive (a rich bar on terminals)."""

    def start(self, total: int | None, completed: int) -> None: ...

    def update(self, advance: int) -> None: ...


@dataclass(frozen=True)
class Partial:
    """The sidecar of a partial file: its URL, how to tell it is still the same file, and its full size."""

    url: str
    validator: str | None
    total: int | None


def download(
    url: str, destination: Path, root: Path, timeout: float, chunk_bytes: int, bar: ProgressBar | None = None
) -> None:
    """Download ``url`` to ``destination`` (a new file), resuming from a partial file parked in ``root``.

    Raises:
        requests.exceptions.RequestException: network or HTTP failure (the bytes received are parked).
        OSError: writing failed (the bytes received are parked).
    """
    name = destination.name
    work = destination.with_name(name + _WORK_SUFFIX)
    data = work / f"{name}.part"
    work.parent.mkdir(parents=True, exist_ok=True)
    partial = _claim(root / PARKED / name, work, url)
    work.mkdir(exist_ok=True)
    announce = True
    try:
        while True:  # a server may answer a range with less than the rest: ask again for what is missing
            response, offset, total = _request(url, work, partial, timeout, announce)
            with response, open(data, "ab" if offset else "wb") as file:
                if bar is not None:
                    bar.start(total, offset)
                for chunk in _chunks(response, chunk_bytes):
                    file.write(chunk)
                    if bar is not None:
                        bar.update(len(chunk))
            size = data.stat().st_size
            if total is None or size >= total:
                break
            if size == offset:
                raise requests.exceptions.ChunkedEncodingError("no bytes arrived")
            partial, announce = _read_sidecar(work), False
    except BaseException:
        park(work, root)
        raise
    os.replace(data, destination)
    shutil.rmtree(work, ignore_errors=True)


def _request(
    url: str, work: Path, partial: Partial | None, timeout: float, announce: bool
) -> tuple[requests.Response, int, int | None]:
    """The answer to continue (``offset`` > 0) or start the file, with its offset and the file's full size."""
    data = work / f"{work.name.removesuffix(_WORK_SUFFIX)}.part"
    offset = data.stat().st_size if partial is not None and partial.validator and data.is_file() else 0
    # Offsets count the file's bytes: no compressed transfer, whose bytes a range would count instead.
    headers = {"Accept-Encoding": "identity"}
    if offset and partial is not None and partial.validator:
        headers |= {"Range": f"bytes={offset}-", "If-Range": partial.validator}
    response = requests.get(url, headers=headers, stream=True, timeout=timeout)
    start, total = _content_range(response)
    if offset and (response.status_code == 416 or (response.status_code == 206 and start != offset)):
        response.close()
        return _request(url, work, None, timeout, announce)  # start over (offset 0: no second restart)
    try:
        response.raise_for_status()
    except requests.exceptions.HTTPError:
        response.close()
        raise
    if offset and partial is not None and response.status_code == 206:
        total = total or partial.total
        if announce:
            of = f" of {decimal(total)}" if total else ""
            print(f"resuming {data.name.removesuffix('.part')} at {decimal(offset)}{of}", file=sys.stderr)
        return response, offset, total
    length = response.headers.get("Content-Length", "")
    total = int(length) if length.isdigit() and response.status_code == 200 else None
    _write_sidecar(work, Partial(url, _validator(response), total))
    return response, 0, total


def _chunks(response: requests.Response, chunk_bytes: int) -> Iterator[bytes]:
    """The body as it arrives, up to ``chunk_bytes`` at a time, urllib3's errors turned into requests' as
    ``iter_content`` does. ``iter_content`` waits for whole chunks and drops the one under way when the
    connection dies; ``read1`` (urllib3 2.3+) hands over every byte received, so all of them are kept."""
    read1 = getattr(response.raw, "read1", None)
    if read1 is None:
        yield from response.iter_content(chunk_bytes)
        return
    try:
        while chunk := read1(chunk_bytes, decode_content=True):
            yield chunk
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3.exceptions.DecodeError as exc:
        raise requests.exceptions.ContentDecodingError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.exceptions.ConnectionError(exc) from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc


def _content_range(response: requests.Response) -> tuple[int | None, int | None]:
    """``(first byte, full size)`` of a 206's Content-Range (None when absent or unknown)."""
    found = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if found is None:
        return None, None
    return int(found[1]), None if found[3] == "*" else int(found[3])


def _validator(response: requests.Response) -> str | None:
    """What If-Range can compare: a strong ETag, else Last-Modified; None for a body the transfer re-encoded."""
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None
    etag = response.headers.get("ETag")
    if etag and not etag.startswith("W/"):  # If-Range compares strongly: a weak ETag never matches
        return etag
    return response.headers.get("Last-Modified")


def _claim(parked: Path, work: Path, url: str) -> Partial | None:
    """Take the partial file parked for this file name (a rename), when it comes from ``url`` and can resume."""
    try:
        os.rename(parked, work)
    except OSError:
        return None  # none parked (or another fetch took it first)
    try:
        parked.parent.rmdir()  # the parking folder goes when it holds nothing more
    except OSError:
        pass
    partial = _read_sidecar(work)
    if partial is None or partial.url != url or not partial.validator:
        shutil.rmtree(work, ignore_errors=True)
        return None
    return partial


def park(work: Path, root: Path) -> None:
    """Keep the partial file in ``work`` for the next download into ``root``, when it holds resumable bytes."""
    data = work / f"{work.name.removesuffix(_WORK_SUFFIX)}.part"
    partial = _read_sidecar(work)
    try:
        if partial is None or not partial.validator or not data.is_file() or data.stat().st_size == 0:
            return
        (root / PARKED).mkdir(exist_ok=True)
        os.rename(work, root / PARKED / work.name.removesuffix(_WORK_SUFFIX))
    except OSError:
        pass  # another fetch parked this file since (or the disk refuses): this one goes with the staging folder


def park_abandoned(stage: Path, root: Path) -> None:
    """Park the partial files of a staging folder whose process died (killed mid-download)."""
    for work in stage.glob(f"download-*/*{_WORK_SUFFIX}"):
        park(work, root)


def parked(root: Path, name: str) -> tuple[int, int | None] | None:
    """``(bytes kept, full size)`` of the partial file of ``name`` parked in ``root`` (None when there is none)."""
    data = root / PARKED / name / f"{name}.part"
    partial = _read_sidecar(data.parent)
    if partial is None or not data.is_file():
        return None
    return data.stat().st_size, partial.total


def kept_text(size: int, total: int | None) -> str:
    """``12.3 MB of 45.6 MB`` (``12.3 MB`` when the full size is unknown)."""
    return f"{decimal(size)} of {decimal(total)}" if total else decimal(size)


def _write_sidecar(work: Path, partial: Partial) -> None:
    name = work.name.removesuffix(_WORK_SUFFIX)
    (work / f"{name}.part.json").write_text(json.dumps(asdict(partial)) + "\n")


def _read_sidecar(work: Path) -> Partial | None:
    """The sidecar in ``work`` (None when missing or unreadable: the partial file then cannot resume)."""
    name = work.name.removesuffix(_WORK_SUFFIX)
    try:
        fields = json.loads((work / f"{name}.part.json").read_text())
        return Partial(str(fields["url"]), fields["validator"], fields["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
