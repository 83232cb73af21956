"""JSON and XML decoded into one data model, and encoded back.

GeoReport v2 derives its JSON from its XML by the "Spark convention": a container whose
children are all one repeated element becomes a list (even with a single child), the top
container is dropped, and empty elements become null. Decoding XML that way lets one JSON
Schema validate both formats. XML text carries no types, so leaves are typed by the field
they belong to (``metadata`` is a boolean, ``order`` an integer, ...).

No I/O happens here: callers hand in bytes and get data or a :class:`WireError`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import Element, ParseError, SubElement, tostring

import defusedxml.ElementTree as safe_xml
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden

from conformance.contract import RESOURCE_TABLE

FORMATS = ("json", "xml")

# resource name -> the XML root element the specification gives it
ROOTS: dict[str, str] = {r.name: r.xml_root for r in RESOURCE_TABLE}

# container element -> its repeated child element: the list documents' roots, then the
# containers inside documents
LIST_CONTAINERS: dict[str, str] = {
    **{r.xml_root: r.xml_row for r in RESOURCE_TABLE if r.xml_row},
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "notes": "note",
}

# Containers that are lists wherever they stand, so an empty one is [] rather than null.
# (A request's ``attributes`` is a map of codes, hence the parent in the key.)
EMPTY_LISTS = {
    ("service_definition", "attributes"), ("attribute", "values"), ("discovery", "endpoints"),
    ("endpoint", "formats"), ("request", "notes"),
}

# (parent element, field) -> type; a parent of "*" matches any parent
_BOOLEAN_FIELDS = {
    ("service", "metadata"),
    ("attribute", "variable"),
    ("attribute", "required"),
    ("extended_attributes", "duplicate"),
}
_INTEGER_FIELDS = {("attribute", "order"), ("error", "code")}
_NUMBER_FIELDS = {("request", "lat"), ("request", "long")}

_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")

JSON_CONTENT_TYPES = ("application/json",)
XML_CONTENT_TYPES = ("text/xml", "application/xml")
_JSONP = re.compile(r"^\s*(?:/\*\*/\s*)?([A-Za-z_$][\w$.]*)\s*\((.*)\)\s*;?\s*$", re.S)


class WireError(ValueError):
    """A body that cannot be decoded; the message says why in a user's words."""


class UnsafeXmlError(WireError):
    """XML refused unread because it declares a DTD, entities or external references."""


@dataclass(slots=True, frozen=True)
class Decoded:
    """A decoded document: the data and the format it came in."""

    data: Any
    fmt: str
    root: str | None = None


def decode(body: bytes | str, fmt: str, resource: str | None = None) -> Decoded:
    """Decode ``body`` in ``fmt`` (json or xml); with ``resource``, check the XML root."""
    if fmt == "json":
        return Decoded(decode_json(body), "json")
    if fmt == "xml":
        root, data = decode_xml(body, expected_root=ROOTS.get(resource) if resource else None)
        return Decoded(data, "xml", root)
    raise WireError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")


