"""Write, then read back: the City's condition for a production key.

The write flow started with the run (conformance/write_flow.py); these checks judge what it
recorded, and read the request back once its token resolved.
"""

from __future__ import annotations

import math

import pytest

from conformance.client import Client
from conformance.outcomes import CheckFailed, Inconclusive, fail
from conformance.run import expect
from conformance.run.checks._writes import read_back, readback_params

requirement = pytest.mark.requirement


def _resolved(written):
    if written.service_request_id is None:
        raise Inconclusive("the written request has no service_request_id to read back (see CHI-TOKEN-RESOLVES)")
    return written.service_request_id


@requirement("CHI-KEY-WRITE")
def test_post_with_key_accepted(open311_written):
    """A POST with the test key is accepted"""
    expect.status(open311_written.post, 200, 201)


@requirement("GR2-POST-RESPONSE")
def test_post_answer_shape(open311_written, open311_profile):
    """The POST answers hold a token or an id, never both"""
    expect.ok(open311_written.post)
    problems = []
    # every accepted write of the run, the .xml one included
    for write in open311_written.writes():
        if write.post.ok:
            try:
                expect.valid(write.post, "post-response", open311_profile)
            except CheckFailed as exc:
                problems.append(str(exc))
    if problems:
        fail("\n".join(problems))


def _skip_realtime(written, catalogue) -> None:
    """No token to judge: the service is listed realtime and its POST answered the id at once
    (as GR2-POST-TYPE wants; a batch service answering an id is CHI-POST-TOKEN's failure)."""
    kind = catalogue.service_type(written.service_code)
    if kind == "realtime" and written.immediate_id and not written.token:
        pytest.skip(f"service {written.service_code} is realtime: its POST answered the "
                    f"service_request_id at once, no token")


@requirement("CHI-POST-TOKEN")
def test_post_answers_token(open311_written, open311_catalogue):
    """A POST to a batch service answers a token"""
    expect.ok(open311_written.post)
    kind = open311_catalogue.service_type(open311_written.service_code)
    if kind in ("realtime", "blackbox"):
        pytest.skip(f"service {open311_written.service_code} is {kind}: the token is demanded of batch "
                    "services (its answer is GR2-POST-TYPE's)")
    if not open311_written.token:
        fail(f"the POST answered no token: {open311_written.post.exchange.response_body[:200]!r}")


@requirement("CHI-TOKEN-PENDING")
def test_token_pending_answer(open311_written, open311_catalogue):
    """An unprocessed token answers the token without an id"""
    result = open311_written.token_result
    if result is None:
        _skip_realtime(open311_written, open311_catalogue)
        raise Inconclusive("no token to poll")
    bad = [p for p in result.polls if not p.service_request_id and p.status != 200]
    if bad:
        fail("tokens/{token} answered an error while the request was processed: "
             + "; ".join(f"poll {p.attempt} at {p.at_s} s: {p.note}" for p in bad[:3]))


@requirement("CHI-TOKEN-RESOLVES")
def test_token_resolves(open311_written, open311_target):
    """The token resolves to a service_request_id within the poll timeout"""
    if open311_written.immediate_id:
        return
    result = open311_written.token_result
    if result is None:
        raise Inconclusive("no token to poll")
    if not result.service_request_id:
        fail(f"token {result.token}: {result.error} (poll timeout {open311_target.poll_timeout:g} s)")


@requirement("CHI-READBACK-ID")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_read_back_by_id(open311_client, open311_written, open311_profile, fmt):
    """The written request reads back by id with every field as written"""
    params = readback_params(open311_profile)
    row = read_back(open311_client, open311_written, fmt, params)
    problems = compare_written(open311_written, row, with_attributes=params is not None)
    if problems:
        fail(f"request {open311_written.service_request_id} does not read back as written:\n"
             + expect.listing(problems))


@requirement("CHI-READBACK-LIST")
def test_read_back_in_list(open311_client, open311_written):
    """The written request is found with service_request_id= its id"""
    rid = _resolved(open311_written)
    answer = open311_client.requests({"service_request_id": rid})
    expect.status(answer, 200)
    rows, _ = Client.identified(answer)
    if not any(str(r.get("service_request_id")) == rid for r in rows):
        fail(f"{answer.describe()}: request {rid} is not in the list")


@requirement("CHI-PENDING-ONLY-LISTS")
def test_no_rows_without_id_in_narrow_answers(open311_written, open311_client):
    """Rows without an id never appear in single or id-filtered answers"""
    answers = list(open311_written.pending_probes)
    rid = open311_written.service_request_id
    if rid:
        answers += [open311_client.request(rid), open311_client.requests({"service_request_id": rid})]
    if not answers:
        raise Inconclusive("no single or id-filtered answer to look at")
    leaks = []
    for answer in answers:
        if answer.ok and isinstance(answer.data, list):
            _, pending = Client.identified(answer)
            if pending:
                leaks.append(f"{answer.describe()}: {len(pending)} row(s) without service_request_id")
    if leaks:
        fail("rows without an id leaked into narrow answers:\n" + expect.listing(leaks))


@requirement("CHI-PENDING-SHAPE")
def test_rows_without_id_are_counted(open311_written, open311_catalogue):
    """Rows without an id are counted, ignored, and carry no token"""
    answer = open311_written.pending_list
    if answer is None:
        _skip_realtime(open311_written, open311_catalogue)
    if answer is None or not answer.ok:
        raise Inconclusive("no list was read while the request was processed")
    _, pending = Client.identified(answer)
    with_token = [r for r in pending if isinstance(r, dict) and r.get("token")]
    if with_token:
        fail(f"{len(with_token)} of {len(pending)} row(s) without service_request_id carry a token")


def compare_written(written, row, with_attributes):
    problems = []
    fields = written.fields
    if str(row.get("service_code")) != str(fields["service_code"]):
        problems.append(f"service_code: wrote {fields['service_code']!r}, read {row.get('service_code')!r}")
    # the same words; line breaks and characters are GR2-POST-DESCRIPTION-TEXT's to judge
    if " ".join(str(row.get("description")).split()) != " ".join(fields["description"].split()):
        problems.append(f"description: wrote {expect.clip(fields['description'])!r}, "
                        f"read {expect.clip(row.get('description'))!r}")
    for name in ("lat", "long"):
        try:
            if not math.isclose(float(row.get(name)), float(fields[name]), abs_tol=1e-6):
                problems.append(f"{name}: wrote {fields[name]}, read {row.get(name)}")
        except (TypeError, ValueError):
            problems.append(f"{name}: wrote {fields[name]}, read {row.get(name)!r}")
    address = expect.address_problem(fields.get("address_string"), row)
    if address:
        problems.append(address)
    if with_attributes and written.attributes:
        answered = row.get("attributes")
        if not isinstance(answered, dict):
            problems.append(f"attributes: wrote {written.attributes}, read {answered!r}")
        else:
            for code, value in written.attributes.items():
                got = answered.get(code)
                want = value if isinstance(value, list) else str(value)
                have = [str(v) for v in got] if isinstance(got, list) else (None if got is None else str(got))
                if have != want and not (isinstance(want, list) and have == want[0]):
                    problems.append(f"attribute {code}: wrote {value!r}, read {got!r}")
    return problems
