"""The fault catalogue: a registry of faults, each breaking one MUST or SHOULD requirement and
proven to change behaviour.

The cases live in ``cases/faults.json`` (data); the predicates they name live here.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conformance import requirements, wire
from conformance.simulator import CATALOGUE, RunningSimulator, data, start
from conformance.simulator.faults import Fault, check, describe
from conformance.simulator.store import Query
from conformance.transport import Response, Transport, TransportError

CASES = json.loads((Path(__file__).parent / "cases" / "faults.json").read_text(encoding="utf-8"))
CASES_BY_FAULT = {case["fault"]: case for case in CASES["cases"]}
POTHOLE = "4fd3b656e750846c53000004"
POTHOLE_FORM = {"service_code": POTHOLE, "lat": "41.882785", "long": "-87.632409",
                "address_string": "30 N LaSalle Ave", "description": "I saw a pothole",
                "attribute[WHEREIST]": "TRAFFIC"}
DELAY = 0.4
SERVICE_CODES = {s["service_code"] for s in data.services()}


# -- the registry -------------------------------------------------------------------------------
def test_catalogue_has_at_least_25_uniquely_named_faults() -> None:
    assert len(CATALOGUE) >= 25
    assert all(isinstance(f, Fault) and CATALOGUE[f.name] is f for f in CATALOGUE.values())
    assert len({f.name for f in CATALOGUE.values()}) == len(CATALOGUE)


def test_every_fault_breaks_one_must_or_should_requirement() -> None:
    registry = requirements.load()
    for fault in CATALOGUE.values():
        assert fault.requirement in registry, fault.name
        assert registry[fault.requirement].level in ("MUST", "SHOULD"), fault.name
        assert fault.description


def test_faults_break_distinct_requirements() -> None:
    # a fault only fuzzing can find, or one that sharpens another (a subtler break the
    # sharper check catches), may share its requirement with a scenario-found one
    requirement_ids = [f.requirement for f in CATALOGUE.values()
                       if f.found_by == "scenario" and f.sharpens is None]
    assert len(set(requirement_ids)) == len(requirement_ids)
    for fault in CATALOGUE.values():
        if fault.sharpens is not None:
            assert CATALOGUE[fault.sharpens].requirement == fault.requirement, fault.name


def test_every_fault_has_exactly_one_case() -> None:
    assert [c["fault"] for c in CASES["cases"]] == list(dict.fromkeys(
        c["fault"] for c in CASES["cases"]))
    assert set(CASES_BY_FAULT) == set(CATALOGUE)


def test_check_and_describe() -> None:
    assert check(["paging-ignored"]) == {"paging-ignored"}
    with pytest.raises(ValueError, match="nope"):
        check(["paging-ignored", "nope"])
    lines = describe()
    assert len(lines) == len(CATALOGUE)
    assert all(f.name in line and f.requirement in line for f, line in
               zip(CATALOGUE.values(), lines, strict=True))


# -- each fault changes behaviour ----------------------------------------------------------------
@dataclass(slots=True)
class Outcome:
    response: Response | None
    error: str | None
    client: Transport
    request: dict[str, Any]
    values: dict[str, str]

    def json(self) -> Any:
        assert self.response is not None
        return wire.decode_json(self.response.body)


def _rows(outcome: Outcome) -> list[dict[str, Any]]:
    return outcome.json()


def _services_xml_differs(o: Outcome) -> bool:
    as_xml = wire.decode(o.response.body, "xml", "services").data
    as_json = wire.decode_json(o.client.get("services.json").body)
    return wire.normalize(as_xml) != wire.normalize(as_json)


def _xml_root_wrong(o: Outcome) -> bool:
    try:
        wire.decode(o.response.body, "xml", "services")
    except wire.WireError as exc:
        return "root" in str(exc)
    return False


def _xml_refused(o: Outcome) -> bool:
    try:
        wire.decode(o.response.body, "xml", "services")
    except wire.WireError:
        return True
    return False


def _error_body_not_a_list(o: Outcome) -> bool:
    try:
        errors = o.json()
    except wire.WireError:
        return True
    return not (isinstance(errors, list) and errors and all(
        isinstance(e, dict) and isinstance(e.get("code"), int) and e.get("description")
        for e in errors))


def _dates_without_zone(o: Outcome) -> bool:
    row = _rows(o)[0]
    return any(key.endswith("_datetime") and not wire_zone(value) for key, value in row.items())


def wire_zone(value: str) -> bool:
    return value.endswith("Z") or (len(value) > 6 and value[-6] in "+-" and value[-3] == ":")


def _same_as_first_page(o: Outcome) -> bool:
    params = {**o.request.get("params", {}), "page": "1"}
    first = wire.decode_json(o.client.get("requests.json", params).body)
    return _rows(o) == first


def _stamps(o: Outcome) -> list[datetime]:
    return [datetime.fromisoformat(r["requested_datetime"]) for r in _rows(o)]


def _error_codes(o: Outcome) -> list[Any]:
    return [e.get("code") for e in o.json()]


PREDICATES: dict[str, Callable[[Outcome], bool]] = {
    "numeric_service_codes": lambda o: all(isinstance(s["service_code"], int) for s in o.json()),
    "older_than_90_days": lambda o: min(_stamps(o)) < datetime.now(UTC) - timedelta(days=91),
    "span_over_90_days": lambda o: max(_stamps(o)) - min(_stamps(o)) > timedelta(days=91),
    "unlisted_service_code": lambda o: any(r["service_code"] not in SERVICE_CODES
                                           for r in _rows(o)),
    "answers_newest_request": lambda o: o.json()[0]["service_request_id"]
    == o.values["history_id"],
    "no_charset": lambda o: "charset" not in o.response.content_type.lower(),
    "error_code_not_status": lambda o: _error_codes(o) != [o.response.status],
    "empty_string_field": lambda o: any(v == "" for r in _rows(o) for v in r.values()),
    "no_address_fields": lambda o: not any({"address_id", "zipcode"} & set(r) for r in _rows(o)),
    "xml_root_wrong": _xml_root_wrong,
    "xml_refused_by_wire": _xml_refused,
    "services_xml_differs_from_json": _services_xml_differs,
    "error_body_not_a_list": _error_body_not_a_list,
    "definition_code_differs": lambda o: o.json()["service_code"] != POTHOLE,
    "post_token_and_id": lambda o: {"token", "service_request_id"} <= set(o.json()[0]),
    "post_id_without_token": lambda o: "service_request_id" in o.json()[0]
    and "token" not in o.json()[0],
    "token_without_id": lambda o: bool(o.json()) and "service_request_id" not in o.json()[0],
    "description_altered": lambda o: o.json()[0].get("description") != o.values["description"],
    "media_url_missing": lambda o: "media_url" not in o.json()[0],
    "status_outside_enum": lambda o: any(r["status"] not in ("open", "closed")
                                         for r in _rows(o) if "service_request_id" in r),
    "row_without_id": lambda o: any("service_request_id" not in r for r in _rows(o)),
    "dates_without_zone": _dates_without_zone,
    "rows_outside_service_code": lambda o: any(
        r["service_code"] != o.request["params"]["service_code"] for r in _rows(o)),
    "rows_outside_status": lambda o: any(
        r["status"] != o.request["params"]["status"] for r in _rows(o)),
    "same_as_first_page": _same_as_first_page,
    "no_xml_declaration": lambda o: not o.response.body.lstrip().startswith(b"<?xml"),
    "attribute_orders_repeat": lambda o: len({a["order"] for a in o.json()["attributes"]})
    < len(o.json()["attributes"]),
    "pending_row_with_token": lambda o: any("service_request_id" not in r and r.get("token")
                                            for r in _rows(o)),
    "oldest_first": lambda o: [r["requested_datetime"] for r in _rows(o)]
    == sorted(r["requested_datetime"] for r in _rows(o)),
    "plain_json_not_jsonp": lambda o: o.response.body.lstrip().startswith(b"["),
    "no_extensions": lambda o: not any({"attributes", "extended_attributes", "notes"} & set(r)
                                       for r in _rows(o)),
    "every_service_realtime": lambda o: all(s["type"] == "realtime" for s in o.json()),
    "token_not_echoed": lambda o: "token" not in (o.json()[0] or {}),
}


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        for name, replacement in values.items():
            value = value.replace("{" + name + "}", replacement)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _run(sim: RunningSimulator, case: dict[str, Any]) -> Outcome:
    history = sim.store.query(Query(page_size=2, include_pending=False))
    now = datetime.now(UTC)
    values = {"history_id": history[0].id, "history_id_2": history[1].id,
              "description_4001": "x" * 4001,
              "days_ago_120": (now - timedelta(days=120)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "now": now.strftime("%Y-%m-%dT%H:%M:%SZ")}
    client = Transport(sim.base_url, sim.api_key, timeout=10)
    form = {**POTHOLE_FORM, **_fill(case.get("post_form", {}), values)}
    values["description"] = form["description"]
    for step in case.get("steps", ()):
        if step == "post":
            answer = wire.decode_json(client.post("requests.json", {**form, "api_key": sim.api_key}).body)
            values["token"] = answer[0].get("token", "") if isinstance(answer[0], dict) else ""
        elif step == "wait":
            time.sleep(DELAY * 2)
        elif step == "resolve":
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and values["token"] and "id" not in values:
                answer = wire.decode_json(client.get(f"tokens/{values['token']}.json").body)
                if answer and "service_request_id" in answer[0]:
                    values["id"] = answer[0]["service_request_id"]
                time.sleep(0.05)
    request = _fill(case["request"], values)
    if "timeout" in request:
        client = Transport(sim.base_url, sim.api_key, timeout=request["timeout"])
    try:
        if request["method"] == "GET":
            response = client.get(request["path"], request.get("params"),
                                  headers=request.get("headers"))
        else:
            form = dict(request["form"])
            if form.pop("pothole", False):
                form.update(POTHOLE_FORM)
            key = {"sim": sim.api_key, "none": None, "empty": "", "bogus": "0" * 32}[request.get("key", "sim")]
            if key is not None:
                form["api_key"] = key
            response = client.post(request["path"], form)
    except TransportError as exc:
        return Outcome(None, exc.kind, client, request, values)
    return Outcome(response, None, client, request, values)


def _matches(outcome: Outcome, expect: dict[str, Any]) -> bool:
    if "error" in expect:
        return outcome.error == expect["error"]
    if outcome.response is None:
        return False
    resp = outcome.response
    checks = {
        "status": lambda v: resp.status == v,
        "content_type": lambda v: resp.content_type.lower().startswith(v),
        "body_contains": lambda v: v.encode() in resp.body,
        "json_length": lambda v: len(outcome.json()) == v,
        "json_length_min": lambda v: len(outcome.json()) >= v,
        "predicate": lambda v: PREDICATES[v](outcome),
    }
    for key, value in expect.items():
        try:
            if not checks[key](value):
                return False
        except (wire.WireError, KeyError, IndexError, TypeError, AttributeError):
            return False
    return True


@pytest.fixture
def simulators(request: pytest.FixtureRequest) -> Iterator[tuple[RunningSimulator, ...]]:
    fault = request.param
    dialect = CASES_BY_FAULT[fault].get("dialect", "chicago")
    with start(delay=DELAY, dialect=dialect) as clean, \
            start(delay=DELAY, faults=[fault], dialect=dialect) as faulty:
        yield clean, faulty


@pytest.mark.integration
@pytest.mark.parametrize("simulators", list(CASES_BY_FAULT), indirect=True)
def test_fault_changes_behaviour(simulators: tuple[RunningSimulator, ...]) -> None:
    clean, faulty = simulators
    (fault,) = faulty.faults
    case = CASES_BY_FAULT[fault]
    with_fault = _run(faulty, case)
    assert _matches(with_fault, case["expect"]), (
        f"{fault}: expected {case['expect']}, got status "
        f"{with_fault.response.status if with_fault.response else with_fault.error}: "
        f"{with_fault.response.body[:300] if with_fault.response else ''!r}")
    without = _run(clean, case)
    assert not _matches(without, case["expect"]), f"{fault}: the clean simulator does it too"
