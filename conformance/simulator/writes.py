"""Writing a request (POST requests): the form read, its fields validated, the stored document.

``App._post`` keeps the order of the checks and the answer; the pieces here only read and
build, each adding what the City would refuse to ``errors`` so one answer lists them all.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from conformance.simulator import data
from conformance.simulator.messages import Refused

_LIST_TYPES = ("singlevaluelist", "multivaluelist")


def form_fields(body: bytes, query: Mapping[str, str]) -> list[tuple[str, str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "The form body is not UTF-8") from None
    # fields in the query string count too (some clients send api_key there); the body wins
    return parse_qsl(text, keep_blank_values=True) + list(query.items())


def attribute_fields(form: list[tuple[str, str]]) -> dict[str, list[str]]:
    """attribute[CODE]=KEY and attribute[CODE][]=KEY (multivaluelist) as CODE -> values."""
    out: dict[str, list[str]] = {}
    for name, value in form:
        match = re.fullmatch(r"attribute\[([^\[\]]+)\](\[\])?", name)
        if match:
            out.setdefault(match.group(1), []).append(value)
    return out


def location(form: Mapping[str, str], errors: list[str], faults: frozenset[str] = frozenset()
             ) -> tuple[float, float] | bool | None:
    """Where the request is: (lat, long), True for an address, None (with the reason added
    to ``errors`` when one was given but is unusable)."""
    lat_text, long_text = form.get("lat", "").strip(), form.get("long", "").strip()
    address_string = form.get("address_string", "").strip()
    address_id = form.get("address_id", "").strip()
    if lat_text or long_text:
        lat, long = _number(lat_text), _number(long_text)
        if (lat is None) != (long is None) and "post-lat-alone-accepted" in faults:
            return True  # stored without coordinates
        if lat is not None and long is not None and "post-location-range-accepted" in faults:
            return True
        if lat is None or long is None or not (-90 <= lat <= 90 and -180 <= long <= 180):
            errors.append("lat and long must both be given, in decimal degrees (WGS84)")
            return None
        return lat, long
    if address_string and not address_id and "post-address-string-refused" in faults:
        errors.append("lat and long are required")
        return None
    if address_id and not address_string and "post-address-id-refused" in faults:
        errors.append("address_id is not supported: give lat and long or address_string")
        return None
    if address_string or address_id:
        return True
    return None


def attributes(definition: dict[str, Any] | None, given: dict[str, list[str]],
               errors: list[str], faults: frozenset[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attribute in (definition or {}).get("attributes", ()):
        code, datatype = attribute["code"], attribute["datatype"]
        values = [v for v in given.get(code, ()) if v.strip()]
        if not values:
            if attribute["required"] and attribute.get("variable", True) \
                    and "post-missing-attribute-accepted" not in faults:
                # the City's wording (2012 contract test) names the code
                errors.append("a required attribute is missing" if "error-names-no-attribute" in faults
                              else f"{code} required")
            continue
        if datatype in _LIST_TYPES:
            keys = {v["key"] for v in attribute.get("values", ())}
            if datatype == "singlevaluelist" and len(values) > 1:
                errors.append(f"{code} takes one value, not {len(values)}")
            bad = [v for v in values if v not in keys]
            if bad and "post-bad-list-value-accepted" not in faults:
                errors.append(f"{code}: '{bad[0]}' is not one of the attribute's keys "
                              f"({', '.join(sorted(keys))})")
                continue
            # a comma list keeps JSON and XML alike (a JSON list has no XML twin here)
            out[code] = ",".join(values)
        elif datatype == "number":
            number = _number(values[0])
            if number is None:
                errors.append(f"{code} must be a number, not '{values[0]}'")
            else:
                out[code] = int(number) if number.is_integer() else number
        elif datatype == "datetime":
            try:
                data.parse_w3c(values[0])
            except ValueError:
                errors.append(f"{code} must be a date-time such as 2018-08-30T01:58:15-05:00")
                continue
            out[code] = values[0]
        else:
            out[code] = values[0]
    return out


def written(code: str, form: Mapping[str, str], description: str | None,
            location: tuple[float, float] | None | bool, attributes: dict[str, Any],
            faults: frozenset[str] = frozenset()) -> dict[str, Any]:
    now = int(time.time())
    doc: dict[str, Any] = {}
    name = data.service_names().get(code)
    if name:
        doc["service_name"] = name
        doc["agency_responsible"] = data.AGENCIES[code]
    if description:
        doc["description"] = (" ".join(description.splitlines())
                              if "description-lines-joined" in faults else description)
    for field_name, key in (("address_string", "address"), ("address_id", "address_id"),
                            ("media_url", "media_url")):
        if form.get(field_name, "").strip():
            doc[key] = form[field_name]
    if "media-url-altered" in faults and "media_url" in doc:
        doc["media_url"] = doc["media_url"].split("?", 1)[0]
    lat, long = location if isinstance(location, tuple) else (41.883811, -87.631749)
    if isinstance(location, tuple):
        doc["lat"], doc["long"] = lat, long
    doc["attributes"] = attributes
    doc["extended_attributes"] = {"channel": "open311", "ward": data.ward_for(lat, long),
                                  "police": data.police_for(lat, long),
                                  "zip": data.zip_for(lat, long)}
    doc["notes"] = [{"datetime": now, "summary": "Request opened", "type": "opened"}]
    return doc


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None
