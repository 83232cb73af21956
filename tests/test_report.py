"""The artifacts of real runs: report.html, exchanges.html, summary.json, evidence.har, junit.xml."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conformance.checklist import TARGET_CONDITIONS
from conformance.report import summary
from conformance.report.html import anchor
from conformance.run.engine import RunResult
from conformance.target import KeySource

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def clean(app_run: RunResult) -> RunResult:
    return app_run


@pytest.fixture(scope="module")
def failing(parity_drift_run: RunResult) -> RunResult:
    return parity_drift_run


class _Static(HTMLParser):
    """Text, ids and links of a page as a browser without JavaScript sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.scripts += tag == "script"
        if values.get("id"):
            self.ids.add(str(values["id"]))
        if tag == "a" and values.get("href"):
            self.links.append(str(values["href"]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


def _static(path: Path) -> _Static:
    parser = _Static()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def _summary(run: RunResult) -> dict:
    return json.loads((run.report_dir / "summary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("run", ["clean", "failing"])
def test_summary_validates_against_its_schema(run: str, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(run)
    data = _summary(result)
    assert summary.problems(data) == []
    assert data["verdict"] == result.verdict == ("pass" if run == "clean" else "fail")
    assert data["practice"] is True and data["pre_approval"]["complete"] is False
    assert any("practice run" in r for r in data["pre_approval"]["reasons"])


def test_summary_records_token_timeline_and_catalogue(clean: RunResult) -> None:
    data = _summary(clean)
    write = data["write"]
    assert write["state"] == "written" and write["service_request_id"]
    assert write["polls"] and write["polls"][-1]["service_request_id"] == write["service_request_id"]
    assert data["token_resolution_s"] == write["polls"][-1]["at_s"] > 0
    seqs = [p["exchange"] for p in write["polls"]]
    assert None not in seqs
    har = json.loads((clean.report_dir / "evidence.har").read_text(encoding="utf-8"))
    by_seq = {e["_seq"]: e for e in har["log"]["entries"]}
    assert all(f"/tokens/{write['token']}." in by_seq[s]["request"]["url"] for s in seqs)
    assert len(data["catalogue"]["services"]) == 14
    assert data["app_name"] == "Pothole Pal" and data["mode"] == "full"
    assert set(data["report_files"]) == {"report.html", "exchanges.html", "junit.xml", "summary.json",
                                         "evidence.har"}


def test_first_screen_and_links(clean: RunResult) -> None:
    page = _static(clean.report_dir / "report.html")
    words = page.words
    assert page.scripts == 0  # everything shows without JavaScript
    assert words.index("Practice run") < words.index("Verdict: PASS") < words.index("Pre-approval evidence: NOT")
    assert "Pothole Pal" in words[:words.index("Results by requirement")]
    for condition in TARGET_CONDITIONS:
        assert condition.title_for(KeySource.SIMULATOR) in words
    exchanges = _static(clean.report_dir / "exchanges.html")
    for link in page.links:
        target, _, fragment = link.partition("#")
        if target == "":
            assert fragment in page.ids, link
        elif target == "exchanges.html" and fragment:
            assert fragment in exchanges.ids, link
    for link in exchanges.links:
        if link.startswith("report.html#"):
            assert link.split("#")[1] in page.ids, link
    for result in clean.results:
        assert anchor(result.id) in page.ids


def test_failed_check_whole_on_the_first_screen(failing: RunResult) -> None:
    text = (failing.report_dir / "report.html").read_text(encoding="utf-8")
    first = text[:text.index('<section id="results">')]
    failed = [r for r in failing.results if r.outcome == "failed"]
    assert failed
    for r in failed:
        assert f'href="#{anchor(r.id)}"' in first
        shown = r.message.splitlines()[:20]
        assert len(shown) > 1 and all(line.replace("<", "&lt;").replace(">", "&gt;") in first
                                      for line in shown if "'" not in line and '"' not in line and "&" not in line)
    assert "GR2-FMT-PARITY" in first and "NOT MET" in first


def test_report_sent_no_request_and_names_every_exchange(clean: RunResult) -> None:
    har = json.loads((clean.report_dir / "evidence.har").read_text(encoding="utf-8"))["log"]
    assert len(har["entries"]) == clean.requests_sent
    assert [e["_seq"] for e in har["entries"]] == list(range(1, clean.requests_sent + 1))
    posts = [e for e in har["entries"] if e["request"]["method"] == "POST"]
    assert posts and any(p["name"] == "api_key" and p["value"] == "[REDACTED]"
                         for e in posts for p in e["request"]["postData"].get("params", []))
    ids = _static(clean.report_dir / "exchanges.html").ids
    assert {f"ex-{n}" for n in range(1, clean.requests_sent + 1)} <= ids


def test_junit_has_a_testcase_per_check(clean: RunResult) -> None:
    suite = ElementTree.parse(clean.report_dir / "junit.xml").getroot()
    cases = suite.findall("testcase")
    assert len(cases) == len(clean.results)
    outcomes = {c.find("properties/property[@name='conformance_outcome']").get("value") for c in cases}
    assert outcomes == {"passed"}
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["app_name"] == "Pothole Pal" and props["practice"] == "true"


def test_report_is_light(clean: RunResult) -> None:
    assert (clean.report_dir / "report.html").stat().st_size < 1024 * 1024
