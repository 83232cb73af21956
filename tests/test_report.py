"""The artifacts of a run: report.html, summary.json (against its schema), evidence.har, junit.xml."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import pytest

import conformance.report as report_pkg
from conformance.outcomes import CheckResult
from conformance.report import html as html_report
from conformance.report import render, summary
from conformance.report.checklist import CONDITIONS
from conformance.runner import RunResult, run_simulator
from conformance.transport import Exchange

pytestmark = pytest.mark.integration

HOSTILE = b"<script>alert(1)</script>"


@dataclass(slots=True)
class Captured:
    result: RunResult
    context: Any

    @property
    def dir(self) -> Path:
        return self.result.report_dir


def _run(tmp: Path, faults: tuple[str, ...] = (), hostile: bool = False) -> Captured:
    """A real run, keeping its context (the key, the exchanges) for the assertions."""
    seen: dict[str, Any] = {}
    original = report_pkg.write_reports
    original_view = html_report.build_view

    def capture(result: RunResult, context: Any) -> None:
        seen["context"] = context
        original(result, context)

    def poisoned_view(context: Any, *args: Any) -> render.View:
        # what a hostile server could answer, planted in the evidence before it is rendered
        first = context.transport.exchanges[-1]
        if HOSTILE not in first.response_body:
            first.response_body += HOSTILE
            first.label = "<b>label</b>"
        return original_view(context, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(report_pkg, "write_reports", capture)
        if hostile:
            patch.setattr(html_report, "build_view", poisoned_view)
        result = run_simulator(faults, report_dir=tmp)
    return Captured(result, seen["context"])


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    return _run(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def failing(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    return _run(tmp_path_factory.mktemp("parity"), ("xml-parity-drift",), hostile=True)


class _Static(HTMLParser):
    """Text, ids and in-page links of a page as a browser without JavaScript sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self._hidden = 0  # inside <script> or <template>: not shown without a script

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "template"):
            self._hidden += 1
            return
        if self._hidden:
            return
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        href = values.get("href") or ""
        if tag == "a" and href.startswith("#"):
            self.links.append(href[1:])

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "template"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.text.append(data)


def _static(path: Path) -> _Static:
    parser = _Static()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# --- summary.json ---------------------------------------------------------------------------

@pytest.mark.parametrize("run", ["clean", "failing"])
def test_summary_validates_against_its_schema(run: str, request: pytest.FixtureRequest) -> None:
    captured: Captured = request.getfixturevalue(run)
    data = json.loads((captured.dir / "summary.json").read_text(encoding="utf-8"))
    assert summary.problems(data) == []
    assert data["verdict"] == captured.result.verdict == ("pass" if run == "clean" else "fail")


def test_schema_rejects_a_broken_summary(clean: Captured) -> None:
    data = json.loads((clean.dir / "summary.json").read_text(encoding="utf-8"))
    data["verdict"] = "maybe"
    del data["checks"][0]["outcome"]
    found = summary.problems(data)
    assert any(p.startswith("/verdict") for p in found)
    assert any(p.startswith("/checks/0") and "outcome" in p for p in found)


def test_summary_records_token_timeline_and_catalogue(clean: Captured) -> None:
    data = json.loads((clean.dir / "summary.json").read_text(encoding="utf-8"))
    write = data["write"]
    assert write["state"] == "written" and write["service_request_id"]
    assert write["polls"] and write["polls"][-1]["service_request_id"] == write["service_request_id"]
    assert data["token_resolution_s"] == write["polls"][-1]["at_s"] > 0
    # every poll is linked to the exchange that carried it
    seqs = [p["exchange"] for p in write["polls"]]
    assert None not in seqs
    har = json.loads((clean.dir / "evidence.har").read_text(encoding="utf-8"))
    by_seq = {e["_seq"]: e for e in har["log"]["entries"]}
    assert all(f"/tokens/{write['token']}." in by_seq[s]["request"]["url"] for s in seqs)
    services = data["catalogue"]["services"]
    assert len(services) == 14
    assert all(s["attributes"] is not None for s in services if s["metadata"] is True)
    assert data["api_key_fingerprint"] == clean.context.transport.key_fingerprint
    assert set(data["report_files"]) == {"report.html", "junit.xml", "summary.json", "evidence.har"}


