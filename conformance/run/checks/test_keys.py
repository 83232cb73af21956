"""The key requirement: writes need the API key, reads do not."""

from __future__ import annotations

import pytest

from conformance.contract import OPERATIONS
from conformance.outcomes import Inconclusive, fail
from conformance.run import expect
from conformance.run.checks._endpoints import READS, fetch, title
from conformance.run.checks._writes import valid_post

requirement = pytest.mark.requirement
WRONG_KEY = "open311-conformance-not-a-key-0000"


@requirement("CHI-KEY-READS-OPEN")
def test_reads_need_no_key(open311_client):
    """Reads are answered without an api_key"""
    refused = []
    for endpoint in READS:
        try:
            answer = fetch(open311_client, endpoint, "json")
        except Inconclusive:
            continue  # no sample to read: the list it comes from is judged on its own
        if answer.status in (401, 403):
            refused.append(f"{title(endpoint)}: {answer.describe()}")
    if refused:
        fail("reads refused without an api_key:\n" + expect.listing(refused))


# which key a POST carries: none, or one the target never issued
BAD_KEYS = [pytest.param(None, fmt, id=f"no key, {fmt}", marks=requirement("GR2-KEY-MISSING"))
            for fmt in ("json", "xml")] + [
            pytest.param(WRONG_KEY, fmt, id=f"wrong key, {fmt}", marks=requirement("GR2-KEY-INVALID"))
            for fmt in ("json", "xml")] + [
            pytest.param("", fmt, id=f"empty key, {fmt}", marks=requirement("GR2-KEY-EMPTY"))
            for fmt in ("json", "xml")]


@pytest.mark.parametrize(("key", "fmt"), BAD_KEYS)
def test_post_without_valid_key_refused(open311_client, open311_catalogue, open311_target, key, fmt):
    """A POST without a valid api_key is refused with 403"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target, "open311-conformance: key check")
    answer = open311_client.create(fields, attributes, api_key=key, fmt=fmt, label="POST without a valid key")
    expect.status(answer, 403)


@requirement("GR2-KEY-GET-WRONG")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_get_with_wrong_key_not_a_bad_request(open311_client, fmt):
    """A GET carrying a wrong api_key is never answered 400 or 5xx"""
    wrong = [answer.describe() for answer in (
        open311_client.read(OPERATIONS[name], fmt, {"api_key": WRONG_KEY}) for name in ("services", "requests"))
        if answer.status == 400 or answer.status >= 500]
    if wrong:
        fail("a key the read does not need made the server fail or call the request bad "
             "(expected an answer, or 401/403):\n" + expect.listing(wrong))


@requirement("GR2-ERR-BODY")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_key_refusal_is_error_list(open311_client, open311_catalogue, open311_target, open311_profile, fmt):
    """The refusal of a keyless POST is an error list"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target, "open311-conformance: no key")
    answer = open311_client.create(fields, attributes, api_key=None, fmt=fmt, label="POST without key")
    expect.error_list(answer, open311_profile)
