"""Decoding rules of conformance.wire: the Spark convention, typing by field, safety, parity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import wire

SAMPLES = Path(__file__).parent / "fixtures" / "samples"

# JSON sample -> (its XML twin, resource); twins are wire.encode output, checked in
TWINS = {
    "e1-services.chicago-test.json": "services",
    "e2-definition.pothole.json": "service-definition",
    "e2-definition.tree-debris.built.json": "service-definition",
    "e3-post-response.json": "post-response",
    "e4-requests.pending-rows.json": "service-requests",
    "e5-requests.production-2014.json": "service-requests",
    "e6-requests.extensions.json": "service-requests",
}
SPEC_PAIRS = {"e8-errors.403": "errors", "spec-discovery": "discovery"}


def xml(body: str, resource: str | None = None) -> object:
    return wire.decode(body.encode("utf-8"), "xml", resource).data


@pytest.mark.parametrize(("name", "resource"), TWINS.items())
def test_xml_twin_decodes_to_the_json_sample(name: str, resource: str) -> None:
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    twin = (SAMPLES / name.replace(".json", ".generated.xml")).read_bytes()
    decoded = wire.decode(twin, "xml", resource)
    assert decoded.root == wire.ROOTS[resource]
    # the fields the decoder types come back identical, not just equal as text
    assert decoded.data == data


@pytest.mark.parametrize(("name", "resource"), TWINS.items())
def test_twins_are_what_encode_produces(name: str, resource: str) -> None:
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    assert wire.decode(wire.encode(data, "xml", resource), "xml", resource).data == data
    assert wire.decode(wire.encode(data, "json", resource), "json").data == data


@pytest.mark.parametrize(("stem", "resource"), SPEC_PAIRS.items())
def test_spec_examples_json_and_xml_carry_the_same_data(stem: str, resource: str) -> None:
    as_json = wire.decode((SAMPLES / f"{stem}.json").read_bytes(), "json").data
    as_xml = wire.decode((SAMPLES / f"{stem}.xml").read_bytes(), "xml", resource).data
    assert wire.normalize(as_json) == wire.normalize(as_xml)
    assert as_json == as_xml


def test_single_child_is_still_a_list() -> None:
    assert xml("<services><service><service_code>a</service_code></service></services>") == [
        {"service_code": "a"}]
    discovery = xml((SAMPLES / "spec-discovery.xml").read_text(), "discovery")
    assert discovery["endpoints"][0]["formats"] == ["text/xml"]


def test_empty_root_container_is_an_empty_list() -> None:
    assert xml("<service_requests/>", "service-requests") == []
    assert xml("<errors>\n  </errors>", "errors") == []


def test_empty_element_is_null() -> None:
    rows = xml("<service_requests><request><address/><description> </description>"
               "<account_id></account_id></request></service_requests>")
    assert rows == [{"address": None, "description": None, "account_id": None}]


def test_empty_list_container_is_an_empty_list() -> None:
    # a definition without attributes must read the same in XML as `"attributes": []` in JSON
    assert xml("<service_definition><service_code>x</service_code><attributes/>"
               "</service_definition>") == {"service_code": "x", "attributes": []}


def test_empty_attribute_map_of_a_request_is_null() -> None:
    # a request's `attributes` is a map of codes, not a list container
    assert xml("<service_requests><request><attributes/></request></service_requests>") == [
        {"attributes": None}]


@pytest.mark.parametrize(("body", "expected"), [
    ("<metadata>true</metadata>", True),
    # exactly true or false: any other spelling stays text, for the schema to report
    ("<metadata>FALSE</metadata>", "FALSE"),
    ("<metadata>True</metadata>", "True"),
    ("<metadata>yes</metadata>", "yes"),
])
def test_booleans_typed_by_field(body: str, expected: object) -> None:
    assert xml(f"<services><service>{body}</service></services>")[0]["metadata"] == expected


def test_typing_applies_only_to_the_field_in_its_parent() -> None:
    # "order" is an integer in an attribute, text anywhere else; "code" likewise
    definition = xml("<service_definition><attributes><attribute><order>2</order>"
                     "<code>123</code><required>false</required><variable>true</variable>"
                     "</attribute></attributes></service_definition>")
    assert definition["attributes"][0] == {"order": 2, "code": "123", "required": False,
                                           "variable": True}
    assert xml("<errors><error><code>404</code></error></errors>") == [{"code": 404}]
    assert xml("<services><service><order>2</order></service></services>") == [{"order": "2"}]


@pytest.mark.parametrize(("text", "expected"), [
    ("41.882785", 41.882785), ("-87", -87.0), ("1e1", 10.0),
    ("NaN", "NaN"), ("inf", "inf"), ("1e999", "1e999"), ("1_0", "1_0"), ("north", "north"),
])
def test_numbers_typed_by_field(text: str, expected: object) -> None:
    rows = xml(f"<service_requests><request><lat>{text}</lat></request></service_requests>")
    assert rows[0]["lat"] == expected


@pytest.mark.parametrize(("text", "expected"), [("400", 400), ("4_00", "4_00"), ("٤٠٠", "٤٠٠")])
def test_integers_typed_by_field(text: str, expected: object) -> None:
    assert xml(f"<errors><error><code>{text}</code></error></errors>")[0]["code"] == expected


def test_extended_attributes_decode_to_a_map() -> None:
    rows = xml("<service_requests><request><attributes><HOWMANYD>42</HOWMANYD></attributes>"
               "<extended_attributes><duplicate>true</duplicate><ward>18</ward>"
               "</extended_attributes><notes><note><type>opened</type></note></notes>"
               "</request></service_requests>")
    assert rows == [{"attributes": {"HOWMANYD": "42"},
                     "extended_attributes": {"duplicate": True, "ward": "18"},
                     "notes": [{"type": "opened"}]}]


def test_repeated_element_outside_a_container_becomes_a_list() -> None:
    rows = xml("<service_requests><request><media_url>a</media_url><media_url>b</media_url>"
               "</request></service_requests>")
    assert rows == [{"media_url": ["a", "b"]}]


# --- errors --------------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "fmt", "resource", "message"), [
    (b"<services><service></services>", "xml", None, "XML not well-formed"),
    (b"", "xml", None, "XML not well-formed"),
    (b"<errors/>", "xml", "services", "wrong XML root element <errors>, expected <services>"),
    (b'<!DOCTYPE errors SYSTEM "http://example.invalid/x.dtd"><errors/>', "xml", None, "DTD"),
    (b'<!DOCTYPE e [<!ENTITY a "b">]><errors>&a;</errors>', "xml", None, "DTD"),
    (b"<a>" * 5000 + b"</a>" * 5000, "xml", None, "nested too deeply"),
    (b'[{"code": 400,}]', "json", None, "not valid JSON"),
    (b"[NaN]", "json", None, "NaN is not a JSON value"),
    (b"[-Infinity]", "json", None, "-Infinity is not a JSON value"),
    (b"[1e999]", "json", None, "out of range"),
    (b"[" * 100000 + b"]" * 100000, "json", None, "nested too deeply"),
    (b'["\xff"]', "json", None, "not valid UTF-8"),
    (b"[]", "yaml", None, "unknown format"),
])
def test_clear_errors(body: bytes, fmt: str, resource: str | None, message: str) -> None:
    with pytest.raises(wire.WireError) as info:
        wire.decode(body, fmt, resource)
    assert message in str(info.value)


def test_json_byte_order_mark_is_accepted() -> None:
    assert wire.decode(b"\xef\xbb\xbf[]", "json").data == []


@pytest.mark.parametrize(("name", "fmt"), [("services.json", "json"), ("a/requests.XML", "xml"),
                                           ("x.json?callback=f", "json"), ("README.md", None)])
def test_format_of(name: str, fmt: str | None) -> None:
    assert wire.format_of(name) == fmt


def test_jsonp_unwrap() -> None:
    assert wire.unwrap_jsonp(b"/**/cb([1]);", "cb") == b"[1]"
    with pytest.raises(wire.WireError, match=r"wrapped in other\(\.\.\.\)"):
        wire.unwrap_jsonp(b"other([1])", "cb")
