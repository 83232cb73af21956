"""Write, then read back: the City's condition for a production key.

The flow starts when the run starts and runs beside the other checks, so the wait for the
City to process the request overlaps them: choose a service, fill its required attributes
from its definition, POST with the key, look at the list while the request is pending
(the City warns that such rows have no id), then poll the token until the id appears.
The checks in ``run/checks/test_write_readback*.py`` judge what this flow recorded.

A run writes at most four requests, so each write shows as much as it can: the main write
carries a description of exactly 4000 characters with line breaks and non-ASCII text and
every optional field; a second is located by address_string alone and has no description;
a third is located by address_id alone and is sent (and its token polled) as .xml. A fourth
POST carries an unknown jurisdiction_id: a server may refuse it, or accept it as if the
jurisdiction_id were absent, and then it is a write (its token is not polled).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.client import Answer, Client, Poll, TokenResult
from conformance.outcomes import Inconclusive
from conformance.target import Target
from conformance.transport import Failure, TransportError

DESCRIPTION_LIMIT = 4000  # characters, GeoReport v2 "POST Service Request"
# the optional fields of a POST (GR2-POST-OPTIONAL-FIELDS); placeholders the run fills in
OPTIONAL_FIELDS = {
    "email": "open311-conformance@example.org", "phone": "312-555-0100",
    "first_name": "Open311", "last_name": "Conformance",
    "device_id": "open311-conformance-{run_id}", "account_id": "open311-conformance",
    # the query string shows a server that keeps only part of the URL
    "media_url": "https://example.org/open311-conformance.jpg?run={run_id}",
}
# when the target lists no address_id of its own (GR2-POST-ADDRESS-ID says so when refused)
MADE_UP_ADDRESS_ID = "open311-conformance-address"
# a jurisdiction_id no server serves (.invalid is reserved, RFC 2606)
UNKNOWN_JURISDICTION = "unknown.example.invalid"


class Location(StrEnum):
    """How a write of the flow gives its location."""

    COORDINATES = "lat and long"
    ADDRESS_STRING = "address_string alone"
    ADDRESS_ID = "address_id alone"


@dataclass(slots=True)
class Write:
    """One POST of the flow and what became of it."""

    fmt: str = "json"
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    post: Answer | None = None
    token: str | None = None
    immediate_id: str | None = None
    token_result: TokenResult | None = None
    skipped: str | None = None  # why this write (for the main write: the flow) was not sent

    @property
    def service_request_id(self) -> str | None:
        if self.immediate_id:
            return self.immediate_id
        return self.token_result.service_request_id if self.token_result else None

    def take(self, answer: Answer) -> None:
        """Keep the POST answer and the token or id it carries."""
        self.post = answer
        row = answer_row(answer)
        if row is None:
            return
        self.token = str(row["token"]) if row.get("token") else None
        self.immediate_id = str(row["service_request_id"]) if row.get("service_request_id") else None


@dataclass(slots=True)
class WriteOutcome(Write):
    """The main write (lat and long) and the flow around it."""

    service_code: str | None = None
    pending_list: Answer | None = None
    pending_probes: list[Answer] = field(default_factory=list)
    inconclusive: str | None = None
    error: str | None = None
    # the writes located otherwise (address_string alone, address_id alone)
    alternatives: dict[Location, Write] = field(default_factory=dict)
    # the POST with an unknown jurisdiction_id (GR2-JURISDICTION-POST): a write only when
    # accepted, and none of writes(), whose checks judge the writes the server must accept
    unknown_jurisdiction: Write | None = None

    def writes(self) -> list[Write]:
        """Every write of the flow that was sent, the main one first."""
        return [w for w in (self, *self.alternatives.values()) if w.post is not None]


def answer_row(answer: Answer) -> dict[str, Any] | None:
    """The request a POST answer holds: the list's first element or, a shape GR2-POST-RESPONSE
    fails but a client can still use, a bare object. None when refused or unreadable."""
    if not answer.ok:
        return None
    data = answer.data
    if isinstance(data, list):
        data = data[0] if data else None
    return data if isinstance(data, dict) else None


def main_description(run_id: str) -> str:
    """Exactly DESCRIPTION_LIMIT characters: line breaks, non-ASCII text, the run's id."""
    head = (f"open311-conformance write check, run {run_id}\n"
            "Zeile 2 \u2014 Stra\u00dfe, caf\u00e9, na\u00efve, S\u00e3o Paulo, \u6771\u4eac\n")
    filler = "This line fills the description to exactly 4000 characters.\n"
    text = (head + filler * (DESCRIPTION_LIMIT // len(filler) + 1))[:DESCRIPTION_LIMIT - 1].rstrip()
    # no whitespace at the end: XML readers may strip it
    return text.ljust(DESCRIPTION_LIMIT - 1, ".") + "."


def choose_service(services: list[dict[str, Any]], target: Target) -> dict[str, Any] | None:
    """The service to write to: the one asked for, else the profile's preferred one the
    target lists, else the first listed."""
    by_code = {str(s.get("service_code")): s for s in services if isinstance(s, dict)}
    if target.write_service_code:
        return by_code.get(target.write_service_code)
    preferred = (by_code[c] for c in target.profile.defaults.write_services if c in by_code)
    return next(preferred, None) or next(iter(by_code.values()), None)


def ensure_location(client: Client, target: Target) -> tuple[float, float]:
    """Where writes go: the target's location, or, when neither --location nor the profile
    gives one, the place of the first request the target lists with coordinates (a place
    the city itself accepts). Raises Inconclusive when there is none."""
    if target.location is not None:
        return target.location
    rows, _pending = Client.identified(client.requests())
    for row in rows:
        lat, lon = row.get("lat"), row.get("long")
        if isinstance(lat, int | float) and isinstance(lon, int | float) and not isinstance(lat, bool) \
                and -90 <= lat <= 90 and -180 <= lon <= 180:
            target.location = (float(lat), float(lon))
            return target.location
    raise Inconclusive("no location to write at: the profile has no default and no listed request "
                       "has lat/long (give --location LAT,LONG)")


# the names under which the run's clock keeps the moment a datetime attribute carries: one per
# thread that writes (the flow's and the checks'), so a re-judged run hands each its own in order
FLOW_MOMENT = "write flow: datetime attribute"
CHECK_MOMENT = "checks: datetime attribute"


def moment(client: Client) -> Callable[[], float]:
    """The moment a check's datetime attribute carries: the run's clock, read when needed."""
    return lambda: client.transport.clock.now(CHECK_MOMENT)


def fill_attributes(definition: dict[str, Any] | None, now: Callable[[], float] = time.time) -> dict[str, Any]:
    """A valid value for every required attribute, by datatype (list values by key); a
    datetime is ``now()`` (the run's clock, so a re-judged run sends what was sent)."""
    values: dict[str, Any] = {}
    for attribute in (definition or {}).get("attributes") or []:
        if not isinstance(attribute, dict) or not attribute.get("required"):
            continue
        if attribute.get("variable") is False:
            continue
        code = attribute.get("code")
        datatype = attribute.get("datatype")
        keys = [v.get("key") for v in attribute.get("values") or [] if isinstance(v, dict)]
        if datatype == "singlevaluelist" and keys:
            values[code] = keys[0]
        elif datatype == "multivaluelist" and keys:
            values[code] = [keys[0]]
        elif datatype == "number":
            values[code] = "3"
        elif datatype == "datetime":
            values[code] = dt.datetime.fromtimestamp(now(), dt.UTC).replace(microsecond=0).isoformat()
        else:
            values[code] = "open311-conformance"
    return values


def post_fields(target: Target, service_code: str, description: str) -> dict[str, Any]:
    """The fields of a POST the target should accept: the service, the run's location, text.

    The location must be known: callers holding a client resolve it with ensure_location."""
    if target.location is None:
        raise Inconclusive("no location to write at yet (the write flow looks for one)")
    lat, lon = target.location
    fields = {"service_code": service_code, "lat": f"{lat:.6f}", "long": f"{lon:.6f}",
              "description": description}
    if target.address_string:
        fields["address_string"] = target.address_string
    return fields


class WriteFlow:
    def __init__(self, client: Client, target: Target, run_id: str,
                 on_poll: Callable[[Poll], None] | None = None) -> None:
        self.client = client
        self.target = target
        self.run_id = run_id
        self.on_poll = on_poll
        self.outcome = WriteOutcome()
        self.exchanges: list[int] = []  # every exchange the flow sent, in order (the run notes them)
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def sends_here(self) -> bool:
        """Whether the calling thread is the flow's own (what it sends is the flow's evidence)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="write-flow", daemon=True)
        self._thread.start()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> WriteOutcome:
        if self._thread is None:
            self.start()
        self._done.wait(timeout)
        return self.outcome

    def _run(self) -> None:
        try:
            self._write()
        except TransportError as exc:
            if exc.kind is Failure.WRITE_REFUSED:
                self.outcome.skipped = str(exc)
            else:
                self.outcome.inconclusive = str(exc)
        except Inconclusive as exc:
            self.outcome.inconclusive = str(exc)
        except Exception as exc:  # a kit bug: keep the run going, report it on the checks
            self.outcome.error = f"{type(exc).__name__}: {exc}"
        finally:
            self._done.set()

    def _write(self) -> None:
        out = self.outcome
        if not self.target.api_key:
            out.skipped = "no API key given (--api-key or OPEN311_API_KEY): writing is not tested"
            return
        refusal = self.client.transport.write_refusal("requests.json")
        if refusal:
            out.skipped = f"writes refused by the write guard: {refusal}"
            return
        services = self.client.services()
        if not services.ok or not isinstance(services.data, list):
            out.inconclusive = f"no usable service list to choose a service from ({services.describe()})"
            return
        service = choose_service(services.data, self.target)
        if service is None:
            wanted = self.target.write_service_code
            out.skipped = (f"--write-service-code {wanted} is not in the service list" if wanted
                           else "the service list is empty")
            return
        out.service_code = str(service["service_code"])
        definition = None
        if service.get("metadata") is True:
            answer = self.client.definition(out.service_code)
            definition = answer.data if answer.ok and isinstance(answer.data, dict) else None
        out.attributes = fill_attributes(definition, lambda: self.client.transport.clock.now(FLOW_MOMENT))
        ensure_location(self.client, self.target)
        optional = {name: value.format(run_id=self.run_id) for name, value in OPTIONAL_FIELDS.items()}
        out.fields = {**post_fields(self.target, out.service_code, main_description(self.run_id)),
                      **optional}
        out.take(self.client.create(out.fields, out.attributes, label="write: POST"))
        out.alternatives = self._alternatives(out.service_code, out.attributes)
        for location, write in out.alternatives.items():
            if not write.skipped:
                write.take(self.client.create(write.fields, write.attributes, fmt=write.fmt,
                                              label=f"write: POST located by {location}"))
        out.unknown_jurisdiction = self._unknown_jurisdiction(out.service_code, out.attributes)
        clock = self.client.transport.clock  # a re-judged run's: the recorded run's time
        started = clock.monotonic()
        if out.token is not None:
            # While the City processes the request, lists may show it without an id.
            out.pending_list = self.client.requests(cached=False)
            # the same moment, asked narrowly: such rows must not leak into these answers
            rows, _pending = Client.identified(out.pending_list)
            if rows:
                probe = str(rows[0]["service_request_id"])
                out.pending_probes = [self.client.requests({"service_request_id": probe}, cached=False),
                                      self.client.request(probe, cached=False)]
            out.token_result = self.client.resolve_token(
                out.token, self.target.poll_timeout, remote=self.target.remote, on_poll=self.on_poll)
        # the other writes were sent at the same moment: they share the main write's time
        for write in out.alternatives.values():
            if write.token is not None and self.client.transport.stop is None:
                left = max(0.0, self.target.poll_timeout - (clock.monotonic() - started))
                write.token_result = self.client.resolve_token(write.token, left, remote=self.target.remote,
                                                               fmt=write.fmt)
        stop = self.client.transport.stop
        if out.token_result is not None and out.token_result.service_request_id is None and stop is not None:
            # the kit stopped polling, the target did not fail to resolve
            out.inconclusive = f"token polling stopped: {stop.detail}"

    def _unknown_jurisdiction(self, service_code: str, attributes: dict[str, Any]) -> Write:
        """The POST with an unknown jurisdiction_id. What becomes of it is its own check's
        (GR2-JURISDICTION-POST): a transport failure here leaves the other writes judged."""
        write = Write(attributes=attributes, fields={
            **post_fields(self.target, service_code,
                          f"open311-conformance write check (unknown jurisdiction_id), run {self.run_id}"),
            "jurisdiction_id": UNKNOWN_JURISDICTION})
        try:
            write.take(self.client.create(write.fields, attributes,
                                          label="write: POST with an unknown jurisdiction_id"))
        except TransportError as exc:
            write.skipped = str(exc)
        return write

    def _alternatives(self, service_code: str, attributes: dict[str, Any]) -> dict[Location, Write]:
        """The writes located by address_string alone (without a description) and by
        address_id alone (as .xml), each on the main write's service and attributes."""
        address = self.target.address_string or listed_value(self.client, "address")
        by_string = Write(fields={"service_code": service_code, "address_string": address},
                          attributes=attributes)
        if not address:
            by_string.skipped = ("no address_string to write: the profile gives none and no listed "
                                 "request has an address")
        address_id = listed_value(self.client, "address_id") or MADE_UP_ADDRESS_ID
        by_id = Write(fmt="xml", attributes=attributes, fields={
            "service_code": service_code, "address_id": address_id,
            "description": f"open311-conformance write check (address_id alone), run {self.run_id}"})
        return {Location.ADDRESS_STRING: by_string, Location.ADDRESS_ID: by_id}


def listed_value(client: Client, name: str) -> str | None:
    """The first non-empty ``name`` of a request the target lists (a value it accepts)."""
    rows, _pending = Client.identified(client.requests())
    values = (row.get(name) for row in rows)
    return next((str(v) for v in values if isinstance(v, str | int) and str(v).strip()), None)
