"""The one way the kit writes a moment: UTC, milliseconds, a ``Z`` (summary, report, HAR); and the
run's clock."""

from __future__ import annotations

import datetime as dt
import threading
import time
from dataclasses import dataclass, field


def iso_utc(epoch: float | None = None) -> str:
    """``epoch`` (seconds, default now) as e.g. ``2026-11-27T20:41:16.123Z``."""
    moment = dt.datetime.now(dt.UTC) if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


@dataclass(slots=True)
class ReplayClock(Clock):
    """The clock of a re-judged run: the recorded run's readings, in their order, and waits
    that pass at once (the answers are recorded: waiting for them proves nothing), counted so
    the elapsed time the poll loop judges is what the recorded run waited, not the replay's."""

    recorded: dict[str, list[float]] = field(default_factory=dict)
    # per thread: the poll loop's elapsed time is its own thread's waits, not another's Retry-After
    _waited: dict[int, float] = field(default_factory=dict)

    def _moment(self, name: str) -> float:
        with self._lock:
            used = len(self.readings.get(name, []))
        recorded = self.recorded.get(name, [])
        # a reading the recorded run never took: now, and its request will not be in the evidence
        return recorded[used] if used < len(recorded) else time.time()

    def monotonic(self) -> float:
        return time.monotonic() + self._waited.get(threading.get_ident(), 0.0)

    def wait(self, stopped: threading.Event, seconds: float) -> bool:
        if stopped.is_set():
            return True
        thread = threading.get_ident()
        with self._lock:
            self._waited[thread] = self._waited.get(thread, 0.0) + max(seconds, 0.0)
        return False
