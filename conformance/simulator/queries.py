"""Request lists: the query parameters read into a :class:`Query`, and rows rendered back.

Functions of the active faults rather than ``App`` methods: a list's parameters and rows
depend on nothing else, and the fault branches stay at the one place each applies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from conformance.simulator import data
from conformance.simulator.messages import Refused
from conformance.simulator.store import Query, Row

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
MAX_IDS = 500
_DIGITS = re.compile(r"^\d{1,9}$")


def wants_extensions(params: Mapping[str, str], faults: frozenset[str]) -> bool:
    value = params.get("extensions", "")
    if value.lower() in ("true", "false", ""):
        return value.lower() == "true"
    if "odd-parameter-500" in faults:
        raise Refused(500, "Internal Server Error")
    raise Refused(400, f"extensions must be true or false, not '{value}'")


def parse(params: Mapping[str, str], faults: frozenset[str]) -> Query:
    query = Query()
    statuses = _comma_list(params.get("status"))
    if statuses is not None:
        unknown = [s for s in statuses if s not in ("open", "closed")]
        if unknown and "bad-status-accepted" in faults:
            statuses = [s for s in statuses if s in ("open", "closed")] or None
        elif unknown:
            raise Refused(400, f"status must be open or closed (comma-separated), "
                               f"not '{unknown[0]}'")
    if "filter-status-ignored" not in faults:
        query.statuses = statuses
    dates = {}
    for name in ("start_date", "end_date", "updated_after", "updated_before"):
        text = params.get(name)
        if not text:
            continue
        try:
            dates[name] = data.parse_w3c(text)
        except ValueError as exc:
            if "bad-date-accepted" not in faults:
                raise Refused(400, f"{name}: {exc}") from None
    if "filter-dates-ignored" not in faults:
        query.start, query.end = dates.get("start_date"), dates.get("end_date")
    if "filter-updated-ignored" not in faults:
        query.updated_after = dates.get("updated_after")
        query.updated_before = dates.get("updated_before")
    query.page = _positive(params.get("page"), "page", 1)
    query.page_size = _page_size(params.get("page_size"), faults)
    if "paging-ignored" in faults:
        query.page = 1
    query.oldest_first = "oldest-first" in faults
    codes = _comma_list(params.get("service_code"))
    if "filter-service-code-ignored" not in faults:
        query.service_codes = codes
    if "list-omits-new" in faults:
        query.include_written = False
    ids = _comma_list(params.get("service_request_id"))
    if ids is not None:
        if len(ids) > MAX_IDS:
            raise Refused(400, f"at most {MAX_IDS} service_request_id values at once")
        if "filter-id-first-only" in faults:
            ids = ids[:1]
        # the id list overrides every other filter (GeoReport v2)
        query = Query(ids=ids, page_size=len(ids), include_pending=False,
                      include_written=query.include_written, oldest_first=query.oldest_first)
    return query


def _page_size(text: str | None, faults: frozenset[str]) -> int:
    if text is None and "page-size-default-100" in faults:
        return 2 * DEFAULT_PAGE_SIZE
    if "page-size-unbounded" in faults and text and re.fullmatch(r"-?\d{1,9}", text):
        size = int(text)
        return size if size > 0 else DEFAULT_PAGE_SIZE
    size = _positive(text, "page_size", DEFAULT_PAGE_SIZE)
    if size > MAX_PAGE_SIZE:
        raise Refused(400, f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    return size


def _comma_list(value: str | None) -> list[str] | None:
    if value is None:
        return None
    items = [item.strip() for item in value.split(",") if item.strip()]
    return items or None


def _positive(text: str | None, name: str, default: int) -> int:
    if text is None or text == "":
        return default
    if not _DIGITS.match(text) or int(text) < 1:
        raise Refused(400, f"{name} must be a whole number of at least 1, not '{text}'")
    return int(text)


def render(row: Row, extensions: bool, faults: frozenset[str],
           odd_status: bool = False) -> dict[str, Any]:
    doc = row.doc
    zone = "dates-without-zone" not in faults
    if row.pending:
        # what the City lists while its CRM still processes a request (E4)
        out: dict[str, Any] = {"status": "submitted"}
        if "pending-with-token" in faults:
            out["token"] = row.token
        _copy(out, doc, "service_name")
        out["service_code"] = row.service_code
        _copy(out, doc, "description")
        out["updated_datetime"] = data.w3c(row.updated, zone)
        _copy(out, doc, "address", "lat", "long")
        return out
    status = row.status
    if odd_status and row.origin == "history" and row.seq % 5 == 0:
        status = "pending"
    out = {"service_request_id": row.id, "status": status}
    _copy(out, doc, "status_notes", "service_name")
    out["service_code"] = row.service_code
    _copy(out, doc, "description")
    if "readback-mismatch" in faults and row.origin == "open311":
        out["description"] = out.get("description", "") + " (amended)"
    _copy(out, doc, "agency_responsible")
    out["requested_datetime"] = data.w3c(row.requested or row.sort_ts, zone)
    out["updated_datetime"] = data.w3c(row.updated, zone)
    _copy(out, doc, "address", "address_id", "lat", "long", "media_url")
    if extensions and "extensions-missing" not in faults:
        if doc.get("attributes"):  # an empty map has no XML twin: leave it out
            out["attributes"] = doc["attributes"]
        out["extended_attributes"] = doc["extended_attributes"]
        out["notes"] = [{**note, "datetime": data.w3c(note["datetime"], zone)}
                        for note in doc["notes"]]
    return out


def _copy(out: dict[str, Any], doc: Mapping[str, Any], *keys: str) -> None:
    for key in keys:
        if doc.get(key) is not None:
            out[key] = doc[key]
