"""The conformance run end to end against the embedded simulator (integration tier)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance import cli, profiles, requirements
from conformance.run.engine import run_simulator
from tests.citing import assert_every_decided_check_cites_evidence

pytestmark = pytest.mark.integration


def test_clean_simulator_passes(clean_run):
    failed = [f"{r.id}: {r.message}" for r in clean_run.results if r.outcome in ("failed", "error", "warning")]
    assert failed == []
    assert clean_run.verdict == "pass"
    assert clean_run.exit_code == 0


CHECK_IDS = Path(__file__).parent / "cases" / "check_ids.txt"


def test_check_ids_are_stable(clean_run):
    # compare matches checks across runs by id: a moved or renamed check file would turn a
    # check into "vanished" + "appeared"; the list was taken from a default run before the
    # checks moved to conformance/run/checks/
    ids = sorted(r.id for r in clean_run.results)
    assert ids == CHECK_IDS.read_text(encoding="utf-8").split("\n")[:-1]


def test_clean_run_checks_every_must_requirement(clean_run):
    checked = {i for r in clean_run.results if r.outcome == "passed" for i in r.requirement_ids}
    chicago = profiles.get("chicago")
    musts = {r.id for r in requirements.for_profile(chicago) if chicago.level_of(r) == "MUST"}
    assert sorted(musts - checked) == []


def _records(report_dir) -> list[str]:
    """The requests a run wrote: its POSTs the target accepted, from the evidence."""
    entries = json.loads((report_dir / "evidence.har").read_text())["log"]["entries"]
    return [e["request"]["url"] for e in entries
            if e["request"]["method"] == "POST" and e["response"]["status"] in (200, 201)]


def test_a_run_writes_at_most_four_requests(clean_run):
    # the write flow's four (the simulator refuses the one with an unknown jurisdiction_id);
    # every other POST (checks, fuzzing) is one a conformant server refuses
    records = _records(clean_run.report_dir)
    assert 1 <= len(records) <= 4, records
    assert len(records) == 3, records
    summary = json.loads((clean_run.report_dir / "summary.json").read_text())
    assert summary["requests_sent"] == clean_run.requests_sent


def test_a_bare_post_answer_fails_its_shape_yet_the_read_back_is_judged(tmp_path, monkeypatch):
    from conformance.simulator.app import App

    post = App._post

    def bare(self, call):
        answer = post(self, call)
        if call.answer_fmt == "json" and answer.status == 200:
            answer.body = json.dumps(json.loads(answer.body)[0]).encode()
        return answer

    monkeypatch.setattr(App, "_post", bare)
    result = run_simulator(report_dir=tmp_path)
    outcomes = {i: r.outcome for r in result.results for i in r.requirement_ids}
    assert outcomes["GR2-POST-RESPONSE"] == "failed"
    assert outcomes["CHI-READBACK-ID"] == outcomes["GR2-POST-DESCRIPTION-TEXT"] == "passed"
    assert outcomes["GR2-POST-ADDRESS-STRING"] == "passed"


def test_an_unknown_jurisdiction_ignored_everywhere_passes_and_is_the_fourth_write(tmp_path, monkeypatch):
    from conformance.simulator.app import App

    # a server with one jurisdiction that ignores any jurisdiction_id, on GETs and POSTs alike
    monkeypatch.setattr(App, "_check_jurisdiction", lambda self, value: None)
    result = run_simulator(report_dir=tmp_path)
    outcomes = {i: r.outcome for r in result.results for i in r.requirement_ids}
    assert outcomes["GR2-JURISDICTION-POST"] == outcomes["GR2-JURISDICTION-CONSISTENT"] == "passed"
    assert result.verdict == "pass", [(r.id, r.message) for r in result.results if r.outcome == "failed"]
    assert len(_records(result.report_dir)) == 4


def test_summary_json_fields(clean_run):
    summary = json.loads((clean_run.report_dir / "summary.json").read_text())
    assert summary["verdict"] == "pass"
    assert summary["profile"] == "chicago"
    assert summary["requests_sent"] == clean_run.requests_sent > 50
    assert summary["started"] < summary["finished"]
    assert {c["outcome"] for c in summary["checks"]} == {"passed"}
    for check in summary["checks"]:
        assert set(check) >= {"id", "title", "requirement_ids", "outcome", "duration_s", "message", "source"}
        assert check["source"] == ("openapi" if "test_openapi.py" in check["id"] else "scenario")
        assert check["requirement_ids"]


def test_report_files_written(clean_run):
    assert (clean_run.report_dir / "report.html").stat().st_size > 1000
    assert (clean_run.report_dir / "junit.xml").read_text().count("<testcase") == len(clean_run.results)


def test_written_request_overlaps_other_checks(clean_run):
    # the read-back checks run last but for those judging the whole run's answers (charset,
    # redirects away); the write was submitted at the start of the run
    ids = [r.id for r in clean_run.results]
    assert {i.rsplit("::", 1)[1] for i in ids[-2:]} == {"test_charset_utf8", "test_no_redirect_away"}
    assert all("test_write_readback" in i for i in ids[-12:-2])


def test_georeport_profile_flags_chicago_rows_without_id(tmp_path):
    result = run_simulator(profile="georeport-v2", report_dir=tmp_path)
    failed = {i for r in result.results if r.outcome == "failed" for i in r.requirement_ids}
    assert failed == {"GR2-REQ-HAS-ID"}
    registry = requirements.load()
    spec = profiles.get("georeport-v2")
    assert all(spec.selects(registry[i]) for r in result.results for i in r.requirement_ids)
    # the spec knows no rows without an id: its checklist does not offer that condition
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [item["key"] for item in summary["checklist"]] == list(spec.checklist)
    assert "pending" not in spec.checklist


def test_cli_usage_error_exit_2(capsys):
    assert cli.main(["run", "--base-url", "ftp://example.invalid/x"]) == 2
    assert "not an http(s) URL" in capsys.readouterr().err


def test_cli_unknown_fault_exit_2(capsys):
    assert cli.main(["run", "--fault", "no-such-fault"]) == 2
    assert "unknown fault" in capsys.readouterr().err


def test_unreachable_target_is_inconclusive(tmp_path, capsys):
    # port 9 on loopback: nothing listens there, the connection is refused at once
    code = cli.main(["run", "--base-url", "http://127.0.0.1:9/open311/v2", "--report-dir", str(tmp_path),
                     "--timeout", "2", "-q"])
    assert code == 3
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["verdict"] == "inconclusive"
    assert "verdict: INCONCLUSIVE" in capsys.readouterr().out


def test_cli_fault_run_fails_exit_1(tmp_path, capsys):
    code = cli.main(["run", "--fault", "filter-status-ignored", "--simulator-delay", "0.3",
                     "--report-dir", str(tmp_path), "-q"])
    assert code == 1
    out = capsys.readouterr().out
    assert "verdict: FAIL" in out


@pytest.mark.parametrize("order_seed", [1, 2])
def test_no_check_depends_on_another(clean_run, order_seed, tmp_path):
    # the same checks in a shuffled order judge the same: none leans on another's side effects
    shuffled = run_simulator(report_dir=tmp_path, order_seed=order_seed)
    assert [r.id for r in shuffled.results] != [r.id for r in clean_run.results]
    assert {r.id: r.outcome for r in shuffled.results} == {r.id: r.outcome for r in clean_run.results}


def test_a_fault_is_caught_in_any_order(tmp_path):
    shuffled = run_simulator(("filter-id-first-only",), report_dir=tmp_path, order_seed=3)
    failed = {i for r in shuffled.results if r.outcome == "failed" for i in r.requirement_ids}
    assert "GR2-FILTER-ID" in failed


def test_an_interrupted_run_keeps_what_it_recorded(tmp_path, monkeypatch):
    from conformance.run.checks import test_formats

    def interrupt(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(test_formats, "fetch", interrupt)
    result = run_simulator(report_dir=tmp_path)
    assert result.verdict == "inconclusive" and result.exit_code == 3
    assert result.record.cut_short == "the run was interrupted" and not result.kit_errors
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["cut_short"]["reason"] == "signal"
    assert all(c["outcome"] != "failed" for c in summary["checks"])
    assert summary["verdict"] == "inconclusive" and summary["checks"]  # the checks before it are kept


def test_a_report_directory_is_never_overwritten(clean_run, capsys):
    assert cli.main(["run", "--report-dir", str(clean_run.report_dir)]) == 2
    assert "already holds a run" in capsys.readouterr().err


# a server built from the specification's own examples (numeric identifiers, an id answered
# at once), and one following it strictly: georeport-v2 fails neither for anything the
# specification allows; only SHOULDs may warn
SPEC_SERVERS = {"spec-examples": {"GR2-IDS-STRINGS"}, "georeport": set()}


@pytest.fixture(scope="module", params=list(SPEC_SERVERS))
def spec_run(request, tmp_path_factory):
    dialect = request.param
    return dialect, run_simulator(profile="georeport-v2", simulator_dialect=dialect,
                                  report_dir=tmp_path_factory.mktemp(dialect))


def test_georeport_profile_passes_a_server_like_the_specification(spec_run):
    dialect, result = spec_run
    failed = [f"{r.id}: {r.message}" for r in result.results if r.outcome in ("failed", "error")]
    assert failed == []
    assert result.verdict == "pass"
    warned = {i for r in result.results if r.outcome == "warning" for i in r.requirement_ids}
    assert warned == SPEC_SERVERS[dialect]


def test_every_decided_check_cites_its_exchanges(clean_run):
    assert_every_decided_check_cites_evidence(clean_run)


def test_a_refused_post_is_cited_by_the_checks_that_judged_it(tmp_path):
    run = run_simulator(("key-revoked",), report_dir=tmp_path, fuzz_examples=2)
    assert_every_decided_check_cites_evidence(run)
    accepted = next(r for r in run.results if r.id.endswith("test_post_with_key_accepted"))
    assert accepted.outcome == "failed"
    post = run.record.write.post
    assert post is not None and post in accepted.exchanges


def test_georeport_run_sends_no_chicago_parameter(spec_run):
    # a server following the specification alone does not know them: only the checks of those
    # parameters send them, and they are Chicago's (deselected here); the fuzzing, labelled
    # openapi:, leaves them out itself
    _dialect, result = spec_run
    chicago = profiles.QUIRK_PARAMETERS
    names = frozenset().union(*chicago.values())
    assert names == profiles.get("georeport-v2").quirks.undocumented_parameters()
    entries = json.loads((result.report_dir / "evidence.har").read_text())["log"]["entries"]
    sent = []
    for entry in entries:
        request = entry["request"]
        fields = {q["name"] for q in request["queryString"]}
        fields |= {p["name"] for p in (request.get("postData") or {}).get("params", [])}
        if fields & names:
            sent.append((entry.get("comment", ""), request["method"], request["url"]))
    fuzzing = [s for s in sent if s[0].startswith("openapi:")]
    assert fuzzing == [], fuzzing
    assert sent == [], sent
    assert any(e.get("comment", "").startswith("openapi:") for e in entries)  # the fuzzing ran
