"""``serve`` stops cleanly on SIGTERM and SIGINT while clients are busy with it, and a
stopped simulator serves no connection it kept alive.

Clean: exit code 0 within 10 s, "Simulator stopped." said, no traceback, and no answer that
was cut short by the store closing under it (a 500 "simulator error" in the log) -- also
with answers stalled in flight (the stalled-answer fault holds request lists for 120 s).
"""

from __future__ import annotations

import signal
import threading
import time

import pytest
import requests

from conformance.loadgen import DEFAULT_MIX, CallKind, Load, LoadResult, drive
from conformance.simulator import start
from conformance.simulator.spawn import ServeProcess


@pytest.mark.integration
@pytest.mark.parametrize("fault", [None, "stalled-answer"])
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_stops_cleanly_under_traffic(stop_signal: int, fault: str | None) -> None:
    results: list[LoadResult] = []
    stop = threading.Event()
    with ServeProcess("--delay", "0.2", *(("--fault", fault) if fault else ())) as server:
        # no single reads: they would need a request list first, which the fault stalls
        mix = {kind: weight for kind, weight in DEFAULT_MIX.items() if kind is not CallKind.SINGLE}
        load = Load(server.base_url, server.api_key, threads=6, requests=100_000, seconds=30,
                    settle_seconds=0, timeout=30, mix=mix)
        traffic = threading.Thread(target=lambda: results.append(drive(load, stop)))
        traffic.start()
        time.sleep(1.5)
        began = time.monotonic()
        exit_code = server.stop(stop_signal, timeout=10)
        took = time.monotonic() - began
        stop.set()
        traffic.join(timeout=40)
        out, err = server.stdout(), server.stderr()
    assert exit_code == 0, f"no clean exit within 10 s (took {took:.1f} s): {err[-600:]}"
    assert "Simulator stopped." in out
    assert "Traceback" not in err and "simulator error" not in err, err[-600:]
    assert len(results[0].samples) > 20, "the server was not busy when the signal came"


def test_stop_ends_kept_alive_connections() -> None:
    """A kept-alive connection used to outlive stop(): its handler thread went on answering,
    from a closed store (500). Now stop() ends it, so the next request finds no server."""
    sim = start(delay=0.1)
    with requests.Session() as session:
        try:
            assert session.get(f"{sim.base_url}/services.json", timeout=5).status_code == 200
        finally:
            sim.stop()
        with pytest.raises(requests.ConnectionError):
            session.get(f"{sim.base_url}/requests.json", timeout=5)