def test_report_sent_no_request(clean: Captured) -> None:
    # the catalogue comes from the recorded answers, never from asking again
    assert clean.context.transport.requests_sent == clean.result.requests_sent


# --- report.html ----------------------------------------------------------------------------

@pytest.mark.parametrize("run", ["clean", "failing"])
def test_verdict_and_checklist_in_static_html(run: str, request: pytest.FixtureRequest) -> None:
    captured: Captured = request.getfixturevalue(run)
    page = _static(captured.dir / "report.html")
    text = " ".join(" ".join(page.text).split())
    assert f"Verdict: {captured.result.verdict.upper()}" in text
    for _key, title in CONDITIONS:
        assert title in text
    # and it comes first: before pytest-html's own table and before the evidence
    assert text.index("Verdict:") < text.index("Evidence for each condition") < text.index("Results by requirement")
    assert captured.context.run_id in text
    assert captured.context.transport.key_fingerprint in text


@pytest.mark.parametrize("run", ["clean", "failing"])
def test_every_in_page_link_has_its_anchor(run: str, request: pytest.FixtureRequest) -> None:
    captured: Captured = request.getfixturevalue(run)
    page = _static(captured.dir / "report.html")
    assert {f"cond-{key}" for key, _ in CONDITIONS} <= set(page.links)
    assert "write-flow" in page.links
    assert sorted(set(page.links) - page.ids) == []
    for result in captured.result.results:
        assert render.anchor(result.id) in page.ids


def test_failed_check_linked_from_the_first_screen(failing: Captured) -> None:
    text = (failing.dir / "report.html").read_text(encoding="utf-8")
    first_screen = text[text.index(render.START):text.index(render.END)]
    failed = [r for r in failing.result.results if r.outcome == "failed"]
    assert failed
    for r in failed:
        assert f'href="#{render.anchor(r.id)}"' in first_screen
    assert "GR2-FMT-PARITY" in first_screen and "NOT MET" in first_screen


def test_server_text_is_escaped(failing: Captured) -> None:
    text = (failing.dir / "report.html").read_text(encoding="utf-8")
    assert HOSTILE.decode() not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>label</b>" not in text
    # the failure message quotes the server's names; quotes come out as entities
    assert "Pothole in Street (XML)" in text


def test_key_reaches_no_artifact(clean: Captured) -> None:
    key = clean.context.transport.api_key
    assert key
    for path in clean.dir.iterdir():
        assert key not in path.read_text(encoding="utf-8"), path.name


def test_results_table_shows_our_outcome_and_requirements(clean: Captured) -> None:
    text = (clean.dir / "report.html").read_text(encoding="utf-8")
    for header in ("Outcome", "Level", "Requirements"):
        assert f'data-column-type="{header.lower()}">{header}</th>' in text
    # rows and their extras live in pytest-html's data blob
    assert "col-outcome" in text and "o3-extra" in text


def test_finalize_puts_the_runner_verdict_in(clean: Captured, tmp_path: Path) -> None:
    copy = tmp_path / "report.html"
    shutil.copy(clean.dir / "report.html", copy)
    late = replace(clean.result, verdict="inconclusive", kit_errors=["pytest ended early"])
    html_report.finalize(copy, late, clean.context)
    text = copy.read_text(encoding="utf-8")
    assert text.count(render.START) == text.count(render.END) == 1
    assert "Verdict: <span class=\"o3-v\">INCONCLUSIVE</span>" in text
    assert "pytest ended early" in text
    assert "results-table" in text  # pytest-html's part is untouched


def test_finalize_writes_a_page_when_pytest_html_did_not(clean: Captured, tmp_path: Path) -> None:
    path = tmp_path / "report.html"
    html_report.finalize(path, clean.result, clean.context)
    page = _static(path)
    assert "Verdict: PASS" in " ".join(" ".join(page.text).split())
    assert sorted(set(page.links) - page.ids) == []


