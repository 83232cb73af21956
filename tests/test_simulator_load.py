"""The simulator under concurrent clients: no errors, and nothing acknowledged lost or doubled.

The traffic and the integrity check are ``conformance.loadgen``'s, the same the
benchmark (``benchmarks/simulator_load.py``) measures with; here smaller, and asserted on.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping

import pytest

from conformance.loadgen import (
    DEFAULT_MIX,
    WRITES_ONLY,
    CallKind,
    CallResult,
    Load,
    LoadResult,
    NotLoopback,
    Sample,
    Written,
    drive,
    verify,
)
from conformance.simulator import RunningSimulator, start
from conformance.transport import Transport

THREADS = 16
REQUESTS = 320  # 16 threads x ~20 requests


@pytest.mark.integration
@pytest.mark.parametrize(("mix", "keep_alive"), [
    (DEFAULT_MIX, True), (WRITES_ONLY, True),
    # a connection per request: the server must say Connection: close when it closes, or a
    # pooling client reuses the closed socket (connection errors, seen at 50 threads)
    (DEFAULT_MIX, False),
], ids=["mixed", "writes-only", "mixed-connection-per-request"])
def test_concurrent_clients_lose_nothing(mix: Mapping[CallKind, int], keep_alive: bool) -> None:
    # delay 0: ids are handed out while other threads write, read and poll (the racy part)
    with start(delay=0.0) as sim:
        result = drive(Load(sim.base_url, sim.api_key, threads=THREADS, requests=REQUESTS,
                            seconds=60, settle_seconds=20, mix=mix, keep_alive=keep_alive))
        integrity = verify(sim.base_url, result.written, settle_seconds=5)
    assert [(e.kind, e.outcome, e.detail) for e in result.errors] == []
    assert result.traffic_requests == REQUESTS
    posts = [s for s in result.samples if s.kind is CallKind.POST]
    assert len(posts) >= 20 and len(result.written) == len(posts)
    assert all(w.id for w in result.written), "a token did not resolve while settling"
    assert len({w.id for w in result.written}) == len(result.written)
    assert integrity.ok, integrity.problems()
    assert integrity.acknowledged == integrity.resolved == len(result.written)


def test_an_answer_that_closes_the_connection_says_so() -> None:
    """A client asking for Connection: close is answered with it: without the header an
    HTTP/1.1 client pools the connection the server is closing."""
    with start(delay=0.1) as sim:
        connection = http.client.HTTPConnection(sim.host, sim.port, timeout=5)
        try:
            connection.request("GET", "/open311/v2/services.json", headers={"Connection": "close"})
            answer = connection.getresponse()
            answer.read()
            assert answer.status == 200
            assert answer.getheader("Connection") == "close"
        finally:
            connection.close()


@pytest.mark.integration  # the simulator, and the integrity check's settle time waited out
def test_verify_reports_unresolved_duplicated_and_mismatched(simulator: RunningSimulator,
                                                             transport: Transport) -> None:
    """The integrity check can fail: fed a token the simulator never gave, the same token
    twice and a request that is not the one written, it says so."""
    answer = transport.post("requests.json", {
        "api_key": simulator.api_key, "service_code": "4fd3b656e750846c53000004",
        "address_string": "121 N LaSalle St", "attribute[WHEREIST]": "CURB",
        "description": "verify me"})
    token = json.loads(answer.body)[0]["token"]
    written = [Written(token, "verify me"), Written(token, "verify me"),
               Written("0" * 24, "never written")]
    found = verify(simulator.base_url, written, settle_seconds=1.5)
    assert found.unresolved == ["0" * 24]
    assert found.duplicate_tokens == [token]
    assert len(found.duplicate_ids) == 1  # the one id, claimed by both copies of the token
    assert found.acknowledged == 3 and found.resolved == 2 and not found.ok

    other = verify(simulator.base_url, [Written(token, "another description")], settle_seconds=1.5)
    assert len(other.mismatched) == 1 and not other.ok


def test_load_refuses_hosts_other_than_loopback() -> None:
    with pytest.raises(NotLoopback):
        drive(Load("http://example.org/open311/v2", "key", threads=1, requests=1))
    with pytest.raises(NotLoopback):
        verify("http://192.0.2.1/open311/v2", [])


def test_percentiles_are_nearest_rank() -> None:
    samples = [Sample(CallKind.SERVICES, s / 1000, CallResult.OK) for s in range(1, 101)]
    samples.append(Sample(CallKind.POST, 0.5, CallResult.STATUS, "500"))
    result = LoadResult(samples, [], traffic_requests=101, traffic_seconds=2.0)
    services, post, total = result.stats()
    assert (services.count, services.errors) == (100, 0)
    assert (services.p50, services.p90, services.p99, services.max) == (0.05, 0.09, 0.099, 0.1)
    assert (post.kind, post.errors, post.max) == (CallKind.POST, 1, 0.5)
    assert total.kind is None and total.count == 101 and total.max == 0.5
    assert result.throughput == 50.5 and [e.detail for e in result.errors] == ["500"]
