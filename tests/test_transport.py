"""The transport: evidence, redaction, the write guard, limits, politeness (fast tier)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from conformance import target as target_mod
from conformance.transport import (
    Failure,
    StopReason,
    Transport,
    TransportError,
    is_loopback,
    key_fingerprint,
)
from tests.serving import reply

KEY = "s3cr3t-key+with/odd=chars"
HANG = -1  # a scripted "answer" that never comes


class _Scripted(BaseHTTPRequestHandler):
    """Answers each request with the next of a scripted list of (status, headers, body)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # as the simulator's: no 40 ms ACK wait between headers and body
    server: _ScriptedServer

    def do_GET(self) -> None:
        self.do_POST()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append((self.command, self.path, self.rfile.read(length)))
        status, headers, body = self.server.script.pop(0) if self.server.script else self.server.rest
        if status == HANG:
            self.server.released.wait(5)  # answers nothing until the test ends
            return
        reply(self, status, headers.items(), body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _ScriptedServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: list[tuple[int, dict[str, str], bytes]],
                 rest: tuple[int, dict[str, str], bytes] = (200, {}, b"[]")) -> None:
        self.script = list(script)
        self.rest = rest  # the answer once the script is used up
        self.seen: list[tuple[str, str, bytes]] = []
        self.released = threading.Event()
        super().__init__(("127.0.0.1", 0), _Scripted)


@contextmanager
def scripted(*answers: tuple[int, dict[str, str], bytes],
             rest: tuple[int, dict[str, str], bytes] = (200, {}, b"[]")) -> Iterator[_ScriptedServer]:
    server = _ScriptedServer(list(answers), rest)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()


