"""A grading: the server the application talks to, and the one value grading ends in.

:class:`GradingSimulator` is the embedded simulator in grading mode (token delay, rows without
an id in every list, a 503 with Retry-After on a token's first poll) with a fresh key for the
run; the proxy (``proxy.py``) is the other server. Either records what the application sent;
:func:`grade` judges the recording and returns an :class:`AppGrading`, from which the bundle
is written (report writers never see the live servers).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from conformance.appcheck import judges
from conformance.appcheck.conditions import app_checklist
from conformance.appcheck.launcher import AppRun
from conformance.appcheck.recording import Recorder, Seen, redactor, to_exchanges
from conformance.checklist import ChecklistItem
from conformance.outcomes import CheckResult
from conformance.simulator import data
from conformance.simulator.messages import Reply
from conformance.simulator.server import RunningSimulator, start
from conformance.timestamps import iso_utc
from conformance.transport import Exchange, key_fingerprint

JURISDICTION = data.JURISDICTION
DEFAULT_DELAY_S = 5.0

Catalogue = tuple[dict[str, Mapping[str, Any]], dict[str, Mapping[str, Any]]]


class GradingServer(Protocol):
    """What check-app needs of the server the application talks to."""

    base_url: str
    api_key: str
    recorder: Recorder
    mode: str  # "simulator" | "proxy"
    upstream: str | None
    pending_markers: tuple[str, ...]  # what marks the rows without an id it lists (none: unknown)
    tls_verified: bool  # False: the upstream's certificate was not checked (--insecure)
    through: str | None  # the HTTP proxy's host on the way to the upstream, if any

    def catalogue(self, recording: list[Seen]) -> Catalogue: ...

    def stop(self) -> None: ...


class GradingSimulator:
    """The embedded simulator in grading mode, with a fresh key and a recording."""

    mode = "simulator"
    upstream = None
    tls_verified = True
    through = None

    def __init__(self, app_name: str = "check-app", delay: float = DEFAULT_DELAY_S, port: int = 0,
                 faults: tuple[str, ...] = (), grading: bool = True, token_wait: float | None = None,
                 host: str = "127.0.0.1") -> None:
        self.recorder = Recorder()
        self.sim: RunningSimulator = start(delay=delay, port=port, faults=faults, host=host)
        self.sim.app.grading = grading
        self.sim.app.first_delay = token_wait  # the first id held this long: the app's patience
        # a key of this run only: an app configured by hand cannot reuse a stale one
        self.api_key = self.sim.store.add_key(app_name, "check-app")
        self.base_url = self.sim.base_url
        self.sim.app.recorder = self._record

    def _record(self, method: str, target: str, headers: Mapping[str, str], body: bytes,
                answer: Reply, received: float, started: float) -> None:
        self.recorder.add(method, target, headers, body, answer.status, answer.headers, answer.body,
                          received, started, time.monotonic() - started)

    @property
    def pending_markers(self) -> tuple[str, ...]:
        return self.sim.app.pending_markers

    def serve_page(self, path: str, answer: Callable[[], Reply]) -> str:
        """Serve ``answer`` at ``path`` on the simulator's port (never recorded); its URL."""
        self.sim.app.pages[path] = answer
        return self.base_url.split("/open311/", 1)[0] + path

    def catalogue(self, recording: list[Seen]) -> Catalogue:
        return {s["service_code"]: s for s in data.services()}, dict(data.definitions())

    def stop(self) -> None:
        self.sim.stop()

    def __enter__(self) -> GradingSimulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass(slots=True, frozen=True)
class AppGrading:
    """Everything a grading found, frozen: the one value the bundle is written from.

    ``exchanges`` are the recording as the kit's evidence objects (key redacted, ``seq`` from
    1); each result's ``exchanges`` are seq numbers into them.
    """

    app_name: str
    mode: str  # simulator | proxy
    base_url: str
    upstream: str | None
    formats: tuple[str, ...]
    key_fingerprint: str | None
    started: str
    finished: str
    app: AppRun | None  # None: the application was run by hand
    results: tuple[CheckResult, ...]
    exchanges: tuple[Exchange, ...]
    checklist: tuple[ChecklistItem, ...]
    kit_errors: tuple[str, ...] = ()
    read_only: bool = False  # graded as an application that never writes (--read-only)
    patience_s: float | None = None  # how long the first id was held; None: patience not tested
    tls_verified: bool = True  # False: the upstream's certificate was not checked (--insecure)
    proxy: str | None = None  # the HTTP proxy's host on the way to the upstream


def grade(server: GradingServer, *, app_name: str, formats: tuple[str, ...], started: str,
          app: AppRun | None, wait_ended: bool = False, output: judges.Output | None = None,
          read_only: bool = False, app_tz: str | None = None, patience_s: float | None = None) -> AppGrading:
    """Judge what the server recorded. ``wait_ended``: a hand-run application was still at it
    when --wait ran out (what it had not done yet is not shown rather than not done)."""
    recording = server.recorder.snapshot()
    services, definitions = server.catalogue(recording)
    facts = judges.Facts(
        api_key=server.api_key, formats=formats, services=services, definitions=definitions,
        command=app is not None, exit_code=app.exit_code if app else None,
        stopped_by_wait=wait_ended or bool(app and app.stopped_by_wait),
        finished=not wait_ended and not (app and app.stopped_by_wait), read_only=read_only, app_tz=app_tz,
        patience_s=patience_s, stderr_tail=app.stderr_tail if app else (),
        output=output or judges.Output(marked=bool(server.pending_markers)))
    results = tuple(judges.judge_all(recording, facts))
    return AppGrading(
        app_name=app_name, mode=server.mode, base_url=server.base_url, upstream=server.upstream,
        formats=formats, key_fingerprint=key_fingerprint(server.api_key), started=started,
        finished=iso_utc(), app=app, results=results,
        exchanges=tuple(to_exchanges(recording, server.base_url, redactor(server.api_key))),
        checklist=tuple(app_checklist(results)), read_only=read_only, patience_s=patience_s,
        tls_verified=server.tls_verified, proxy=server.through)
