"""The simulator's request queries, formats, errors, JSONP and discovery (items 6 and 7)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from conformance import wire
from conformance.simulator import RunningSimulator, start
from conformance.simulator.data import parse_w3c
from conformance.transport import Transport

POTHOLE = "4fd3b656e750846c53000004"
LIGHT = "4ffa9f2d6018277d400000c8"


def body(resp: Any, fmt: str = "json", resource: str | None = None) -> Any:
    return wire.decode(resp.body, fmt, resource).data


def listed(transport: Transport, **params: Any) -> list[dict[str, Any]]:
    resp = transport.get("requests.json", {"page_size": 500, **params})
    assert resp.status == 200, resp.body
    return [r for r in body(resp) if "service_request_id" in r]


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    """This module's own simulator: nobody writes to it, so lists stay put between tests."""
    with start(delay=0.3) as sim:
        yield sim


@pytest.fixture(scope="module")
def everything(simulator: RunningSimulator) -> list[dict[str, Any]]:
    return listed(Transport(simulator.base_url))


def test_service_request_id_list_overrides_other_filters(transport: Transport,
                                                         everything: list[dict]) -> None:
    wanted = [everything[3]["service_request_id"], everything[40]["service_request_id"]]
    other_status = "closed" if everything[3]["status"] == "open" else "open"
    rows = listed(transport, service_request_id=",".join(wanted), status=other_status,
                  service_code="ffffffffffffffffffffffff", page_size=1)
    assert sorted(r["service_request_id"] for r in rows) == sorted(wanted)
    assert listed(transport, service_request_id="99-99999999") == []


def test_service_code_filter(transport: Transport) -> None:
    rows = listed(transport, service_code=f"{POTHOLE},{LIGHT}")
    assert rows and {r["service_code"] for r in rows} == {POTHOLE, LIGHT}


@pytest.mark.parametrize("status", ["open", "closed"])
def test_status_filter(transport: Transport, status: str) -> None:
    rows = listed(transport, status=status)
    assert rows and {r["status"] for r in rows} == {status}


def test_status_comma_list_is_everything(transport: Transport, everything: list[dict]) -> None:
    assert len(listed(transport, status="open,closed")) == len(everything)


@pytest.mark.parametrize("status", ["pending", "OPEN;closed", "submitted"])
def test_unknown_status_is_400(transport: Transport, status: str) -> None:
    resp = transport.get("requests.json", {"status": status})
    assert resp.status == 400 and body(resp)[0]["code"] == 400


def test_date_filters(transport: Transport, everything: list[dict]) -> None:
    start = everything[60]["requested_datetime"]
    end = everything[20]["requested_datetime"]
    rows = listed(transport, start_date=start, end_date=end)
    assert len(rows) == 41
    assert all(parse_w3c(start) <= parse_w3c(r["requested_datetime"]) <= parse_w3c(end)
               for r in rows)
    utc = listed(transport, start_date="2000-01-01T00:00:00Z", end_date="2001-01-01T00:00:00Z")
    assert utc == []


def test_updated_filters(transport: Transport, everything: list[dict]) -> None:
    moments = sorted(parse_w3c(r["updated_datetime"]) for r in everything)
    after = everything[0]["updated_datetime"]
    rows = listed(transport, updated_after=after)
    assert all(parse_w3c(r["updated_datetime"]) > parse_w3c(after) for r in rows)
    assert len(rows) == sum(m > parse_w3c(after) for m in moments)
    before = listed(transport, updated_before=after)
    assert before and all(parse_w3c(r["updated_datetime"]) < parse_w3c(after) for r in before)


@pytest.mark.parametrize("name", ["start_date", "end_date", "updated_after", "updated_before"])
@pytest.mark.parametrize("value", ["yesterday", "2024-01-01", "2024-01-01T00:00:00",
                                   "2024-13-01T00:00:00Z", "2024-01-01T00:00:00-0500"])
def test_malformed_dates_are_400(transport: Transport, name: str, value: str) -> None:
    resp = transport.get("requests.json", {name: value})
    assert resp.status == 400
    assert name in body(resp)[0]["description"]


def test_fractional_seconds_and_offsets_are_accepted(transport: Transport) -> None:
    for value in ("2024-01-01T23:59:59.999999-06:00", "2024-01-01T00:00:00+01:00"):
        assert transport.get("requests.json", {"end_date": value}).status == 200


def test_paging(transport: Transport, everything: list[dict]) -> None:
    default = body(transport.get("requests.json"))
    assert len(default) == 50
    pages = [listed(transport, page=p, page_size=25) for p in (1, 2, 3)]
    ids = [r["service_request_id"] for page in pages for r in page]
    assert len(ids) == len(set(ids)) == 75
    assert ids == [r["service_request_id"] for r in everything[:75]]
    beyond = body(transport.get("requests.json", {"page": 999, "page_size": 500}))
    assert beyond == []


@pytest.mark.parametrize(("name", "value"), [
    ("page_size", "0"), ("page_size", "501"), ("page_size", "ten"), ("page_size", "-5"),
    ("page", "0"), ("page", "1.5"), ("page", "x")])
def test_paging_limits_are_400(transport: Transport, name: str, value: str) -> None:
    resp = transport.get("requests.json", {name: value})
    assert resp.status == 400 and name in body(resp)[0]["description"]


