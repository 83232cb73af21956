"""Error answers: status, body shape and format, and no server errors on odd input."""

from __future__ import annotations

import pytest

from conformance import checks
from conformance.outcomes import fail

requirement = pytest.mark.requirement

UNKNOWN_CODE = "000000000000000000000000"
UNKNOWN_ID = "00-00000000"
UNKNOWN_TOKEN = "ffffffffffffffffffffffff"

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
    checks.expect_status(open311_client.fetch(path, fmt), 404)


@requirement("GR2-ERR-BODY")
@pytest.mark.parametrize(("path", "fmt"), BODY_CASES)
def test_error_body_is_error_list(open311_client, open311_profile, path, fmt):
    """An error answer carries a list of code and description"""
    checks.expect_error_list(open311_client.fetch(path, fmt), open311_profile)


@requirement("GR2-ERR-FORMAT")
@pytest.mark.parametrize(("path", "fmt"), BODY_CASES)
def test_error_in_requested_format(open311_client, path, fmt):
    """An error answer comes in the requested format"""
    checks.expect_error_format(open311_client.fetch(path, fmt))


ODD_QUERIES = [
    {"extensions": "maybe"}, {"page": "abc"}, {"page_size": "-1"}, {"page_size": "1e3"},
    {"status": ""}, {"service_code": "%%%"}, {"start_date": "yesterday"},
    {"updated_after": "2026-02-30T00:00:00Z"}, {"service_request_id": ","}, {"callback": "1<2"},
]


@requirement("GR2-ERR-NO-5XX")
def test_no_server_error_on_odd_input(open311_client):
    """Odd parameter values are never answered with a 5xx"""
    crashed = []
    for query in ODD_QUERIES:
        answer = open311_client.requests(query)
        if answer.status >= 500:
            crashed.append(f"{answer.describe()}")
    if crashed:
        fail(f"{len(crashed)} odd input(s) crashed the server:\n" + checks.listing(crashed))
