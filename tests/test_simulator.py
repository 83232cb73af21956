"""The embedded Chicago test environment: start, data, keys, writes, tokens, persistence."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conformance import wire
from conformance.simulator import CATALOGUE, RunningSimulator, start
from conformance.simulator.app import App
from conformance.simulator.store import Store
from conformance.transport import Transport, TransportError

FIXTURES = Path(__file__).parent / "fixtures" / "reference"
ABANDONED = "4ffa4c69601827691b000018"
POTHOLE = "4fd3b656e750846c53000004"
RESTAURANT = "4fd6e4ece750840569000019"
W3C_CHICAGO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}-0[56]:00$")
SR_ID = re.compile(r"^\d{2}-\d{8}$")
HEX24 = re.compile(r"^[0-9a-f]{24}$")


def body(resp: Any, fmt: str = "json", resource: str | None = None) -> Any:
    return wire.decode(resp.body, fmt, resource).data


def pothole_form(key: str | None, **extra: str) -> dict[str, str]:
    form = {"service_code": POTHOLE, "lat": "41.882785", "long": "-87.632409",
            "address_string": "30 N LaSalle Ave", "description": "I saw a pothole on the street",
            "attribute[WHEREIST]": "TRAFFIC"}
    if key is not None:
        form["api_key"] = key
    form.update(extra)
    return form


def wait_for_id(transport: Transport, token: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = body(transport.get(f"tokens/{token}.json"))
        if answer and "service_request_id" in answer[0]:
            return answer[0]["service_request_id"]
        time.sleep(0.05)
    raise AssertionError(f"token {token} did not resolve within {timeout} s")


# -- 9. the in-process helper -------------------------------------------------------------------
def test_start_gives_urls_key_and_stops() -> None:
    sim = start(delay=0.1)
    try:
        assert sim.base_url.startswith("http://127.0.0.1:")
        assert sim.base_url.endswith("/open311/v2")
        assert sim.root_url == sim.base_url[: -len("/v2")]
        assert sim.api_key and sim.faults == frozenset()
        assert Transport(sim.base_url).get("services.json").status == 200
    finally:
        sim.stop()
    sim.stop()  # idempotent
    with pytest.raises(TransportError):
        Transport(sim.base_url, timeout=2).get("services.json")


@pytest.mark.integration  # two simulators of its own, and their latency waited out
def test_latency_is_added_to_every_answer() -> None:
    def fastest_answer_s(latency: float) -> float:
        with start(delay=0.1, latency=latency) as sim:
            client = Transport(sim.base_url)
            client.get("services.json")  # the connection, once
            times = []
            for _ in range(2):
                began = time.monotonic()
                assert client.get("services.json").status == 200
                times.append(time.monotonic() - began)
            return min(times)

    assert fastest_answer_s(0.2) >= 0.2
    assert fastest_answer_s(0.0) < 0.2


def test_start_refuses_a_negative_latency() -> None:
    for latency in (-0.1, float("nan")):
        with pytest.raises(ValueError, match="latency"):
            start(latency=latency)


def test_start_refuses_unknown_fault() -> None:
    with pytest.raises(ValueError, match="no-such-fault"):
        start(faults=["no-such-fault"])


def test_context_manager_and_faults_attribute() -> None:
    with start(faults=["paging-ignored"]) as sim:
        assert sim.faults == {"paging-ignored"}
        assert isinstance(sim, RunningSimulator)


def test_app_answers_without_sockets() -> None:
    store = Store(seed=311)
    try:
        app = App(store, delay=0)
        answer = app.handle("GET", "/open311/v2/services.json?jurisdiction_id=cityofchicago.org")
        assert answer.status == 200 and answer.content_type == "application/json; charset=utf-8"
        assert len(json.loads(answer.body)) == 14
    finally:
        store.close()


@pytest.mark.integration
def test_stop_is_prompt_while_an_answer_stalls() -> None:
    sim = start(faults=["stalled-answer"])
    outcome: list[object] = []

    def stalled_client() -> None:
        try:
            outcome.append(Transport(sim.base_url, timeout=60).get("requests.json").status)
        except TransportError as exc:
            outcome.append(exc.kind)

    thread = threading.Thread(target=stalled_client)
    thread.start()
    time.sleep(0.3)
    began = time.monotonic()
    sim.stop()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert time.monotonic() - began < 10  # loose: the stall itself is 120 s
    assert outcome


@pytest.mark.integration
def test_concurrent_clients(simulator: RunningSimulator) -> None:
    results: list[int] = []

    def reader() -> None:
        client = Transport(simulator.base_url, timeout=10)
        for path in ("services.json", "requests.json?extensions=true", "requests.xml"):
            results.append(client.get(path).status)

    threads = [threading.Thread(target=reader) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 36


# -- 2. services and definitions ----------------------------------------------------------------
def test_services_are_the_city_test_list(transport: Transport) -> None:
    resp = transport.get("services.json")
    assert resp.status == 200
    assert resp.content_type == "application/json; charset=utf-8"
    expected = json.loads((FIXTURES / "chicago-test-services.json").read_text(encoding="utf-8"))
    services = body(resp)
    assert services == expected
    assert len(services) == 14
    assert all(s["metadata"] is True and s["type"] == "batch" for s in services)


def test_services_xml_carries_the_same_data(transport: Transport) -> None:
    resp = transport.get("services.xml")
    assert resp.content_type == "text/xml; charset=utf-8"
    assert resp.body.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    as_xml = wire.decode(resp.body, "xml", "services")
    assert as_xml.root == "services"
    assert wire.normalize(as_xml.data) == wire.normalize(body(transport.get("services.json")))


def test_every_service_has_a_realistic_definition(transport: Transport) -> None:
    for service in body(transport.get("services.json")):
        code = service["service_code"]
        resp = transport.get(f"services/{code}.json")
        assert resp.status == 200, code
        definition = body(resp)
        assert definition["service_code"] == code
        attributes = definition["attributes"]
        assert attributes, code
        orders = [a["order"] for a in attributes]
        assert len(set(orders)) == len(orders) and min(orders) >= 1
        for attribute in attributes:
            assert set(attribute) >= {"variable", "code", "datatype", "required", "order",
                                      "description"}
            assert attribute["datatype"] in ("string", "number", "datetime", "text",
                                             "singlevaluelist", "multivaluelist")
            assert attribute.get("datatype_description", "x")  # omitted, never empty or null
            if attribute["datatype"].endswith("list"):
                assert attribute["values"] and all(v["key"] and v["name"]
                                                   for v in attribute["values"])
            else:
                assert "values" not in attribute
        xml = wire.decode(transport.get(f"services/{code}.xml").body, "xml", "service-definition")
        assert wire.normalize(xml.data) == wire.normalize(definition)


def test_definitions_carry_the_real_attribute_codes(transport: Transport) -> None:
    abandoned = {a["code"]: a for a in body(transport.get(f"services/{ABANDONED}.json"))
                 ["attributes"]}
    assert {"HOWMANYD", "FQSKA1", "FQSKA3", "FQSKA4", "FQSKA11"} <= set(abandoned)
    assert abandoned["HOWMANYD"]["required"] is True
    assert {v["key"] for v in abandoned["FQSKA3"]["values"]} >= set(
        ["CRM", "BLK", "BLU", "BRO", "GRN", "SIL", "YEL"])
    pothole = body(transport.get(f"services/{POTHOLE}.json"))["attributes"]
    assert [a["code"] for a in pothole] == ["WHEREIST", "A511OPTN"]
    assert [v["key"] for v in pothole[0]["values"]] == ["BIKE", "CROSS", "CURB", "INTERSEC",
                                                         "TRAFFIC"]
    assert pothole[1]["datatype_description"] == "Enter number as 999-999-9999"
    assert pothole[0]["required"] is True and pothole[1]["required"] is False


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_definition_is_404(transport: Transport, fmt: str) -> None:
    resp = transport.get(f"services/000000000000000000000000.{fmt}")
    assert resp.status == 404
    errors = body(resp, fmt, "errors")
    assert errors[0]["code"] == 404 and "not found" in errors[0]["description"]


def test_history_is_realistic(transport: Transport) -> None:
    rows = body(transport.get("requests.json", {"page_size": 500, "extensions": "true"}))
    rows = [r for r in rows if "service_request_id" in r]
    assert 250 <= len(rows) <= 500
    assert {r["status"] for r in rows} == {"open", "closed"}
    assert len({r["service_code"] for r in rows}) >= 12
    now = time.time()
    for row in rows:
        assert SR_ID.match(row["service_request_id"])
        assert W3C_CHICAGO.match(row["requested_datetime"])
        assert W3C_CHICAGO.match(row["updated_datetime"])
        requested = wire_epoch(row["requested_datetime"])
        assert now - 121 * 86400 < requested <= now
        assert wire_epoch(row["updated_datetime"]) >= requested
        extended = row["extended_attributes"]
        assert all(isinstance(extended[k], str) for k in ("channel", "ward", "police", "zip"))
        assert extended["channel"] in ("phone", "web", "open311", "mobile")
        types = [n["type"] for n in row["notes"]]
        assert types[0] == "opened"
        assert set(types) <= {"opened", "submitted", "activity", "follow_on_created",
                              "follow_on_closed", "closed"}
        assert ("closed" in types) == (row["status"] == "closed")
        assert all(W3C_CHICAGO.match(n["datetime"]) for n in row["notes"])
        if extended.get("duplicate"):
            assert SR_ID.match(extended["parent_service_request_id"])
    assert any(r["extended_attributes"].get("duplicate") for r in rows)
    assert any(n["type"] == "follow_on_created" and SR_ID.match(
        n["extended_attributes"]["service_request_id"]) for r in rows for n in r["notes"])
    abandoned = [r for r in rows if r["service_code"] == ABANDONED]
    assert abandoned and all(isinstance(r["attributes"]["HOWMANYD"], int) for r in abandoned)


def wire_epoch(text: str) -> float:
    from conformance.simulator.data import parse_w3c

    return parse_w3c(text)


def test_history_is_deterministic_per_seed() -> None:
    def ids(seed: int) -> list[tuple[str, str]]:
        with start(seed=seed) as sim:
            rows = body(Transport(sim.base_url).get("requests.json", {"page_size": 500}))
            return [(r["service_request_id"], r["service_code"]) for r in rows]

    assert ids(311) == ids(311)
    assert ids(311) != ids(312)


# -- 3. keys --------------------------------------------------------------------------------------
def test_apps_new_serves_a_form_and_provisions_a_key(transport: Transport) -> None:
    form = transport.get("apps/new")
    assert form.status == 200 and form.content_type.startswith("text/html")
    assert b"<form" in form.body and b'name="name"' in form.body
    page = transport.post("apps/new", {"name": "My <App>", "email": "dev@example.org"})
    assert page.status in (200, 201) and page.content_type.startswith("text/html")
    assert b"My &lt;App&gt;" in page.body
    key = re.search(rb'<code id="api_key">([0-9a-f]+)</code>', page.body).group(1).decode()
    resp = transport.post("requests.json", pothole_form(key))
    assert resp.status == 200 and "token" in body(resp)[0]


def test_apps_new_json_provisions_a_key_for_scripts(transport: Transport) -> None:
    resp = transport.post("apps/new.json", {"name": "script"})
    assert resp.status in (200, 201)
    key = body(resp)["api_key"]
    assert key and key != transport.api_key
    assert transport.post("requests.json", pothole_form(key)).status == 200


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("key", [None, "0123456789abcdef0123456789abcdef"])
def test_post_needs_a_valid_key(transport: Transport, fmt: str, key: str | None) -> None:
    resp = transport.post(f"requests.{fmt}", pothole_form(key))
    assert resp.status == 403
    errors = body(resp, fmt, "errors")
    assert errors[0]["code"] == 403 and "api_key" in errors[0]["description"]


def test_reads_need_no_key(simulator: RunningSimulator) -> None:
    anonymous = Transport(simulator.base_url)
    for path in ("services.json", f"services/{POTHOLE}.xml", "requests.json", "requests.xml"):
        assert anonymous.get(path).status == 200, path


# -- 4. POST validation ---------------------------------------------------------------------------
ABANDONED_OK = {"service_code": ABANDONED, "lat": "41.88", "long": "-87.63",
                "attribute[HOWMANYD]": "7", "attribute[FQSKA3]": "BLU",
                "attribute[FQSKA4]": "123456", "attribute[FQSKA11]": "4D"}


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize(("change", "status", "wording"), [
    ({"service_code": "ffffffffffffffffffffffff"}, 404, "service_code"),
    ({"service_code": ""}, 400, "service_code required"),
    ({"lat": "", "long": ""}, 400, "location"),
    ({"lat": "41.88", "long": ""}, 400, "lat and long"),
    ({"lat": "north", "long": "west"}, 400, "lat and long"),
    ({"attribute[HOWMANYD]": ""}, 400, "HOWMANYD required"),
    ({"attribute[HOWMANYD]": "many"}, 400, "HOWMANYD must be a number"),
    ({"attribute[FQSKA3]": "Blue"}, 400, "FQSKA3"),
    ({"description": "x" * 4001}, 400, "4000"),
    ({"description": "bell \x07"}, 400, "control characters"),
    ({"jurisdiction_id": "example.org"}, 404, "jurisdiction_id"),
])
def test_post_validation(transport: Transport, fmt: str, change: dict[str, str], status: int,
                         wording: str) -> None:
    form = {**ABANDONED_OK, "api_key": transport.api_key, **change}
    resp = transport.post(f"requests.{fmt}", form)
    assert resp.status == status
    assert resp.content_type == ("text/xml" if fmt == "xml" else "application/json") + \
        "; charset=utf-8"
    errors = body(resp, fmt, "errors")
    assert errors[0]["code"] == status
    assert wording in errors[0]["description"]


def test_city_2012_contract_post(transport: Transport) -> None:
    """The City's own 2012 test: Abandoned Vehicle without description answers a token."""
    resp = transport.post("requests.json", {**ABANDONED_OK, "api_key": transport.api_key})
    assert resp.status == 200
    answer = body(resp)
    assert len(answer) == 1 and set(answer[0]) == {"token"} and HEX24.match(answer[0]["token"])
    missing = {k: v for k, v in ABANDONED_OK.items() if k != "attribute[HOWMANYD]"}
    refused = body(transport.post("requests.json", {**missing, "api_key": transport.api_key}))
    assert refused[0]["code"] == 400 and "HOWMANYD required" in refused[0]["description"]


