"""Service list and service definitions."""

from __future__ import annotations

import pytest

from conformance.outcomes import fail
from conformance.run import expect

requirement = pytest.mark.requirement


@requirement("GR2-SVC-LIST")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_list_conforms(open311_client, open311_profile, fmt):
    """The service list conforms to its schema"""
    answer = open311_client.services(fmt)
    expect.status(answer, 200)
    expect.valid(answer, "services", open311_profile)


@requirement("GR2-SVC-DEF")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_definitions_conform(open311_client, open311_catalogue, open311_profile, fmt):
    """Every service with metadata true has a conforming definition"""
    problems = []
    for service in open311_catalogue.services:
        if service.get("metadata") is not True:
            continue
        code = str(service["service_code"])
        answer = open311_client.definition(code, fmt)
        if answer.status != 200:
            problems.append(f"{code}: HTTP {answer.status}")
            continue
        try:
            expect.valid(answer, "service-definition", open311_profile)
        except AssertionError as exc:
            problems.append(f"{code}: {exc}")
            continue
        if isinstance(answer.data, dict) and str(answer.data.get("service_code")) != code:
            problems.append(f"{code}: the definition names service_code {answer.data.get('service_code')!r}")
    if problems:
        fail(f"{len(problems)} definition(s) do not conform:\n" + expect.listing(problems))


@requirement("GR2-SVC-DEF-ORDER")
def test_attribute_order_unique(open311_catalogue):
    """Attribute order values are unique within each definition"""
    problems = []
    for code, definition in open311_catalogue.definitions.items():
        orders = [a.get("order") for a in definition.get("attributes") or []
                  if isinstance(a, dict) and a.get("order") is not None]
        if len(orders) != len(set(orders)):
            problems.append(f"{code}: order values {orders}")
    if problems:
        fail("attribute order repeats within a definition:\n" + expect.listing(problems))


@requirement("CHI-SVC-BATCH")
def test_services_are_batch(open311_catalogue):
    """Every service is batch with metadata true"""
    odd = [f"{s['service_code']} ({s.get('service_name')}): type {s.get('type')!r}, metadata {s.get('metadata')!r}"
           for s in open311_catalogue.services
           if s.get("type") != "batch" or s.get("metadata") is not True]
    if odd:
        fail(f"{len(odd)} service(s) are not batch with metadata true:\n" + expect.listing(odd))
