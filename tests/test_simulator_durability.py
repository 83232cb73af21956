"""``serve --db FILE`` keeps every request it acknowledged, even through ``kill -9``.

A real process takes POSTs from a few threads and is killed mid-traffic (SIGKILL: no handler,
no close, no checkpoint); a new process on the same file must still know every token it
answered, resolve the pending ones to ids, list each id once, and open the file cleanly.
"""

from __future__ import annotations

import signal
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests

from conformance.loadgen import CallKind, Load, LoadResult, drive, verify
from conformance.simulator import data
from conformance.simulator.spawn import ServeProcess

DELAY = "1.0"  # long enough that the last second's POSTs are still pending at the kill


@pytest.mark.integration
def test_acknowledged_requests_survive_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "city.sqlite3"
    results: list[LoadResult] = []
    stop = threading.Event()
    with ServeProcess("--db", str(db), "--delay", DELAY) as first:
        load = Load(first.base_url, first.api_key, threads=4, requests=100_000, seconds=30,
                    settle_seconds=0, mix={CallKind.POST: 3, CallKind.TOKEN: 1})
        traffic = threading.Thread(target=lambda: results.append(drive(load, stop)))
        traffic.start()
        time.sleep(2.5)
        first.kill()  # mid-traffic: POSTs are in flight
        stop.set()
        traffic.join(timeout=30)
        key = first.api_key
    written = results[0].written
    resolved_before = [w for w in written if w.id]
    assert len(written) >= 20, "too little traffic before the kill to mean anything"
    assert resolved_before and len(resolved_before) < len(written), \
        "want both resolved and still-pending tokens at the kill"
    assert any(e.kind is CallKind.POST for e in results[0].errors), "the kill was not mid-traffic"

    with ServeProcess("--db", str(db), "--delay", DELAY) as second:
        assert second.api_key == key  # the same city: not seeded again
        assert requests.get(f"{second.base_url}/services.json", timeout=10).status_code == 200
        integrity = verify(second.base_url, written, settle_seconds=15)
        assert second.stop(signal.SIGTERM) == 0
    assert integrity.ok, integrity.problems()
    assert integrity.acknowledged == integrity.resolved == len(written)

    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert check.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        history = check.execute("SELECT COUNT(*) FROM requests WHERE origin = 'history'")
        assert history.fetchone() == (data.HISTORY_SIZE,)
