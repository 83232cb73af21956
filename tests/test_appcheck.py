"""check-app's judges on hand-made recordings, the grading simulator's hard parts, the CLI's
usage errors: the fast tier. Flawed applications graded end to end are in test_appcheck_apps.py."""

from __future__ import annotations

import html as htmlib
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest

from conformance import cli, requirements, wire
from conformance.appcheck import judges, registry, session
from conformance.appcheck.bundle import to_record
from conformance.appcheck.conditions import CONDITIONS, app_checklist
from conformance.appcheck.grading import AppGrading
from conformance.appcheck.judges import Facts
from conformance.appcheck.launcher import AppRun, expand
from conformance.appcheck.recording import Kind, Recorder, Seen, redactor, route, to_exchanges
from conformance.checklist import ChecklistItem
from conformance.outcomes import verdict
from conformance.record import RunRecord
from conformance.report import html, summary
from conformance.simulator import data
from conformance.simulator.app import App
from conformance.simulator.store import Store

KEY = "0123456789abcdef0123456789abcdef"
GRAFFITI = "4fd3b167e750846744000005"
CASES = json.loads((Path(__file__).parent / "cases" / "apps.json").read_text())
PENDING_LIST = [{"status": "submitted", "service_code": GRAFFITI},
                {"service_request_id": "26-0", "status": "open", "service_code": GRAFFITI}]


class Script:
    """A recording built by hand: each step one exchange, ``at`` in seconds."""

    def __init__(self) -> None:
        self.recorder = Recorder()

    def add(self, at: float, method: str, target: str, status: int = 200, response: str = "[]",
            body: str = "", headers: list[tuple[str, str]] | None = None) -> Script:
        self.recorder.add(method, target, {}, body.encode(), status, headers or [], response.encode(),
                          1_700_000_000 + at, at, 0.01)
        return self

    @property
    def seen(self) -> list[Seen]:
        return self.recorder.snapshot()


def post_body(key: str | None = KEY, attribute: bool = True, code: str = GRAFFITI) -> str:
    fields = [f"service_code={code}", "lat=41.88", "long=-87.63"]
    fields += ["attribute%5BWHATTYP1%5D=BRICK"] if attribute else []
    fields += [f"api_key={key}"] if key else []
    return "&".join(fields)


def good_flow(script: Script | None = None, fmt: str = "json", start: float = 0.0,
              token: str = "T1", sr_id: str = "26-1") -> Script:
    def answer(payload: object, resource: str) -> str:
        return wire.encode(payload, fmt, resource).decode()

    s = script or Script()
    t = start
    s.add(t, "GET", f"/open311/v2/services.{fmt}")
    s.add(t + 0.1, "GET", f"/open311/v2/services/{GRAFFITI}.{fmt}")
    s.add(t + 0.2, "GET", f"/open311/v2/requests.{fmt}?page_size=100&updated_after=2026-01-01T00:00:00Z",
          response=answer(PENDING_LIST, "service-requests"))
    s.add(t + 0.3, "POST", f"/open311/v2/requests.{fmt}", body=post_body(),
          response=answer([{"token": token}], "post-response"))
    s.add(t + 0.4, "GET", f"/open311/v2/tokens/{token}.{fmt}", 503, headers=[("Retry-After", "1")])
    s.add(t + 1.45, "GET", f"/open311/v2/tokens/{token}.{fmt}", response=answer([{"token": token}], "token"))
    s.add(t + 2.5, "GET", f"/open311/v2/tokens/{token}.{fmt}",
          response=answer([{"token": token, "service_request_id": sr_id}], "token"))
    s.add(t + 2.6, "GET", f"/open311/v2/requests/{sr_id}.{fmt}",
          response=answer([{"service_request_id": sr_id}], "service-requests"))
    return s


def facts(**changes: object) -> Facts:
    base = dict(api_key=KEY, formats=("json",), services={s["service_code"]: s for s in data.services()},
                definitions=data.definitions())
    return Facts(**{**base, **changes})  # type: ignore[arg-type]


def outcomes_of(seen: list[Seen], **fact_changes: object) -> dict[str, str]:
    return {r.requirement_ids[0]: r.outcome for r in judges.judge_all(seen, facts(**fact_changes))}


def message_of(seen: list[Seen], requirement: str, **fact_changes: object) -> str:
    return next(r.message for r in judges.judge_all(seen, facts(**fact_changes))
                if requirement in r.requirement_ids)


# -- the whole flow ---------------------------------------------------------------------------
def test_a_good_flow_passes_every_check_but_the_exit_code():
    outcome = outcomes_of(good_flow().seen)
    assert outcome.pop("APP-EXIT") == "skipped"  # run by hand: nothing to judge
    assert outcome.pop("APP-KEY-SECRET") == "skipped"  # nor any of its output read
    assert outcome.pop("APP-TOKEN-PATIENCE") == "skipped"  # the id was not held: patience not tested
    assert set(outcome.values()) == {"passed"}
    assert verdict(judges.judge_all(good_flow().seen, facts())) == "pass"


def test_an_application_that_did_nothing_is_not_shown_never_passed():
    results = judges.judge_all([], facts(command=True, exit_code=0))
    passed = [r.requirement_ids for r in results if r.outcome == "passed"]
    assert passed == [["APP-EXIT"]]
    assert verdict(results) == "inconclusive"
    assert all(r.message.startswith("not shown: ") for r in results if r.outcome == "inconclusive")