def test_post_accepts_an_address_alone_and_4000_characters(transport: Transport) -> None:
    form = pothole_form(transport.api_key, lat="", long="", description="d" * 4000)
    assert transport.post("requests.json", form).status == 200
    form = pothole_form(transport.api_key, lat="", long="", address_string="",
                        address_id="12345")
    assert transport.post("requests.json", form).status == 200


def test_post_multivaluelist(transport: Transport) -> None:
    base = {"api_key": transport.api_key, "service_code": RESTAURANT,
            "address_string": "121 N LaSalle St", "attribute[RESTNAME]": "Joe's Diner"}
    ok = transport.post("requests.json", [*base.items(), ("attribute[COMPLTYP][]", "DIRTY"),
                                          ("attribute[COMPLTYP][]", "TEMP")])
    assert ok.status == 200
    bad = transport.post("requests.json", [*base.items(), ("attribute[COMPLTYP][]", "DIRTY"),
                                           ("attribute[COMPLTYP][]", "LOUD")])
    assert bad.status == 400 and "LOUD" in body(bad)[0]["description"]


def test_post_answer_in_xml(transport: Transport) -> None:
    resp = transport.post("requests.xml", pothole_form(transport.api_key))
    assert resp.status == 200 and resp.content_type == "text/xml; charset=utf-8"
    decoded = wire.decode(resp.body, "xml", "post-response")
    assert HEX24.match(decoded.data[0]["token"])