def test_render_escapes_everything_from_the_server() -> None:
    exchange = Exchange(1, "GET", "http://127.0.0.1/x.json?<q>", {"X-Evil": "<i>h</i>"}, None, 0.0,
                        label="<u>label</u>", status=500, reason="<em>reason</em>",
                        response_headers={"Content-Type": "text/html"}, response_body=HOSTILE + b"\xff\xfe",
                        error="<img src=x onerror=alert(1)>")
    result = CheckResult("t.py::test_x[<a>]", "title <s>", ["GR2-ERR-NO-5XX"], "failed", 0.1,
                         "server said <script>alert(2)</script>", exchanges=[1])
    view = render.View("fail", [result], [], {1: exchange}, None, [("Target", "x")],
                       kit_errors=["<kit>"], redact=lambda v: v)
    markup = render.verdict_block(view) + render.results_block(view) + render.check_extra(view, result)
    for raw in ("<script>", "<i>h</i>", "<u>label</u>", "<em>reason</em>", "<img src=x", "<kit>", "<s>", "[<a>]"):
        assert raw not in markup, raw
    body_only = Exchange(2, "GET", "http://127.0.0.1/y.json", {}, None, 0.0, status=200,
                         response_body=HOSTILE)
    assert "&lt;script&gt;" in render.exchange_html(view, body_only, "ex-2", True)


def test_render_caps_bodies() -> None:
    big = Exchange(1, "GET", "http://127.0.0.1/big.json", {}, None, 0.0, status=200,
                   response_body=b"a" * (render.BODY_SHOWN + 5000))
    view = render.View("pass", [], [], {1: big}, None, [])
    markup = render.exchange_html(view, big, "ex-1", False)
    assert "a" * render.BODY_SHOWN in markup and "a" * (render.BODY_SHOWN + 1) not in markup
    assert "5000 more bytes not shown" in markup


# --- evidence.har and junit.xml -------------------------------------------------------------

def test_har_holds_every_exchange(clean: Captured) -> None:
    log = json.loads((clean.dir / "evidence.har").read_text(encoding="utf-8"))["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "open311-conformance"
    entries = log["entries"]
    assert len(entries) == clean.result.requests_sent
    assert [e["_seq"] for e in entries] == list(range(1, len(entries) + 1))
    for entry in entries:
        assert set(entry) >= {"startedDateTime", "time", "request", "response", "cache", "timings"}
        dt.datetime.fromisoformat(entry["startedDateTime"].replace("Z", "+00:00"))
        request, response = entry["request"], entry["response"]
        assert set(request) >= {"method", "url", "httpVersion", "cookies", "headers", "queryString",
                                "headersSize", "bodySize"}
        assert set(response) >= {"status", "statusText", "httpVersion", "cookies", "headers", "content",
                                 "redirectURL", "headersSize", "bodySize"}
        assert set(response["content"]) >= {"size", "mimeType", "text"}
        assert {"send", "wait", "receive"} <= set(entry["timings"])
    posts = [e for e in entries if e["request"]["method"] == "POST"]
    assert posts and all("postData" in e["request"] for e in posts)
    assert any(p["name"] == "api_key" and p["value"] == "[REDACTED]"
               for e in posts for p in e["request"]["postData"].get("params", []))


def test_junit_has_a_testcase_per_check(clean: Captured) -> None:
    root = ElementTree.parse(clean.dir / "junit.xml").getroot()
    cases = root.findall(".//testcase")
    assert len(cases) == len(clean.result.results)
    outcomes = {p.get("value") for p in root.iter("property") if p.get("name") == "conformance_outcome"}
    assert outcomes == {"passed"}


def test_a_leaked_key_is_removed_and_reported(clean: Captured, tmp_path: Path) -> None:
    from conformance import cli

    copy = Path(shutil.copytree(clean.dir, tmp_path / "bundle"))
    key = clean.context.transport.api_key
    junit = copy / "junit.xml"
    junit.write_text(junit.read_text(encoding="utf-8").replace("</testsuites>", f"<!-- {key} --></testsuites>"),
                     encoding="utf-8")
    result = replace(clean.result, report_dir=copy, kit_errors=[])
    report_pkg.write_reports(result, clean.context)
    assert result.verdict == "inconclusive" and result.exit_code == 3
    for path in copy.iterdir():
        assert key not in path.read_text(encoding="utf-8"), path.name
    data = json.loads((copy / "summary.json").read_text(encoding="utf-8"))
    assert data["verdict"] == "inconclusive"
    assert any("junit.xml" in e for e in data["kit_errors"])
    assert "Verdict: INCONCLUSIVE" in " ".join(" ".join(_static(copy / "report.html").text).split())
    assert cli.main(["verify", str(copy)]) == 0  # the manifest is made after the scrub
