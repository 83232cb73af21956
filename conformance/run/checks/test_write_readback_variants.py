"""What the run's writes show beyond the plain read-back.

The write flow (conformance/write_flow.py) sends at most four POSTs: the main write, with a
4000-character description holding line breaks and non-ASCII text and every optional field;
one located by address_string alone, without a description; one located by address_id alone,
sent as .xml with its token polled as .xml; one with an unknown jurisdiction_id, which the
server may refuse. These checks judge what those writes recorded.
(The module's name keeps it among the read-back checks, which the run puts last.)
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from conformance.client import Answer
from conformance.outcomes import Inconclusive, fail
from conformance.run import expect
from conformance.run.checks._writes import read_back, readback_params
from conformance.run.write_flow import (
    MADE_UP_ADDRESS_ID,
    OPTIONAL_FIELDS,
    UNKNOWN_JURISDICTION,
    Location,
    Write,
    answer_row,
)

requirement = pytest.mark.requirement
KEY_REFUSALS = (401, 403)


def _alternative(written, location: Location) -> Write:
    write = written.alternatives.get(location)
    if write is None:
        raise Inconclusive(f"the write flow sent no POST located by {location}")
    if write.skipped:
        pytest.skip(write.skipped)
    return write


def _accepted(answer: Answer | None, what: str, names: tuple[str, ...] = (),
              read: Callable[[Answer], str] = expect.error_text) -> None:
    """Fail when ``answer`` refused the POST for what the check is about.

    Without ``names`` any refusal but the key's fails; with them, only a refusal whose
    errors (as ``read`` finds them in the body) name one of them (the POST carried more
    than the check's subject)."""
    if answer is None:
        raise Inconclusive(f"the POST {what} was not sent")
    if answer.ok:
        return
    if answer.status in KEY_REFUSALS:
        raise Inconclusive(f"the POST {what} was refused for the key (judged by CHI-KEY-WRITE): "
                           f"{answer.describe()}")
    text = read(answer)
    named = [n for n in names if n in text]
    if not names or named or answer.status >= 500:
        fail(f"the POST {what} was refused: {answer.describe()}" + (f"\n  errors: {text}" if text else ""))
    raise Inconclusive(f"the POST {what} was refused for something else (judged by CHI-KEY-WRITE): "
                       f"{answer.describe()}; errors: {text}")


@requirement("GR2-POST-ADDRESS-STRING")
def test_address_string_alone(open311_written, open311_client):
    """A POST located by address_string alone is accepted and reads back with that address"""
    write = _alternative(open311_written, Location.ADDRESS_STRING)
    _accepted(write.post, f"located by {Location.ADDRESS_STRING}")
    problem = expect.address_problem(write.fields["address_string"], read_back(open311_client, write))
    if problem:
        fail(f"request {write.service_request_id}: {problem}")


@requirement("GR2-POST-ADDRESS-ID")
def test_address_id_alone(open311_written, open311_client):
    """A POST located by address_id alone is accepted and reads back"""
    write = _alternative(open311_written, Location.ADDRESS_ID)
    sent = write.fields["address_id"]
    made_up = " (the kit made the address_id up: the target lists none)" if sent == MADE_UP_ADDRESS_ID else ""
    try:
        _accepted(write.post, f"located by {Location.ADDRESS_ID}")
    except AssertionError as exc:
        raise type(exc)(f"{exc}{made_up}") from None
    row = read_back(open311_client, write)
    if row.get("address_id") not in (None, sent):
        fail(f"request {write.service_request_id}: address_id: wrote {sent!r}, read {row.get('address_id')!r}")


@requirement("GR2-POST-DESCRIPTION-OPTIONAL")
def test_description_optional(open311_written):
    """A POST without a description is accepted"""
    write = _alternative(open311_written, Location.ADDRESS_STRING)
    if "description" in write.fields:
        raise Inconclusive("the POST without a description carried one")
    try:
        # a refusal may come as HTML or plain text: its words still say what was refused
        _accepted(write.post, "without a description", names=("description",), read=expect.refusal_text)
    except Inconclusive as exc:
        if write.post is not None and write.post.status not in KEY_REFUSALS:
            # the same POST is located by address_string alone: that is what was refused
            pytest.skip(f"{exc} (see GR2-POST-ADDRESS-STRING)")
        raise


@requirement("GR2-POST-DESCRIPTION-TEXT")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_description_text_kept(open311_written, open311_client, open311_profile, fmt):
    """A 4000-character description with line breaks and non-ASCII text reads back unchanged"""
    sent = open311_written.fields["description"]
    _accepted(open311_written.post, f"with a {len(sent)}-character description", names=("description",))
    row = read_back(open311_client, open311_written, fmt, readback_params(open311_profile))
    # CRLF and LF are the same line break (XML readers turn one into the other)
    got = str(row.get("description") or "").replace("\r\n", "\n")
    if got != sent:
        at = next((i for i, (a, b) in enumerate(zip(sent, got, strict=False)) if a != b), min(len(sent), len(got)))
        fail(f"request {open311_written.service_request_id}: the description reads back changed: wrote "
             f"{len(sent)} characters and {sent.count(chr(10))} line breaks, read {len(got)} and "
             f"{got.count(chr(10))}; first difference at character {at}: wrote {sent[at:at + 24]!r}, "
             f"read {got[at:at + 24]!r}")


@requirement("GR2-POST-OPTIONAL-FIELDS")
def test_optional_fields_accepted(open311_written, open311_client, open311_profile):
    """A POST with every optional field is accepted; media_url reads back as sent"""
    _accepted(open311_written.post, "with every optional field", names=tuple(OPTIONAL_FIELDS))
    row = read_back(open311_client, open311_written, params=readback_params(open311_profile))
    sent = open311_written.fields["media_url"]
    if row.get("media_url") not in (None, "", sent):
        fail(f"request {open311_written.service_request_id}: media_url: wrote {sent!r}, read {row['media_url']!r}")


@requirement("GR2-POST-MEDIA-URL-KEPT")
def test_media_url_read_back(open311_written, open311_client, open311_profile):
    """The media_url of the POST reads back with the request"""
    if not (open311_written.post and open311_written.post.ok):
        raise Inconclusive("the POST with every optional field was not accepted (see GR2-POST-OPTIONAL-FIELDS)")
    row = read_back(open311_client, open311_written, params=readback_params(open311_profile))
    if row.get("media_url") in (None, ""):
        # an altered one is GR2-POST-OPTIONAL-FIELDS' failure; a missing one is this warning
        fail(f"request {open311_written.service_request_id} reads back without the media_url it was "
             f"written with ({open311_written.fields['media_url']!r})")


@requirement("GR2-POST-TYPE")
def test_post_answer_matches_service_type(open311_written, open311_catalogue):
    """Each POST answers as its service's type says: realtime an id, batch a token, blackbox neither"""
    kind = open311_catalogue.service_type(open311_written.service_code)
    wants = {"realtime": ("service_request_id",), "batch": ("token",), "blackbox": ()}
    if kind not in wants:
        raise Inconclusive(f"service {open311_written.service_code} has type {kind!r} (judged by GR2-SVC-LIST)")
    accepted = [w for w in open311_written.writes() if w.post.ok]
    if not accepted:
        raise Inconclusive("no POST of the run was accepted")
    wrong = []
    for write in accepted:
        row = answer_row(write.post) or {}
        carries = tuple(name for name in ("service_request_id", "token") if row.get(name))
        if carries != wants[kind] and not (kind == "batch" and "token" in carries):
            wrong.append(f"{write.post.describe()}: answered {', '.join(carries) or 'neither token nor id'}")
    if wrong:
        fail(f"the service is of type {kind}, so a POST answers {' and '.join(wants[kind]) or 'neither'}:\n"
             + expect.listing(wrong))


@requirement("GR2-TOKEN-ANSWER")
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_token_answer_echoes_token(open311_written, open311_client, fmt):
    """tokens/{token} answers one request that echoes the token"""
    polled = [w for w in open311_written.writes() if w.fmt == fmt and w.token_result is not None]
    answers = [(w.token, p.answer) for w in polled for p in w.token_result.polls
               if p.answer is not None and p.answer.ok]
    if not answers and open311_written.token:
        # no write of this format was polled (refused, say): ask for the main write's token once
        answers = [(open311_written.token, open311_client.token(open311_written.token, fmt))]
        answers = [(token, answer) for token, answer in answers if answer.ok]
    if not answers:
        writes = list(open311_written.writes())
        if writes and all(w.token is None and w.service_request_id for w in writes):
            # a realtime server answers the id at once: it hands out no token to look up
            pytest.skip("every POST was answered with its service_request_id at once: no token to ask for")
        raise Inconclusive(f"no token was answered in .{fmt}")
    wrong = []
    for token, answer in answers:
        if answer.decode_error:
            wrong.append(f"{answer.describe()}: {answer.decode_error}")
            continue
        data = answer.data
        if not isinstance(data, list) or len(data) != 1:
            wrong.append(f"{answer.describe()}: expected one request, got "
                         + (f"{len(data)}" if isinstance(data, list) else type(data).__name__))
        elif not isinstance(data[0], dict) or str(data[0].get("token")) != token:
            echoed = data[0].get("token") if isinstance(data[0], dict) else None
            wrong.append(f"{answer.describe()}: token {echoed!r}, expected {token!r}")
    if wrong:
        fail(f"{len(wrong)} of {len(answers)} token answer(s) are not one request echoing the token:\n"
             + expect.listing(wrong))


@requirement("GR2-JURISDICTION-POST")
def test_unknown_jurisdiction_post(open311_written, open311_profile):
    """A POST with an unknown jurisdiction_id is refused with an error list, or accepted as if it were absent"""
    write = open311_written.unknown_jurisdiction
    if write is None or write.post is None:
        why = f": {write.skipped}" if write is not None and write.skipped else ""
        raise Inconclusive(f"the write flow has no answer to its POST with jurisdiction_id={UNKNOWN_JURISDICTION}{why}")
    answer = write.post
    if answer.status in KEY_REFUSALS:
        raise Inconclusive(f"the POST was refused for the key (judged by CHI-KEY-WRITE): {answer.describe()}")
    if answer.ok:
        if not (answer_row(answer) or {}).keys() & {"token", "service_request_id"}:
            fail(f"{answer.describe()}: accepted with jurisdiction_id={UNKNOWN_JURISDICTION}, yet answered "
                 f"neither a token nor an id: {expect.clip(answer.exchange.response_body, 200)}")
        return
    if not 400 <= answer.status < 500:
        fail(f"{answer.describe()}: a POST with jurisdiction_id={UNKNOWN_JURISDICTION} is refused with a "
             "4xx or accepted as if it were absent")
    expect.error_list(answer, open311_profile)
