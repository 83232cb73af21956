"""Hostile servers for the battery in test_hostile.py: real HTTP servers on loopback.

The Open311-shaped ones wrap the simulator's request handler in-process (no proxying over
HTTP) and then spoil its answers: echo the request (and with it the API key) back, or put
markup into the text a report shows. The others are not Open311 at all: garbage bytes, or a
connection reset before any answer.
"""

from __future__ import annotations

import random
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote_plus

from conformance.simulator.app import App
from conformance.simulator.store import Store
from tests.serving import reply

SCRIPT = '<script>alert("pwned")</script>'
MODES = ("garbage", "reset", "reset-requests", "bad-utf8", "key-echo", "script-tags", "hang", "retry-later")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as the simulator's: no 40 ms ACK wait between headers and body
    server: _Server

    def _serve(self) -> None:
        mode = self.server.mode
        if mode == "hang":  # a target that stopped answering altogether: every path stalls
            self.server.released.wait(120)
            self.close_connection = True
            return
        if mode == "retry-later" and self.path.split("?")[0].endswith("/requests.json"):
            # asks for a wait far beyond what a run may give (after reading the body: the
            # connection is kept alive, and an unread body would be taken for the next request)
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._answer(503, "application/json; charset=utf-8", b'[{"code":503,"description":"busy"}]',
                         [("Retry-After", "120")])
            return
        if mode == "reset" or (mode == "reset-requests" and self.path.split("?")[0].endswith("/requests.json")):
            # SO_LINGER with a zero timeout turns close() into a TCP reset
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if mode == "garbage":
            self._answer(200, "application/json; charset=utf-8", self.server.random.randbytes(512))
            return
        answer = self.server.app.handle(self.command, self.path, dict(self.headers.items()), body)
        content = answer.body
        content_type = answer.content_type
        if mode == "bad-utf8" and self.path.split("?")[0].endswith("/requests.json"):
            content = content.replace(b"Pothole", b"Pothole \xff\xfe", 1)
        if mode == "key-echo":
            # echo what the client sent, key included, into the body and a header
            echo = unquote_plus(f"{self.path} {body.decode('utf-8', 'replace')}")
            content = content.replace(b'"description": "', f'"description": "you sent {echo}: '.encode(), 1)
            # a header carries printable ASCII only: what the fuzzing generated (any character,
            # CR and LF too) is escaped there, or the server itself broke on it now and then
            header = "".join(c if " " <= c <= "~" else c.encode("unicode_escape").decode("ascii") for c in echo)
            self._answer(answer.status, content_type, content, [("X-Echo", header)])
            return
        if mode == "script-tags":
            content = content.replace(b'"service_name": "', f'"service_name": "{SCRIPT}'.encode())
            content = content.replace(b"<service_name>", b"<service_name>&lt;script&gt;alert(1)&lt;/script&gt;")
            content = content.replace(b'"description": "', f'"description": "{SCRIPT}'.encode())
        self._answer(answer.status, content_type, content)

    def _answer(self, status: int, content_type: str, body: bytes,
                extra: list[tuple[str, str]] | None = None) -> None:
        reply(self, status, [("Content-Type", content_type), *(extra or [])], body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve  # as the simulator answers them

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str, app: App) -> None:
        self.mode = mode
        self.app = app
        self.random = random.Random(311)
        self.released = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request, client_address) -> None:
        # the kit hanging up on a hostile answer is the point, not the server's failure: its
        # traceback would read, in the test's captured output, as the kit's own
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


@contextmanager
def hostile_server(mode: str, api_key: str) -> Iterator[str]:
    """A hostile server in ``mode`` on a free loopback port; yields its versioned base URL."""
    assert mode in MODES, mode
    store = Store(None)
    store.add_key("hostile test", "test@example.invalid", key=api_key)
    server = _Server(mode, App(store, frozenset(), delay=0.2))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/open311/v2"
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        store.close()
