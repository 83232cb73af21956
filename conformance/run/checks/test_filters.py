"""Query filters really filter, paging pages, bad input is refused (judged on identified rows)."""

from __future__ import annotations

import datetime as dt

import pytest

from conformance import wire
from conformance.client import Client
from conformance.outcomes import Inconclusive, fail
from conformance.run import expect
from conformance.run.checks._endpoints import JURISDICTION_READS, UNKNOWN_ID, fetch, title
from conformance.run.write_flow import UNKNOWN_JURISDICTION

requirement = pytest.mark.requirement
CHICAGO = "cityofchicago.org"
DAY = 86400
SPAN_DAYS = 90  # the specification's default window and widest start..end span
MAX_ROWS = 1000  # the specification's default cap
# the span GR2-DATE-SPAN asks: wider than 90 days, ending some days before now
SPAN_ASKED_DAYS = 110
SPAN_END_DAYS_AGO = 10


def _stamp(value):
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _rows(client, query):
    answer = client.requests(query)
    expect.status(answer, 200)
    rows, _ = Client.identified(answer)
    return answer, rows


def _wide(profile, query):
    """``query`` on the largest page, where the profile pages (else the one answer there is)."""
    return profile.quirks.documented({**query, "page_size": 500})


def _ids(rows):
    return sorted(str(r["service_request_id"]) for r in rows)


@requirement("GR2-FILTER-ID")
def test_filter_by_ids(open311_client, open311_history):
    """service_request_id= answers exactly the requests named, overriding other filters"""
    if len(open311_history) < 3:
        raise Inconclusive("fewer than three identified requests: no strict subset to ask for")
    # two of the list (not its first) and an unknown id: exactly the two known ones answer
    wanted = [str(r["service_request_id"]) for r in open311_history[1:3]]
    other_code = "000000000000000000000000"
    answer, rows = _rows(open311_client, {"service_request_id": ",".join([*wanted, UNKNOWN_ID]),
                                          "service_code": other_code})
    if _ids(rows) != sorted(wanted):
        fail(f"{answer.describe()}: asked for {sorted(wanted)} and an unknown id, got {_ids(rows)}")


@requirement("GR2-FILTER-SERVICE-CODE")
def test_filter_by_service_code(open311_client, open311_history, open311_profile):
    """service_code= answers only the codes named"""
    codes = sorted({str(r.get("service_code")) for r in open311_history})
    if len(codes) < 3:
        raise Inconclusive("the history holds fewer than three service codes")
    wanted = codes[:2]
    answer, rows = _rows(open311_client, _wide(open311_profile, {"service_code": ",".join(wanted)}))
    strays = [f"{r['service_request_id']}: {r.get('service_code')}" for r in rows
              if str(r.get("service_code")) not in wanted]
    if strays:
        fail(f"{answer.describe()}: {len(strays)} row(s) of other codes:\n" + expect.listing(strays))
    if not rows:
        fail(f"{answer.describe()}: no rows, though the history has requests of {wanted}")
    # a listed code without requests answers no row of another code
    services = open311_client.services()
    listed = [str(s["service_code"]) for s in services.data if isinstance(s, dict)
              and s.get("service_code") is not None] if services.ok and isinstance(services.data, list) else []
    idle = [c for c in listed if c not in codes]
    if idle:
        answer, rows = _rows(open311_client, _wide(open311_profile, {"service_code": idle[0]}))
        strays = [f"{r['service_request_id']}: {r.get('service_code')}" for r in rows
                  if str(r.get("service_code")) != idle[0]]
        if strays:
            fail(f"{answer.describe()}: a code without requests answered {len(strays)} row(s) of "
                 "other codes:\n" + expect.listing(strays))


@requirement("GR2-FILTER-STATUS")
@pytest.mark.parametrize("status", ["open", "closed"])
def test_filter_by_status(open311_client, open311_history, open311_profile, status):
    """status= answers only the status named"""
    if not any(r.get("status") == status for r in open311_history):
        raise Inconclusive(f"the history holds no {status} request")
    answer, rows = _rows(open311_client, _wide(open311_profile, {"status": status}))
    strays = [f"{r['service_request_id']}: {r.get('status')}" for r in rows if r.get("status") != status]
    if strays or not rows:
        fail(f"{answer.describe()}: " + (f"{len(strays)} row(s) of another status:\n" + expect.listing(strays)
                                        if strays else "no rows"))


