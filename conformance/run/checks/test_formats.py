"""JSON and XML: content types, XML roots and safety, parity, unsupported formats."""

from __future__ import annotations

import pytest

from conformance import wire
from conformance.headers import header
from conformance.outcomes import Inconclusive, fail
from conformance.run import expect
from conformance.run.checks._endpoints import READS, fetch, raw_get, title

requirement = pytest.mark.requirement


CONTENT_TYPE_CASES = [
    pytest.param(endpoint, fmt, id=f"{title(endpoint)}, {fmt}", marks=requirement(
        "GR2-FMT-JSON-CONTENT-TYPE" if fmt == "json" else "GR2-FMT-XML-CONTENT-TYPE"))
    for fmt in ("json", "xml") for endpoint in READS]


@pytest.mark.parametrize(("endpoint", "fmt"), CONTENT_TYPE_CASES)
def test_content_type(open311_client, endpoint, fmt):
    """An answer is served with its format's content type"""
    answer = fetch(open311_client, endpoint, fmt)
    expect.ok(answer)
    expect.content_type(answer)


@requirement("GR2-FMT-XML-ROOT")
@pytest.mark.parametrize("endpoint", READS, ids=title)
def test_xml_root(open311_client, endpoint):
    """An .xml answer is well-formed with the specified root"""
    answer = fetch(open311_client, endpoint, "xml")
    expect.ok(answer)
    try:
        wire.decode_xml(answer.body, expected_root=endpoint.xml_root)
    except wire.UnsafeXmlError as exc:
        raise Inconclusive(f"{exc} (judged by GR2-FMT-XML-SAFE)") from None
    except wire.WireError as exc:
        fail(f"{answer.describe()}: {exc}")


@requirement("GR2-FMT-XML-SAFE")
@pytest.mark.parametrize("endpoint", READS, ids=title)
def test_xml_declares_no_dtd(open311_client, endpoint):
    """An .xml answer declares no DTD and no entities"""
    answer = fetch(open311_client, endpoint, "xml")
    expect.ok(answer)
    head = answer.body[:65536].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        fail(f"{answer.describe()}: the answer declares a DTD or entities; the kit refused to expand it")


@requirement("GR2-FMT-PARITY")
@pytest.mark.parametrize("endpoint", READS, ids=title)
def test_json_and_xml_agree(open311_client, endpoint):
    """The .json and .xml answers carry the same data"""
    as_json, as_xml = fetch(open311_client, endpoint, "json"), fetch(open311_client, endpoint, "xml")
    for answer in (as_json, as_xml):
        expect.ok(answer)
        if answer.decode_error:
            raise Inconclusive(f"{answer.describe()}: {answer.decode_error} (judged by its own check)")
    differences = list(diff(wire.normalize(as_json.data), wire.normalize(as_xml.data), ""))
    if differences:
        fail(f"{title(endpoint)}: JSON and XML differ in {len(differences)} place(s):\n" + expect.listing(differences))


def diff(a, b, where):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                side = "XML" if key not in a else "JSON"
                yield f"{where}/{key}: only in {side}"
            else:
                yield from diff(a[key], b[key], f"{where}/{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{where or '/'}: {len(a)} items in JSON, {len(b)} in XML"
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            yield from diff(x, y, f"{where}/{i}")
    elif a != b:
        yield f"{where or '/'}: JSON {a!r}, XML {b!r}"


@requirement("GR2-FMT-UNSUPPORTED")
@pytest.mark.parametrize("suffix", ["csv", "html"])
def test_unsupported_format_refused(open311_client, open311_profile, suffix):
    """A format other than json or xml is refused with a 4xx and an error list"""
    answer = raw_get(open311_client, f"services.{suffix}", label="unsupported format")
    if not 400 <= answer.status < 500:
        fail(f"GET services.{suffix} answered HTTP {answer.status}; expected a 4xx")
    expect.error_list(answer, open311_profile)


# (method, path) a GeoReport server has no resource for
UNKNOWN_REQUESTS = [("GET", "no-such-resource.json"), ("DELETE", "services.json")]


@requirement("GR2-HTTP-UNKNOWN")
@pytest.mark.parametrize(("method", "path"), UNKNOWN_REQUESTS,
                         ids=[f"{m} {p}" for m, p in UNKNOWN_REQUESTS])
def test_unknown_path_or_method(open311_client, open311_profile, method, path):
    """An unknown path or method is answered 4xx with an error list"""
    transport = open311_client.transport
    response = transport.send(method, transport.url_for(path), label="unknown path or method")
    answer = open311_client.decode(response, "json", None)
    if not 400 <= answer.status < 500:
        fail(f"{answer.describe()}: expected a 4xx")
    expect.error_list(answer, open311_profile)


# the Accept header each suffix is asked with: the other format's media type
OTHER_ACCEPT = {"json": "text/xml", "xml": "application/json"}


@requirement("GR2-FMT-SUFFIX-WINS")
@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("stem", "resource"), [("services", "services"), ("requests", "service-requests")],
                         ids=["services", "requests"])
