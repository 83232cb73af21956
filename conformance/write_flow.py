"""Write, then read back: the City's condition for a production key.

The flow starts when the run starts and runs beside the other checks, so the wait for the
City to process the request overlaps them: choose a service, fill its required attributes
from its definition, POST with the key, look at the list while the request is pending
(the City warns that such rows have no id), then poll the token until the id appears.
The checks in ``scenarios/test_write_readback.py`` judge what this flow recorded.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.client import Answer, Client, Poll, TokenResult
from conformance.outcomes import Inconclusive
from conformance.target import Target
from conformance.transport import Failure, TransportError


@dataclass(slots=True)
class WriteOutcome:
    service_code: str | None = None
    fields: dict[str, Any] = field(default_factory=dict)
    attributes: dict[str, Any] = field(default_factory=dict)
    post: Answer | None = None
    token: str | None = None
    immediate_id: str | None = None
    token_result: TokenResult | None = None
    pending_list: Answer | None = None
    pending_probes: list[Answer] = field(default_factory=list)
    skipped: str | None = None
    inconclusive: str | None = None
    error: str | None = None

    @property
    def service_request_id(self) -> str | None:
        if self.immediate_id:
            return self.immediate_id
        return self.token_result.service_request_id if self.token_result else None


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


def fill_attributes(definition: dict[str, Any] | None) -> dict[str, Any]:
    """A valid value for every required attribute, by datatype (list values by key)."""
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
            values[code] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
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
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

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
        out.attributes = fill_attributes(definition)
        ensure_location(self.client, self.target)
        out.fields = {**post_fields(self.target, out.service_code,
                                    f"open311-conformance write check, run {self.run_id}"),
                      "first_name": "Open311", "last_name": "Conformance"}
        out.post = self.client.create(out.fields, out.attributes, label="write: POST")
        if not out.post.ok or not isinstance(out.post.data, list) or not out.post.data:
            return
        first = out.post.data[0] if isinstance(out.post.data[0], dict) else {}
        out.token = str(first["token"]) if first.get("token") else None
        out.immediate_id = str(first["service_request_id"]) if first.get("service_request_id") else None
        if out.token is None:
            return
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
        stop = self.client.transport.stop
        if out.token_result.service_request_id is None and stop is not None:
            # the kit stopped polling, the target did not fail to resolve
            out.inconclusive = f"token polling stopped: {stop.detail}"
