"""The frozen record and the writers that read it, on hand-made records (no run behind them)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conformance.checklist import State
from conformance.outcomes import Outcome, Verdict
from conformance.record import Mode
from conformance.report import html, junit, summary, write_bundle
from conformance.report.evidence import BODY_SHOWN
from conformance.transport import StopReason
from tests import records

CASES = json.loads((Path(__file__).parent / "cases" / "pre_approval.json").read_text(encoding="utf-8"))["cases"]
HOSTILE = "<script>alert(1)</script>"


def _from_case(spec: dict) -> records.RunRecord:
    outcome = Outcome(spec.get("outcome", "passed"))
    return records.record(
        kind=spec.get("kind", "test-host"), mode=Mode(spec.get("mode", "full")),
        results=(records.result(outcome=outcome, message="broken" if outcome is Outcome.FAILED else ""),),
        states={k: State(v) for k, v in spec.get("states", {}).items()},
        stop=StopReason(spec["stop"]) if "stop" in spec else None, kit_errors=tuple(spec.get("kit_errors", ())))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_pre_approval(case: dict) -> None:
    rec = _from_case(case["record"])
    assert rec.pre_approval.complete is case["complete"]
    assert rec.verdict == case["verdict"]
    text = "; ".join(rec.pre_approval.reasons) + " " + (rec.cut_short or "")
    for fragment in case["reasons"]:
        assert fragment in text, (fragment, text)
    assert bool(rec.pre_approval.reasons) is not rec.pre_approval.complete


def test_record_is_frozen_and_its_verdict_is_derived() -> None:
    rec = records.record()
    with pytest.raises(dataclasses.FrozenInstanceError):
        rec.verdict = Verdict.FAIL  # type: ignore[misc]
    with pytest.raises(ValueError):
        dataclasses.replace(rec, verdict=Verdict.FAIL)  # a writer cannot hand in a verdict
    later = rec.with_kit_error("boom")
    assert rec.verdict is Verdict.PASS and later.verdict is Verdict.INCONCLUSIVE
    assert rec.kit_errors == () and later.kit_errors == ("boom",)


def test_summary_of_every_case_validates_against_the_schema() -> None:
    for case in CASES:
        data = summary.build(_from_case(case["record"]), files=["report.html"])
        assert summary.problems(data) == [], case["name"]
        assert data["pre_approval"]["complete"] is case["complete"]


def test_schema_rejects_complete_evidence_with_reasons() -> None:
    data = summary.build(records.record(), files=[])
    data["pre_approval"]["reasons"] = ["practice run"]
    assert any(p.startswith("/pre_approval") for p in summary.problems(data))


def test_every_writer_escapes_what_the_server_sent(tmp_path: Path) -> None:
    evil = records.exchange(1, body=HOSTILE.encode() + b"\xff", label="<u>label</u>", reason="<em>r</em>",
                            error="<img src=x onerror=alert(1)>")
    evil.request_headers["X-Evil"] = "<i>h</i>"
    failed = records.result("test_y[<a>]", Outcome.FAILED, f"server said {HOSTILE}", exchanges=[1])
    rec = records.record(results=(failed,), exchanges=(evil,), kit_errors=("<kit>",), app_name="<b>App</b>")
    markup = html.report_page(rec) + html.exchanges_page(rec)
    for raw in (HOSTILE, "<i>h</i>", "<u>label</u>", "<em>r</em>", "<img src=x", "<kit>", "[<a>]", "<b>App</b>"):
        assert raw not in markup, raw
    assert "&lt;script&gt;" in markup
    ElementTree.fromstring(junit.junit(rec))  # well-formed whatever the message held


def test_exchange_bodies_are_capped_and_live_outside_the_report() -> None:
    big = records.exchange(1, body=b"a" * (BODY_SHOWN + 5000))
    rec = records.record(results=(records.result(exchanges=[1]),), exchanges=(big,))
    page = html.exchanges_page(rec)
    assert "a" * BODY_SHOWN in page and "a" * (BODY_SHOWN + 1) not in page
    assert "5000 more bytes not shown" in page
    report = html.report_page(rec)
    assert "a" * 1000 not in report and 'href="exchanges.html#ex-1"' in report


def test_a_failed_message_on_the_first_screen_is_capped_with_a_link() -> None:
    message = "\n".join(f"line {i}" for i in range(1, 31))
    rec = records.record(results=(records.result(outcome=Outcome.FAILED, message=message),),
                         states={"formats": State.NOT_MET})
    page = html.report_page(rec)
    first_screen = page[:page.index('<section id="results">')]
    shown = first_screen.split('id="failed"')[1].split("</ol>")[0]
    assert "line 21" in shown and "line 22" not in shown  # a headline and 20 lines under it
    assert "9 more lines" in first_screen
    assert "line 30" in page  # whole in the results section


@pytest.mark.parametrize(("kind", "words"), [("practice", "Practice run"), ("test-host", "Pre-approval evidence")])
def test_first_screen_says_what_the_run_is(kind: str, words: str) -> None:
    page = html.report_page(records.record(kind=kind))
    head = page[:page.index("</section>")]
    assert words in head and "Pothole Pal" in head
    assert ("Practice run" in head) is (kind == "practice")


def test_junit_carries_outcomes_and_the_run_facts() -> None:
    rec = records.record(results=(records.result("a"), records.result("b", Outcome.INCONCLUSIVE, "no answer"),
                                  records.result("c", Outcome.FAILED, "bad")))
    suite = ElementTree.fromstring(junit.junit(rec))
    props = {p.get("name"): p.get("value") for p in suite.find("properties")}
    assert props["app_name"] == "Pothole Pal" and props["verdict"] == "fail"
    assert props["pre_approval_complete"] == "false"
    cases = suite.findall("testcase")
    assert [c.find("properties/property[@name='conformance_outcome']").get("value") for c in cases] == \
        ["passed", "inconclusive", "failed"]
    assert cases[1].find("skipped").get("message").startswith("inconclusive:")
    assert cases[2].find("failure").text == "bad"
    assert suite.get("failures") == "1" and suite.get("skipped") == "1"


def test_bundle_scrubs_a_leaked_key_and_says_so(tmp_path: Path) -> None:
    key = "leaky-key-123456"
    rec = records.record(results=(records.result(message=f"echoed {key}", outcome=Outcome.WARNING),))
    final = write_bundle(rec, tmp_path, key=key)
    assert final.verdict is Verdict.INCONCLUSIVE and any("API key was found" in e for e in final.kit_errors)
    for path in tmp_path.iterdir():
        assert key not in path.read_text(encoding="utf-8"), path.name
    assert json.loads((tmp_path / "summary.json").read_text())["verdict"] == "inconclusive"


def test_compare_warns_when_runs_are_not_like_for_like() -> None:
    from conformance.report import compare

    old = summary.build(records.record(), files=[])
    new = summary.build(records.record(kind="loopback", mode=Mode.READ_ONLY), files=[])
    new["kit_version"] = "9.9.9"
    new["contract"]["schemas"] = "f" * 64
    result = compare.compare(old, new)
    text = "\n".join(result.warnings)
    for words in ("target differs", "API key given differs", "read-only differs", "kit version differs",
                  "contract hashes differ"):
        assert words in text, words
    assert compare.compare(old, old).warnings == []
    lines = compare.render(result, "old", "new")
    assert any(line.startswith("WARNING: target differs") for line in lines)