# -- each judge fails on its own flaw ---------------------------------------------------------
def _replace(script: Script, index: int, **changes: object) -> list[Seen]:
    seen = script.seen
    old = seen[index]
    fields = dict(method=old.method, target=old.target, headers=old.headers, body=old.body, status=old.status,
                  response_headers=old.response_headers, response_body=old.response_body,
                  received=old.received, at=old.at, elapsed_s=old.elapsed_s)
    fields.update(changes)  # type: ignore[arg-type]
    seen[index] = Seen(old.seq, **fields)  # type: ignore[arg-type]
    return seen


Mutation = Callable[[], list[Seen]]
FLAWS: dict[str, tuple[Mutation, str, str]] = {
    "key in the URL": (lambda: _replace(good_flow(), 3, body=post_body(key=None).encode(),
                                        target=f"/open311/v2/requests.json?api_key={KEY}"),
                       "APP-KEY-POST", "in the URL"),
    "another key": (lambda: _replace(good_flow(), 3, body=post_body(key="x" * 32).encode()),
                    "APP-KEY-POST", "other than the test key"),
    "attribute missing": (lambda: _replace(good_flow(), 3, body=post_body(attribute=False).encode(),
                                           status=400, response_body=b'[{"code":400}]'),
                          "APP-WRITE", "WHATTYP1"),
    "unlisted service": (lambda: _replace(good_flow(), 3, body=post_body(code="nope").encode()),
                         "APP-WRITE", "not in the service list"),
    "polls too fast": (lambda: _replace(good_flow(), 5, at=0.9), "APP-POLL-INTERVAL", "0.500 s"),
    "polls after the id": (lambda: good_flow().add(3.6, "GET", "/open311/v2/tokens/T1.json").seen,
                           "APP-POLL-STOP", "after the id"),
    "never reads back": (lambda: good_flow().seen[:-1], "APP-READBACK", "never read back"),
    "stops before the id": (lambda: good_flow().seen[:5], "APP-TOKEN-POLL", "stopped before the id"),
    "never polls": (lambda: good_flow().seen[:4], "APP-TOKEN-POLL", "never polled"),
    "page_size 501": (lambda: _replace(good_flow(), 2, target="/open311/v2/requests.json?page_size=501"),
                      "APP-PAGE-SIZE", "page_size=501"),
    "a date without zone": (lambda: _replace(good_flow(), 2,
                                             target="/open311/v2/requests.json?start_date=2026-01-01T00:00:00"),
                            "APP-DATES-ZONE", "start_date"),
    "retry too soon": (lambda: _replace(good_flow(), 5, at=0.9), "APP-RETRY-AFTER", "asked to wait 1"),
    "no definition first": (lambda: [s for s in good_flow().seen if s.kind is not Kind.DEFINITION],
                            "APP-DEFINITION-FIRST", "without reading"),
    "a key on a GET": (lambda: _replace(good_flow(), 0, target=f"/open311/v2/services.json?api_key={KEY}"),
                       "APP-KEY-NOT-IN-GET", "carry api_key"),
}


@pytest.mark.parametrize("name", sorted(FLAWS))
def test_each_flaw_breaks_its_requirement(name):
    mutate, requirement, says = FLAWS[name]
    seen = mutate()
    level = requirements.load()[requirement].level
    assert outcomes_of(seen)[requirement] == ("failed" if level == "MUST" else "warning")
    assert says in message_of(seen, requirement)


@pytest.mark.parametrize("asked", ["requests/None.json", "requests/null.xml", "tokens/undefined.json",
                                   "requests/.json", "tokens/NaN.json", "requests/nil.json",
                                   "requests.json?service_request_id=", "requests.json?service_request_id=26-1,null"])
def test_asking_for_a_row_by_its_missing_id_fails(asked):
    seen = good_flow().add(3.0, "GET", f"/open311/v2/{asked}", 404).seen
    assert outcomes_of(seen)["APP-IGNORE-PENDING"] == "failed"


def test_reading_back_through_the_id_filter_counts():
    seen = _replace(good_flow(), 7, target="/open311/v2/requests.json?service_request_id=26-1")
    assert outcomes_of(seen)["APP-READBACK"] == "passed"


def test_page_size_500_and_dates_with_an_offset_pass():
    seen = _replace(good_flow(), 2, target="/open311/v2/requests.json?page_size=500&end_date=2026-01-01T00:00:00-05:00")
    assert outcomes_of(seen)["APP-PAGE-SIZE"] == outcomes_of(seen)["APP-DATES-ZONE"] == "passed"


def test_an_app_without_lists_or_dates_is_not_judged_on_them():
    seen = [s for s in good_flow().seen if s.kind is not Kind.LIST]
    outcome = outcomes_of(seen)
    assert outcome["APP-PAGE-SIZE"] == outcome["APP-DATES-ZONE"] == "skipped"
    assert outcome["APP-IGNORE-PENDING"] == "skipped"  # never listed: nothing to ignore
    assert "listed no requests" in message_of(seen, "APP-IGNORE-PENDING")


def test_a_list_without_rows_without_an_id_shows_nothing_about_ignoring_them():
    seen = _replace(good_flow(), 2, response_body=b'[{"service_request_id": "26-0", "status": "open"}]')
    assert outcomes_of(seen)["APP-IGNORE-PENDING"] == "inconclusive"


def test_a_format_claimed_but_not_used_for_the_whole_flow_fails():
    seen = good_flow().seen
    assert outcomes_of(seen, formats=("json", "xml"))["APP-FORMATS"] == "failed"
    mixed = _replace(good_flow(), 6, target="/open311/v2/tokens/T1.xml")  # id polled in XML
    assert outcomes_of(mixed)["APP-FORMATS"] == "inconclusive"
    both = good_flow(good_flow(), fmt="xml", start=5.0, token="T2", sr_id="26-2").seen
    assert outcomes_of(both, formats=("json", "xml"))["APP-FORMATS"] == "passed"


