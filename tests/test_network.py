"""Real targets on a real network, played on loopback: redirects, TLS trust, proxies, IPv6.

The redirect tests use two loopback addresses (Linux routes all of 127/8 to lo): the target
on 127.0.0.1 points elsewhere, a counting server on 127.0.0.2 must never hear a thing.
"""

from __future__ import annotations

import http.client
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from conformance.outcomes import Outcome
from conformance.run.engine import execute
from conformance.run.fuzzing import wiring
from conformance.simulator import server as simulator
from conformance.target import Target
from conformance.transport import Transport, redirected_away

# (method, path) -> (status, headers, body), or None to pass the request on (see _front)
Rule = Callable[[str, str], tuple[int, dict[str, str], bytes] | None]


@dataclass(slots=True)
class Heard:
    """What a loopback server received: (method, path, body) each."""

    requests: list[tuple[str, str, bytes]] = field(default_factory=list)


def _handler(heard: Heard, rule: Rule, upstream: str | None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            heard.requests.append((self.command, self.path, body))
            answer = rule(self.command, self.path)
            if answer is None and upstream:
                answer = _pass_on(upstream, self.command, self.path, dict(self.headers.items()), body)
            status, headers, payload = answer or (404, {}, b"")
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def _pass_on(upstream: str, method: str, path: str, headers: dict[str, str],
             body: bytes) -> tuple[int, dict[str, str], bytes]:
    """The upstream's answer (the test's own plumbing: the kit's transport is under test)."""
    where = urlsplit(upstream)
    connection = http.client.HTTPConnection(where.hostname, where.port, timeout=10)
    try:
        kept = {k: v for k, v in headers.items() if k.lower() in ("content-type", "accept")}
        connection.request(method, path, body=body or None, headers=kept)
        answer = connection.getresponse()
        return answer.status, {k: v for k, v in answer.getheaders()
                               if k.lower() in ("content-type", "location", "retry-after")}, answer.read()
    finally:
        connection.close()


@contextmanager
def serving(host: str, rule: Rule, upstream: str | None = None) -> Iterator[tuple[str, Heard]]:
    """A loopback HTTP server on ``host``: its root URL and what it heard."""
    heard = Heard()
    server_class = type("Server", (ThreadingHTTPServer,), {
        "daemon_threads": True, "address_family": socket.AF_INET6 if ":" in host else socket.AF_INET})
    server = server_class((host, 0), _handler(heard, rule, upstream))
    name = f"[{host}]" if ":" in host else host
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://{name}:{server.server_address[1]}", heard
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _never(_method: str, _path: str) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "application/json; charset=utf-8"}, b"[]"


@pytest.fixture
def elsewhere() -> Iterator[tuple[str, Heard]]:
    """The other origin: a server on 127.0.0.2 that counts what reaches it."""
    with serving("127.0.0.2", _never) as there:
        yield there


