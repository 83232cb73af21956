"""The application's steps, printed as they happen, and when the City's flow has been seen.

A listener of the recording: it says "POST accepted, token ...", "token ... polled N times:
id ...", "read back ..." and sets ``complete`` once every claimed format has had a whole flow
(a hand-run application is waited for until then).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from conformance.appcheck import flows
from conformance.appcheck.recording import Kind, Recorder, Seen

Say = Callable[[str], None]


class Progress:
    def __init__(self, recorder: Recorder, formats: tuple[str, ...], say: Say) -> None:
        self.recorder = recorder
        self.formats = formats
        self.say = say
        self.complete = threading.Event()
        self._told: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        recorder.listeners.append(self)

    def __call__(self, seen: Seen) -> None:
        with self._lock:
            self._on(seen)

    def _on(self, seen: Seen) -> None:
        fmt = seen.fmt or "?"
        if seen.kind is Kind.POST:
            rows = flows.rows(seen)
            token = next((r.get("token") for r in rows if r.get("token")), None)
            if seen.accepted and token:
                self.say(f"POST accepted ({fmt}), token {token}")
            else:
                self.say(f"POST refused ({fmt}): {seen.status} {_first_error(rows)}".rstrip())
            return
        missing = flows.missing_id_asked(seen)
        if missing:
            self.say(f"asked for a row by a missing id: {missing}")
            return
        if seen.kind not in (Kind.TOKEN, Kind.REQUEST, Kind.LIST):
            return
        followed = flows.token_flows(self.recorder.snapshot())
        for flow in followed:
            if flow.id_answer is not None and self._once("id", flow.token):
                self.say(f"token {flow.token} polled {len(flow.polls_until_id)} time(s): "
                         f"id {flow.service_request_id}")
            if flow.readbacks and self._once("read", flow.token):
                self.say(f"read back {flow.service_request_id} ({flow.readbacks[0].fmt})")
            if any(p.seq == seen.seq for p in flow.polls_after_id):
                self.say(f"token {flow.token} polled again after its id arrived")
        if all(any(f.complete_in(fmt) for f in followed) for fmt in self.formats):
            self.complete.set()

    def _once(self, what: str, token: str) -> bool:
        if (what, token) in self._told:
            return False
        self._told.add((what, token))
        return True


def _first_error(rows: list[dict[str, object]]) -> str:
    return str(next((r.get("description") for r in rows if r.get("description")), ""))