def test_bursts_over_ten_a_second_warn():
    script = good_flow()
    for i in range(11):
        script.add(10 + i * 0.05, "GET", "/open311/v2/services.json")
    assert outcomes_of(script.seen)["APP-NO-BURST"] == "warning"


@pytest.mark.parametrize(("changes", "outcome"), [
    ({"command": True, "exit_code": 0}, "passed"), ({"command": True, "exit_code": 2}, "failed"),
    ({"command": True, "exit_code": -15, "stopped_by_wait": True}, "failed"), ({}, "skipped")])
def test_the_exit_code(changes, outcome):
    assert outcomes_of(good_flow().seen, **changes)["APP-EXIT"] == outcome


def test_a_wait_that_ran_out_while_polling_is_not_shown_rather_than_failed():
    assert outcomes_of(good_flow().seen[:5], stopped_by_wait=True)["APP-TOKEN-POLL"] == "inconclusive"


def test_a_broken_judge_is_a_kit_error(monkeypatch):
    def broken(rec: registry.Recording, f: Facts) -> registry.Ruling:
        raise KeyError("oops")

    monkeypatch.setattr(registry, "CHECKS", {"broken": registry.AppCheck("broken", ("APP-WRITE",), "x", broken)})
    [result] = judges.judge_all(good_flow().seen, facts())
    assert result.outcome == "error" and "KeyError" in result.message


# -- the registry -------------------------------------------------------------------------------
def test_every_app_requirement_has_a_judge_and_every_judge_an_app_requirement():
    apps = {r.id for r in requirements.load().values() if r.subject == "application"}
    judged = {i for c in registry.CHECKS.values() for i in c.requirement_ids}
    assert apps == judged
    assert all(i.startswith("APP-") for i in judged)


def test_every_app_requirement_is_broken_by_a_flawed_app():
    broken = {i for case in CASES["cases"] for i in case["failed"] + case["warning"]}
    apps = {r.id for r in requirements.load().values() if r.subject == "application"}
    assert sorted(apps - broken) == []
    assert [c for c in CASES["cases"] if c["flaw"] is None] == [CASES["cases"][0]]


def test_a_check_must_name_app_requirements():
    with pytest.raises(ValueError, match="APP- requirements"):
        registry.check("GR2-FMT-PARITY", title="not an application's")


def test_app_requirements_use_the_application_checklist(tmp_path):
    assert tuple(c.key for c in CONDITIONS) == requirements.APP_CHECKLIST
    registry = requirements.load()
    assert all(r.checklist in requirements.APP_CHECKLIST for r in registry.values() if r.subject == "application")
    bad = tmp_path / "r.yaml"
    bad.write_text("requirements:\n  - {id: APP-X, level: MUST, source: s, statement: t, checklist: key}\n"
                   "  - {id: XYZ-1, level: MUST, source: s, statement: t}\n")
    with pytest.raises(requirements.RegistryError, match="not one of"):
        requirements.load(bad)


# -- recording and redaction ------------------------------------------------------------------
@pytest.mark.parametrize(("method", "target", "expected"), [
    ("GET", "/open311/v2/services.json", (Kind.SERVICES, None, "json")),
    ("GET", f"/open311/v2/services/{GRAFFITI}.xml", (Kind.DEFINITION, GRAFFITI, "xml")),
    ("GET", "/open311/v2/requests.json?page=2", (Kind.LIST, None, "json")),
    ("POST", "/open311/v2/requests.xml", (Kind.POST, None, "xml")),
    ("GET", "/open311/v2/requests/26-1.json", (Kind.REQUEST, "26-1", "json")),
    ("GET", "/open311/v2/requests/.json", (Kind.REQUEST, "", "json")),
    ("GET", "/open311/v2/tokens/abc", (Kind.TOKEN, "abc", None)),
    ("GET", "/open311/v2/tokens.json", (Kind.TOKEN, "", "json")),
    ("GET", "/open311/discovery.json", (Kind.DISCOVERY, None, None)),
    ("GET", "/elsewhere", (Kind.OTHER, None, None)),
])
def test_route(method, target, expected):
    found = route(method, target)
    assert (found.kind, found.arg, found.fmt) == expected


def test_exchanges_are_numbered_and_redacted():
    seen = _replace(good_flow(), 0, target=f"/open311/v2/services.json?api_key={KEY}",
                    headers={"X-Key": KEY}, response_body=f"echo {KEY}".encode())
    exchanges = to_exchanges(seen, "http://127.0.0.1:1/open311/v2", redactor(KEY))
    assert [e.seq for e in exchanges] == list(range(1, len(seen) + 1))
    text = repr(exchanges)
    assert KEY not in text and "[REDACTED]" in text
    assert exchanges[3].request_body and "[REDACTED]" in exchanges[3].request_body


def test_expand_replaces_only_the_two_placeholders():
    assert expand(["app", "--url={base_url}", "{api_key}", "{other}"], {"base_url": "U", "api_key": "K"}) == \
        ["app", "--url=U", "K", "{other}"]


# -- the simulator in grading mode --------------------------------------------------------------
@pytest.fixture
def grading_app():
    store = Store()
    yield App(store, delay=0.0, grading=True)
    store.close()


def test_grading_lists_hold_rows_without_an_id_but_id_filters_do_not(grading_app):
    listed = json.loads(grading_app.handle("GET", "/open311/v2/requests.json").body)
    assert sum(1 for r in listed if "service_request_id" not in r) == 3
    some_id = next(r["service_request_id"] for r in listed if "service_request_id" in r)
    filtered = json.loads(grading_app.handle("GET", f"/open311/v2/requests.json?service_request_id={some_id}").body)
    assert [r["service_request_id"] for r in filtered] == [some_id]


