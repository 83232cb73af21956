"""The evidence claims no more than the run showed: the write's state, and whose key it was."""

from __future__ import annotations

import html
import json

import pytest

from conformance import cli
from conformance.run.engine import run_simulator
from conformance.simulator import server

pytestmark = pytest.mark.integration

# what a practice run must never say: the simulator handed it the key
UNTRUE_OF_PRACTICE = ("your test key", "key given")


def _summary(report_dir) -> dict:
    return json.loads((report_dir / "summary.json").read_text())


def _report(report_dir) -> str:
    return html.unescape((report_dir / "report.html").read_text())


def test_a_refused_post_is_refused_with_its_status_and_the_servers_words(tmp_path):
    result = run_simulator(("key-revoked",), report_dir=tmp_path)
    write = _summary(tmp_path)["write"]
    assert write["state"] == "refused"
    assert write["post_status"] == 403
    assert "403" in write["note"] and "api_key revoked" in write["note"]
    report = _report(tmp_path)
    assert "refused — the POST was answered 403 Forbidden: api_key revoked" in report
    assert result.verdict == "fail"


def test_a_post_answered_200_without_token_or_id_is_accepted_not_written(tmp_path):
    result = run_simulator(("post-answers-nothing",), report_dir=tmp_path)
    summary = _summary(tmp_path)
    assert summary["write"]["state"] == "accepted"
    assert summary["write"]["post_status"] == 200
    assert "neither a token nor a service_request_id" in summary["write"]["note"]
    assert "accepted — the POST was answered 200" in _report(tmp_path)
    write_condition = next(c for c in summary["checklist"] if c["key"] == "write")
    assert write_condition["state"] == "not met"
    assert result.verdict == "fail"


def test_a_practice_run_says_the_key_was_the_simulators(tmp_path, capsys):
    assert cli.main(["run", "--report-dir", str(tmp_path), "--simulator-delay", "0.3"]) == 0
    console = capsys.readouterr().out
    summary = _summary(tmp_path)
    assert summary["key_source"] == "simulator"
    assert summary["target"]["api_key_given"] is False
    report = _report(tmp_path)
    for words in UNTRUE_OF_PRACTICE:
        assert words not in console.lower()
        assert words not in report.lower()
        assert words not in json.dumps(summary["checklist"]).lower()
    assert "the simulator's practice key" in console
    assert "the simulator's practice key (simulator)" in report
    assert "With the simulator's practice key, the kit wrote a service request" in report


def test_a_key_given_to_a_simulator_by_base_url_is_given(tmp_path, capsys):
    simulator = server.start(delay=0.3)
    try:
        code = cli.main(["run", "--base-url", simulator.base_url, "--api-key", simulator.api_key,
                         "--report-dir", str(tmp_path)])
    finally:
        simulator.stop()
    console = capsys.readouterr().out
    summary = _summary(tmp_path)
    assert code == 0, console[-2000:]
    assert summary["key_source"] == "given"
    assert summary["target"]["api_key_given"] is True
    assert summary["write"]["state"] == "written"
    assert "your test key (given)" in console
    assert "With your test key, the kit wrote a service request" in _report(tmp_path)
    assert simulator.api_key not in console