# -- 5. the token flow ----------------------------------------------------------------------------
@pytest.mark.integration
def test_token_flow_pending_row_then_readback() -> None:
    with start(delay=0.3) as sim:
        client = Transport(sim.base_url, sim.api_key)
        form = {**pothole_form(sim.api_key), "attribute[A511OPTN]": "312-555-0100"}
        token = body(client.post("requests.json", form))[0]["token"]
        assert HEX24.match(token)
        assert body(client.get(f"tokens/{token}.json")) == [{"token": token}]
        xml = wire.decode(client.get(f"tokens/{token}.xml").body, "xml", "token")
        assert xml.data == [{"token": token}]

        first = body(client.get("requests.json"))[0]
        assert first == {
            "status": "submitted", "service_name": "Pothole in Street", "service_code": POTHOLE,
            "description": "I saw a pothole on the street",
            "updated_datetime": first["updated_datetime"], "address": "30 N LaSalle Ave",
            "lat": 41.882785, "long": -87.632409}
        assert W3C_CHICAGO.match(first["updated_datetime"])
        # a pending row is only in unfiltered lists
        some_id = body(client.get("requests.json"))[1]["service_request_id"]
        filtered = body(client.get("requests.json", {"service_request_id": some_id}))
        assert [r.get("service_request_id") for r in filtered] == [some_id]

        sr_id = wait_for_id(client, token)
        assert SR_ID.match(sr_id)
        assert body(client.get(f"tokens/{token}.json")) == [
            {"service_request_id": sr_id, "token": token}]
        single = body(client.get(f"requests/{sr_id}.json", {"extensions": "true"}))
        assert len(single) == 1
        row = single[0]
        assert row["service_request_id"] == sr_id and row["status"] == "open"
        assert row["description"] == form["description"]
        assert row["address"] == form["address_string"]
        assert (row["lat"], row["long"]) == (41.882785, -87.632409)
        assert row["service_code"] == POTHOLE
        assert W3C_CHICAGO.match(row["requested_datetime"])
        assert row["attributes"] == {"WHEREIST": "TRAFFIC", "A511OPTN": "312-555-0100"}
        assert row["extended_attributes"]["channel"] == "open311"
        assert [n["type"] for n in row["notes"]] == ["opened", "submitted"]
        listed = body(client.get("requests.json"))
        assert listed[0]["service_request_id"] == sr_id  # processed: same place, now with id
        assert all("service_request_id" in r for r in listed)
        by_id = body(client.get("requests.json", {"service_request_id": sr_id}))
        assert [r["service_request_id"] for r in by_id] == [sr_id]
        xml_single = wire.decode(client.get(f"requests/{sr_id}.xml").body, "xml",
                                 "service-requests")
        plain = body(client.get(f"requests/{sr_id}.json"))
        assert wire.normalize(xml_single.data) == wire.normalize(plain)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_unknown_token_is_404(transport: Transport, fmt: str) -> None:
    resp = transport.get(f"tokens/ffffffffffffffffffffffff.{fmt}")
    assert resp.status == 404
    assert body(resp, fmt, "errors")[0]["code"] == 404