def _pages(app: App, query: str, page_size: int) -> list[list[dict]]:
    pages = []
    while True:
        page = json.loads(app.handle("GET", f"/open311/v2/requests.json?{query}&page_size={page_size}"
                                            f"&page={len(pages) + 1}").body)
        pages.append(page)
        if len(page) < page_size:
            return pages


@pytest.mark.parametrize("page_size", [5, 200])
def test_grading_pages_hold_their_pending_rows_within_page_size(grading_app, page_size):
    # a client that pages "while the page is full" must meet a server a real City could be
    pages = _pages(grading_app, "updated_after=2000-01-01T00:00:00Z", page_size)
    assert all(len(page) <= page_size for page in pages)
    rows = [row for page in pages for row in page]
    pending = [r["description"] for r in rows if "service_request_id" not in r]
    ids = [r["service_request_id"] for r in rows if "service_request_id" in r]
    assert len(pending) == 3 and len(set(pending)) == 3  # each once, on whichever page it falls
    assert len(ids) == len(set(ids))
    whole = json.loads(grading_app.handle("GET", "/open311/v2/requests.json?updated_after=2000-01-01T00:00:00Z"
                                                 "&page_size=500").body)
    assert len(rows) == len(whole)
    for marker in grading_app.pending_markers:
        assert sum(marker in r.get("description", "") and marker in r.get("address", "") for r in rows) == 1


def test_grading_pending_rows_only_in_windows_and_filters_that_include_them(grading_app):
    def pending_in(query: str) -> int:
        rows = json.loads(grading_app.handle("GET", f"/open311/v2/requests.json?{query}").body)
        return sum(1 for r in rows if "service_request_id" not in r)

    assert pending_in("start_date=2020-01-01T00:00:00Z&end_date=2020-01-31T23:59:59Z") == 0
    assert pending_in("end_date=" + data.w3c(int(time.time()) - 86400)) == 0
    assert pending_in("start_date=" + data.w3c(int(time.time()) - 3600)) == 3
    assert pending_in("status=open") == 0  # they are submitted, neither open nor closed
    assert pending_in("service_code=4fd3b9bce750846c5300004a") == 1


def test_pending_markers_are_of_one_grading_and_leave_with_grading_mode():
    store, other_store = Store(), Store()
    try:
        one, other = App(store, grading=True), App(other_store, grading=True)
        assert len(set(one.pending_markers) | set(other.pending_markers)) == 6
        one.grading = False
        listed = json.loads(one.handle("GET", "/open311/v2/requests.json?page_size=500").body)
        assert all("service_request_id" in r for r in listed) and one.pending_markers == ()
    finally:
        store.close()
        other_store.close()


def test_grading_answers_a_tokens_first_poll_503_with_retry_after(grading_app):
    key = grading_app.store.default_key
    answer = grading_app.handle("POST", "/open311/v2/requests.json", {},
                                post_body(key).encode())
    token = json.loads(answer.body)[0]["token"]
    first = grading_app.handle("GET", f"/open311/v2/tokens/{token}.xml")
    assert first.status == 503 and ("Retry-After", "3") in first.headers
    assert first.content_type.startswith("text/xml")
    second = grading_app.handle("GET", f"/open311/v2/tokens/{token}.json")
    assert second.status == 200 and json.loads(second.body)[0]["service_request_id"]


def test_the_recorder_hears_every_exchange_and_faults_switch_at_runtime(grading_app):
    heard: list[tuple[str, int]] = []
    grading_app.recorder = lambda method, target, headers, body, answer, *_: heard.append((target, answer.status))
    grading_app.set_faults({"services-status-203"})
    grading_app.handle("GET", "/open311/v2/services.json")
    grading_app.set_faults(())
    grading_app.handle("GET", "/open311/v2/services.json")
    assert heard == [("/open311/v2/services.json", 203), ("/open311/v2/services.json", 200)]
    with pytest.raises(ValueError, match="unknown fault"):
        grading_app.set_faults({"no-such-fault"})


