"""Local network helpers."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A local port nothing listens on (bound, then released): to start a server on, or to find
    a connection refused at."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
