"""The lenient dialects: conformant servers that take every choice the documents leave open.

A false failure costs more than a missed deviation, so each lenient dialect runs the whole
default run under the profile it conforms to over 20 fuzzing seeds, and must pass with no
failed check; its warnings are exactly the SHOULDs it chooses not to meet.
"""

from __future__ import annotations

import json

import pytest

from conformance.run.engine import run_simulator
from conformance.run.write_flow import fill_attributes
from conformance.simulator import data
from conformance.simulator.app import App
from conformance.simulator.dialect import DIALECTS
from conformance.simulator.store import Store

SEEDS = (311, *range(1, 20))
# dialect -> (the profile it conforms to, the SHOULDs it does not meet)
CONFORMANT = {
    "lenient": ("chicago", {"CHI-SVC-BATCH", "GR2-FMT-XML-TEXT"}),
    "lenient-georeport": ("georeport-v2", {
        "GR2-BAD-STATUS-400", "GR2-FMT-XML-TEXT", "GR2-IDS-STRINGS", "GR2-POST-DESCRIPTION-LENGTH",
        "GR2-POST-MEDIA-URL-KEPT", "GR2-REQ-ADDRESS-FIELDS"}),
}
ABANDONED_VEHICLE = "4ffa4c69601827691b000018"  # the chicago profile's write service: realtime


@pytest.fixture(scope="module")
def store():
    return Store()


def answer(store, dialect, target, method="GET", body=b""):
    app = App(store, delay=0.0, dialect=DIALECTS[dialect])
    return app.handle(method, target, {"Content-Type": "application/x-www-form-urlencoded"}, body)


def rows(answered):
    return json.loads(answered.body)


@pytest.mark.parametrize("dialect", list(CONFORMANT))
def test_service_request_id_overrides_every_other_parameter(store, dialect):
    sr_id = next(r for r in rows(answer(store, "chicago", "/open311/v2/requests.json"))
                 if "service_request_id" in r)["service_request_id"]
    query = f"service_request_id={sr_id}&start_date=garbage&status=bogus&page=0"
    assert answer(store, "chicago", f"/open311/v2/requests.json?{query}").status == 400
    lenient = answer(store, dialect, f"/open311/v2/requests.json?{query}".replace(
        sr_id, sr_id.replace("-", "") if dialect == "lenient-georeport" else sr_id))
    assert lenient.status == 200 and len(rows(lenient)) == 1


@pytest.mark.parametrize("dialect", list(CONFORMANT))
def test_an_unknown_jurisdiction_is_ignored_everywhere(store, dialect):
    plain = answer(store, dialect, "/open311/v2/services.json")
    other = answer(store, dialect, "/open311/v2/services.json?jurisdiction_id=elsewhere.example")
    assert other.status == 200 and other.body == plain.body
    assert answer(store, "chicago", "/open311/v2/services.json?jurisdiction_id=elsewhere.example").status == 404


def test_page_size_above_500_is_clamped_under_chicago_only(store):
    assert answer(store, "lenient", "/open311/v2/requests.json?page_size=501").status == 200
    assert answer(store, "chicago", "/open311/v2/requests.json?page_size=501").status == 400


def test_invalid_dates_are_still_refused(store):
    for dialect in CONFORMANT:
        assert answer(store, dialect, "/open311/v2/requests.json?start_date=garbage").status == 400


def test_realtime_services_answer_the_id_batch_ones_a_token(store):
    services = {s["service_code"]: s["type"] for s in rows(answer(store, "lenient", "/open311/v2/services.json"))}
    assert services[ABANDONED_VEHICLE] == "realtime" and services[data.TEST_SERVICE] == "batch"
    form = f"api_key={store.default_key}&lat=41.88&long=-87.63&service_code="
    batch = rows(answer(store, "lenient", "/open311/v2/requests.json", "POST",
                        (form + data.TEST_SERVICE).encode()))
    assert set(batch[0]) == {"token"}
    attributes = fill_attributes(data.definitions()[ABANDONED_VEHICLE])
    fields = "".join(f"&attribute[{code}]={value}" for code, value in attributes.items())
    realtime = rows(answer(store, "lenient", "/open311/v2/requests.json", "POST",
                           (form + ABANDONED_VEHICLE + fields).encode()))
    assert set(realtime[0]) == {"service_request_id"}


def test_xml_is_served_as_application_xml(store):
    xml = answer(store, "lenient", "/open311/v2/services.xml")
    assert dict(xml.headers)["Content-Type"].startswith("application/xml")


@pytest.mark.integration
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("dialect", list(CONFORMANT))
def test_a_lenient_server_passes_every_seed(dialect, seed, tmp_path):
    profile, should_warn = CONFORMANT[dialect]
    result = run_simulator(profile=profile, simulator_dialect=dialect, seed=seed, delay=0.1,
                           timeout=3.0, poll_timeout=5.0, report_dir=tmp_path)
    failed = [f"{r.id}: {r.message}" for r in result.results if r.outcome in ("failed", "error")]
    assert failed == []
    assert result.verdict == "pass", [(r.id, r.outcome, r.message) for r in result.results
                                      if r.outcome == "inconclusive"]
    warned = {i for r in result.results if r.outcome == "warning" for i in r.requirement_ids}
    assert warned == should_warn
