"""Routing and handlers of the simulated Chicago Open311 test environment.

A request goes in (method, target, headers, body) and an :class:`Reply` comes out, so the
whole behaviour is testable without sockets; ``server.py`` only moves bytes. Faults are small
branches, each at the one place it applies (search for the fault's name): here, or in
``queries.py`` (request lists) and ``writes.py`` (POST requests), which get the active faults
passed in; ``spoiled.py`` makes the answers some faults send instead.
"""

from __future__ import annotations

import dataclasses
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from conformance import wire
from conformance.headers import header
from conformance.simulator import data, queries, spoiled, writes
from conformance.simulator import dialect as dialects
from conformance.simulator import faults as fault_catalogue
from conformance.simulator.messages import Call, Refused, Reply
from conformance.simulator.store import Row, Store

JSON_TYPE = "application/json; charset=utf-8"
XML_TYPE = "text/xml; charset=utf-8"
JSONP_TYPE = "application/javascript; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"
ROOT = "/open311"
BASE = ROOT + "/v2"
MAX_DESCRIPTION = 4000
_CALLBACK = re.compile(r"^[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*$")
_PLAIN_ID = re.compile(r"[A-Za-z0-9-]+")  # what the fault odd-id-500 survives
# characters XML 1.0 cannot carry: storing them would make every later .xml list unparseable
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_READ_RESOURCES = ("services", "service-definition", "requests", "request", "tokens")
# grading mode: other people's requests the City is still processing, stored like any row (so
# page_size, date windows and filters hold them) and never given an id
_OTHERS_PENDING = (("4fd3b9bce750846c5300004a", "Rats behind the garage", "2107 W Division St"),
                   ("4fd3b656e750846c53000004", "Pothole at the crosswalk", "5100 S Cicero Ave"),
                   ("4ffa9cad6018277d4000007b", "Light out over the alley", "1300 N Milwaukee Ave"))
GRADING_RETRY_AFTER = 3  # seconds; the 503 a grading simulator answers a token's first poll
# longer than the once-a-second poll limit: an app that ignores the header is told apart
GRADING_ORIGIN = "others"

Recorder = Callable[[str, str, Mapping[str, str], bytes, Reply, float, float], None]


