"""The OpenAPI-driven checks: wiring into schemathesis, politeness, and what they catch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis

from conformance import profiles
from conformance.run import fuzzing
from conformance.run.engine import RunResult, embedded, execute, run_simulator
from conformance.run.fuzzing import wiring
from conformance.run.write_flow import fill_attributes
from conformance.simulator import start
from conformance.simulator.faults import CATALOGUE
from conformance.target import Target
from conformance.transport import Transport, WritePolicy

SPECS = {spec.operation_id: spec for spec in fuzzing.OPERATIONS}
POTHOLE = "4fd3b656e750846c53000004"


def _response(body: bytes, content_type: str = "text/xml") -> schemathesis.Response:
    request = requests.Request("GET", "http://127.0.0.1/open311/v2/services.xml").prepare()
    return schemathesis.Response(200, {"content-type": [content_type]}, body, request, 0.01, True)


def _context() -> schemathesis.DeserializationContext:
    return schemathesis.DeserializationContext(wiring.load_schema()["/services.{format}"]["GET"], None)


def test_xml_deserializer_decodes_through_wire() -> None:
    body = (b'<?xml version="1.0" encoding="utf-8"?><services><service><service_code>1</service_code>'
            b"<metadata>true</metadata></service></services>")
    assert wiring.deserialize_xml(_context(), _response(body)) == [
        {"service_code": "1", "metadata": True}]


def test_xml_deserializer_refuses_a_dtd_and_a_wrong_root() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE services [<!ENTITY a "x">]><services>&a;</services>'
    with pytest.raises(ValueError, match="DTD"):
        wiring.deserialize_xml(_context(), _response(bomb))
    with pytest.raises(ValueError, match="root"):
        wiring.deserialize_xml(_context(), _response(b"<service_list/>"))


def test_every_operation_of_the_description_is_fuzzed_in_both_formats() -> None:
    schema = wiring.load_schema()
    labels = {op.ok().label for op in schema.get_all_operations()}
    assert labels == {f"{s.method} {s.path}" for s in fuzzing.OPERATIONS}
    for spec in fuzzing.OPERATIONS:
        assert "GR2-FMT-XML-CONTENT-TYPE" in spec.requirement_ids("xml")
        assert "GR2-FMT-JSON-CONTENT-TYPE" in spec.requirement_ids("json")


def test_seed_and_example_defaults() -> None:
    assert fuzzing.seed_for(None) == fuzzing.DEFAULT_SEED and fuzzing.seed_for(7) == 7
    assert fuzzing.examples_for(None, remote=False) == fuzzing.SIMULATOR_EXAMPLES
    assert fuzzing.examples_for(None, remote=True) == fuzzing.REMOTE_EXAMPLES
    assert fuzzing.examples_for(0, remote=False) == 0


def test_no_post_when_writes_are_refused_or_no_key() -> None:
    remote = Transport("https://open311.example.org/v2", "k" * 32)
    assert "writes" in (fuzzing.post_refusal(remote, "k" * 32) or "")
    loopback = Transport("http://127.0.0.1:9/open311/v2")
    assert "api_key" in (fuzzing.post_refusal(loopback, None) or "")
    assert fuzzing.post_refusal(loopback, "k" * 32) is None
    allowed = Transport("https://open311.example.org/v2", "k" * 32,
                        write_policy=WritePolicy(allow_writes=True))
    assert fuzzing.post_refusal(allowed, "k" * 32) is None


def test_request_cap_bounds_every_check() -> None:
    for spec in fuzzing.OPERATIONS:
        assert fuzzing.engine.request_cap(spec, 10) <= 15
    assert fuzzing.engine.request_cap(SPECS["createServiceRequest"], 10) == 2


# -- against a simulator ------------------------------------------------------------------------
@pytest.fixture
def simulator(request: pytest.FixtureRequest) -> Iterator:
    faults = getattr(request, "param", ())
    with start(delay=0.2, faults=list(faults)) as sim:
        yield sim


def _sent(spec_id: str, base_url: str, seed: int) -> list[tuple[str, str, str | None]]:
    transport = Transport(base_url, timeout=5)
    result = fuzzing.fuzz(transport, SPECS[spec_id], "json", base_url=base_url, seed=seed, examples=4)
    assert result.sent == len(transport.exchanges) > 0
    assert all(e.label == f"openapi: {spec_id} json" for e in transport.exchanges)
    return [(e.method, urlsplit(e.url).path + "?" + urlsplit(e.url).query, e.request_body)
            for e in transport.exchanges]


@pytest.mark.integration
def test_the_seed_makes_runs_send_the_same_requests(simulator) -> None:
    first = _sent("getServiceRequests", simulator.base_url, 5)
    assert _sent("getServiceRequests", simulator.base_url, 5) == first
    assert _sent("getServiceRequests", simulator.base_url, 6) != first


@pytest.mark.integration
@pytest.mark.parametrize("simulator", [("post-any-key-accepted",)], indirect=True)
def test_key_probe_failure_has_a_curl_reproduction_without_the_key(simulator) -> None:
    transport = Transport(simulator.base_url, simulator.api_key, timeout=5)
    definition = requests.get(f"{simulator.base_url}/services/{POTHOLE}.json", timeout=5).json()
    fields = {"service_code": POTHOLE, "lat": "41.88", "long": "-87.63", "description": "fuzz"}
    fields.update({f"attribute[{k}]": v for k, v in fill_attributes(definition).items()})
    result = fuzzing.fuzz(transport, SPECS["createServiceRequest"], "json",
                          base_url=simulator.base_url, seed=1, examples=3,
                          api_key=simulator.api_key, post_fields=fields)
    assert result.findings, "a POST with a wrong key was accepted and not reported"
    finding = result.findings[0]
    # blamed on the requirement of the key the POST carried: a wrong one
    assert any(f.requirement == "GR2-KEY-INVALID" and "wrong api_key" in f.text for f in finding.failures)
    # the generated POST never carried the target's key: its reproduction has none to redact
    assert finding.curl.startswith("curl -X POST") and "api_key=open311-conformance-not-a-key" in finding.curl
    assert simulator.api_key not in finding.describe()
    assert result.sent <= 3 and fuzzing.fuzz_requests(transport.exchanges, "POST") <= 3


@pytest.mark.integration
def test_clean_simulator_passes_every_openapi_check(clean_run: RunResult) -> None:
    result = clean_run
    openapi = [r for r in result.results if r.source == "openapi"]
    assert len(openapi) == 2 * len(fuzzing.OPERATIONS)
    assert {r.outcome for r in openapi} == {"passed"}, [r.message for r in openapi if r.outcome != "passed"]
    assert result.verdict == "pass"


@pytest.mark.integration
def test_fuzz_only_fault_is_caught_by_the_openapi_checks_alone(tmp_path: Path) -> None:
    fault = CATALOGUE["odd-id-500"]
    assert fault.found_by == "fuzzing"
    result = run_simulator((fault.name,), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path)
    failed = [r for r in result.results if r.outcome == "failed"]
    assert failed and all(r.source == "openapi" for r in failed), [(r.source, r.title) for r in failed]
    assert any(fault.requirement in r.requirement_ids for r in failed)
    assert any("reproduce: curl" in r.message for r in failed)
    for r in failed:
        assert not [words for words in LIBRARY_WORDS if words in r.message], r.message


# the fuzzing library's own titles: a reader of the report does not know its internals
LIBRARY_WORDS = ("Custom check failed", "`open311_", "Undocumented Content-Type", "Undocumented HTTP status",
                 "Response violates schema", "Server error")


def _judgement(name: str) -> fuzzing.engine.Judgement:
    return fuzzing.engine.Judgement(name, lambda *_: None, lambda *_: "GR2-X", lambda *_: ("GR2-X",))


def test_failure_messages_are_in_the_kits_words() -> None:
    from schemathesis.checks import _failures_from_exception
    from schemathesis.core.failures import ServerError
    from schemathesis.openapi.checks import UndefinedContentType, UndefinedStatusCode

    [custom] = _failures_from_exception("open311_error_list", "GET /services.{format}",
                                        AssertionError("the 400 answer is not an error list in json"))
    assert "Custom check failed" in custom.title  # what the library would have said
    said = {
        "error list": custom,
        "undocumented status": UndefinedStatusCode(operation="x", status_code=418, defined_status_codes=["200", "400"],
                                                   allowed_status_codes=[200, 400], message="Received: 418"),
        "undocumented content type": UndefinedContentType(operation="x", content_type="text/plain",
                                                          defined_content_types=["application/json"],
                                                          message="Received: text/plain"),
        "server error": ServerError(operation="x", status_code=502),
    }
    described = {name: fuzzing.engine._describe(_judgement(name), failure) for name, failure in said.items()}
    assert described == {
        "error list": "error list: the 400 answer is not an error list in json",
        "undocumented status": "undocumented status: status 418 is not one the contract documents for this "
                               "operation (documented: 200, 400)",
        "undocumented content type": "undocumented content type: content type text/plain is not one the contract "
                                     "documents (documented: application/json)",
        "server error": "server error: the server answered 502",
    }


@pytest.mark.integration
def test_fuzz_examples_zero_skips_with_the_reason(tmp_path: Path) -> None:
    target = Target(base_url="", timeout=5.0, poll_timeout=10.0, simulator=True, fuzz_examples=0)
    with embedded(target, 0.3) as live:
        result = execute(live, report_dir=tmp_path, quiet=True, say=lambda _line: None)
    openapi = [r for r in result.results if r.source == "openapi"]
    assert openapi and {r.outcome for r in openapi} == {"skipped"}
    assert all("--fuzz-examples 0" in r.message for r in openapi)
    assert result.verdict == "pass"


def test_the_fuzzing_follows_the_profile() -> None:
    # georeport-v2 knows no Chicago parameters, and judges with its own schemas
    assert {"page", "page_size", "extensions", "updated_after", "updated_before"} \
        <= wiring.unfuzzed_parameters(profiles.get("georeport-v2"))
    assert wiring.unfuzzed_parameters(profiles.get("chicago")) == wiring.UNFUZZED_PARAMETERS

    def names(profile: str) -> set[str]:
        definition = wiring.load_schema(profile)["/requests.{format}"]["GET"].definition.raw
        return {p.get("name") for p in definition["parameters"]}

    assert "page_size" in names("chicago") and "page_size" not in names("georeport-v2")
    raw = wiring._with_schema_set({"schema": {"$ref": "schemas/chicago/services.json"}}, "georeport-v2")
    assert raw == {"schema": {"$ref": "schemas/georeport-v2/services.json"}}


def test_the_curl_reproduction_repeats_the_request_without_the_librarys_bookkeeping() -> None:
    from conformance.transport import Exchange

    sent = Exchange(7, "POST", "http://127.0.0.1:1/open311/v2/requests.json?api_key=REDACTED",
                    {"Content-Type": "application/x-www-form-urlencoded", "X-Schemathesis-TestCaseId": "j4VpJz",
                     "User-Agent": "python-requests"}, "service_code=001&lat=41.9", 0.0)
    assert wiring.curl_command(sent) == (
        "curl -X POST 'http://127.0.0.1:1/open311/v2/requests.json?api_key=REDACTED' "
        "-H 'Content-Type: application/x-www-form-urlencoded' --data-raw 'service_code=001&lat=41.9'")


def test_an_answer_is_judged_at_once_and_blamed_one_judgement_at_a_time() -> None:
    """judge asks every judgement in one call first (issue 21): an answer breaking nothing is
    judged clean, one breaking two things is blamed on each judgement's own requirement."""
    case = wiring.load_schema()["/services.{format}"]["GET"].Case(path_parameters={"format": "json"})
    request = requests.Request("GET", "http://127.0.0.1/open311/v2/services.json").prepare()
    kwargs = {"base_url": "http://127.0.0.1/open311/v2"}
    row = {"service_code": "001", "service_name": "Pothole", "description": "", "metadata": False,
           "type": "realtime", "keywords": "", "group": "Streets"}
    clean = schemathesis.Response(200, {"content-type": ["application/json"]}, json.dumps([row]).encode(),
                                  request, 0.01, True)
    assert fuzzing.engine.judge(case, clean, SPECS["getServiceList"], "json", kwargs) == []
    broken = schemathesis.Response(200, {"content-type": ["text/xml"]}, b'[{"service_code": 5}]', request, 0.01, True)
    blamed = fuzzing.engine.judge(case, broken, SPECS["getServiceList"], "json", kwargs)
    assert [b.requirement for b in blamed] == ["GR2-SVC-LIST", "GR2-FMT-JSON-CONTENT-TYPE"]
    assert blamed[1].text.startswith("wrong content type for the format: ")


