"""Request lists and single requests: schema, ids, dates, extensions, order."""

from __future__ import annotations

import pytest

from conformance import contract
from conformance.client import Client
from conformance.outcomes import Inconclusive, fail
from conformance.run import expect
from conformance.run.checks._endpoints import sample_request_id

requirement = pytest.mark.requirement


@requirement("GR2-REQ-SCHEMA")
@pytest.mark.parametrize("query", [{}, {"extensions": "true"}], ids=["plain", "extensions"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_request_list_conforms(open311_client, open311_profile, fmt, query):
    """Every listed request with an id conforms to the request schema"""
    if query and not open311_profile.quirks.extensions:
        pytest.skip(f"the {open311_profile.name} profile documents no extensions=true")
    answer = open311_client.requests(query, fmt)
    expect.status(answer, 200)
    data = expect.decoded(answer)
    if not isinstance(data, list):
        fail(f"{answer.describe()}: expected a list of requests, got {type(data).__name__}")
    rows, _pending = Client.identified(answer)
    expect.valid(answer, "service-requests", open311_profile, data=rows)


@requirement("GR2-REQ-HAS-ID")
def test_every_listed_request_has_id(open311_client, open311_context):
    """Every listed request carries a service_request_id"""
    answers = [open311_client.requests()]
    # the list read right after the run's own write is where rows without an id show
    flow = open311_context.write_flow.wait(timeout=open311_context.target.poll_timeout)
    if flow.pending_list is not None:
        answers.append(flow.pending_list)
    for answer in answers:
        expect.ok(answer)
        _, pending = Client.identified(answer)
        if pending:
            fail(f"{answer.describe()}: {len(pending)} row(s) without service_request_id")


@requirement("GR2-DATES-W3C")
def test_dates_are_w3c(open311_client, open311_profile):
    """Every date-time answered is W3C with a zone"""
    query = {"extensions": "true"} if open311_profile.quirks.extensions else {}
    answer = open311_client.requests(query)
    expect.ok(answer)
    rows, _ = Client.identified(answer)
    problems = expect.datetime_problems(rows)
    if problems:
        fail(f"{len(problems)} date-time(s) are not W3C with a zone:\n" + expect.listing(problems))


@requirement("GR2-REQ-ONE")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_single_request_is_one_element_list(open311_client, fmt):
    """requests/{id} answers a one-element list holding that request"""
    rid = sample_request_id(open311_client, not_first=True)
    answer = open311_client.request(rid, fmt)
    expect.status(answer, 200)
    data = expect.decoded(answer)
    if not isinstance(data, list) or len(data) != 1:
        size = len(data) if isinstance(data, list) else type(data).__name__
        fail(f"{answer.describe()}: expected a list of one request, got {size}")
    if not isinstance(data[0], dict) or str(data[0].get("service_request_id")) != rid:
        fail(f"{answer.describe()}: the row is not request {rid}")


@requirement("CHI-EXTENSIONS")
def test_extensions_add_fields(open311_client, open311_profile):
    """extensions=true adds attributes, extended_attributes and notes"""
    answer = open311_client.requests({"extensions": "true"})
    expect.status(answer, 200)
    rows, _ = Client.identified(answer)
    if not rows:
        raise Inconclusive("no identified requests to look at")
    missing = [name for name in ("extended_attributes", "notes")
               if not any(isinstance(r.get(name), dict | list) for r in rows)]
    if missing:
        fail(f"{answer.describe()}: no row carries {' or '.join(missing)}")
    expect.valid(answer, "service-requests", open311_profile, data=rows)


@requirement("CHI-ORDER-NEWEST")
def test_newest_first(open311_client):
    """Lists are ordered newest requested_datetime first"""
    import datetime as dt

    answer = open311_client.requests({"status": "closed"})
    expect.ok(answer)
    rows, _ = Client.identified(answer)
    stamps = []
    for row in rows:
        try:
            stamps.append(dt.datetime.fromisoformat(str(row["requested_datetime"])))
        except (KeyError, ValueError):
            raise Inconclusive("rows without a readable requested_datetime") from None
    if stamps != sorted(stamps, reverse=True):
        fail(f"{answer.describe()}: rows are not newest first")


# fields that hold identifiers: the specification's examples write them as numbers
@requirement("GR2-IDS-STRINGS")
def test_identifiers_are_strings(open311_catalogue, open311_history):
    """Identifiers are JSON strings"""
    # the rule validate applies too (contract.numeric_identifiers): one rule, one place
    numbers = contract.numeric_identifiers(open311_catalogue.services, "services")
    for definition in open311_catalogue.definitions.values():
        numbers += contract.numeric_identifiers(definition, "service-definition")
    numbers += contract.numeric_identifiers(open311_history, "service-requests")
    if numbers:
        fail(f"{len(numbers)} identifier(s) are JSON numbers, not strings:\n"
             + expect.listing(v.message for v in numbers))


@requirement("GR2-EMPTY-NULL")
def test_empty_fields_are_null(open311_history):
    """Empty optional fields are null or absent, not empty strings"""
    empty = [f"request {row.get('service_request_id')}: {name}" for row in open311_history
             for name, value in row.items() if value == ""]
    if empty:
        fail(f"{len(empty)} field(s) are empty strings:\n" + expect.listing(empty))


@requirement("GR2-REQ-ADDRESS-FIELDS")
def test_address_fields_present(open311_history):
    """Every request carries address_id and zipcode"""
    missing = [f"request {row.get('service_request_id')}: no {name}" for row in open311_history
               for name in ("address_id", "zipcode") if name not in row]
    if missing:
        fail(f"{len(missing)} field(s) missing:\n" + expect.listing(missing))


@requirement("GR2-REQ-CODE-LISTED")
def test_listed_requests_have_listed_codes(open311_catalogue, open311_history):
    """Every listed request's service_code is in the service list"""
    listed = {str(s["service_code"]) for s in open311_catalogue.services}
    strays = [f"request {row.get('service_request_id')}: {row.get('service_code')!r}"
              for row in open311_history if str(row.get("service_code")) not in listed]
    if strays:
        fail(f"{len(strays)} request(s) of codes the service list lacks:\n" + expect.listing(strays))