def test_suffix_wins_over_accept(open311_client, fmt, stem, resource):
    """The suffix picks the format whatever the Accept header says"""
    answer = raw_get(open311_client, f"{stem}.{fmt}", headers={"Accept": OTHER_ACCEPT[fmt]},
                     label=f"Accept: {OTHER_ACCEPT[fmt]}")
    expect.status(answer, 200)
    expect.content_type(answer)
    try:
        wire.decode(answer.body, fmt, resource)
    except wire.WireError as exc:
        fail(f"{answer.describe()} (Accept: {OTHER_ACCEPT[fmt]}): not {fmt}: {exc}")


def _content_type(exchange):
    return header(exchange.response_headers, "Content-Type") or ""


def _json_or_xml_answer(exchange):
    """A 2xx or 4xx answer with a JSON or XML body: what GR2-FMT-CHARSET speaks of."""
    status = exchange.status or 0
    return (200 <= status < 300 or 400 <= status < 500) and bool(exchange.response_body) \
        and wire.media_type(_content_type(exchange)) in wire.JSON_CONTENT_TYPES + wire.XML_CONTENT_TYPES


@requirement("GR2-FMT-CHARSET")
@pytest.mark.after_all
def test_charset_utf8(open311_client, open311_context):
    """Every JSON and XML answer of the run names charset=utf-8"""
    # the answers every run has, whatever ran before (cached: asked again only when not yet)
    for fmt in wire.FORMATS:
        open311_client.services(fmt)
        open311_client.requests(fmt=fmt)
    # no request of its own beyond those: every answer the run recorded (it is judged after
    # every other check), the write flow's included
    answers = [e for e in list(open311_context.transport.exchanges) if _json_or_xml_answer(e)]
    if not answers:
        raise Inconclusive("no JSON or XML answer recorded yet")
    lacking = [e for e in answers
               if "charset=utf-8" not in _content_type(e).lower().replace(" ", "").replace('"', "")]
    if lacking:
        # the first few lacking it are the check's evidence
        open311_context.cite(e.seq for e in lacking[:expect.MAX_LISTED])
        fail(f"{len(lacking)} of the {len(answers)} JSON and XML answers of the run "
             "name no charset=utf-8 in their Content-Type:\n"
             + expect.listing(f"{e.method} {e.url} -> {e.status} {_content_type(e) or '(no content type)'}"
                              for e in lacking))


@requirement("GR2-FMT-XML-TEXT")
def test_xml_is_text_xml(open311_client):
    """XML is served as text/xml"""
    answer = open311_client.services("xml")
    expect.ok(answer)
    if wire.media_type(answer.content_type) != "text/xml":
        fail(f"{answer.describe()}: the specification serves XML as text/xml")


@requirement("GR2-FMT-UTF8")
def test_utf8_and_xml_declaration(open311_client):
    """Answers are UTF-8 and XML starts with a declaration"""
    answer = open311_client.services("xml")
    expect.ok(answer)
    head = answer.body.lstrip()[:60].lower()
    if not head.startswith(b"<?xml"):
        fail(f"{answer.describe()}: no XML declaration")
    if b"encoding=" in head and b"utf-8" not in head:
        fail(f"{answer.describe()}: XML declares an encoding other than UTF-8")
    try:
        open311_client.services("json").body.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(f"services.json is not UTF-8: {exc}")


@requirement("CHI-JSONP")
def test_jsonp_callback(open311_client):
    """callback=NAME wraps the JSON answer"""
    plain = open311_client.services("json")
    expect.ok(plain)
    response = open311_client.transport.get("services.json", {"callback": "open311cb"}, label="JSONP")
    try:
        data = wire.decode_json(wire.unwrap_jsonp(response.body, "open311cb"))
    except wire.WireError as exc:
        fail(f"services.json?callback=open311cb: {exc}")
    if data != plain.data:
        fail("the JSONP answer carries other data than the plain JSON answer")