class App:
    def __init__(self, store: Store, faults: frozenset[str] = frozenset(), delay: float = 2.0,
                 default_host: str = "127.0.0.1", *, grading: bool = False,
                 dialect: dialects.Dialect = dialects.DEFAULT) -> None:
        self.store = store
        self.spoken = dialect
        self.faults = faults
        self.delay = delay
        self.default_host = default_host
        # the one jurisdiction_id served; a plan's stand-in takes the planned target's
        self.jurisdiction = data.JURISDICTION
        self.stopping = threading.Event()  # set on shutdown: stalled answers end at once
        self._polled_tokens: set[str] = set()
        self._guard = threading.Lock()
        # what the rows without an id carry in their visible fields: found in what an
        # application prints or keeps, it shows the application did not ignore them
        self.pending_markers: tuple[str, ...] = ()
        # grading an app's patience: the first written request waits this long for its id
        # (the City may take far longer than a test's delay); None: every one waits ``delay``
        self.first_delay: float | None = None
        self._first_held = False
        self._grading = False
        # grading an application (check-app): the City's hard parts on purpose, every time
        self.grading = grading
        # told of every exchange: (method, target, headers, body, answer, received, answered)
        # with wall-clock receipt and monotonic answer time; check-app's recording
        self.recorder: Recorder | None = None
        # pages served beside the API (check-app's live page): answered, never recorded
        self.pages: dict[str, Callable[[], Reply]] = {}

    @property
    def grading(self) -> bool:
        return self._grading

    @grading.setter
    def grading(self, on: bool) -> None:
        with self._guard:
            if on == self._grading:
                return
            self._grading = on
            if on:
                rows, self.pending_markers = _others_pending()
                self.store.add_unprocessed(rows)
            else:
                self.store.remove_origin(GRADING_ORIGIN)
                self.pending_markers = ()

    @property
    def dialect(self) -> dialects.Dialect:
        """The dialect answers are written in (the fault numeric-ids turns numbers on)."""
        if "numeric-ids" in self.faults and not self.spoken.numeric_ids:
            return dataclasses.replace(self.spoken, numeric_ids=True)
        return self.spoken

    def set_faults(self, names: frozenset[str] | set[str] | tuple[str, ...] | list[str]) -> None:
        """Switch faults on or off while serving; ValueError naming an unknown one."""
        self.faults = fault_catalogue.check(names)

    # -- entry -----------------------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Mapping[str, str] | None = None,
               body: bytes = b"") -> Reply:
        received, started = time.time(), time.monotonic()
        page = self.pages.get(urlsplit(target).path)
        if page is not None and method.upper() in ("GET", "HEAD"):
            return page()
        answer = self._handle(method, target, headers or {}, body)
        if self.grading:
            _allow_cross_origin(answer)
        if self.recorder is not None:
            self.recorder(method, target, headers or {}, body, answer, received, started)
        return answer

    def _handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        split = urlsplit(target)
        path = unquote(split.path)
        params: dict[str, str] = {}
        for key, value in parse_qsl(split.query, keep_blank_values=True):
            params.setdefault(key, value)  # the first of repeated parameters counts
        params = self.dialect.incoming_params(params)
        host = headers.get("Host") or headers.get("host") or self.default_host
        stem, fmt = _split_format(path)
        call = Call(method.upper(), stem, fmt, params, host)
        if "accept-header-wins" in self.faults:
            call.fmt = _accepted_format(headers) or call.fmt
        try:
            return self._route(call, path, body, headers)
        except _Immediate as immediate:
            return immediate.answer
        except Refused as refusal:
            return self._error(call, refusal.status, *refusal.descriptions)

    def _route(self, call: Call, path: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        if self.grading and call.method == "OPTIONS" and header(headers, "Access-Control-Request-Method"):
            # a browser app on another origin asks first (grading: the app may be a web page)
            return Reply(204, [("Access-Control-Allow-Methods", "GET, POST, OPTIONS"),
                               ("Access-Control-Allow-Headers", header(headers, "Access-Control-Request-Headers")
                                or "Content-Type, Accept"), ("Access-Control-Max-Age", "600")])
        if call.stem == ROOT + "/discovery":
            return self._dispatch(call, "discovery", ())
        if "base-redirects-away" in self.faults and path in (BASE, BASE + "/"):
            # another loopback address: a kit that followed would reach nothing listening there
            away = f"http://127.0.0.2:9{BASE}/"
            raise _Immediate(Reply(302, [("Location", away), ("Content-Type", "text/plain; charset=utf-8")],
                                   f"moved to {away}".encode()))
        if not path.startswith(BASE + "/"):
            self._unknown_path(path)
        call.stem = call.stem[len(BASE) + 1:]
        parts = tuple(call.stem.split("/"))
        if parts == ("apps", "new"):
            return self._apps_new(call, body, headers)
        if call.method == "POST" and parts == ("requests",):
            self._require_format(call)
            call.form = self.dialect.incoming_form(writes.form_fields(body, call.params))
            return self._post(call)
        routes = {("services",): "services", ("requests",): "requests"}
        if parts in routes:
            return self._dispatch(call, routes[parts], ())
        if len(parts) == 2 and parts[1]:
            name = {"services": "service-definition", "requests": "request",
                    "tokens": "tokens"}.get(parts[0])
            if name:
                arg = {"service-definition": self.dialect.incoming_code,
                       "request": self.dialect.incoming_id}.get(name, str)(parts[1])
                return self._dispatch(call, name, (arg,))
        self._unknown_path(path)
        raise AssertionError("unreachable")  # _unknown_path always raises

    def _unknown_path(self, path: str) -> None:
        if "unknown-path-html" in self.faults:
            raise _Immediate(Reply(404, [("Content-Type", HTML_TYPE)],
                                    b"<!DOCTYPE html><title>Not Found</title><h1>Not Found</h1>"))
        raise Refused(404, f"No such resource: {path}")

    def _dispatch(self, call: Call, resource: str, args: tuple[str, ...]) -> Reply:
        if call.method not in ("GET", "HEAD"):
            answer = self._error(call, 405, f"Method {call.method} not allowed here")
            answer.headers.append(("Allow", "GET, HEAD"))
            return answer
        self._require_format(call)
        if "reads-need-key" in self.faults and resource in _READ_RESOURCES \
                and not self.store.key_valid(call.params.get("api_key")):
            raise Refused(403, "api_key missing or invalid")
        if "get-wrong-key-400" in self.faults and call.params.get("api_key") \
                and not self.store.key_valid(call.params["api_key"]):
            raise Refused(400, "api_key not recognised")
        if "jurisdiction-unknown-empty" in self.faults and call.params.get("jurisdiction_id") \
                not in (None, "", self.jurisdiction):
            empty: Any = {"service_code": args[0], "attributes": []} \
                if resource == "service-definition" else []
            return self._ok(call, empty, "token" if resource == "tokens" else
                            "service-requests" if resource == "request" else resource)
        self._check_jurisdiction(call.params.get("jurisdiction_id"))
        self._check_callback(call)
        handler = {
            "discovery": self._discovery, "services": self._services,
            "service-definition": self._definition, "requests": self._requests,
            "request": self._request, "tokens": self._token,
        }[resource]
        return handler(call, *args)

    # -- common checks ---------------------------------------------------------------------
    def _require_format(self, call: Call) -> None:
        if call.fmt in wire.FORMATS:
            return
        if call.fmt is None:
            raise Refused(404, "No such resource: add the format, .json or .xml")
        if "unsupported-format-200" in self.faults:
            raise _Immediate(Reply(200, [("Content-Type", "text/csv; charset=utf-8")],
                                    spoiled.services_csv()))
        if "unsupported-format-text" in self.faults:
            raise _Immediate(Reply(400, [("Content-Type", "text/plain; charset=utf-8")],
                                    b"Bad Request"))
        raise Refused(400, f"Format '{call.fmt}' is not supported: use .json or .xml")

    def _check_jurisdiction(self, value: str | None) -> None:
        if value == "" and "jurisdiction-empty-400" in self.faults:
            raise Refused(400, "jurisdiction_id is empty")
        if not value or value == self.jurisdiction:  # empty is the same as absent
            return
        if self.dialect.jurisdiction_ignored:  # GR2-JURISDICTION-CONSISTENT: ignored everywhere
            return
        raise Refused(404, f"jurisdiction_id '{value}' not found: use {self.jurisdiction}")

    def _check_callback(self, call: Call) -> None:
        callback = call.params.get("callback")
        if not callback or call.fmt != "json" or "jsonp-ignored" in self.faults:
            return
        if len(callback) > 128 or not _CALLBACK.match(callback):
            raise Refused(400, "callback must be a JavaScript identifier such as handle_services")
        call.callback = callback

    # -- answers ---------------------------------------------------------------------------
    def _ok(self, call: Call, payload: Any, resource: str, status: int = 200) -> Reply:
        payload = self.dialect.outgoing(payload, resource)
        if call.answer_fmt == "xml":
            return Reply(status, [("Content-Type", self._xml_type())],
                          self._xml(payload, resource))
        body = wire.encode(payload, "json", resource)
        if call.callback:
            return Reply(status, [("Content-Type", JSONP_TYPE)],
                          call.callback.encode() + b"(" + body + b");")
        return Reply(status, [("Content-Type", self._json_type())], body)

    def _json_type(self) -> str:
        if "json-content-type-html" in self.faults:
            return "text/html; charset=utf-8"
        return _no_charset(JSON_TYPE) if "content-type-no-charset" in self.faults else JSON_TYPE

    def _xml_type(self) -> str:
        if "xml-content-type-json" in self.faults:
            return JSON_TYPE
        if "xml-application-type" in self.faults or self.dialect.xml_application_type:
            return "application/xml; charset=utf-8"
        return _no_charset(XML_TYPE) if "content-type-no-charset" in self.faults else XML_TYPE

    def _xml(self, payload: Any, resource: str) -> bytes:
        body = wire.encode(payload, "xml", resource)
        root = wire.ROOTS[resource]
        if "xml-wrong-root" in self.faults and resource == "services":
            body = body.replace(b"<services>", b"<service_list>", 1).replace(
                b"</services>", b"</service_list>").replace(b"<services />", b"<service_list />")
        if "xml-entity-bomb" in self.faults and resource == "services":
            declaration, _, rest = body.partition(b"\n")
            body = declaration + b"\n" + spoiled.billion_laughs(root) + rest
        if "xml-no-declaration" in self.faults:
            body = body.partition(b"\n")[2]
        if "xml-boolean-capitalised" in self.faults:
            body = body.replace(b">true<", b">True<").replace(b">false<", b">False<")
        return body

    def _error(self, call: Call, status: int, *descriptions: str) -> Reply:
        # descriptions echo the input, which may hold characters XML 1.0 cannot carry
        # (found by the OpenAPI-driven checks): shown as U+FFFD so every error stays well-formed
        code = 1 if "error-code-generic" in self.faults else status
        errors = [{"code": code, "description": _XML_ILLEGAL.sub("\ufffd", text)}
                  for text in descriptions]
        # both only on 400s: what an unknown id or code is answered (404) stays right
        if "error-body-text" in self.faults and status == 400 and call.answer_fmt == "json":
            return Reply(status, [("Content-Type", "text/plain; charset=utf-8")],
                          HTTPStatus(status).phrase.encode())
        plain = "errors-no-charset" in self.faults
        if call.answer_fmt == "xml" and not ("errors-always-json" in self.faults and status == 400):
            return Reply(status, [("Content-Type", _no_charset(XML_TYPE) if plain else XML_TYPE)],
                          wire.encode(errors, "xml", "errors"))
        return Reply(status, [("Content-Type", _no_charset(JSON_TYPE) if plain else JSON_TYPE)],
                      wire.encode(errors, "json", "errors"))

    # -- discovery, services, definitions ---------------------------------------------------
    def _discovery(self, call: Call) -> Reply:
        if "discovery-missing" in self.faults:
            raise Refused(404, "discovery is not published here")
        payload = {
            "changeset": "2018-04-10 00:00",
            "contact": "open311-conformance embedded simulator of the City of Chicago test "
                       "environment (no real requests are filed)",
            "key_service": f"http://{call.host}{BASE}/apps/new",
            "endpoints": [{
                "specification": "http://wiki.open311.org/GeoReport_v2",
                "url": "http://311api.cityofchicago.org/open311/v2"
                if "discovery-other-url" in self.faults else f"http://{call.host}{BASE}",
                "changeset": "2018-04-10 00:00",
                "type": "test",
                "formats": ["application/json", "text/xml"],
            }],
        }
        return self._ok(call, payload, "discovery")

    def _services(self, call: Call) -> Reply:
        services = [dict(s) for s in data.services()]
        for service in services:
            # the specification's POST example answers the id at once: its services are realtime
            if self.dialect.realtime(service["service_code"]):
                service["type"] = "realtime"
        if "services-type-misstated" in self.faults:
            for service in services:
                service["type"] = "realtime"
        if "services-bad-type" in self.faults:
            services[1]["type"] = "instant"
        if "service-realtime" in self.faults:
            services[0]["type"] = "realtime"
        if "xml-parity-drift" in self.faults and call.answer_fmt == "xml":
            services[6]["service_name"] = services[6]["service_name"] + " (XML)"
        status = 203 if "services-status-203" in self.faults else 200
        return self._ok(call, services, "services", status)

    def _definition(self, call: Call, code: str) -> Reply:
        definitions = data.definitions()
        definition = definitions.get(code)
        if definition is None:
            if "definition-unknown-200" in self.faults:
                return self._ok(call, {"service_code": code, "attributes": []},
                                "service-definition")
            raise Refused(404, f"service_code '{code}' not found")
        if "definition-order-repeats" in self.faults:
            definition = {**definition, "attributes": [{**a, "order": 1} for a in definition["attributes"]]}
        if "definition-wrong-code" in self.faults:
            codes = list(definitions)
            definition = {**definition,
                          "service_code": codes[(codes.index(code) + 1) % len(codes)]}
        return self._ok(call, definition, "service-definition")

    # -- request lists and single requests ----------------------------------------------------
    def _process(self) -> None:
        self.store.process(resolve="token-never-resolves" not in self.faults)

    def _requests(self, call: Call) -> Reply:
        call.params = self.dialect.list_params(call.params)
        extensions = queries.wants_extensions(call.params, self.faults)
        query = queries.parse(call.params, self.faults, self.dialect)
        self._process()
        rows = self.store.query(query)
        if self._ignores_filter(query, rows):
            query = queries.parse({k: v for k, v in call.params.items()
                                   if k not in ("service_request_id", "service_code")},
                                  self.faults, self.dialect)
            rows = self.store.query(query)
        if query.ids is not None and "pending-in-id-filter" in self.faults:
            rows += self.store.pending()
        # bad-status-enum shows only in plain unfiltered lists, away from filter checks
        odd_status = "bad-status-enum" in self.faults and query.statuses is None \
            and query.ids is None and not extensions
        unfiltered = query.ids is None and query.service_codes is None
        payload = [queries.render(row, extensions, self.faults, odd_status, self.dialect,
                                  unlisted="request-unlisted-code" in self.faults and unfiltered)
                   for row in rows]
        if "empty-strings" in self.faults and call.answer_fmt == "json":
            payload = [{**{name: "" for name in queries.OPTIONAL_TEXT}, **row}
                       if "service_request_id" in row else row for row in payload]
        answer = self._ok(call, payload, "service-requests")
        if call.answer_fmt == "json" and not call.callback:
            if "stalled-answer" in self.faults:
                return spoiled.stalled(answer, self.stopping)
            if "oversized-body" in self.faults:
                return spoiled.oversized(answer)
        return answer

    def _ignores_filter(self, query: queries.Query, rows: list[Row]) -> bool:
        """The faults that drop an id or code filter which matches too little."""
        if query.ids is not None and "filter-id-unknown-ignored" in self.faults:
            return any(self.store.by_id(i) is None for i in query.ids)
        return not rows and query.service_codes is not None \
            and "filter-code-empty-ignored" in self.faults

    def _request(self, call: Call, sr_id: str) -> Reply:
        extensions = queries.wants_extensions(call.params, self.faults)
        self._process()
        if "odd-id-500" in self.faults and not _PLAIN_ID.fullmatch(sr_id):
            raise Refused(500, "Internal Server Error")
        row = self.store.by_id(sr_id)
        if row is None:
            if "unknown-id-200" in self.faults:
                return self._ok(call, [], "service-requests")
            raise Refused(404, f"service_request_id '{sr_id}' not found")
        if "single-returns-first" in self.faults:
            row = self.store.query(queries.Query(page_size=1, include_pending=False))[0]
        rows = [row]
        if "single-returns-two" in self.faults:
            other = self.store.neighbour(sr_id)
            rows += [other] if other else []
        payload = [queries.render(r, extensions, self.faults, dialect=self.dialect) for r in rows]
        answer = self._ok(call, payload, "service-requests")
        if "readback-wrong-root" in self.faults and call.answer_fmt == "xml" and row.origin == "open311":
            answer.body = answer.body.replace(b"<service_requests>", b"<requests>", 1).replace(
                b"</service_requests>", b"</requests>")
        return answer

    # -- tokens ----------------------------------------------------------------------------
    def _token(self, call: Call, token: str) -> Reply:
        self._process()
        row = self.store.by_token(token)
        if row is None:
            if "token-unknown-200" in self.faults:
                return self._ok(call, [], "token")
            raise Refused(404, f"token '{token}' not found")
        if self.grading and self._first_poll(token):
            answer = self._error(call, 503, "The City's systems are busy: try again shortly")
            answer.headers.append(("Retry-After", str(GRADING_RETRY_AFTER)))
            return answer
        echo = {} if "token-echo-missing" in self.faults else {"token": token}
        if row.pending:
            if "token-pending-404" in self.faults:
                raise Refused(404, f"token '{token}' not found")
            return self._ok(call, [echo], "token")
        return self._ok(call, [{"service_request_id": row.id, **echo}], "token")

    def _write_delay(self) -> float:
        with self._guard:
            first = self.first_delay is not None and not self._first_held
            self._first_held = self._first_held or first
        return self.first_delay if first and self.first_delay is not None else self.delay

    def _first_poll(self, token: str) -> bool:
        with self._guard:
            first = token not in self._polled_tokens
            self._polled_tokens.add(token)
        return first

    # -- writing ---------------------------------------------------------------------------
    def _post(self, call: Call) -> Reply:
        form = dict(reversed(call.form))  # the first of repeated fields counts
        key = form.get("api_key")
        empty_accepted = key == "" and "post-empty-key-accepted" in self.faults
        if not key and not empty_accepted and "post-no-key-accepted" not in self.faults:
            raise Refused(403, "api_key missing -- can't proceed with create_request.")
        if key and not self.store.key_valid(key) and "post-any-key-accepted" not in self.faults:
            raise Refused(403, "Invalid api_key received -- can't proceed with create_request.")
        if "post-jurisdiction-unknown-500" in self.faults \
                and form.get("jurisdiction_id") not in (None, "", self.jurisdiction):
            raise Refused(500, "Internal Server Error")
        self._check_jurisdiction(form.get("jurisdiction_id"))
        code = form.get("service_code", "").strip()
        if not code:
            if "post-no-service-code-404" in self.faults:
                raise Refused(404, "service_code '' not found")
            raise Refused(400, "service_code required")
        definition = data.definitions().get(code)
        if definition is None and "post-unknown-service-accepted" not in self.faults:
            raise Refused(404, f"service_code '{code}' not found")
        errors: list[str] = []
        location = writes.location(form, errors, self.faults)
        if not location and not errors and "post-no-location-accepted" not in self.faults:
            errors.append("A location is required: lat and long, address_string or address_id")
        description = form.get("description")
        if not description and self.faults & {"post-description-required", "post-description-required-html",
                                              "post-description-required-text"}:
            errors.append("description required")
        if description and len(description) > MAX_DESCRIPTION:
            if "post-long-description-dropped" in self.faults:
                description = None  # a CRM that drops what it cannot store
            elif "post-long-description-cut" in self.faults or self.dialect.description_cut:
                description = description[:MAX_DESCRIPTION]  # a CRM that cuts without a word
            elif "post-long-description-accepted" not in self.faults:
                errors.append(f"description may have at most {MAX_DESCRIPTION} characters, "
                              f"not {len(description)}")
        attributes = writes.attributes(definition, writes.attribute_fields(call.form), errors,
                                       self.faults)
        for name, value in form.items():
            if _XML_ILLEGAL.search(value):
                errors.append(f"{name} contains control characters that are not allowed")
        if "description required" in errors and "post-description-required-html" in self.faults:
            raise _Immediate(Reply(400, [("Content-Type", HTML_TYPE)], b"<html><head><title>400 Bad "
                                    b"Request</title></head><body><h1>Bad Request</h1><p>The field "
                                    b"<b>description</b> is required.</p></body></html>"))
        if "description required" in errors and "post-description-required-text" in self.faults:
            raise _Immediate(Reply(400, [("Content-Type", "text/plain; charset=utf-8")],
                                    b"Error: description is required"))
        if errors:
            raise Refused(400, *errors)
        if "key-revoked" in self.faults:  # after validation: only acceptable POSTs meet it
            raise Refused(403, "api_key revoked -- can't proceed with create_request.")
        doc = writes.written(code, form, description, location, attributes, self.faults)
        if "media-url-dropped" in self.faults or self.dialect.media_url_dropped:
            doc.pop("media_url", None)
        immediate = bool({"post-answers-both", "post-answers-id"} & self.faults) \
            or self.dialect.realtime(code)
        row = self.store.write(code, doc, 0.0 if immediate else self._write_delay())
        token = row.token
        if immediate:
            self._process()
            row = self.store.by_token(token or "") or row
        if "post-answers-nothing" in self.faults:
            return self._ok(call, [], "post-response")
        if "post-answers-both" in self.faults:
            return self._ok(call, [{"token": token, "service_request_id": row.id}],
                            "post-response")
        if "post-answers-id" in self.faults or self.dialect.realtime(code):
            return self._ok(call, [{"service_request_id": row.id}], "post-response")
        return self._ok(call, [{"token": token}], "post-response")

    # -- keys ------------------------------------------------------------------------------
    def _apps_new(self, call: Call, body: bytes, headers: Mapping[str, str]) -> Reply:
        if call.fmt not in (None, "json", "html"):
            raise Refused(404, "No such resource: apps/new answers HTML or .json")
        if call.method in ("GET", "HEAD"):
            if call.fmt == "json":
                raise Refused(405, "POST to apps/new.json to provision a key")
            return Reply(200, [("Content-Type", HTML_TYPE)], _FORM_PAGE.encode())
        if call.method != "POST":
            raise Refused(405, f"Method {call.method} not allowed here")
        form = dict(reversed(writes.form_fields(body, call.params)))
        name = form.get("name", "").strip() or form.get("application_name", "").strip() \
            or "unnamed application"
        email = form.get("email", "").strip()
        key = self.store.add_key(name, email)
        if call.fmt == "json":
            return Reply(201, [("Content-Type", JSON_TYPE)],
                          json.dumps({"api_key": key, "name": name}).encode())
        page = _KEY_PAGE.format(name=html.escape(name), key=html.escape(key), base=BASE)
        return Reply(201, [("Content-Type", HTML_TYPE)], page.encode())


class _Immediate(Exception):  # noqa: N818 - not an error: a finished answer
    """Carries a finished answer out of a check (a fault that answers instead of refusing)."""

    def __init__(self, answer: Reply) -> None:
        super().__init__(answer.status)
        self.answer = answer


# -- helpers ---------------------------------------------------------------------------------
def _others_pending() -> tuple[list[Row], tuple[str, ...]]:
    """Rows without an id that never get one (someone else's requests, submitted minutes ago,
    still processed), each marked in its description and address, and the markers."""
    now = int(time.time())
    names = data.service_names()
    run = secrets.token_hex(3).upper()  # of this grading: no real row, nor an earlier grading's
    rows, markers = [], []
    for i, (code, text, address) in enumerate(_OTHERS_PENDING):
        marker = f"NOID{run}{i + 1}"
        when = now - 60 * (i + 1)
        rows.append(Row(seq=0, id=None, token=None, service_code=code, status="submitted",
                        sort_ts=when, requested=when, updated=when, origin=GRADING_ORIGIN, ready=None,
                        doc={"service_name": names.get(code, ""), "description": f"{text} [{marker}]",
                             "address": f"{address} [{marker}]", "lat": 41.9 - i / 100, "long": -87.68}))
        markers.append(marker)
    return rows, tuple(markers)


def _allow_cross_origin(answer: Reply) -> None:
    if header(answer.headers, "Access-Control-Allow-Origin") is None:
        answer.headers.append(("Access-Control-Allow-Origin", "*"))


def _accepted_format(headers: Mapping[str, str]) -> str | None:
    """The format an Accept header names, for the fault that lets it win over the suffix."""
    accept = (header(headers, "Accept") or "").lower()
    if "application/json" in accept:
        return "json"
    if "xml" in accept:
        return "xml"
    return None


def _no_charset(content_type: str) -> str:
    return content_type.split(";", 1)[0]


def _split_format(path: str) -> tuple[str, str | None]:
    head, slash, last = path.rpartition("/")
    stem, dot, fmt = last.rpartition(".")
    if not dot or not stem:
        return path, None
    return head + slash + stem, fmt.lower()


_FORM_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Request a test API key</title></head>
<body>
<h1>Request a test API key</h1>
<p>Test keys of this (simulated) City of Chicago Open311 test environment are provisioned
immediately. Scripts can POST the same form to <code>{BASE}/apps/new.json</code>.</p>
<form method="post" action="{BASE}/apps/new">
  <p><label>Application name <input name="name" required></label></p>
  <p><label>Contact email <input name="email" type="email"></label></p>
  <p><button type="submit">Request key</button></p>
</form>
</body></html>
"""

_KEY_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Your test API key</title></head>
<body>
<h1>Your test API key</h1>
<p>Application: {name}</p>
<p>API key: <code id="api_key">{key}</code></p>
<p>Send it as <code>api_key</code> with every POST to <code>{base}/requests.json</code>.</p>
</body></html>
"""
