"""Hand-made run records: report writers are tested on a record, with no run behind it."""

from __future__ import annotations

from typing import Any

from conformance.checklist import TARGET_CONDITIONS, ChecklistItem, State
from conformance.outcomes import CheckResult, Outcome
from conformance.record import Mode, RunRecord, Subject
from conformance.target import KeySource
from conformance.transport import Exchange, Stop, StopReason

KINDS = {"practice": "embedded simulator", "loopback": "loopback", "test-host": "known test host",
         "remote": "remote host"}


def result(name: str = "test_x", outcome: Outcome | str = Outcome.PASSED, message: str = "",
           requirement: str = "GR2-FMT-JSON-CONTENT-TYPE", exchanges: list[int] | None = None) -> CheckResult:
    return CheckResult(f"test_checks.py::{name}", f"title of {name}", [requirement], Outcome(outcome), 0.01,
                       message, exchanges=exchanges or [])


def exchange(seq: int, body: bytes = b"[]", **fields: Any) -> Exchange:
    values: dict[str, Any] = {"status": 200, "reason": "OK",
                              "response_headers": {"Content-Type": "application/json; charset=utf-8"}}
    values.update(fields)
    return Exchange(seq, "GET", f"http://test311api.cityofchicago.org/open311/v2/x{seq}.json", {}, None, 0.0,
                    response_body=body, **values)


def record(*, kind: str = "test-host", mode: Mode = Mode.FULL, results: tuple[CheckResult, ...] | None = None,
           states: dict[str, State] | None = None, stop: StopReason | None = None,
           exchanges: tuple[Exchange, ...] = (), kit_errors: tuple[str, ...] = (),
           app_name: str | None = "Pothole Pal", subject: Subject = Subject.TARGET) -> RunRecord:
    results = results if results is not None else (result(),)
    states = states or {}
    # a practice run's key is the simulator's, as the runner sets it
    key_source = None if mode is not Mode.FULL else KeySource.SIMULATOR if kind == "practice" else KeySource.GIVEN
    checklist = tuple(ChecklistItem(c.key, c.title_for(key_source), states.get(c.key, State.MET), (results[0].id,))
                      for c in TARGET_CONDITIONS)
    base = "http://127.0.0.1:8311/open311/v2" if kind in ("practice", "loopback") else \
        "http://test311api.cityofchicago.org/open311/v2"
    return RunRecord(
        run_id="20261129T000000Z-abcdef", subject=subject, started="2026-11-29T00:00:00.000Z",
        finished="2026-11-29T00:00:09.000Z",
        target={"base_url": base, "kind": KINDS[kind], "profile": "chicago",
                "api_key_given": key_source is KeySource.GIVEN},
        profile="chicago", mode=mode, practice=kind == "practice", results=results, checklist=checklist,
        exchanges=exchanges, requests_sent=len(exchanges), kit_version="0.1.0",
        contract={"openapi.yaml": "0" * 64, "schemas/chicago/services.json": "1" * 64},
        key_fingerprint="sha256:0123456789ab" if mode is Mode.FULL else None, app_name=app_name,
        stop=None if stop is None else Stop(stop, f"{stop} detail", 1795900000.0), kit_errors=kit_errors,
        key_source=key_source)
