"""Whether a server listens: one plain TCP connect with a short timeout, before handing an address to a library
that retries for minutes when nothing does (Ray's ``ray.init``, MLflow's HTTP client)."""

from __future__ import annotations

import socket

__all__ = ["PROBE_SECONDS", "unreachable"]

PROBE_SECONDS = 3.0  # a listening server accepts a connection at once, even a remote one


def unreachable(host: str, port: int, timeout: float = PROBE_SECONDS) -> str | None:
    """Why nothing accepted a TCP connection to ``host:port`` within ``timeout`` seconds (None: something did)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except TimeoutError:
        return f"no answer within {timeout:g} s"
    except OSError as exc:
        return (exc.strerror or type(exc).__name__).lower()