def test_newest_first(everything: list[dict]) -> None:
    moments = [parse_w3c(r["requested_datetime"]) for r in everything]
    assert moments == sorted(moments, reverse=True)


def test_extensions_only_on_request(transport: Transport) -> None:
    plain = body(transport.get("requests.json", {"page_size": 5}))
    assert not any({"attributes", "extended_attributes", "notes"} & set(r) for r in plain)
    assert body(transport.get("requests.json", {"page_size": 5, "extensions": "false"})) == plain
    extended = body(transport.get("requests.json", {"page_size": 5, "extensions": "true"}))
    assert all({"extended_attributes", "notes"} <= set(r) for r in extended)
    assert transport.get("requests.json", {"extensions": "maybe"}).status == 400


@pytest.mark.parametrize("value", ["cityofchicago.org", ""])
def test_jurisdiction_accepted_or_empty(transport: Transport, value: str) -> None:
    for path in ("services.json", "requests.json", f"services/{POTHOLE}.json"):
        assert transport.get(path, {"jurisdiction_id": value}).status == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_jurisdiction_is_404(transport: Transport, fmt: str) -> None:
    resp = transport.get(f"services.{fmt}", {"jurisdiction_id": "sfgov.org"})
    assert resp.status == 404
    assert body(resp, fmt, "errors")[0]["code"] == 404


def test_jsonp(transport: Transport) -> None:
    resp = transport.get("services.json", {"callback": "handle_services"})
    assert resp.status == 200
    assert resp.content_type.startswith("application/javascript")
    inner = wire.unwrap_jsonp(resp.body, "handle_services")
    assert json.loads(inner) == body(transport.get("services.json"))
    listed_jsonp = transport.get("requests.json", {"callback": "cb.requests", "page_size": 2})
    assert len(json.loads(wire.unwrap_jsonp(listed_jsonp.body, "cb.requests"))) == 2


@pytest.mark.parametrize("callback", ["alert(1)", "1abc", "a b", "x" * 200, "<script>"])
def test_bad_callback_is_400(transport: Transport, callback: str) -> None:
    resp = transport.get("services.json", {"callback": callback})
    assert resp.status == 400
    assert resp.content_type == "application/json; charset=utf-8"
    assert body(resp)[0]["code"] == 400


def test_single_request(transport: Transport, everything: list[dict]) -> None:
    sr_id = everything[7]["service_request_id"]
    rows = body(transport.get(f"requests/{sr_id}.json"))
    assert rows == [everything[7]]
    xml = wire.decode(transport.get(f"requests/{sr_id}.xml").body, "xml", "service-requests")
    assert xml.root == "service_requests" and wire.normalize(xml.data) == wire.normalize(rows)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_single_request_is_404(transport: Transport, fmt: str) -> None:
    resp = transport.get(f"requests/99-00000000.{fmt}")
    assert resp.status == 404
    assert body(resp, fmt, "errors")[0]["code"] == 404


def test_lists_in_both_formats_carry_the_same_data(transport: Transport) -> None:
    params = {"page_size": 100, "extensions": "true", "status": "closed"}
    as_json = body(transport.get("requests.json", params))
    resp = transport.get("requests.xml", params)
    assert resp.content_type == "text/xml; charset=utf-8"
    as_xml = wire.decode(resp.body, "xml", "service-requests")
    assert wire.normalize(as_xml.data) == wire.normalize(as_json)


@pytest.mark.parametrize(("path", "status"), [
    ("services.csv", 400), ("requests.html", 400), ("services", 404), ("nowhere.json", 404),
    ("services/a/b.json", 404)])
def test_unsupported_formats_and_unknown_paths(transport: Transport, path: str,
                                               status: int) -> None:
    resp = transport.get(path)
    assert resp.status == status
    assert resp.content_type == "application/json; charset=utf-8"
    assert body(resp)[0]["code"] == status


def test_unknown_path_in_xml_answers_xml(transport: Transport) -> None:
    resp = transport.get("nowhere.xml")
    assert resp.status == 404
    assert wire.decode(resp.body, "xml", "errors").data[0]["code"] == 404


def test_unknown_path_outside_the_api(simulator: Any) -> None:
    resp = Transport(simulator.root_url.rsplit("/open311", 1)[0]).get("favicon.ico")
    assert resp.status == 404 and body(resp)[0]["code"] == 404


def test_wrong_method_is_405_with_errors(transport: Transport) -> None:
    resp = transport.post("services.json", {"api_key": transport.api_key})
    assert resp.status == 405 and body(resp)[0]["code"] == 405


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery(simulator: Any, fmt: str) -> None:
    resp = Transport(simulator.root_url).get(f"discovery.{fmt}")
    assert resp.status == 200
    assert resp.content_type == {"json": "application/json", "xml": "text/xml"}[fmt] + \
        "; charset=utf-8"
    discovery = body(resp, fmt, "discovery")
    assert {"changeset", "contact", "key_service", "endpoints"} <= set(discovery)
    (endpoint,) = discovery["endpoints"]
    assert endpoint["url"] == simulator.base_url and endpoint["type"] == "test"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert sorted(endpoint["formats"]) == ["application/json", "text/xml"]


def test_head_answers_headers_only(simulator: Any) -> None:
    resp = Transport(simulator.base_url).send("HEAD", simulator.base_url + "/services.json")
    assert resp.status == 200 and resp.body == b""
    assert int(resp.headers["Content-Length"]) > 1000
