"""Request lists: the query parameters read into a :class:`Query`, and rows rendered back.

Functions of the active faults rather than ``App`` methods: a list's parameters and rows
depend on nothing else, and the fault branches stay at the one place each applies.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any

from conformance.simulator import data
from conformance.simulator.dialect import DEFAULT as DEFAULT_DIALECT
from conformance.simulator.dialect import Dialect
from conformance.simulator.messages import Refused
from conformance.simulator.store import Query, Row

__all__ = ["OPTIONAL_TEXT", "Query", "parse", "render", "wants_extensions"]

MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 50
MAX_IDS = 500
_DIGITS = re.compile(r"^\d{1,9}$")
_NO_ZONE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_OFFSET = re.compile(r"[+-]\d{2}:\d{2}$")
# optional free-text fields of a request: absent when the City has nothing to say
OPTIONAL_TEXT = ("status_notes", "description", "agency_responsible")
UNLISTED_CODE = "000000000000000000000001"  # a service_code no service list holds


def wants_extensions(params: Mapping[str, str], faults: frozenset[str]) -> bool:
    value = params.get("extensions", "")
    if value.lower() in ("true", "false", ""):
        return value.lower() == "true"
    if "odd-parameter-500" in faults:
        raise Refused(500, "Internal Server Error")
    if "odd-input-ignored" in faults:
        return False
    raise Refused(400, f"extensions must be true or false, not '{value}'")


def parse(params: Mapping[str, str], faults: frozenset[str],
          dialect: Dialect = DEFAULT_DIALECT) -> Query:
    query = Query(include_pending=dialect.pending_rows)
    statuses = _comma_list(params.get("status"))
    literal = "params-taken-literally" in faults
    if literal and "status" in params:
        statuses = [params["status"]]  # "" and "open,closed" as one value each: matches nothing
    elif statuses is not None:
        unknown = [s for s in statuses if s not in ("open", "closed")]
        if unknown and ("bad-status-accepted" in faults or dialect.bad_status_matches_nothing):
            statuses = [s for s in statuses if s in ("open", "closed")] or ["(none)"]
        elif unknown and "bad-status-ignored" in faults:
            statuses = [s for s in statuses if s in ("open", "closed")] or None
        elif unknown:
            raise Refused(400, f"status must be open or closed (comma-separated), "
                               f"not '{unknown[0]}'")
    if "filter-status-ignored" not in faults:
        query.statuses = statuses
    dates = {}
    for name in ("start_date", "end_date", "updated_after", "updated_before"):
        text = params.get(name)
        if literal and text == "":
            raise Refused(400, f"{name}: '' is not a W3C date-time")
        if not text:
            continue
        if "date-offset-refused" in faults and _OFFSET.search(text.strip()):
            raise Refused(400, f"{name}: only UTC date-times (ending in Z) are understood")
        if "date-zone-optional" in faults and _NO_ZONE.match(text.strip()):
            text = text.strip() + "Z"
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
    paging = {name: params.get(name) for name in ("page", "page_size")}
    if "odd-input-ignored" in faults:  # what is no number at all counts as absent
        paging = {k: v if v is None or re.fullmatch(r"-?\d+", v) else None for k, v in paging.items()}
    query.page = _positive(paging["page"], "page", 1)
    query.page_size = _page_size(paging["page_size"], faults, dialect.page_size_clamped)
    if "paging-ignored" in faults:
        query.page = 1
    if dialect.window_days is not None:
        _window(query, dialect.window_days * 86400, faults)
    if dialect.max_rows is not None:  # no paging: one answer of at most max_rows
        query.page, query.page_size = 1, dialect.max_rows
    query.oldest_first = "oldest-first" in faults
    codes = _comma_list(params.get("service_code"))
    if literal and params.get("service_code") == "":
        codes = [""]
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


def _window(query: Query, span: float, faults: frozenset[str]) -> None:
    """The specification's window: the most recent 90 days when no date is asked, and a
    start..end span of at most 90 days (clamped to the 90 days before the later bound)."""
    if query.start is None and query.end is None:
        if "default-window-all" not in faults:
            query.start = time.time() - span
        return
    if "date-span-unbounded" in faults:
        return
    end = query.end if query.end is not None else time.time()
    if query.start is None or end - query.start > span:
        query.start = end - span


def _page_size(text: str | None, faults: frozenset[str], clamped: bool = False) -> int:
    if text is None and "page-size-default-100" in faults:
        return 2 * DEFAULT_PAGE_SIZE
    if "page-size-unbounded" in faults and text and re.fullmatch(r"-?\d{1,9}", text):
        size = int(text)
        return size if size > 0 else DEFAULT_PAGE_SIZE
    size = _positive(text, "page_size", DEFAULT_PAGE_SIZE)
    if size > MAX_PAGE_SIZE and clamped:
        return MAX_PAGE_SIZE
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
           odd_status: bool = False, dialect: Dialect = DEFAULT_DIALECT,
           unlisted: bool = False) -> dict[str, Any]:
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
    if unlisted and row.origin == "history" and row.seq % 7 == 0:
        out["service_code"] = UNLISTED_CODE
    _copy(out, doc, "description")
    if "readback-mismatch" in faults and row.origin == "open311":
        out["description"] = out.get("description", "") + " (amended)"
    _copy(out, doc, "agency_responsible")
    out["requested_datetime"] = data.w3c(row.requested or row.sort_ts, zone)
    out["updated_datetime"] = data.w3c(row.updated, zone)
    _copy(out, doc, "address", "address_id", "lat", "long", "media_url")
    if dialect.address_fields and "address-fields-missing" not in faults:
        out["address_id"] = doc.get("address_id")
        out["zipcode"] = doc.get("extended_attributes", {}).get("zip")
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
