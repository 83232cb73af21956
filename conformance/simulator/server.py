"""The simulator on a socket: a ThreadingHTTPServer around :class:`~.app.App`, and ``start()``.

``start()`` runs it in a background thread on a free loopback port (port 0), for ``run``
without a target and for the kit's own tests; ``serve.py`` uses the same for the CLI.

Stopping: the server stops accepting, ends its kept-alive connections and lets the answers in
progress finish (a few seconds at most) before the store closes, so no request in flight meets
a closed database and a client never gets an answer cut short by the stop.
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from conformance.simulator import dialect as dialects
from conformance.simulator import faults as fault_catalogue
from conformance.simulator.app import BASE, ROOT, App, Reply
from conformance.simulator.dialect import Dialect
from conformance.simulator.store import Store

MAX_REQUEST_BODY = 1024 * 1024
DRAIN_SECONDS = 2.0  # answers in progress at a stop get this long to finish...
FORCE_SECONDS = 1.0  # ...then their sockets are shut (a client that does not read) for this long


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: the kit sends ~150 requests a run
    disable_nagle_algorithm = True  # headers and body leave at once, no 40 ms ACK waits
    server_version = "open311-simulator"
    sys_version = ""
    server: _Server

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BODY:
            self._send(Reply(413, [("Content-Type", "application/json; charset=utf-8")],
                              b'[{"code":413,"description":"Request body too large"}]'), True)
            return
        body = self.rfile.read(length) if length > 0 else b""
        if len(body) < length:  # the client, or a stop, ended the body early: never act on half
            self.close_connection = True
            return
        try:
            answer = self.server.app.handle(self.command, self.path, dict(self.headers.items()),
                                            body)
        except Exception as exc:  # a bug in the simulator: answer 500 rather than hang up
            self.log_error("simulator error on %s %s: %r", self.command, self.path, exc)
            answer = Reply(500, [("Content-Type", "application/json; charset=utf-8")],
                            b'[{"code":500,"description":"Internal simulator error"}]')
        if self.server.latency > 0:  # a remote City's round trip; a stop ends the wait
            self.server.app.stopping.wait(self.server.latency)
        self._send(answer, self.command == "HEAD")

    def _send(self, answer: Reply, head_only: bool) -> None:
        try:
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            length = answer.length if answer.stream is not None else len(answer.body)
            self.send_header("Content-Length", str(length))
            # say so whenever the connection ends after this answer (a streamed body, a stop,
            # a client that asked for close): a client that is not told keeps the connection
            # in its pool and its next request meets the closed socket (a ConnectionError)
            if answer.stream is not None or self.close_connection \
                    or self.server.app.stopping.is_set():
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if head_only:
                return
            if answer.stream is None:
                self.wfile.write(answer.body)
                return
            for chunk in answer.stream():
                if self.server.app.stopping.is_set() and not chunk:
                    break
                self.wfile.write(chunk)
        except OSError:  # broken pipe, reset, or a socket shut by a stop
            self.close_connection = True  # the client gave up (a timeout or size cap): fine

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stalled answer must never keep the process alive
    allow_reuse_address = True
    # the listen backlog: socketserver's 5 overflows when dozens of clients connect at once,
    # and each connection dropped from it waits a whole SYN retry (1 s) on the client's side
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, log: bool, latency: float = 0.0) -> None:
        self.app = app
        self.log = log
        self.latency = latency  # seconds added before every answer
        self._open: set[socket.socket] = set()  # connections a handler thread still serves
        self._open_changed = threading.Condition()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_changed:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self._open_changed:
            self._open.discard(request)
            self._open_changed.notify_all()

    def drain(self) -> bool:
        """After serve_forever returned: end the open connections; True when none is left.

        First only their reading side is shut: a handler waiting for the next request of a
        kept-alive connection sees its end at once, one answering still sends its answer. A
        handler still busy after DRAIN_SECONDS (stuck writing to a client that does not read)
        gets its socket shut altogether."""
        for how, seconds in ((socket.SHUT_RD, DRAIN_SECONDS), (socket.SHUT_RDWR, FORCE_SECONDS)):
            with self._open_changed:
                for connection in self._open:
                    with contextlib.suppress(OSError):  # already closed by the client
                        connection.shutdown(how)
                if self._open_changed.wait_for(lambda: not self._open, timeout=seconds):
                    return True
        return False


class _Server6(_Server):
    address_family = socket.AF_INET6


@dataclass(slots=True)
class RunningSimulator:
    """A simulator serving in a background thread; stop() it, or use it as a context manager."""

    base_url: str
    root_url: str
    api_key: str
    faults: frozenset[str]
    host: str
    port: int
    delay: float
    latency: float
    app: App
    store: Store
    _server: _Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _stopped: bool = field(default=False, repr=False)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.app.stopping.set()  # releases stalled answers at once
        self._server.shutdown()  # no new connections...
        self._server.drain()  # ...and the open ones finish what they are answering
        self._server.server_close()
        self._thread.join(timeout=5)
        self.store.close()

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(delay: float = 2.0, faults: Iterable[str] = (), db: str | None = None,
          host: str = "127.0.0.1", port: int = 0, seed: int = 311,
          log: bool = False, dialect: str | Dialect = "chicago", latency: float = 0.0) -> RunningSimulator:
    """Start the simulated Chicago test environment (or another ``dialect`` of GeoReport v2),
    ``latency`` seconds added to every answer; ValueError for an unknown fault or dialect name."""
    active = fault_catalogue.check(faults)
    spoken = dialects.get(dialect)
    if delay < 0:
        raise ValueError("delay must not be negative")
    if not latency >= 0:  # NaN included
        raise ValueError("latency must not be negative")
    store = Store(db, seed=seed)
    app = App(store, active, delay, default_host=host, dialect=spoken)
    try:
        server = (_Server6 if ":" in host else _Server)((host, port), app, log, latency)
    except OSError:
        store.close()
        raise
    bound_host, bound_port = server.server_address[:2]
    url_host = f"[{bound_host}]" if ":" in str(bound_host) else str(bound_host)
    app.default_host = f"{url_host}:{bound_port}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"open311-simulator:{bound_port}", daemon=True)
    thread.start()
    root = f"http://{url_host}:{bound_port}{ROOT}"
    return RunningSimulator(
        base_url=f"http://{url_host}:{bound_port}{BASE}", root_url=root,
        api_key=store.default_key, faults=active, host=str(bound_host), port=int(bound_port),
        delay=delay, latency=latency, app=app, store=store, _server=server, _thread=thread)