def test_hypothesis_keeps_its_files_in_the_kits_cache_not_the_current_directory(monkeypatch, tmp_path) -> None:
    from hypothesis import configuration

    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    try:
        with fuzzing.engine.hypothesis_files_in_the_kits_cache():
            where = configuration.storage_directory("unicode_data", intent_to_write=False).path
        assert where == tmp_path / "cache" / "open311-conformance" / "hypothesis" / "unicode_data"
        # afterwards Hypothesis finds its directory as it would have, for the rest of the process
        assert configuration.storage_directory("x", intent_to_write=False).path != where.with_name("x")
        monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "mine"))
        configuration.set_hypothesis_home_dir(None)
        with fuzzing.engine.hypothesis_files_in_the_kits_cache():  # the user's own choice stands
            assert configuration.storage_directory("x", intent_to_write=False).path == tmp_path / "mine" / "x"
    finally:
        configuration.set_hypothesis_home_dir(None)


@pytest.mark.integration
def test_a_check_sends_a_get_it_drew_again_only_once(simulator) -> None:
    transport = Transport(simulator.base_url, simulator.api_key, timeout=5)
    adapter = wiring.TransportAdapter(transport, "fuzzing")
    session = wiring.session_for(adapter)
    first = session.get(f"{simulator.base_url}/services.json")
    again = session.get(f"{simulator.base_url}/services.json", headers={"X-Schemathesis-TestCaseId": "other"})
    assert (again.status_code, again.content) == (first.status_code, first.content)
    session.get(f"{simulator.base_url}/services.xml")
    for _ in range(2):  # a write is never answered from memory
        session.post(f"{simulator.base_url}/requests.json", data={"service_code": "x"})
    assert [e.method for e in transport.exchanges] == ["GET", "GET", "POST", "POST"]
    assert adapter.repeated == 1 and len(adapter.sent) == 4