# -- usage errors -------------------------------------------------------------------------------
@pytest.mark.parametrize(("argv", "says"), [
    (["--formats", "csv"], "--formats"), (["--wait", "0"], "--wait"), (["--simulator-delay", "-1"], "delay"),
    (["--port", "70000"], "--port"), (["--proxy", "ftp://x"], "http(s) URL"),
    (["--proxy", "http://127.0.0.1:9/open311/v2"], "OPEN311_API_KEY"),
    (["--app-tz", "Mars/Olympus_Mons"], "--app-tz"),
    (["--quick", "--token-wait", "5"], "contradict"), (["--token-wait", "0"], "--token-wait"),
    (["--insecure"], "only with --proxy"), (["--http-proxy", "http://127.0.0.1:3128"], "only with --proxy"),
    (["--ca-bundle", "/no/such.pem"], "--ca-bundle"),
])
def test_usage_errors_exit_2_with_a_message(argv, says, capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("OPEN311_API_KEY", raising=False)
    assert cli.main(["check-app", "--report-dir", str(tmp_path / "r"), *argv]) == 2
    err = capsys.readouterr().err
    assert says in err and "Traceback" not in err
    assert not (tmp_path / "r").exists()


def test_a_command_that_does_not_exist_is_a_usage_error(capsys, tmp_path):
    code = cli.main(["check-app", "--report-dir", str(tmp_path / "r"), "--", str(tmp_path / "no-such-app")])
    captured = capsys.readouterr()
    assert code == 2
    assert "cannot start" in captured.err and "Traceback" not in captured.err
    assert not (tmp_path / "r").exists()


def test_a_report_directory_is_never_overwritten(capsys, tmp_path):
    (tmp_path / "summary.json").write_text("{}")
    assert cli.main(["check-app", "--report-dir", str(tmp_path), "--", "true"]) == 2
    assert "already holds a run's report" in capsys.readouterr().err


def test_a_post_answered_2xx_without_token_or_id_shows_no_write():
    # the server's empty answer leaves the write unproven: not shown, never met (nor the app's failure)
    seen = _replace(good_flow(), 3, response_body=b"[]")
    results = {r.requirement_ids[0]: r for r in judges.judge_all(seen, facts())}
    assert results["APP-WRITE"].outcome == "inconclusive"
    assert "neither a token nor a service_request_id" in results["APP-WRITE"].message
    assert outcomes_of(good_flow().seen)["APP-WRITE"] == "passed"


def test_an_application_that_ended_without_a_post_fails_the_write():
    reads = [s for s in good_flow().seen if s.kind in (Kind.SERVICES, Kind.DEFINITION, Kind.LIST)]
    assert outcomes_of(reads, command=True, exit_code=0, finished=True)["APP-WRITE"] == "failed"
    assert "ended without writing" in message_of(reads, "APP-WRITE", command=True, exit_code=0, finished=True)
    assert message_of([], "APP-WRITE", command=True, exit_code=1, finished=True).startswith(
        "the application exited before writing (status 1")
    # still running (a developer's test) or stopped by --wait: it may yet have written
    assert outcomes_of(reads)["APP-WRITE"] == "inconclusive"
    assert outcomes_of(reads, command=True, stopped_by_wait=True)["APP-WRITE"] == "inconclusive"


def test_a_read_only_application_is_not_judged_on_writing_and_can_pass():
    reads = [s for s in good_flow().seen if s.kind in (Kind.SERVICES, Kind.DEFINITION, Kind.LIST)]
    reads = reads + Script().add(3.0, "GET", "/open311/v2/requests/26-0.json",
                                 response='[{"service_request_id": "26-0"}]').seen
    results = judges.judge_all(reads, facts(read_only=True, finished=True))
    skipped = sorted(r.requirement_ids[0] for r in results if r.outcome == "skipped")
    assert {"APP-WRITE", "APP-KEY-POST", "APP-TOKEN-POLL", "APP-READBACK", "APP-FORMATS"} <= set(skipped)
    assert verdict(results) == "pass"
    assert outcomes_of(good_flow().seen, read_only=True)["APP-WRITE"] == "failed"  # it wrote after all


# -- dates in the application's zone ------------------------------------------------------------
CHICAGO = "America/Chicago"
RUN = 1_700_000_000  # 2023-11-14T22:13:20Z; Chicago is at UTC-6 then


@pytest.mark.parametrize(("value", "says"), [
    ("2023-11-14T16:13:20Z", "America/Chicago wall-clock time labelled Z it is 2023-11-14T22:13:20Z"),
    ("2023-11-14T16:13:20+00:00", "labelled Z"),
    ("2023-11-14T22:13:20-06:00", "UTC wall-clock time labelled with America/Chicago's offset"),
    ("2023-11-14T22:13:20Z", None),  # the run's moment, rightly labelled
    ("2023-11-14T16:13:20-06:00", None),  # local time with the local offset: right
    ("2023-10-15T16:13:20Z", None),  # 30 days back: no moment of the run either way
])
def test_a_date_off_by_the_apps_utc_offset_is_told(value, says):
    from conformance.appcheck.flows import zone_mistake

    said = zone_mistake("updated_before", value, RUN + 5, RUN, CHICAGO)
    assert (said is None) if says is None else (says in said and value in said)
    assert zone_mistake("updated_before", value, RUN + 5, RUN, "UTC") is None


def test_local_time_labelled_z_warns_app_dates_zone_quoting_both_readings():
    seen = _replace(good_flow(), 2, target="/open311/v2/requests.json?updated_before=2023-11-14T16:13:21Z",
                    received=RUN + 1)
    seen = [Seen(s.seq, s.method, s.target, s.headers, s.body, s.status, s.response_headers, s.response_body,
                 RUN + s.at, s.at) for s in seen]
    assert outcomes_of(seen, app_tz=CHICAGO)["APP-DATES-ZONE"] == "warning"  # a MUST, but it could be chance
    said = message_of(seen, "APP-DATES-ZONE", app_tz=CHICAGO)
    assert "reads as 2023-11-14T16:13:21Z" in said and "it is 2023-11-14T22:13:21Z" in said
    assert outcomes_of(seen)["APP-DATES-ZONE"] == "passed"  # the zone unknown: nothing to compare


# -- documented paths -----------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "target", "says"), [
    ("GET", f"/open311/v2/service/{GRAFFITI}.json",
     f"a singular; the documented operation is /open311/v2/services/{GRAFFITI}.json"),
    ("GET", f"/open311/v2/services/{GRAFFITI}",
     f"no format; the documented operation is /open311/v2/services/{GRAFFITI}.json"),
    ("GET", "/open311/v2/request/26-1.xml", "the documented operation is /open311/v2/requests/26-1.xml"),
    ("GET", "/open311/v2/requests.csv", "format 'csv'"),
    ("GET", "/open311/v2/tokens.json", "no operation of the API"),
    ("GET", "/open311/v3/services.json", "outside /open311/v2/"),
    ("POST", "/open311/v2/services.json", "the one write is POST requests.json"),
    ("GET", "/open311/v2/requests.json?page_size=5", None),
    ("POST", "/open311/v2/requests.xml", None),
    ("GET", "/open311/v2/tokens/T1.json", None),
    ("GET", "/open311/discovery.json", None),
    ("OPTIONS", "/open311/v2/requests.json", None),
])
def test_a_request_to_an_undocumented_path_names_the_documented_one(method, target, says):
    seen = good_flow().add(4.0, method, target, status=404 if says else 200).seen
    assert outcomes_of(seen)["APP-PATHS"] == ("failed" if says else "passed")
    if says:
        assert says in message_of(seen, "APP-PATHS")