def _window(history, field):
    """Two distinct timestamps of the list (a quarter and half way), so the window is real."""
    stamps = sorted({s for s in (_stamp(r.get(field)) for r in history) if s is not None})
    if len(stamps) < 2:
        raise Inconclusive(f"fewer than two distinct {field} values to choose a window")
    low = len(stamps) // 4
    return stamps[low], stamps[max(len(stamps) // 2, low + 1)]


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
def test_filter_by_time_window(open311_client, open311_history, open311_profile, field, lower, upper):
    """A time window bounds the date-time it names"""
    low, high = _window(open311_history, field)
    answer, rows = _rows(open311_client, _wide(open311_profile, {lower: low.isoformat(), upper: high.isoformat()}))
    strays = _outside(rows, field, low, high)
    if strays:
        fail(f"{answer.describe()}: {len(strays)} row(s) outside the window:\n" + expect.listing(strays))
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
    expect.ok(answer)
    if isinstance(answer.data, list) and len(answer.data) > 50:
        fail(f"{answer.describe()}: {len(answer.data)} rows without page_size (default is 50)")


@requirement("CHI-PAGE-SIZE-LIMIT")
@pytest.mark.parametrize("query", [{"page_size": 0}, {"page_size": 501}, {"page": 0}],
                         ids=["page_size=0", "page_size=501", "page=0"])
def test_paging_limits(open311_client, query):
    """page_size or page below 1 is refused; above 500 refused or at most 500 rows"""
    answer = open311_client.requests(query)
    if query.get("page_size", 0) > 500 and answer.ok:
        rows = answer.data if isinstance(answer.data, list) else []
        if len(rows) > 500:
            fail(f"{answer.describe()}: {len(rows)} rows; never more than 500")
        return
    expect.status(answer, 400)


@requirement("GR2-BAD-STATUS-400")
def test_unknown_status_refused(open311_client):
    """An unknown status value is refused with 400"""
    expect.status(open311_client.requests({"status": "bogus"}), 400)


@requirement("GR2-BAD-DATE-400")
@pytest.mark.parametrize("value", ["not-a-date", "2026-13-45T99:00:00Z"])
@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_malformed_date_refused(open311_client, field, value):
    """A malformed date is refused with 400"""
    expect.status(open311_client.requests({field: value}), 400)


@requirement("GR2-JURISDICTION-CONSISTENT")
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("operation", JURISDICTION_READS, ids=title)
def test_unknown_jurisdiction(open311_client, operation, fmt):
    """An unknown jurisdiction_id is answered 404, or ignored consistently"""
    plain = fetch(open311_client, operation, fmt)
    odd = fetch(open311_client, operation, fmt, {"jurisdiction_id": UNKNOWN_JURISDICTION})
    if odd.status == 404 or (odd.status == plain.status and odd.decoded and plain.decoded
                             and wire.normalize(odd.data) == wire.normalize(plain.data)):
        return
    empty = " (empty)" if odd.ok and not odd.data else ""
    fail(f"{odd.describe()}{empty}: neither 404 nor the answer without jurisdiction_id "
         f"({plain.describe()})")


@requirement("CHI-JURISDICTION")
@pytest.mark.parametrize("value", [CHICAGO, ""], ids=["cityofchicago.org", "empty"])
def test_chicago_jurisdiction(open311_client, value):
    """jurisdiction_id=cityofchicago.org is accepted and an empty one is ignored"""
    answer = open311_client.fetch("services", "json", {"jurisdiction_id": value}, with_jurisdiction=False)
    expect.status(answer, 200)


# --- dates and parameters ------------------------------------------------------------------------
@requirement("GR2-DATE-ZONE-400")
@pytest.mark.parametrize("field", ["start_date", "end_date"])
def test_date_without_zone_refused(open311_client, field):
    """A date without a zone is refused with 400"""
    expect.status(open311_client.requests({field: "2024-01-01T00:00:00"}), 400)


@requirement("GR2-DATE-OFFSET")
def test_date_with_offset_accepted(open311_client, open311_history):
    """Dates with a numeric offset are accepted"""
    low, high = _window(open311_history, "requested_datetime")
    zone = dt.timezone(dt.timedelta(hours=-5))
    query = {"start_date": low.astimezone(zone).isoformat(),
             "end_date": high.astimezone(zone).isoformat()}
    answer, rows = _rows(open311_client, query)
    strays = _outside(rows, "requested_datetime", low, high)
    if strays or not rows:
        fail(f"{answer.describe()}: " + ("no rows" if not rows else
                                        "rows outside the window:\n" + expect.listing(strays)))


def _cutoff(client):
    # an hour before the run: the lists compared below hold nothing the run writes; one moment
    # for the whole run, read from its clock (a re-judged run sends the recorded one)
    moment = client.transport.clock.once("test_filters: cutoff")
    return dt.datetime.fromtimestamp(moment - 3600, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


NEUTRAL = {"status=": {"status": ""}, "service_code=": {"service_code": ""},
           "start_date=": {"start_date": ""}, "status=open,closed": {"status": "open,closed"}}


@requirement("GR2-PARAMS-EMPTY")
@pytest.mark.parametrize("extra", list(NEUTRAL.values()), ids=list(NEUTRAL))
def test_neutral_parameter(open311_client, extra):
    """An empty parameter, or every status, answers like none"""
    base = {"end_date": _cutoff(open311_client)}
    plain, plain_rows = _rows(open311_client, base)
    answer = open311_client.requests({**base, **extra})
    expect.status(answer, 200)
    rows, pending = Client.identified(answer)
    # two pages of one size, each filled (rows without an id take places too): a page's
    # oldest rows are where the two may part without any filter differing
    paged = isinstance(plain.data, list) and len(rows) + len(pending) == len(plain.data)
    if (_ids(_comparable(rows, plain_rows, paged, open311_client))
            != _ids(_comparable(plain_rows, rows, paged, open311_client))):
        fail(f"{answer.describe()}: {len(rows)} request(s), {len(plain_rows)} without it "
             f"({plain.describe()})")


def _comparable(rows, other, paged, client):
    """The rows of one list that the other list, asked a moment apart, must hold too.

    Requests newer than the cutoff are left out: a server that ignores end_date lists what the
    run writes meanwhile, a drift that is GR2-FILTER-DATES's to judge. When both lists are
    pages of one size, only rows newer than the older of their two ends are compared: what
    each page holds beyond that depends on what else takes places on it (rows without an id,
    the run's writes), not on the parameter."""
    cutoff = _stamp(_cutoff(client))

    def settled(listed):
        return [r for r in listed if (_aware(r) or cutoff) <= cutoff]
    mine, theirs = settled(rows), settled(other)
    ends = [min(stamps) for stamps in (_stamps(mine), _stamps(theirs)) if stamps]
    if not paged or len(ends) < 2:  # a list without a dated request: nothing to line up
        return mine
    floor = max(ends)  # rows at the floor itself may sit on either side of a page's edge
    return [r for r in mine if (_aware(r) or cutoff) > floor]


def _aware(row):
    stamp = _stamp(row.get("requested_datetime"))
    return stamp if stamp is not None and stamp.tzinfo is not None else None


def _stamps(rows):
    return [stamp for stamp in map(_aware, rows) if stamp is not None]



@requirement("GR2-BAD-STATUS-IGNORED")
def test_unknown_status_not_ignored(open311_client):
    """An unknown status is not answered with the whole list"""
    base = {"end_date": _cutoff(open311_client)}  # nothing the run writes: the two lists cannot drift
    answer = open311_client.requests({**base, "status": "bogus"})
    if answer.status >= 500:
        fail(f"{answer.describe()}: a server error")
    if not answer.ok:
        return
    plain, plain_rows = _rows(open311_client, base)
    rows, _ = Client.identified(answer)
    if rows and _ids(rows) == _ids(plain_rows):
        fail(f"{answer.describe()}: the same {len(rows)} request(s) as without status: "
             "the value was silently ignored")


@requirement("GR2-DEFAULT-WINDOW")
def test_default_window(open311_client):
    """Without dates, at most the last 90 days and 1000 requests"""
    answer, rows = _rows(open311_client, {})
    now = open311_client.transport.clock.now("test_filters: default window")
    oldest = dt.datetime.fromtimestamp(now - (SPAN_DAYS + 1) * DAY, dt.UTC)
    old = [f"{r['service_request_id']}: {r.get('requested_datetime')}" for r in rows
           if (_stamp(r.get("requested_datetime")) or oldest) < oldest]
    if len(answer.data) > MAX_ROWS or old:
        fail(f"{answer.describe()}: {len(answer.data)} rows, {len(old)} older than {SPAN_DAYS} "
             "days:\n" + expect.listing(old))


@requirement("GR2-DATE-SPAN")
def test_span_limit(open311_client):
    """A span over 90 days is refused, or clamped to 90 days inside it"""
    # a span ending before now, so a server that drops the dates (and answers its recent
    # default) shows rows after end_date
    now = open311_client.transport.clock.now("test_filters: span")
    end = dt.datetime.fromtimestamp(now - SPAN_END_DAYS_AGO * DAY, dt.UTC).replace(microsecond=0)
    start = end - dt.timedelta(days=SPAN_ASKED_DAYS)
    answer = open311_client.requests({"start_date": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                      "end_date": end.strftime("%Y-%m-%dT%H:%M:%SZ")})
    if answer.status == 400:
        return
    expect.status(answer, 200, 400)
    rows, _ = Client.identified(answer)
    strays = _outside(rows, "requested_datetime", start, end)
    if strays:
        fail(f"{answer.describe()}: {len(strays)} row(s) outside the {SPAN_ASKED_DAYS}-day span asked "
             f"({start:%Y-%m-%d} to {end:%Y-%m-%d}); a span may be refused or clamped, never widened "
             "or ignored:\n" + expect.listing(strays))
    stamps = [s for s in (_stamp(r.get("requested_datetime")) for r in rows) if s is not None]
    if stamps and (max(stamps) - min(stamps)).total_seconds() > (SPAN_DAYS + 1) * DAY:
        fail(f"{answer.describe()}: a {SPAN_ASKED_DAYS}-day span answered requests {max(stamps) - min(stamps)} "
             f"apart; the specification allows at most {SPAN_DAYS} days")
