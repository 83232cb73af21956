"""Error answers: status, body shape and format, and no server errors on odd input."""

from __future__ import annotations

import pytest

from conformance.outcomes import Inconclusive, fail
from conformance.run import expect
from conformance.run.checks._endpoints import UNKNOWN_CODE, UNKNOWN_ID, UNKNOWN_TOKEN

requirement = pytest.mark.requirement

# situation -> (path, the requirement its 404 answers)
SITUATIONS = {
    "unknown service_code": (f"services/{UNKNOWN_CODE}", "GR2-SVC-DEF-404"),
    "unknown service_request_id": (f"requests/{UNKNOWN_ID}", "GR2-REQ-404"),
    "unknown token": (f"tokens/{UNKNOWN_TOKEN}", "GR2-TOKEN-404"),
}
CASES = [pytest.param(path, fmt, id=f"{name}, {fmt}", marks=pytest.mark.requirement(req))
         for name, (path, req) in SITUATIONS.items() for fmt in ("json", "xml")]
BODY_CASES = [pytest.param(path, fmt, id=f"{name}, {fmt}")
              for name, (path, _req) in SITUATIONS.items() for fmt in ("json", "xml")]


@pytest.mark.parametrize(("path", "fmt"), CASES)
def test_unknown_resource_404(open311_client, path, fmt):
    """An unknown resource is answered 404"""
    expect.status(open311_client.fetch(path, fmt), 404)


@requirement("GR2-ERR-BODY")
@pytest.mark.parametrize(("path", "fmt"), BODY_CASES)
def test_error_body_is_error_list(open311_client, open311_profile, path, fmt):
    """An error answer carries a list of code and description"""
    expect.error_list(open311_client.fetch(path, fmt), open311_profile)


@requirement("GR2-ERR-FORMAT")
@pytest.mark.parametrize(("path", "fmt"), BODY_CASES)
def test_error_in_requested_format(open311_client, path, fmt):
    """An error answer comes in the requested format"""
    expect.error_format(open311_client.fetch(path, fmt))


ODD_QUERIES = [
    {"extensions": "maybe"}, {"page": "abc"}, {"page_size": "-1"}, {"page_size": "1e3"},
    {"status": ""}, {"service_code": "%%%"}, {"start_date": "yesterday"},
    {"updated_after": "2026-02-30T00:00:00Z"}, {"service_request_id": ","}, {"callback": "1<2"},
]


@requirement("GR2-ERR-NO-5XX")
def test_no_server_error_on_odd_input(open311_client, open311_profile):
    """Odd parameter values are never answered with a 5xx"""
    crashed = []
    for query in filter(open311_profile.quirks.documents, ODD_QUERIES):
        answer = open311_client.requests(query)
        if answer.status >= 500:
            crashed.append(f"{answer.describe()}")
    if crashed:
        fail(f"{len(crashed)} odd input(s) crashed the server:\n" + expect.listing(crashed))


# values of the parameters Chicago defines that no reading of its documents makes valid: not
# empty (empty is absent), not a number out of range (CHI-PAGE-SIZE-LIMIT judges those)
UNREADABLE = [{"extensions": "maybe"}, {"page": "abc"}, {"page_size": "1e3"}]


@requirement("GR2-INPUT-REFUSED")
def test_unreadable_values_refused(open311_client, open311_profile):
    """A value of a documented parameter that cannot be read is refused with a 4xx"""
    if not (open311_profile.quirks.extensions and open311_profile.quirks.paging):
        pytest.skip(f"profile {open311_profile.name} defines no extensions, page or page_size: "
                    "a server may ignore them")
    kept = [a.describe() for a in map(open311_client.requests, UNREADABLE) if a.status < 400]
    if kept:
        fail(f"{len(kept)} unreadable value(s) answered as if valid:\n" + expect.listing(kept))


# every kind of error a run provokes with a GET, beyond the unknown resources above:
# situation -> (path, query). An answer that is not a 4xx is no error here (other checks
# judge whether it should have been one).
PROVOKED = {
    **{name: (path, {}) for name, (path, _req) in SITUATIONS.items()},
    "unknown status": ("requests", {"status": "bogus"}),
    "malformed date": ("requests", {"start_date": "not-a-date"}),
    "date without zone": ("requests", {"start_date": "2024-01-01T00:00:00"}),
    "page 0": ("requests", {"page": "0"}),
}


def _provoked_errors(client, profile, fmt):
    answers = [client.fetch(path, fmt, query) for path, query in PROVOKED.values()
               if profile.quirks.documents(query)]
    errors = [a for a in answers if 400 <= a.status < 500]
    if not errors:
        raise Inconclusive(f"none of {len(answers)} odd .{fmt} requests was answered with a 4xx")
    return errors


def _judge_each(errors, judge):
    problems = []
    for answer in errors:
        try:
            judge(answer)
        except AssertionError as exc:
            problems.append(str(exc).splitlines()[0])
    if problems:
        fail(f"{len(problems)} of {len(errors)} error answer(s):\n" + expect.listing(problems))


@requirement("GR2-ERR-BODY")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_error_is_an_error_list(open311_client, open311_profile, fmt):
    """Every error the run provokes carries a list of code and description"""
    _judge_each(_provoked_errors(open311_client, open311_profile, fmt),
                lambda answer: expect.error_list(answer, open311_profile))


@requirement("GR2-ERR-FORMAT")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_every_error_in_requested_format(open311_client, open311_profile, fmt):
    """Every error the run provokes comes in the requested format"""
    _judge_each(_provoked_errors(open311_client, open311_profile, fmt), expect.error_format)


@requirement("GR2-ERR-CODE-STATUS")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_error_code_is_status(open311_client, open311_profile, fmt):
    """Each error's code equals the HTTP status"""
    problems = []
    for answer in _provoked_errors(open311_client, open311_profile, fmt):
        errors = answer.data if answer.decoded and isinstance(answer.data, list) else []
        codes = [e.get("code") for e in errors if isinstance(e, dict)]
        if any(code != answer.status for code in codes):
            problems.append(f"{answer.describe()}: codes {codes}")
    if problems:
        fail("error codes differ from the HTTP status:\n" + expect.listing(problems))
