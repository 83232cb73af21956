"""The one way the kit writes a moment: UTC, milliseconds, a ``Z`` (summary, report, HAR); and the
run's clock."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from conformance.headers import header


def iso_utc(epoch: float | None = None) -> str:
    """``epoch`` (seconds, default now) as e.g. ``2026-11-27T20:41:16.123Z``."""
    moment = dt.datetime.now(dt.UTC) if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# the header a replay's answer carries: when the recorded exchange started and how long it took
# (``started=<epoch s>; elapsed=<s>``), so a re-judged run's clock reads the recorded time
RECORDED_AT = "X-Open311-Replay-Recorded"


@dataclass(slots=True)
class Clock:
    """The run's time: the moments its requests carry (dates in filters, a datetime attribute),
    the poll loop's elapsed time, and its waits.

    Each moment a request carries is read by name and kept (``readings``, in the record), so a
    re-judged run sends the same requests: :class:`ReplayClock` hands back the recorded
    readings, and waits without sleeping."""

    readings: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self, name: str) -> float:
        """The wall-clock moment ``name`` (a check's or the write flow's) is built on, kept."""
        moment = self._moment(name)
        with self._lock:
            self.readings.setdefault(name, []).append(moment)
        return moment

    def once(self, name: str) -> float:
        """The moment ``name`` was first read in this run (read now when it never was): one
        value for every check that shares it."""
        with self._lock:
            taken = self.readings.get(name)
        return taken[0] if taken else self.now(name)

    def _moment(self, _name: str) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, stopped: threading.Event, seconds: float) -> bool:
        """Wait ``seconds`` unless ``stopped`` is set first; True when it was."""
        return stopped.wait(max(seconds, 0.0))

    def heard(self, headers: Mapping[str, str], sent_at: float) -> float:
        """An answer arrived on this thread (the transport says so) for a request sent at
        ``sent_at``: when that request left, on this clock. A live run's is the moment itself."""
        return sent_at


@dataclass(slots=True)
class ReplayClock(Clock):
    """The clock of a re-judged run: the recorded run's readings, in their order, and the
    recorded run's time. Each thread's time is the end of the recorded exchange it was last
    answered (the replay says which, :data:`RECORDED_AT`) plus what it waited since, and a wait
    passes at once (the answers are recorded: waiting for them proves nothing): the poll loop's
    elapsed time, which the token's timeout judges, is the recorded run's, server latency and all."""

    recorded: dict[str, list[float]] = field(default_factory=dict)
    # per thread: (the time it was last answered at, what it waited since); a thread never
    # answered by the replay starts from the real clock
    _threads: dict[int, tuple[float, float]] = field(default_factory=dict)

    def _moment(self, name: str) -> float:
        with self._lock:
            used = len(self.readings.get(name, []))
        recorded = self.recorded.get(name, [])
        # a reading the recorded run never took: now, and its request will not be in the evidence
        return recorded[used] if used < len(recorded) else time.time()

    def monotonic(self) -> float:
        at, waited = self._threads.get(threading.get_ident(), (time.monotonic(), 0.0))
        return at + waited

    def wait(self, stopped: threading.Event, seconds: float) -> bool:
        if stopped.is_set():
            return True
        thread = threading.get_ident()
        with self._lock:
            at, waited = self._threads.get(thread, (time.monotonic(), 0.0))
            self._threads[thread] = (at, waited + max(seconds, 0.0))
        return False

    def heard(self, headers: Mapping[str, str], sent_at: float) -> float:
        """The recorded exchange's start: a poll's time is its own request's, however long the
        recorded run's thread took to send it after its wait (a loaded machine oversleeps)."""
        said = header(headers, RECORDED_AT)
        if said is None:
            return sent_at
        try:
            parts = dict(part.strip().split("=", 1) for part in said.split(";"))
            started, elapsed = float(parts["started"]), float(parts["elapsed"])
        except (KeyError, ValueError):
            return sent_at
        with self._lock:
            self._threads[threading.get_ident()] = (started + elapsed, 0.0)
        return started