def decode_json(body: bytes | str) -> Any:
    text = _text(body)
    try:
        return json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except json.JSONDecodeError as exc:
        raise WireError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise WireError("JSON nested too deeply to decode") from None


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; RFC 8259 does not, and neither may an answer
    raise WireError(f"not valid JSON: {name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise WireError(f"not valid JSON: number {text} is out of range")
    return value


def unwrap_jsonp(body: bytes | str, callback: str) -> bytes:
    """Return the JSON inside ``callback(...)``, or raise when the wrapping is wrong."""
    match = _JSONP.match(_text(body))
    if not match:
        raise WireError(f"not a JSONP answer: expected {callback}(...)")
    if match.group(1) != callback:
        raise WireError(f"JSONP wrapped in {match.group(1)}(...), expected {callback}(...)")
    return match.group(2).encode("utf-8")


def decode_xml(body: bytes | str, expected_root: str | None = None,
               read_as: str | None = None) -> tuple[str, Any]:
    """Parse untrusted XML (no DTD, no entities) into the JSON data model; the root element's
    tag is returned as found. ``read_as``: read the root as that element, whatever its tag (a
    wrong root still holds rows worth judging)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    try:
        element = safe_xml.fromstring(body, forbid_dtd=True, forbid_entities=True,
                                      forbid_external=True)
    except DTDForbidden:
        raise UnsafeXmlError("XML with a DTD refused: untrusted XML may not declare a DTD") from None
    except EntitiesForbidden:
        raise UnsafeXmlError("XML with entity declarations refused (possible entity bomb)") from None
    except DefusedXmlException as exc:
        raise UnsafeXmlError(f"unsafe XML refused: {exc}") from None
    except ParseError as exc:
        raise WireError(f"XML not well-formed: {exc}") from None
    if expected_root is not None and element.tag != expected_root:
        raise WireError(f"wrong XML root element <{element.tag}>, expected <{expected_root}>")
    tag = element.tag
    if read_as is not None:
        element.tag = read_as
    try:
        return tag, _element_value(element, parent=None, is_root=True)
    except RecursionError:
        raise WireError("XML nested too deeply to decode") from None


def _element_value(element: Element, parent: str | None, is_root: bool = False) -> Any:
    children = list(element)
    child_name = LIST_CONTAINERS.get(element.tag)
    empty_list = not children and (is_root or (parent, element.tag) in EMPTY_LISTS)
    if child_name and (children or empty_list) and all(c.tag == child_name for c in children):
        return [_element_value(c, element.tag) for c in children]
    if children:
        result: dict[str, Any] = {}
        for child in children:
            value = _element_value(child, element.tag)
            if child.tag in result:
                previous = result[child.tag]
                result[child.tag] = previous + [value] if isinstance(previous, list) else [
                    previous, value]
            else:
                result[child.tag] = value
        return result
    text = element.text
    if text is None or text.strip() == "":
        return None
    return _typed(parent, element.tag, text.strip())


def _typed(parent: str | None, field: str, text: str) -> Any:
    key = (parent, field)
    try:
        if key in _BOOLEAN_FIELDS:
            # exactly true or false, as the specification writes them: "True" stays text,
            # so the schema reports it where it stands
            if text in ("true", "false"):
                return text == "true"
            return text
        # int() and float() also take "1_000", non-ASCII digits, "nan" and "inf", none of
        # which a JSON twin could carry: only plain ASCII numbers are typed
        if key in _INTEGER_FIELDS:
            return int(text) if _INTEGER.fullmatch(text) else text
        if key in _NUMBER_FIELDS:
            if not _NUMBER.fullmatch(text):
                return text
            number = float(text)
            return number if math.isfinite(number) else text
    except ValueError:
        # keep the text: the schema then reports the wrong type at the right place
        return text
    return text


def _text(body: bytes | str) -> str:
    if isinstance(body, str):
        return body
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WireError(f"body is not valid UTF-8 (byte {exc.start})") from None


def encode(data: Any, fmt: str, resource: str) -> bytes:
    """Encode data of ``resource`` in ``fmt``; the inverse of :func:`decode`."""
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False).encode("utf-8")
    if fmt == "xml":
        return encode_xml(data, ROOTS[resource])
    raise WireError(f"unknown format {fmt!r}")


def encode_xml(data: Any, root: str) -> bytes:
    element = Element(root)
    _fill(element, data)
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + tostring(element, encoding="unicode"
                                                                  ).encode("utf-8")


def _fill(element: Element, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, list):
        child_name = LIST_CONTAINERS.get(element.tag, "item")
        for item in value:
            _fill(SubElement(element, child_name), item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _fill(SubElement(element, str(key)), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    else:
        element.text = str(value)


def format_of(path_or_url: str) -> str | None:
    """The format named by a file or URL suffix (``.json``/``.xml``), if any."""
    base = path_or_url.split("?", 1)[0].lower()
    for fmt in FORMATS:
        if base.endswith("." + fmt):
            return fmt
    return None


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def content_type_matches(content_type: str | None, fmt: str) -> bool:
    allowed = JSON_CONTENT_TYPES if fmt == "json" else XML_CONTENT_TYPES
    return media_type(content_type) in allowed


def normalize(value: Any) -> Any:
    """Scalars as text, for comparing a JSON answer with its XML twin.

    XML cannot say whether ``42`` was a number or a string, so parity compares text;
    lists and maps keep their shape so a missing field still shows.
    """
    if isinstance(value, dict):
        # an empty XML element decodes to null, and "" is its JSON twin: both are "nothing"
        return {k: normalize(v) for k, v in value.items() if v is not None and v != ""}
    if isinstance(value, list):
        return [normalize(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    if value is None:
        return None
    return str(value)