# -- patience and writing once ---------------------------------------------------------------------
def test_patience_is_judged_on_the_first_token_held_by_the_grading():
    seen = good_flow().seen
    assert outcomes_of(seen, patience_s=2.0)["APP-TOKEN-PATIENCE"] == "passed"
    assert "held it 2 s" in message_of(seen, "APP-TOKEN-PATIENCE", patience_s=2.0)
    gave_up = good_flow().seen[:6]  # two polls, then nothing
    assert outcomes_of(gave_up, patience_s=30.0, finished=True)["APP-TOKEN-PATIENCE"] == "failed"
    assert "gave up on token T1 after 1.1 s (2 poll(s))" in message_of(gave_up, "APP-TOKEN-PATIENCE",
                                                                         patience_s=30.0)
    assert outcomes_of(gave_up, patience_s=30.0, stopped_by_wait=True)["APP-TOKEN-PATIENCE"] == "inconclusive"
    assert "not tested" in message_of(seen, "APP-TOKEN-PATIENCE")


def test_the_same_report_posted_again_after_a_token_fails_but_a_retry_after_a_refusal_does_not():
    again = good_flow().add(3.0, "POST", "/open311/v2/requests.json", body=post_body(),
                            response='[{"token": "T2"}]').seen
    assert outcomes_of(again)["APP-WRITE-ONCE"] == "failed"
    assert "POST #9 sent the same report again after #4" in message_of(again, "APP-WRITE-ONCE")
    other = good_flow().add(3.0, "POST", "/open311/v2/requests.json", body=post_body() + "&description=another",
                            response='[{"token": "T2"}]').seen
    assert outcomes_of(other)["APP-WRITE-ONCE"] == "passed"
    other_format = good_flow().add(3.0, "POST", "/open311/v2/requests.xml", body=post_body()).seen
    assert outcomes_of(other_format)["APP-WRITE-ONCE"] == "passed"  # each claimed format writes once
    refused_first = Script().add(0, "POST", "/open311/v2/requests.json", 503, body=post_body())
    retried = good_flow(refused_first, start=1.0).seen
    assert outcomes_of(retried)["APP-WRITE-ONCE"] == "passed"


# -- a report that explains -----------------------------------------------------------------------
def test_a_refused_post_shows_the_servers_reason():
    store = Store()
    try:
        app = App(store, delay=0.0, grading=True)
        refused = app.handle("POST", "/open311/v2/requests.json", {},
                             post_body(store.default_key, attribute=False).encode())
    finally:
        store.close()
    seen = _replace(good_flow(), 3, body=post_body(attribute=False).encode(), status=refused.status,
                    response_body=refused.body)
    said = message_of(seen[:4], "APP-WRITE", command=True, exit_code=1, finished=True)
    assert f"answered {refused.status}: '" in said and "WHATTYP1" in said.split("answered", 1)[1]


def test_a_failed_exit_quotes_the_end_of_stderr():
    tail = tuple(f"line {i}" for i in range(20))
    said = message_of([], "APP-EXIT", command=True, exit_code=1, finished=True, stderr_tail=tail)
    assert said.startswith("the application exited with status 1; the last 20 line(s) of its stderr:")
    assert said.endswith("line 0\nline 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\n"
                         "line 10\nline 11\nline 12\nline 13\nline 14\nline 15\nline 16\nline 17\nline 18\nline 19")


def test_app_no_burst_cites_the_burst():
    s = Script()
    for i in range(12):
        s.add(5 + i * 0.05, "GET", "/open311/v2/services.json")
    burst = next(r for r in judges.judge_all(good_flow(s, start=10).seen, facts())
                 if r.requirement_ids == ["APP-NO-BURST"])
    assert burst.outcome == "warning" and burst.exchanges == list(range(1, 13)) and "#1 to #12" in burst.message


