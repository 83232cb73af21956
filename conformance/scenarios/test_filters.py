"""Query filters really filter, paging pages, bad input is refused (judged on identified rows)."""

from __future__ import annotations

import datetime as dt

import pytest

from conformance import checks
from conformance.client import Client
from conformance.outcomes import Inconclusive, fail

requirement = pytest.mark.requirement
CHICAGO = "cityofchicago.org"


def _stamp(value):
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _rows(client, query):
    answer = client.requests(query)
    checks.expect_status(answer, 200)
    rows, _ = Client.identified(answer)
    return answer, rows


@requirement("GR2-FILTER-ID")
def test_filter_by_ids(open311_client, open311_history):
    """service_request_id= answers exactly the requests named, overriding other filters"""
    wanted = [str(r["service_request_id"]) for r in open311_history[:3]]
    other_code = "000000000000000000000000"
    answer, rows = _rows(open311_client, {"service_request_id": ",".join(wanted), "service_code": other_code})
    got = sorted(str(r["service_request_id"]) for r in rows)
    if got != sorted(wanted):
        fail(f"{answer.describe()}: asked for {sorted(wanted)}, got {got}")


@requirement("GR2-FILTER-SERVICE-CODE")
def test_filter_by_service_code(open311_client, open311_history):
    """service_code= answers only the codes named"""
    codes = sorted({str(r.get("service_code")) for r in open311_history})
    if len(codes) < 3:
        raise Inconclusive("the history holds fewer than three service codes")
    wanted = codes[:2]
    answer, rows = _rows(open311_client, {"service_code": ",".join(wanted), "page_size": 500})
    strays = [f"{r['service_request_id']}: {r.get('service_code')}" for r in rows
              if str(r.get("service_code")) not in wanted]
    if strays:
        fail(f"{answer.describe()}: {len(strays)} row(s) of other codes:\n" + checks.listing(strays))
    if not rows:
        fail(f"{answer.describe()}: no rows, though the history has requests of {wanted}")


@requirement("GR2-FILTER-STATUS")
@pytest.mark.parametrize("status", ["open", "closed"])
def test_filter_by_status(open311_client, open311_history, status):
    """status= answers only the status named"""
    if not any(r.get("status") == status for r in open311_history):
        raise Inconclusive(f"the history holds no {status} request")
    answer, rows = _rows(open311_client, {"status": status, "page_size": 500})
    strays = [f"{r['service_request_id']}: {r.get('status')}" for r in rows if r.get("status") != status]
    if strays or not rows:
        fail(f"{answer.describe()}: " + (f"{len(strays)} row(s) of another status:\n" + checks.listing(strays)
                                        if strays else "no rows"))


def _window(history, field):
    stamps = sorted(s for s in (_stamp(r.get(field)) for r in history) if s is not None)
    if len(stamps) < 10:
        raise Inconclusive(f"too few {field} values to choose a window")
    low, high = stamps[len(stamps) // 4], stamps[len(stamps) // 2]
    if low == high:
        raise Inconclusive(f"{field} values do not spread")
    return low, high


def _outside(rows, field, low, high):
    out = []
    for row in rows:
        stamp = _stamp(row.get(field))
        if stamp is None or not low <= stamp <= high:
            out.append(f"{row['service_request_id']}: {field} {row.get(field)}")
    return out


# the window filters: (field they bound, lower parameter, upper parameter)
WINDOWS = [
    pytest.param("requested_datetime", "start_date", "end_date", id="start_date/end_date",
                 marks=requirement("GR2-FILTER-DATES")),
    pytest.param("updated_datetime", "updated_after", "updated_before", id="updated_after/updated_before",
                 marks=requirement("CHI-FILTER-UPDATED")),
]


@pytest.mark.parametrize(("field", "lower", "upper"), WINDOWS)
def test_filter_by_time_window(open311_client, open311_history, field, lower, upper):
    """A time window bounds the date-time it names"""
    low, high = _window(open311_history, field)
    answer, rows = _rows(open311_client, {lower: low.isoformat(), upper: high.isoformat(), "page_size": 500})
    strays = _outside(rows, field, low, high)
    if strays:
        fail(f"{answer.describe()}: {len(strays)} row(s) outside the window:\n" + checks.listing(strays))
    if not rows:
        fail(f"{answer.describe()}: no rows inside a window the history fills")


@requirement("CHI-PAGING")
def test_paging(open311_client, open311_history):
    """page and page_size page without overlap"""
    if len(open311_history) < 12:
        raise Inconclusive("fewer than 12 requests: nothing to page through")
    pages = []
    for page in (1, 2):
        answer, rows = _rows(open311_client, {"status": "closed", "page_size": 5, "page": page})
        if len(answer.data) > 5:
            fail(f"{answer.describe()}: {len(answer.data)} rows on a page of 5")
        pages.append({str(r["service_request_id"]) for r in rows})
    if not pages[1]:
        fail("page 2 of 5 is empty although more requests exist")
    if pages[0] & pages[1]:
        fail(f"pages 1 and 2 share requests {sorted(pages[0] & pages[1])}")


@requirement("CHI-PAGE-SIZE-DEFAULT")
def test_default_page_size(open311_client):
    """Without page_size a page holds at most 50 requests"""
    answer = open311_client.requests()
    checks.expect_ok(answer)
    if isinstance(answer.data, list) and len(answer.data) > 50:
        fail(f"{answer.describe()}: {len(answer.data)} rows without page_size (default is 50)")


@requirement("CHI-PAGE-SIZE-LIMIT")
@pytest.mark.parametrize("query", [{"page_size": 0}, {"page_size": 501}, {"page": 0}],
                         ids=["page_size=0", "page_size=501", "page=0"])
def test_paging_limits(open311_client, query):
    """page_size outside 1..500 or page below 1 is refused with 400"""
    checks.expect_status(open311_client.requests(query), 400)


@requirement("GR2-BAD-STATUS-400")
def test_unknown_status_refused(open311_client):
    """An unknown status value is refused with 400"""
    checks.expect_status(open311_client.requests({"status": "bogus"}), 400)


@requirement("GR2-BAD-DATE-400")
@pytest.mark.parametrize("value", ["not-a-date", "2026-13-45T99:00:00Z"])
@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_malformed_date_refused(open311_client, field, value):
    """A malformed date is refused with 400"""
    checks.expect_status(open311_client.requests({field: value}), 400)


@requirement("GR2-JURISDICTION-404")
def test_unknown_jurisdiction(open311_client):
    """An unknown jurisdiction_id is answered 404"""
    answer = open311_client.fetch("services", "json", {"jurisdiction_id": "unknown.example.invalid"},
                                  with_jurisdiction=False)
    checks.expect_status(answer, 404)


@requirement("CHI-JURISDICTION")
@pytest.mark.parametrize("value", [CHICAGO, ""], ids=["cityofchicago.org", "empty"])
def test_chicago_jurisdiction(open311_client, value):
    """jurisdiction_id=cityofchicago.org is accepted and an empty one is ignored"""
    answer = open311_client.fetch("services", "json", {"jurisdiction_id": value}, with_jurisdiction=False)
    checks.expect_status(answer, 200)
