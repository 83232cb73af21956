"""Dialects: how the simulated city speaks GeoReport v2, Chicago's way or the specification's.

The simulator stands in for the City of Chicago by default. A dialect makes it answer like
another kind of GeoReport v2 server, so the ``georeport-v2`` profile can be tested against a
server it should find conformant:

- ``chicago``: the City's test environment (rows without an id while a request is processed,
  ``extensions=true``, paging, update-time filters, JSONP, string identifiers).
- ``georeport``: the specification read strictly, every SHOULD met: no Chicago parameters
  (they are ignored like any unknown parameter), no rows without an id, the default window
  of the most recent 90 days and start/end spans clamped to 90 days, ``address_id`` and
  ``zipcode`` on every request.
- ``spec-examples``: as ``georeport``, but answering like the specification's own examples:
  identifiers as JSON numbers (``"service_request_id":638344``, ``"zipcode":94122``, value
  ``"key":123``) and a POST answered with the ``service_request_id`` at once.
- ``lenient`` and ``lenient-georeport``: servers that, wherever the specification and the
  City's documents leave a choice, take the most permissive one allowed (below), so the kit's
  own tests see the answers a conformant server nobody here wrote may give. Each conforms to
  one profile only: ``lenient`` to ``chicago`` (it lists rows without an id while a request
  is processed, which GR2-REQ-HAS-ID forbids under georeport-v2), ``lenient-georeport`` to
  ``georeport-v2`` (numeric identifiers: GR2-IDS-STRINGS is a SHOULD there, a MUST under
  chicago; descriptions cut to 4000 characters: GR2-POST-DESCRIPTION-LENGTH is a MUST under
  chicago). Not chosen: keeping a list attribute value outside its keys (a SHOULD refusal
  under georeport-v2), because georeport-v2 reads attributes back nowhere, so the kit could
  only call GR2-POST-INPUT-KEPT inconclusive.

The lenient choices, each with its source (requirement id; GR2 = the specification):

- empty parameters count as absent (GR2-PARAMS-EMPTY, CHI-JURISDICTION: "optional" arguments
  sent empty are treated as not sent), as in every dialect;
- with ``service_request_id`` given, every other parameter of the request list is ignored,
  invalid values included, and not validated (GR2-FILTER-ID; GR2 "GET Service Requests":
  service_request_id "overrides all other arguments"); a valid ``extensions`` still counts;
- an unknown ``jurisdiction_id`` is ignored, on every GET and on POST, the same answer as
  without it (GR2-JURISDICTION-CONSISTENT: "answered 404 on every GET, or ignored
  consistently");
- parameters the profile does not define are ignored (GR2: unknown arguments are not
  errors; ``lenient-georeport`` ignores the Chicago parameters like ``georeport``);
- a ``page_size`` above 500 answers 500 rows (CHI-PAGE-SIZE-LIMIT: "refused with 400 or
  answers at most 500 rows"), ``lenient`` only;
- some services realtime, answering the ``service_request_id`` at once, the others batch
  answering a token (GR2 "GET Service List": type realtime, batch or blackbox; GR2-POST-TYPE;
  CHI-SVC-BATCH is a SHOULD): ``lenient`` writes to a realtime service, ``lenient-georeport``
  to a batch one, so both answers are exercised;
- XML served as ``application/xml`` (GR2-FMT-XML-CONTENT-TYPE tolerates it; GR2-FMT-XML-TEXT
  is a SHOULD);
- ``lenient-georeport`` only, where georeport-v2 makes the refusal a SHOULD: a status other
  than open or closed matches nothing (GR2-BAD-STATUS-400 SHOULD; GR2-BAD-STATUS-IGNORED
  forbids answering the whole list), a description over 4000 characters cut to 4000
  (GR2-POST-DESCRIPTION-LENGTH SHOULD; GR2-POST-INPUT-KEPT allows a cut to the limit where
  the refusal is a SHOULD), a written ``media_url`` not stored (GR2-POST-MEDIA-URL-KEPT
  SHOULD), ``address_id`` and ``zipcode`` left out when unknown
  (GR2-REQ-ADDRESS-FIELDS SHOULD), numeric identifiers (GR2-IDS-STRINGS SHOULD).

Identifiers are stored as the City's strings; a numeric dialect translates them at the edge
(:meth:`Dialect.outgoing` on every answer, :meth:`Dialect.incoming_*` on what a client sends),
so the store, the queries and the faults stay one implementation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from conformance.simulator import data

_SERIAL_ID = re.compile(r"^(\d{2})(\d{8})$")  # a numeric twin of the City's YY-NNNNNNNN


@dataclass(slots=True, frozen=True)
class Dialect:
    name: str
    numeric_ids: bool = False  # identifiers answered as JSON numbers
    chicago_parameters: bool = True  # extensions, page/page_size, updated_after/before, callback
    pending_rows: bool = True  # lists show written requests still processed, without an id
    window_days: int | None = None  # default window and widest start..end span, in days
    max_rows: int | None = None  # the most rows one list answers (the specification's 1000)
    immediate_ids: bool = False  # POST answers the service_request_id instead of a token
    address_fields: bool = False  # address_id and zipcode on every request (null when unknown)
    # the lenient choices (module docstring): each False/empty in the strict dialects
    realtime_services: frozenset[str] = frozenset()  # City codes answering the id at once
    ids_override_all: bool = False  # with service_request_id, other list parameters ignored
    jurisdiction_ignored: bool = False  # an unknown jurisdiction_id answered as if absent
    page_size_clamped: bool = False  # a page_size above 500 answers 500 rows
    xml_application_type: bool = False  # XML served as application/xml
    bad_status_matches_nothing: bool = False  # a status other than open/closed: no rows
    description_cut: bool = False  # a description over the limit cut to it
    media_url_dropped: bool = False  # a written media_url accepted but not stored

    def realtime(self, code: str) -> bool:
        """Whether a POST to the service (City code) answers the service_request_id at once."""
        return self.immediate_ids or code in self.realtime_services

    def list_params(self, params: Mapping[str, str]) -> dict[str, str]:
        """The request-list parameters this dialect reads: with ids_override_all and a
        service_request_id given, only that and a valid extensions."""
        ids = params.get("service_request_id", "")
        if not self.ids_override_all or not any(item.strip() for item in ids.split(",")):
            return dict(params)
        out = {"service_request_id": ids}
        if params.get("extensions", "").lower() in ("true", "false"):
            out["extensions"] = params["extensions"]
        return out

    # -- identifiers out ---------------------------------------------------------------------
    def outgoing(self, payload: Any, resource: str) -> Any:
        """The answer's identifiers as this dialect writes them."""
        if not self.numeric_ids:
            return payload
        if resource == "services":
            return [{**s, "service_code": _code_out(s["service_code"])} for s in payload]
        if resource == "service-definition":
            return _definition_out(payload)
        if resource in ("service-requests", "post-response", "token"):
            return [_row_out(row) for row in payload]
        return payload

    # -- identifiers in ----------------------------------------------------------------------
    def incoming_code(self, code: str) -> str:
        if not self.numeric_ids:
            return code
        return _numeric_codes()[1].get(code.strip(), code)

    def incoming_id(self, sr_id: str) -> str:
        if not self.numeric_ids:
            return sr_id
        match = _SERIAL_ID.match(sr_id.strip())
        return f"{match.group(1)}-{match.group(2)}" if match else sr_id

    def incoming_params(self, params: dict[str, str]) -> dict[str, str]:
        out = dict(params)
        if not self.chicago_parameters:
            for name in ("extensions", "page", "page_size", "updated_after", "updated_before",
                         "callback"):
                out.pop(name, None)  # unknown to the specification: ignored
        if self.numeric_ids:
            for name, one in (("service_code", self.incoming_code),
                              ("service_request_id", self.incoming_id)):
                if out.get(name):
                    out[name] = ",".join(one(item) for item in out[name].split(","))
        return out

    def incoming_form(self, form: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """A POST form with codes and list keys in the City's own spelling."""
        if not self.numeric_ids:
            return form
        code = next((v for k, v in form if k == "service_code"), "")
        keys = _numeric_keys().get(self.incoming_code(code), {})
        out = []
        for name, value in form:
            if name == "service_code":
                value = self.incoming_code(value)
            match = re.fullmatch(r"attribute\[([^\[\]]+)\](\[\])?", name)
            if match and match.group(1) in keys:
                value = keys[match.group(1)].get(value.strip(), value)
            out.append((name, value))
        return out


CHICAGO = Dialect("chicago")
GEOREPORT = Dialect("georeport", chicago_parameters=False, pending_rows=False, window_days=90,
                    max_rows=1000, address_fields=True)
SPEC_EXAMPLES = replace(GEOREPORT, name="spec-examples", numeric_ids=True, immediate_ids=True)
_LENIENCY: dict[str, Any] = {"ids_override_all": True, "jurisdiction_ignored": True,
                             "xml_application_type": True}
# Abandoned Vehicle is the chicago profile's write service; Pothole in Street, Graffiti
# Removal: listed ones
LENIENT = replace(CHICAGO, name="lenient", page_size_clamped=True, **_LENIENCY,
                  realtime_services=frozenset({"4ffa4c69601827691b000018",
                                               "4fd3b656e750846c53000004"}))
# the georeport-v2 write goes to the first service listed (Test): it stays batch
LENIENT_GEOREPORT = replace(GEOREPORT, name="lenient-georeport", numeric_ids=True,
                            address_fields=False, bad_status_matches_nothing=True,
                            description_cut=True, media_url_dropped=True, **_LENIENCY,
                            realtime_services=frozenset({"4fd3b656e750846c53000004",
                                                         "4fd3b167e750846744000005"}))
DIALECTS: dict[str, Dialect] = {d.name: d for d in (CHICAGO, GEOREPORT, SPEC_EXAMPLES, LENIENT,
                                                      LENIENT_GEOREPORT)}
DEFAULT = CHICAGO


def get(name: str | Dialect) -> Dialect:
    if isinstance(name, Dialect):
        return name
    try:
        return DIALECTS[name]
    except KeyError:
        raise ValueError(f"unknown dialect {name!r}: expected one of {', '.join(DIALECTS)}") from None


# -- the numeric spelling of the City's identifiers ---------------------------------------------
@cache
def _numeric_codes() -> tuple[dict[str, int], dict[str, str]]:
    """service_code <-> a small number (1, 2, ...), in the order of the service list."""
    out = {s["service_code"]: n for n, s in enumerate(data.services(), start=1)}
    return out, {str(n): code for code, n in out.items()}


@cache
def _numeric_keys() -> dict[str, dict[str, dict[str, str]]]:
    """service_code -> attribute code -> numeric key (as text) -> the City's key."""
    out: dict[str, dict[str, dict[str, str]]] = {}
    for code, definition in data.definitions().items():
        for attribute in definition.get("attributes", ()):
            values = attribute.get("values") or ()
            out.setdefault(code, {})[attribute["code"]] = {
                str(_key_number(n)): v["key"] for n, v in enumerate(values)}
    return out


def _key_number(index: int) -> int:
    return 123 + index  # the specification's example key is 123


def _code_out(code: Any) -> Any:
    return _numeric_codes()[0].get(code, code)


def _id_out(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{2}-\d{8}", value):
        return int(value.replace("-", ""))
    return value


def _digits_out(value: Any) -> Any:
    return int(value) if isinstance(value, str) and value.isdigit() else value


def _definition_out(definition: Mapping[str, Any]) -> dict[str, Any]:
    attributes = []
    for attribute in definition.get("attributes", ()):
        if attribute.get("values"):
            attribute = {**attribute, "values": [{**v, "key": _key_number(n)}
                                                 for n, v in enumerate(attribute["values"])]}
        attributes.append(attribute)
    return {**definition, "service_code": _code_out(definition["service_code"]),
            "attributes": attributes}


def _row_out(row: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(row)
    if "service_request_id" in out:
        out["service_request_id"] = _id_out(out["service_request_id"])
    if "service_code" in out:
        out["service_code"] = _code_out(out["service_code"])
    for name in ("address_id", "zipcode"):
        if name in out:
            out[name] = _digits_out(out[name])
    return out