@pytest.mark.integration
def test_a_generated_get_another_check_sent_is_judged_on_its_answer(simulator) -> None:
    transport = Transport(simulator.base_url, simulator.api_key, timeout=5, share_answers=True)
    scenario = transport.get("services.json")
    adapter = wiring.TransportAdapter(transport, "fuzzing")
    session = wiring.session_for(adapter)
    url = f"{simulator.base_url}/services.json"
    # the library's User-Agent and case id make no other request
    shared = session.get(url, headers={"User-Agent": "schemathesis/4", "X-Schemathesis-TestCaseId": "a"})
    assert (shared.status_code, shared.content) == (scenario.status, scenario.body)
    assert adapter.shared == [scenario.exchange] and adapter.sent == [] and len(transport.exchanges) == 1
    session.get(url, headers={"Accept": "application/json"})  # another Accept: another request
    session.post(f"{simulator.base_url}/requests.json", data={"service_code": "x"})  # a write: never shared
    assert [e.method for e in adapter.sent] == ["GET", "POST"] and adapter.shared == [scenario.exchange]
    # sent with the transport's User-Agent, the kit's, and without the library's bookkeeping
    assert all(not {"user-agent", "x-schemathesis-testcaseid"} & {name.lower() for name in e.request_headers}
               for e in adapter.sent)
    transport.get("services.json")  # a scenario asking again is answered by its own request
    assert len(transport.exchanges) == 4
