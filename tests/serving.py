"""What the kit's test HTTP servers share: writing one whole answer."""

from __future__ import annotations

from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler


def reply(handler: BaseHTTPRequestHandler, status: int, headers: Iterable[tuple[str, str]], body: bytes) -> None:
    """``status``, ``headers`` and ``body`` with its length, as one HTTP/1.1 answer."""
    handler.send_response(status)
    for name, value in headers:
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)