def base(server: _ScriptedServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/open311/v2"


def test_key_redacted_in_url_body_headers_and_echoed_answers():
    echo = f'[{{"code":400,"description":"bad key {KEY}"}}]'.encode()
    with scripted((400, {"X-Echo": KEY}, echo)) as server:
        transport = Transport(base(server), KEY)
        response = transport.post("requests.json", {"api_key": KEY, "service_code": "x"})
    exchange = response.exchange
    assert server.seen[0][2].count(b"api_key=") == 1  # the key did go to the server
    for text in (exchange.url, exchange.request_body, str(exchange.response_headers),
                 exchange.response_body.decode()):
        assert KEY not in text
        assert "s3cr3t" not in text
    assert "[REDACTED]" in exchange.request_body


def test_fingerprint_is_stable_and_not_the_key():
    assert key_fingerprint(KEY) == key_fingerprint(KEY)
    assert KEY not in key_fingerprint(KEY)
    assert key_fingerprint(None) is None


@pytest.mark.parametrize(("url", "allowed"), [
    ("http://127.0.0.1:8311/open311/v2/requests.json", True),
    ("http://[::1]:8311/open311/v2/requests.json", True),
    ("http://localhost/open311/v2/requests.json", True),
    ("http://test311api.cityofchicago.org/open311/v2/requests.json", True),
    ("http://311api.cityofchicago.org/open311/v2/requests.json", False),
    ("http://311API.CityOfChicago.org./open311/v2/requests.json", False),
    ("http://test311api.cityofchicago.org@311api.cityofchicago.org/open311/v2/requests.json", False),
    ("http://open311.example.org/v2/requests.json", False),
])
def test_write_guard_default(url, allowed):
    assert (target_mod.make_write_policy().refusal(url) is None) is allowed


def test_write_guard_production_needs_both_flags():
    production = "http://311api.cityofchicago.org/open311/v2/requests.json"
    assert target_mod.make_write_policy(allow_writes=True).refusal(production)
    assert target_mod.make_write_policy(allow_production=True).refusal(production)
    assert target_mod.make_write_policy(True, True).refusal(production) is None
    assert target_mod.make_write_policy(allow_writes=True).refusal("http://open311.example.org/x") is None


def test_write_guard_refuses_before_anything_is_sent():
    # the port is never contacted: the guard decides on the URL alone
    transport = Transport("http://311api.cityofchicago.org/open311/v2", KEY,
                          write_policy=target_mod.make_write_policy())
    with pytest.raises(TransportError) as caught:
        transport.post("requests.json", {"service_code": "x"})
    assert caught.value.kind == "write-refused"
    assert transport.exchanges == []


def test_is_loopback():
    assert is_loopback("127.0.0.5") and is_loopback("::1") and is_loopback("[::1]")
    assert not is_loopback("10.0.0.1") and not is_loopback("example.org")


@pytest.mark.integration  # a server of its own, and a second waited out (Retry-After)
def test_retry_after_is_honoured_and_both_attempts_are_evidence():
    with scripted((429, {"Retry-After": "1"}, b"[]"), (200, {"Content-Type": "application/json"}, b"[1]")) as s:
        transport = Transport(base(s))
        started = time.monotonic()
        response = transport.get("services.json")
        waited = time.monotonic() - started
    assert response.status == 200
    assert len(s.seen) == 2
    assert [e.status for e in transport.exchanges] == [429, 200]
    assert "Retry-After 1 s honoured" in transport.exchanges[0].error
    assert waited >= 0.9  # it really waited (a lower bound, not a speed assertion)


def test_retry_after_beyond_the_cap_is_undecided_not_an_answer():
    with scripted((503, {"Retry-After": "3600"}, b"[]")) as server:
        transport = Transport(base(server))
        with pytest.raises(TransportError) as caught:
            transport.get("services.json")
    assert caught.value.kind is Failure.RATE_LIMITED and "3600" in str(caught.value)
    assert len(server.seen) == 1  # never waited an hour, never asked again


def test_repeated_retry_after_ends_undecided():
    with scripted(rest=(429, {"Retry-After": "0"}, b"[]")) as server:
        transport = Transport(base(server))
        with pytest.raises(TransportError) as caught:
            transport.get("services.json")
    assert caught.value.kind is Failure.RATE_LIMITED and "after 2 retries" in str(caught.value)
    assert len(server.seen) == 3


def test_budget_stops_the_run():
    with scripted() as server:
        transport = Transport(base(server), max_requests=2)
        transport.get("a.json")
        transport.get("b.json")
        with pytest.raises(TransportError) as caught:
            transport.get("c.json")
    assert caught.value.kind is Failure.STOPPED
    assert transport.stop is not None and transport.stop.reason is StopReason.BUDGET
    assert "--max-requests" in transport.stop.detail and transport.stopped.is_set()
    assert len(server.seen) == 2


def test_deadline_stops_the_run():
    with scripted() as server:
        transport = Transport(base(server), deadline=time.monotonic() - 1)
        with pytest.raises(TransportError) as caught:
            transport.get("a.json")
    assert caught.value.kind is Failure.STOPPED and transport.stop.reason is StopReason.DEADLINE
    assert server.seen == []


def test_an_unreachable_target_stops_the_run_at_the_first_failure():
    transport = Transport("http://127.0.0.1:9/open311/v2", timeout=2)
    with pytest.raises(TransportError) as first:
        transport.get("services.json")
    assert first.value.kind is Failure.CONNECTION and "connection refused" in str(first.value)
    assert transport.stop.reason is StopReason.UNREACHABLE
    assert "connection refused at http://127.0.0.1:9/open311/v2" in transport.stop.detail
    with pytest.raises(TransportError) as later:
        transport.get("requests.json")
    assert later.value.kind is Failure.STOPPED
    assert len(transport.exchanges) == 1


def test_connection_failures_on_two_paths_after_answers_stop_the_run():
    with scripted((200, {"Connection": "close"}, b"[]")) as server:  # no kept-alive socket outlives it
        url = base(server)
        transport = Transport(url, timeout=2)
        transport.get("a.json")
    for path in ("x.json", "x.json", "y.json", "z.json"):
        with pytest.raises(TransportError):
            transport.get(path)
    assert len(transport.exchanges) == 1 + 3  # the same path twice does not stop it; a second path does
    assert transport.stop.reason is StopReason.UNREACHABLE


def test_no_such_host_is_named(monkeypatch: pytest.MonkeyPatch):
    import socket

    def no_dns(*_args, **_kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # nothing leaves the machine
    transport = Transport("http://open311.example.invalid/open311/v2", timeout=2)
    with pytest.raises(TransportError):
        transport.get("services.json")
    assert "no such host" in transport.stop.detail


@pytest.mark.integration  # a server of its own, and its hangs waited out
def test_a_hung_target_stops_the_run():
    with scripted((200, {}, b"[]"), rest=(HANG, {}, b"")) as server:
        transport = Transport(base(server), timeout=0.3)
        transport.get("services.json")
        with pytest.raises(TransportError) as one:
            transport.get("requests.json")
        assert one.value.kind is Failure.TIMEOUT and transport.stop is None  # one slow path: its own failure
        with pytest.raises(TransportError) as two:
            transport.get("services/x.json")
        assert two.value.kind is Failure.TIMEOUT
        assert transport.stop.reason is StopReason.HUNG and "stopped answering at" in transport.stop.detail
        with pytest.raises(TransportError) as three:
            transport.get("tokens/t.json")
    assert three.value.kind is Failure.STOPPED and len(server.seen) == 3


@pytest.mark.integration  # a server of its own, and its hangs waited out
def test_one_slow_path_among_answers_does_not_stop_the_run():
    with scripted((HANG, {}, b""), (200, {}, b"[]"), (HANG, {}, b""), (200, {}, b"[]")) as server:
        transport = Transport(base(server), timeout=0.3)
        for path in ("slow.json", "fine.json", "slow2.json", "fine2.json"):
            try:
                transport.get(path)
            except TransportError as exc:
                assert exc.kind is Failure.TIMEOUT
    assert transport.stop is None and len(server.seen) == 4


def test_size_cap(simulator):
    transport = Transport(simulator.base_url, max_body=1000)
    with pytest.raises(TransportError) as caught:
        transport.get("requests.json")
    assert caught.value.kind is Failure.TOO_LARGE
    assert transport.exchanges[0].truncated


def test_plan_mode_announces_and_answers_from_the_stand_in(simulator):
    planned = []
    transport = Transport("http://311api.cityofchicago.org/open311/v2", KEY,
                          write_policy=target_mod.make_write_policy(),
                          plan=lambda m, u, r: planned.append((m, u, r)), stand_in=simulator.base_url)
    assert transport.get("services.json").status == 200
    with pytest.raises(TransportError):
        transport.post("requests.json", {"api_key": KEY})
    assert planned[0] == ("GET", "http://311api.cityofchicago.org/open311/v2/services.json", None)
    assert planned[1][0] == "POST" and "production" in planned[1][2]
    assert len(transport.exchanges) == 1  # the refused POST never left


SHARING = json.loads((Path(__file__).parent / "cases" / "shared_answers.json").read_text(encoding="utf-8"))["transport"]


@pytest.mark.parametrize("case", SHARING, ids=[c["description"] for c in SHARING])
def test_only_an_answer_received_straight_to_the_same_get_is_shared(case: dict[str, Any]):
    first = case["first"]
    answers = [(status, headers, body.encode()) for status, headers, body in first["answers"]]
    with scripted(*answers) as server:
        transport = Transport(base(server), timeout=5, max_body=first.get("max_body", 1 << 20),
                              share_answers=case.get("share_answers", True))
        failed = None
        try:
            transport.send(first["method"], transport.url_for(first["path"]), body=first.get("body"),
                           headers=first.get("headers"))
        except TransportError as exc:
            failed = exc.kind
        assert failed == (Failure(first["fails"]) if "fails" in first else None)
        asked = len(server.seen)
        looked_up = [transport.answered_get(transport.url_for(then["path"]), then.get("headers"))
                     for then in (case["then"], case.get("also", case["then"]))]
    assert len(server.seen) == asked  # a look-up sends nothing
    if case["shared"]:
        assert looked_up[0] is not None and looked_up[0].exchange is transport.exchanges[0]
        assert looked_up[0].status == answers[0][0] and looked_up[0].body == answers[0][2]
    else:
        assert looked_up == [None, None]


def test_a_get_sent_again_is_sent_again_where_answers_are_shared():
    # the sharing is the fuzzing's to ask for: whoever sends a request gets its own answer
    with scripted((200, {}, b"[1]"), (200, {}, b"[2]")) as server:
        transport = Transport(base(server), share_answers=True)
        bodies = [transport.get("requests.json").body for _ in range(2)]
    assert bodies == [b"[1]", b"[2]"] and len(server.seen) == 2
    assert transport.answered_get(transport.url_for("requests.json")).body == b"[1]"  # the first answer
