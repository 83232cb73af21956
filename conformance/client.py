"""A small, correct Open311 client built on the transport.

It reads the way the City tells clients to read: rows without a ``service_request_id`` are
set aside (never used as data), tokens are polled with backoff until an id appears. GET
answers are cached for the run, so no reference data is fetched twice and checks that look
at the same answer from different angles stay independent of each other's order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from conformance import contract, wire
from conformance.contract import OPERATIONS, Operation
from conformance.profiles import KeyPlace
from conformance.transport import Exchange, Failure, Response, Transport, TransportError


@dataclass(slots=True)
class Answer:
    """One decoded answer: what came over the wire and what it means."""

    fmt: str
    status: int
    content_type: str
    body: bytes
    exchange: Exchange
    data: Any = None
    decode_error: str | None = None
    unsafe: bool = False  # refused unread as unsafe XML: judged by GR2-FMT-XML-SAFE alone

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def decoded(self) -> bool:
        return self.decode_error is None

    def describe(self) -> str:
        return f"{self.exchange.method} {self.exchange.url} -> {self.status} {self.content_type or '(no content type)'}"


@dataclass(slots=True)
class Poll:
    attempt: int
    at_s: float  # seconds since the first poll left, on the run's clock
    status: int | None
    service_request_id: str | None
    note: str = ""
    answer: Answer | None = field(default=None, repr=False)  # what GR2-TOKEN-ANSWER judges


@dataclass(slots=True)
class TokenResult:
    token: str
    service_request_id: str | None
    polls: list[Poll] = field(default_factory=list)
    waited_s: float = 0.0
    error: str | None = None


def attribute_fields(attributes: Mapping[str, Any]) -> dict[str, Any]:
    """Attribute answers as GeoReport v2 form fields: ``attribute[CODE]=KEY``, and
    ``attribute[CODE][]`` once per key of a multivaluelist (a list value here)."""
    fields: dict[str, Any] = {}
    for code, value in attributes.items():
        if isinstance(value, list | tuple):
            fields[f"attribute[{code}][]"] = list(value)
        else:
            fields[f"attribute[{code}]"] = str(value)
    return fields


class Client:
    def __init__(self, transport: Transport, jurisdiction_id: str | None = None,
                 key_on: KeyPlace = KeyPlace.POST_FORM) -> None:
        self.transport = transport
        self.jurisdiction_id = jurisdiction_id
        self.key_on = key_on
        self._cache: dict[tuple[str, str, tuple[tuple[str, str], ...]], Answer | TransportError] = {}
        self._locks: dict[tuple[str, str, tuple[tuple[str, str], ...]], threading.Lock] = {}
        self._guard = threading.Lock()
        # told about every answer a caller receives (cached or fresh), so each check can
        # list the exchanges it based its judgement on
        self.on_answer: Callable[[Answer], None] | None = None

    # -- reading -------------------------------------------------------------------------
    def fetch(self, path: str, fmt: str = "json", params: Mapping[str, Any] | None = None, *,
              resource: str | None = None, cached: bool = True, label: str | None = None,
              with_jurisdiction: bool = True) -> Answer:
        """GET ``path.fmt``; the answer is decoded when its status is 2xx or 4xx."""
        query = dict(params or {})
        if with_jurisdiction and self.jurisdiction_id and "jurisdiction_id" not in query:
            query["jurisdiction_id"] = self.jurisdiction_id
        key = (path, fmt, tuple(sorted((k, str(v)) for k, v in query.items())))
        if not cached:
            try:
                return self._seen(self._fetch(path, fmt, query, resource, label))
            except TransportError as exc:
                self._notify_exchange(exc)
                raise
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one fetch per key even when checks run in threads
            hit = self._cache.get(key)
            if hit is None:
                try:
                    hit = self._fetch(path, fmt, query, resource, label)
                except TransportError as exc:
                    hit = exc
                self._cache[key] = hit
        if isinstance(hit, TransportError):
            self._notify_exchange(hit)
            # a fresh exception each time: re-raising the cached one would grow its traceback
            raise TransportError(hit.kind, str(hit), hit.exchange)
        return self._seen(hit)

    def _fetch(self, path: str, fmt: str, query: Mapping[str, Any], resource: str | None,
               label: str | None) -> Answer:
        response = self.transport.get(f"{path}.{fmt}", query, label=label)
        return self.decode(response, fmt, resource)

    def decode(self, response: Response, fmt: str, resource: str | None) -> Answer:
        answer = Answer(fmt, response.status, response.content_type, response.body,
                        response.exchange)
        if response.status >= 400:
            resource = "errors"
        try:
            answer.data = wire.decode(response.body, fmt, resource).data
        except wire.WireError as exc:
            answer.decode_error = str(exc)
            answer.unsafe = isinstance(exc, wire.UnsafeXmlError)
        return answer

    def read(self, operation: Operation, fmt: str = "json", params: Mapping[str, Any] | None = None,
             *, cached: bool = True, **values: str) -> Answer:
        """GET one operation of the contract's table, its path filled with ``values``."""
        return self.fetch(operation.stem(**values), fmt, params, resource=operation.resource,
                          cached=cached, with_jurisdiction=not operation.beside_base)

    def services(self, fmt: str = "json") -> Answer:
        return self.read(OPERATIONS["services"], fmt)

    def definition(self, service_code: str, fmt: str = "json") -> Answer:
        return self.read(OPERATIONS["service-definition"], fmt, service_code=service_code)

    def requests(self, params: Mapping[str, Any] | None = None, fmt: str = "json",
                 cached: bool = True) -> Answer:
        return self.read(OPERATIONS["requests"], fmt, params, cached=cached)

    def request(self, service_request_id: str, fmt: str = "json",
                params: Mapping[str, Any] | None = None, cached: bool = True) -> Answer:
        return self.read(OPERATIONS["request"], fmt, params, cached=cached,
                         service_request_id=service_request_id)

    def token(self, token: str, fmt: str = "json", cached: bool = False) -> Answer:
        return self.read(OPERATIONS["tokens"], fmt, cached=cached, token=token)

    def discovery(self, fmt: str = "json") -> Answer:
        return self.read(OPERATIONS["discovery"], fmt)

    @staticmethod
    def identified(answer: Answer) -> tuple[list[dict[str, Any]], list[Any]]:
        """Rows with an id (usable data) and rows without (to be ignored, as the City says)."""
        if not answer.ok or not isinstance(answer.data, list):
            return [], []
        return contract.partition_rows(answer.data)

    # -- writing -------------------------------------------------------------------------
    def create(self, fields: Mapping[str, Any], attributes: Mapping[str, Any] | None = None, *,
               api_key: str | None | bool = True, fmt: str = "json", label: str | None = None
               ) -> Answer:
        """POST a service request. ``api_key=True`` sends the target's key, None sends none,
        "" sends it empty (``api_key=``); it travels where the profile says (``key_on``)."""
        operation = OPERATIONS["post-request"]
        form: list[tuple[str, Any]] = []
        path = operation.path(fmt)
        key = self.transport.api_key if api_key is True else api_key
        send = bool(key) or api_key == ""
        if send and self.key_on is KeyPlace.QUERY:
            path = f"{path}?{urlencode({'api_key': key})}"
        elif send:
            form.append(("api_key", key))
        if self.jurisdiction_id and "jurisdiction_id" not in fields:
            form.append(("jurisdiction_id", self.jurisdiction_id))
        form.extend((k, v) for k, v in fields.items() if v is not None)
        form.extend(attribute_fields(attributes or {}).items())
        response = self.transport.post(path, form, label=label)
        return self._seen(self.decode(response, fmt, operation.resource))

    def _seen(self, answer: Answer) -> Answer:
        if self.on_answer:
            self.on_answer(answer)
        return answer

    def _notify_exchange(self, exc: TransportError) -> None:
        if self.on_answer and exc.exchange is not None:
            self.on_answer(Answer("", exc.exchange.status or 0, "", b"", exc.exchange,
                                  decode_error=str(exc)))

    def resolve_token(self, token: str, timeout: float, *, remote: bool, fmt: str = "json",
                      on_poll: Callable[[Poll], None] | None = None) -> TokenResult:
        """Poll ``tokens/{token}`` until an id appears or ``timeout`` passes.

        The wait before each poll grows with the time already waited (15 % of it), so a
        token resolving after T seconds is seen by about 1.15 T, with few polls on a slow
        server; remote targets get a floor and a ceiling to stay polite.
        """
        floor, ceiling, share = (2.0, 30.0, 0.25) if remote else (0.05, 2.0, 0.15)
        result = TokenResult(token, None)
        clock = self.transport.clock  # a re-judged run's: the recorded run's waits, not slept
        start: float | None = None  # when the first poll left: each poll's time counts from it
        attempt = 0
        while True:
            attempt += 1
            poll = Poll(attempt, 0.0, None, None)
            sent = clock.monotonic()  # a poll that never left: when it was due
            try:
                answer = self.token(token, fmt)
                sent = answer.exchange.sent_at
                poll.status = answer.status
                poll.answer = answer
                if answer.decode_error:
                    poll.note = answer.decode_error
                elif answer.ok and isinstance(answer.data, list) and answer.data:
                    first = answer.data[0]
                    if isinstance(first, dict) and first.get("service_request_id"):
                        poll.service_request_id = str(first["service_request_id"])
                else:
                    poll.note = "not found" if answer.status == 404 else f"HTTP {answer.status}"
            except TransportError as exc:
                if exc.kind is Failure.STOPPED:
                    result.error = str(exc)
                    break  # the run is cut short: no more polls, and no waiting for nothing
                poll.note = str(exc)
                sent = exc.exchange.sent_at if exc.exchange is not None else sent
            start = sent if start is None else start
            poll.at_s = round(sent - start, 3)
            result.polls.append(poll)
            if on_poll:
                on_poll(poll)
            if poll.service_request_id:
                result.service_request_id = poll.service_request_id
                break
            elapsed = clock.monotonic() - start
            if elapsed >= timeout:
                result.error = f"no service_request_id after {elapsed:.1f} s and {attempt} polls"
                break
            wait = min(ceiling, max(floor, share * elapsed), timeout - elapsed)
            clock.wait(self.transport.stopped, wait)
        result.waited_s = round(clock.monotonic() - start, 3) if start is not None else 0.0
        return result
