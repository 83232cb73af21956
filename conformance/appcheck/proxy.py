"""``check-app --proxy URL``: the application talks to a real server through the kit.

A loopback HTTP server that forwards each request to the upstream server through the kit's
:class:`~conformance.transport.Transport` (so the write guard, timeouts, size cap and
politeness apply to forwarded traffic as to a run's), answers the application with what the
upstream said, and records the exchange as the application saw it. A POST the write guard
refuses is answered 403 with a plain error and recorded; an upstream that fails is 502. The
upstream is not judged here; the application is, by the same checks as with the simulator.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from conformance.appcheck.flows import rows
from conformance.appcheck.grading import Catalogue
from conformance.appcheck.recording import BASE, Kind, Recorder, Seen
from conformance.target import make_write_policy
from conformance.transport import Route, Transport, TransportError, Trust, is_loopback, proxy_host

MAX_REQUEST_BODY = 1024 * 1024
# what the application is answered: status, headers, body, and the kit's note for the evidence
Forwarded = tuple[int, list[tuple[str, str]], bytes, str]
REMOTE_MIN_INTERVAL_S = 0.2  # the kit's politeness to a remote host, as for a run
FORWARDED_REQUEST_HEADERS = ("Content-Type", "Accept", "Accept-Language")
DROPPED_ANSWER_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length",
                          "content-encoding", "server", "date"}


class ProxyServer:
    mode = "proxy"
    pending_markers: tuple[str, ...] = ()  # the upstream's rows carry no marker the kit knows

    def __init__(self, upstream: str, api_key: str, *, port: int = 0, transport: Transport | None = None,
                 timeout: float = 30.0, trust: Trust | None = None, route: Route | None = None) -> None:
        self.upstream = upstream.rstrip("/")
        self.api_key = api_key
        self.recorder = Recorder()
        host = urlsplit(self.upstream).hostname or ""
        self.transport = transport or Transport(
            self.upstream, api_key, timeout=timeout, write_policy=make_write_policy(),
            min_interval=0.0 if is_loopback(host) else REMOTE_MIN_INTERVAL_S, max_retries=0,
            trust=trust, route=route)
        self._server = _Server(("127.0.0.1", port), self)
        bound = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{bound}{BASE}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"check-app proxy:{bound}", daemon=True)
        self._thread.start()

    @property
    def tls_verified(self) -> bool:
        return self.transport.trust.verify

    @property
    def through(self) -> str | None:
        return proxy_host(self.transport.proxy)

    def forward(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Forwarded:
        """The answer to give the application: status, headers, body, and the kit's note."""
        split = urlsplit(target)
        if not split.path.startswith(BASE + "/"):
            return _error(404, f"the proxy forwards {BASE}/... only, not {split.path}")
        url = self.upstream + split.path[len(BASE):] + (f"?{split.query}" if split.query else "")
        sent = {k: v for k, v in headers.items() if k.title() in FORWARDED_REQUEST_HEADERS}
        try:
            answer = self.transport.send(method, url, body=body or None, headers=sent,
                                         label="forwarded for the application")
        except TransportError as exc:
            if exc.kind == "write-refused":
                return _error(403, f"open311-conformance did not forward this {method}: {exc}")
            return _error(502, f"open311-conformance could not reach the server: {exc}")
        kept = [(k, v) for k, v in answer.headers.items() if k.lower() not in DROPPED_ANSWER_HEADERS]
        return answer.status, kept, answer.body, ""

    def catalogue(self, recording: list[Seen]) -> Catalogue:
        """The upstream's services and the definitions the application posted to: from the
        answers it was given, else asked for (GETs only) once it is done."""
        services: dict[str, Mapping[str, Any]] = {}
        definitions: dict[str, Mapping[str, Any]] = {}
        for seen in recording:
            if seen.kind is Kind.SERVICES and seen.accepted:
                services.update({str(r["service_code"]): r for r in rows(seen) if r.get("service_code")})
            if seen.kind is Kind.DEFINITION and seen.accepted and isinstance(seen.data(), dict):
                definitions[seen.route.arg or ""] = seen.data()
        if not services:
            services = {str(r["service_code"]): r for r in self._fetch("services.json") or []
                        if isinstance(r, dict) and r.get("service_code")}
        for post in (s for s in recording if s.kind is Kind.POST):
            code = post.form.get("service_code", "")
            if code in services and code not in definitions and services[code].get("metadata") in (True, "true"):
                fetched = self._fetch(f"services/{code}.json")
                if isinstance(fetched, dict):
                    definitions[code] = fetched
        return services, definitions

    def _fetch(self, path: str) -> Any:
        try:
            answer = self.transport.get(path, label="check-app: the server's catalogue")
            return json.loads(answer.body) if answer.status == 200 else None
        except (TransportError, ValueError):
            return None

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.transport.close()


def _error(status: int, description: str) -> Forwarded:
    body = json.dumps([{"code": status, "description": description}]).encode()
    return status, [("Content-Type", "application/json; charset=utf-8")], body, description


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms ACK wait on every answer
    server_version = "open311-conformance-proxy"
    sys_version = ""
    server: _Server

    def _serve(self) -> None:
        received, started = time.time(), time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        proxy = self.server.proxy
        if length > MAX_REQUEST_BODY:
            status, headers, body, note = _error(413, "request body too large")
            request_body = b""
            self.close_connection = True
        else:
            request_body = self.rfile.read(length) if length > 0 else b""
            status, headers, body, note = proxy.forward(self.command, self.path, dict(self.headers.items()),
                                                        request_body)
        proxy.recorder.add(self.command, self.path, dict(self.headers.items()), request_body, status, headers,
                           body, received, started, time.monotonic() - started, note)
        try:
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

    def log_message(self, format: str, *args: Any) -> None:  # the recording is the log
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: ProxyServer) -> None:
        self.proxy = proxy
        super().__init__(address, _Handler)