# -- 8. --db persistence --------------------------------------------------------------------------
@pytest.mark.integration
def test_db_keeps_the_city_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "city.sqlite3")
    with start(delay=0.1, db=db) as first:
        client = Transport(first.base_url, first.api_key)
        key = body(client.post("apps/new.json", {"name": "persist"}))["api_key"]
        token = body(client.post("requests.json", pothole_form(key)))[0]["token"]
        sr_id = wait_for_id(client, token)
        history = body(client.get("requests.json", {"page_size": 500}))
        default_key = first.api_key
    with start(delay=0.1, db=db, seed=999) as second:  # the seed of a new db only
        client = Transport(second.base_url, second.api_key)
        assert second.api_key == default_key
        assert body(client.get(f"tokens/{token}.json")) == [
            {"service_request_id": sr_id, "token": token}]
        assert body(client.get(f"requests/{sr_id}.json"))[0]["description"] == \
            "I saw a pothole on the street"
        assert body(client.get("requests.json", {"page_size": 500})) == history
        assert client.post("requests.json", pothole_form(key)).status == 200


@pytest.mark.integration
def test_db_keeps_a_pending_token_across_restarts(tmp_path: Path) -> None:
    db = str(tmp_path / "city.sqlite3")
    with start(delay=0.5, db=db) as first:
        client = Transport(first.base_url, first.api_key)
        token = body(client.post("requests.json", pothole_form(first.api_key)))[0]["token"]
    with start(delay=0.5, db=db) as second:
        client = Transport(second.base_url)
        assert SR_ID.match(wait_for_id(client, token))


def test_catalogue_is_importable_from_the_package() -> None:
    assert len(CATALOGUE) >= 25