def test_grading_answers_a_browsers_preflight_and_allows_any_origin(grading_app):
    preflight = grading_app.handle("OPTIONS", "/open311/v2/requests.json",
                                   {"Origin": "http://app.example", "Access-Control-Request-Method": "POST",
                                    "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 204
    assert ("Access-Control-Allow-Headers", "content-type") in preflight.headers
    assert ("Access-Control-Allow-Origin", "*") in grading_app.handle("GET", "/open311/v2/services.json").headers
    plain = App(grading_app.store, delay=0.0)  # outside grading mode nothing changes
    headers = plain.handle("GET", "/open311/v2/services.json").headers
    assert not any(k == "Access-Control-Allow-Origin" for k, _ in headers)


def test_a_page_beside_the_api_is_answered_but_never_recorded(grading_app):
    from conformance.appcheck.livepage import LivePage, render

    heard: list[str] = []
    grading_app.recorder = lambda method, target, *_: heard.append(target)
    recorder = Recorder()
    recorder.add("GET", f"/open311/v2/services.json?api_key={KEY}", {}, b"", 200, [], b"[]", 0.0, 0.0)
    page = LivePage(recorder, facts, deadline=time.monotonic() + 60, api_key=KEY)
    grading_app.pages["/check-app"] = page.html_reply
    answer = grading_app.handle("GET", "/check-app")
    assert answer.status == 200 and heard == []
    body = answer.body.decode()
    assert 'data-requirement="APP-KEY-NOT-IN-GET"' in body and 'data-state="not met"' in body
    assert KEY not in body and "[REDACTED]" in body
    assert "<noscript><meta http-equiv=\"refresh\"" in render(page.state())


def test_app_exit_is_judged_first():
    assert next(iter(registry.CHECKS.values())).requirement_ids == ("APP-EXIT",)


# -- what every artifact says: the record a grading ends in -----------------------------------------
def graded(seen: list[Seen], *, app: AppRun | None = None, **fact_changes: object) -> RunRecord:
    """The record check-app writes its bundle from, for a hand-made recording."""
    results = tuple(judges.judge_all(seen, facts(**fact_changes)))
    grading = AppGrading(
        app_name="Pothole Pal", mode="simulator", base_url="http://127.0.0.1:8311/open311/v2", upstream=None,
        formats=("json",), key_fingerprint="sha256:0123456789ab", started="2026-11-29T00:00:00.000Z",
        finished="2026-11-29T00:00:09.000Z", app=app, results=results,
        exchanges=tuple(to_exchanges(seen, "http://127.0.0.1:8311/open311/v2", redactor(KEY))),
        checklist=app_checklist(results))
    return to_record(grading, "20261129T000000Z-abcdef")


def first_screen(record: RunRecord) -> str:
    """report.html's verdict section as its reader sees it: text, entities decoded."""
    page = html.report_page(record)
    return htmlib.unescape(page[page.index('<section id="verdict"'):page.index('<section id="results">')])


def console(record: RunRecord) -> list[str]:
    said: list[str] = []
    session._print_end(record, Path("report"), said.append)
    return said


def condition(record: RunRecord, key: str) -> ChecklistItem:
    return next(item for item in record.checklist if item.key == key)


def test_a_met_condition_with_a_warning_is_said_so_by_every_artifact():
    seen = _replace(good_flow(), 0, target=f"/open311/v2/services.json?api_key={KEY}")
    record = graded(seen)
    item = condition(record, "app-key")
    assert (item.state, item.warnings) == ("met", ("APP-KEY-NOT-IN-GET",))
    said = "met, with warnings (APP-KEY-NOT-IN-GET)"
    assert item.said == said
    [written] = [c for c in summary.build(record, files=[])["checklist"] if c["key"] == "app-key"]
    assert (written["state"], written["said"], written["warnings"]) == ("met", said, ["APP-KEY-NOT-IN-GET"])
    assert summary.problems(summary.build(record, files=[])) == []
    screen = first_screen(record)
    assert said in screen
    assert any(line.startswith("  [x] The application sends the test key") and line.endswith(f": {said}")
               for line in console(record))
    # the warning itself, its message whole, on the first screen: a grading's warnings are few
    warnings = screen.split('id="warnings"')[1].split("</ol>")[0]
    assert "APP-KEY-NOT-IN-GET" in warnings and "carry api_key in the URL" in warnings
    # a condition without a warning stays a plain met
    assert condition(record, "app-pending").said == "met"


STDERR = tuple(f"  File \"app.py\", line {i}, in step{i}" for i in range(19)) + (
    "RuntimeError: cannot build the request body: no service chosen",)


def test_an_app_that_exited_before_writing_explains_itself_on_the_first_screen():
    run = AppRun("./app", 1, STDERR, 0.4, False, STDERR)
    record = graded([], app=run, command=True, exit_code=1, finished=True, stderr_tail=STDERR)
    failed = [r for r in record.results if r.outcome == "failed"]
    assert failed[0].requirement_ids == ["APP-EXIT"]  # first: it explains everything after it
    screen = first_screen(record)
    quoted = screen.split('id="failed"')[1].split("</li>")[0]
    assert "the application exited with status 1" in quoted
    assert all(line in quoted for line in STDERR)  # all 20 lines, none cut
    write = condition(record, "app-write")
    assert write.state == "not met" and write.reason.startswith("the application exited before writing")
    assert write.reason in screen
    assert any("writes a service request" in line and "the application exited before writing" in line
               for line in console(record))
    [written] = [c for c in summary.build(record, files=[])["checklist"] if c["key"] == "app-write"]
    assert written["reason"] == write.reason


def test_an_app_that_exited_0_without_posting_ended_without_writing():
    reads = [s for s in good_flow().seen if s.kind in (Kind.SERVICES, Kind.DEFINITION, Kind.LIST)]
    record = graded(reads, app=AppRun("./app", 0, (), 0.4, False), command=True, exit_code=0, finished=True)
    write = condition(record, "app-write")
    assert write.state == "not met" and write.reason.startswith("the application ended without writing")
    assert write.reason in first_screen(record)


def _refusal(attribute: str, value: str) -> tuple[int, bytes, str]:
    """What the grading simulator answers a POST with a bad attribute: status, body, its text."""
    store = Store()
    try:
        app = App(store, delay=0.0, grading=True)
        body = post_body(store.default_key) + f"&attribute%5B{attribute}%5D={value}"
        refused = app.handle("POST", "/open311/v2/requests.json", {}, body.encode())
    finally:
        store.close()
    text = json.loads(refused.body)[0]["description"]
    return refused.status, refused.body, text


def test_a_refused_post_shows_the_servers_text_in_report_html():
    status, body, text = _refusal("WHATTYP1", "NOT-A-KEY")
    assert status == 400 and "WHATTYP1" in text
    refused_then_written = Script().add(0, "POST", "/open311/v2/requests.json", status, body=post_body(),
                                        response=body.decode())
    record = graded(good_flow(refused_then_written, start=1.0).seen)
    write = next(r for r in record.results if r.requirement_ids == ["APP-WRITE"])
    assert write.outcome == "passed" and f"#1 was answered 400: {text!r}" in write.message
    assert 1 in write.exchanges
    assert text in htmlib.unescape(html.report_page(record))
    only_refused = Script().add(0, "POST", "/open311/v2/requests.json", status, body=post_body(),
                                response=body.decode()).seen
    record = graded(only_refused, command=True, exit_code=0, finished=True)
    assert text in first_screen(record)  # the failed write, with the server's reason, up front
    # a server that echoes what it was sent: its text is quoted with the key redacted
    echoed = json.dumps([{"code": 400, "description": f"bad request: api_key={KEY}"}])
    for seen in (Script().add(0, "POST", "/open311/v2/requests.json", 400, body=post_body(), response=echoed).seen,
                 good_flow(Script().add(0, "POST", "/open311/v2/requests.json", 400, body=post_body(),
                                        response=echoed), start=1.0).seen):
        said = message_of(seen, "APP-WRITE", command=True, exit_code=0, finished=True)
        assert "bad request: api_key=[REDACTED]" in said and KEY not in said


# the four dates an app sends: a window in a list, a change date when reading one request back, and
# a date in a field the kit does not know as one; each is judged, wherever it is sent
DATES = [("start_date", "2026-11-01T00:00:00Z"), ("end_date", "2026-11-02T00:00:00Z"),
         ("updated_after", "2026-11-01T06:00:00-06:00"), ("attribute[SEENAT]", "2026-11-01T12:00:00+00:00")]
CARRIED_BY = [9, 9, 10, 11]  # the exchange each date is in


def _dated(naive: int | None = None) -> list[Seen]:
    """The good flow, then the four dates; ``naive``: that one sent without its zone."""
    values = [quote(value[:19] if i == naive else value, safe="") for i, (_, value) in enumerate(DATES)]
    script = good_flow()
    script.add(3.0, "GET", f"/open311/v2/requests.json?{DATES[0][0]}={values[0]}&{DATES[1][0]}={values[1]}")
    script.add(3.5, "GET", f"/open311/v2/requests/26-1.json?{DATES[2][0]}={values[2]}")
    script.add(4.0, "POST", "/open311/v2/requests.json", 400,
               body=post_body() + f"&attribute%5BSEENAT%5D={values[3]}&description=x")
    return script.seen


def test_every_date_the_app_sent_is_judged_and_cited():
    seen = _dated()
    dates = next(r for r in judges.judge_all(seen, facts()) if r.requirement_ids == ["APP-DATES-ZONE"])
    assert dates.outcome == "passed"
    assert all(f"{name}={value}" in dates.message for name, value in DATES), dates.message
    assert dates.exchanges == [3, 9, 10, 11]  # the list of the good flow carries updated_after too
    for naive in range(len(DATES)):
        broken = next(r for r in judges.judge_all(_dated(naive), facts())
                      if r.requirement_ids == ["APP-DATES-ZONE"])
        # a zone missing where the API documents a date fails; in a field it does not, the text may
        # only look like a date, so it warns
        expected = "warning" if DATES[naive][0] == "attribute[SEENAT]" else "failed"
        assert broken.outcome == expected and DATES[naive][0] in broken.message, (naive, broken.message)
        assert broken.exchanges == [CARRIED_BY[naive]]


EXCHANGE_FREE = {"APP-EXIT", "APP-KEY-SECRET"}  # judged on the process and its output, not on requests


def test_every_judged_check_cites_the_exchanges_it_judged():
    results = judges.judge_all(good_flow().seen, facts(patience_s=2.0))
    judged = [r for r in results if r.outcome in ("passed", "failed", "warning")]
    assert len(judged) == len(results) - len(EXCHANGE_FREE)  # all but those two judged here
    assert [r.requirement_ids for r in judged if not r.exchanges and r.requirement_ids[0] not in EXCHANGE_FREE] == []
    for name, (mutate, requirement, _says) in FLAWS.items():
        broken = next(r for r in judges.judge_all(mutate(), facts()) if requirement in r.requirement_ids)
        assert broken.exchanges, name


def test_app_no_burst_cites_every_request_of_its_burst_not_only_the_busiest_second():
    s = Script()
    for i in range(15):  # 15 requests over 1.12 s: 13 in the busiest second, all 15 in seconds over 10
        s.add(5 + i * 0.08, "GET", "/open311/v2/services.json")
    burst = next(r for r in judges.judge_all(good_flow(s, start=10).seen, facts())
                 if r.requirement_ids == ["APP-NO-BURST"])
    assert burst.outcome == "warning" and "up to 13 requests within one second" in burst.message
    assert burst.exchanges == list(range(1, 16)) and "15 request(s) in seconds over the limit" in burst.message


def test_the_environment_table_says_its_values_in_words():
    hand_run = graded(good_flow().seen)
    stopped = graded(good_flow().seen, app=AppRun("./app --x", None, ("out",), 60.0, True, ("err",)),
                     command=True, stopped_by_wait=True)
    for record in (hand_run, stopped):
        page = html.report_page(record)
        table = htmlib.unescape(page[page.index('<section id="environment">'):])
        cells = re.findall(r"<td>(.*?)</td>", table, re.S)
        assert not [c for c in cells if re.search(r"\b(None|True|False)\b|^\[", c)], cells
    table = html.report_page(stopped).split('<section id="environment">')[1]
    assert "<th>Application stopped by wait</th><td>yes</td>" in table
    assert "<th>Application exit code</th><td>none</td>" in table
    assert "<th>Application duration</th><td>60 s</td>" in table
    assert "<th>Application command</th><td>none</td>" in html.report_page(hand_run)


def test_every_variable_check_app_sets_for_the_app_is_in_the_readme():
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    grading = readme.split("## Grade your application")[1].split("\n## ")[0]
    names = session.app_environment("http://127.0.0.1:1/open311/v2", KEY, session.AppCheckSettings())
    assert {"OPEN311_FORMATS", "TZ"} <= set(names)
    assert [n for n in names if f"`{n}`" not in grading] == []