def _redirecting_everything(to: str, status: int = 307) -> Rule:
    def rule(_method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        return status, {"Location": to + path}, b""
    return rule


# -- the transport ------------------------------------------------------------------------------
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_get_redirected_to_another_origin_is_not_followed(elsewhere, status):
    there, heard_there = elsewhere
    with serving("127.0.0.1", _redirecting_everything(there, status)) as (here, heard_here):
        transport = Transport(here + "/open311/v2", "k3y")
        answer = transport.get("services.json")
    assert answer.status == status
    assert heard_there.requests == []
    assert len(heard_here.requests) == 1 and transport.requests_sent == 1
    assert redirected_away(answer.exchange, transport.base_url) == f"{there}/open311/v2/services.json"


def test_a_post_redirected_to_another_origin_is_not_resent(elsewhere):
    there, heard_there = elsewhere
    with serving("127.0.0.1", _redirecting_everything(there)) as (here, _heard):
        transport = Transport(here + "/open311/v2", "k3y")
        answer = transport.post("requests.json", {"service_code": "x", "api_key": "k3y"})
    assert answer.status == 307 and heard_there.requests == []


def test_a_post_redirected_within_the_origin_is_not_resent():
    def rule(method, path):
        if path.startswith("/old/"):
            return 307, {"Location": path.replace("/old/", "/new/")}, b""
        return 201, {}, b"[]"

    with serving("127.0.0.1", rule) as (here, heard):
        transport = Transport(here + "/old", "k3y")
        answer = transport.post("requests.json", {"service_code": "x"})
    assert answer.status == 307
    assert [(m, p) for m, p, _ in heard.requests] == [("POST", "/old/requests.json")]


def test_a_get_follows_within_the_origin_each_hop_its_own_exchange():
    def rule(_method, path):
        if path.startswith("/old/"):
            return 301, {"Location": path.replace("/old/", "/new/")}, b""
        return 200, {"Content-Type": "application/json; charset=utf-8"}, b"[]"

    with serving("127.0.0.1", rule) as (here, heard):
        transport = Transport(here + "/old", "k3y", min_interval=0.05)
        answer = transport.get("services.json", {"api_key": "k3y"})
    assert answer.status == 200 and answer.body == b"[]"
    assert [e.status for e in transport.exchanges] == [301, 200]
    hop = transport.exchanges[1]
    assert hop.label and "redirect 1" in hop.label and "k3y" not in hop.url
    # paced like any other request: the hop waited its interval
    assert hop.started - transport.exchanges[0].started >= 0.04
    assert [p for _m, p, _b in heard.requests] == ["/old/services.json?api_key=k3y", "/new/services.json?api_key=k3y"]


def test_a_redirect_loop_within_the_origin_ends_and_counts_against_the_budget():
    with serving("127.0.0.1", lambda _m, path: (302, {"Location": path}, b"")) as (here, heard):
        transport = Transport(here + "/v2", max_requests=3)
        with pytest.raises(Exception, match="budget"):
            transport.get("services.json")
    assert len(heard.requests) == 3


def test_the_fuzzing_session_follows_nothing(elsewhere):
    there, heard_there = elsewhere
    with serving("127.0.0.1", _redirecting_everything(there)) as (here, heard_here):
        transport = Transport(here + "/open311/v2", "k3y")
        session = wiring.session_for(wiring.TransportAdapter(transport, "fuzzing"))
        # requests' default is to follow (schemathesis calls it so): the session must not
        answer = session.post(here + "/open311/v2/requests.json", data="service_code=x")
        answer_get = session.get(here + "/open311/v2/services.json")
    assert (answer.status_code, answer_get.status_code) == (307, 307)
    assert heard_there.requests == [] and len(heard_here.requests) == 2


# -- a whole run --------------------------------------------------------------------------------
@pytest.mark.integration
def test_a_run_sends_nothing_to_the_other_origin(elsewhere, tmp_path):
    """The simulator behind a front on 127.0.0.1 that redirects every POST (the write flow's,
    the fuzzing's, the key checks') and discovery (a check's GET) to 127.0.0.2."""
    there, heard_there = elsewhere

    def rule(method, path):
        if method == "POST" or "/discovery." in path:
            return 307 if method == "POST" else 302, {"Location": there + path}, b""
        return None

    with simulator.start(delay=0.05) as sim, serving("127.0.0.1", rule, upstream=sim.root_url) as (front, heard):
        target = Target(base_url=front + "/open311/v2", api_key=sim.api_key, timeout=3.0, poll_timeout=3.0)
        result = execute(target, report_dir=tmp_path / "report", quiet=True)
    assert heard_there.requests == []
    posts = [m for m, _p, _b in heard.requests if m == "POST"]
    assert posts, "the run sent no POST: the test proves nothing"
    exchanges = result.record.exchanges
    fuzz_posts = [e for e in exchanges if e.method == "POST" and (e.label or "").startswith("openapi:")]
    assert fuzz_posts and all(e.status == 307 for e in fuzz_posts)
    away = next(r for r in result.results if r.id == "test_transport_health.py::test_no_redirect_away")
    assert away.outcome is Outcome.WARNING
    assert "127.0.0.2" in away.message and front in away.message
    har = (tmp_path / "report" / "evidence.har").read_text(encoding="utf-8")
    assert there + "/open311/discovery.json" in har  # the hop not taken, in the evidence
