"""Shared judgements of the scenarios, on answers built by hand."""

from __future__ import annotations

import pytest

from conformance import wire
from conformance.client import Answer
from conformance.run import expect
from conformance.transport import Exchange


def refusal(body: bytes, content_type: str, fmt: str = "json", status: int = 400) -> Answer:
    exchange = Exchange(1, "POST", "http://127.0.0.1/open311/v2/requests.json", {}, None, 0.0,
                        status=status, response_headers={"Content-Type": content_type},
                        response_body=body)
    answer = Answer(fmt, status, content_type, body, exchange)
    try:
        answer.data = wire.decode(body, fmt, "errors").data
    except wire.WireError as exc:
        answer.decode_error = str(exc)
    return answer


@pytest.mark.parametrize(("body", "content_type", "fmt", "said"), [
    (b'[{"code": 400, "description": "description required"}]', "application/json", "json",
     "description required"),
    # an XML error list to a .json request: still read
    (b"<errors><error><code>400</code><description>description required</description></error></errors>",
     "text/xml", "json", "description required"),
    (b'{"error": {"message": "The description is required"}}', "application/json", "json",
     "The description is required"),
    (b"<html><head><style>p {color: red}</style></head><body><p>The field <b>description</b> is "
     b"required &amp; missing.</p></body></html>", "text/html", "json",
     "The field description is required & missing."),
    (b"Error: description is required\r\n", "text/plain", "json", "Error: description is required"),
], ids=["error list", "xml error list", "bare object", "html", "plain text"])
def test_refusal_text_reads_any_body(body, content_type, fmt, said):
    assert said in expect.refusal_text(refusal(body, content_type, fmt))


def test_refusal_text_of_an_empty_body_is_empty():
    assert expect.refusal_text(refusal(b"", "text/plain")) == ""


def test_refusal_text_expands_no_entity():
    # the markup is dropped unread: the entity's value never stands where it is referenced
    bomb = b'<!DOCTYPE x [<!ENTITY a "expanded">]><x>&a;</x>'
    assert "expanded" not in expect.refusal_text(refusal(bomb, "text/xml", "xml"))
