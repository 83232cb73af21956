"""rejudge: a bundle judged again from its evidence alone, every outcome reproduced; an edited
bundle caught; nothing beyond loopback contacted; the recorded corpus unchanged."""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import tarfile
import threading
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.errors import ExitCode
from conformance.rejudge import rejudge
from conformance.rejudge.replay import NOT_IN_EVIDENCE, REPLAY_HEADER, Asked
from conformance.report.manifest import verify
from conformance.run.engine import RunResult, run_simulator
from conformance.run.fuzzing import engine as fuzzing
from conformance.timestamps import Clock
from conformance.transport import WritePolicy

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).with_name("corpus")


@pytest.fixture(scope="module")
def failing_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_simulator(("odd-parameter-500",), report_dir=tmp_path_factory.mktemp("failing"))


@pytest.fixture(scope="module")
def georeport_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    return run_simulator(profile="georeport-v2", simulator_dialect="georeport",
                         report_dir=tmp_path_factory.mktemp("georeport"))


def _reproduced(result: RunResult, original: RunResult) -> None:
    rejudged = result.record.rejudged
    assert rejudged is not None
    assert rejudged.differences == (), [d.as_dict() for d in rejudged.differences]
    assert rejudged.not_in_evidence == 0
    assert rejudged.checks == len(original.results) == rejudged.reproduced
    assert result.record.verdict == original.record.verdict
    assert {r.id: r.outcome for r in result.results} == {r.id: r.outcome for r in original.results}


def test_the_default_run_is_reproduced(clean_run, tmp_path, capsys):
    code = main(["rejudge", str(clean_run.report_dir), "--report-dir", str(tmp_path / "again")])
    out = capsys.readouterr().out
    assert code == ExitCode.OK, out
    assert f"re-judged from {clean_run.run_id} (kit " in out
    assert f"reproduced {len(clean_run.results)} of {len(clean_run.results)} checks" in out
    summary = json.loads((tmp_path / "again" / "summary.json").read_text())
    assert summary["rejudged"]["run_id"] == clean_run.run_id
    assert summary["rejudged"]["reproduced"] == summary["rejudged"]["checks"] == len(clean_run.results)
    assert summary["run_id"] != clean_run.run_id
    assert summary["pre_approval"]["complete"] is False
    assert any("re-judged from" in reason for reason in summary["pre_approval"]["reasons"])
    assert summary["api_key_fingerprint"] == json.loads(
        (clean_run.report_dir / "summary.json").read_text())["api_key_fingerprint"]
    assert "Re-judged." in (tmp_path / "again" / "report.html").read_text()
    assert verify(tmp_path / "again").ok


def test_a_failing_run_is_reproduced(failing_run, tmp_path):
    assert failing_run.verdict == "fail"
    _reproduced(rejudge(failing_run.report_dir, tmp_path / "again"), failing_run)


def test_a_georeport_run_is_reproduced(georeport_run, tmp_path):
    _reproduced(rejudge(georeport_run.report_dir, tmp_path / "again"), georeport_run)


@pytest.mark.parametrize("settings", [
    {"read_only": True},
    # the write guard refusing the target: a re-judged run refuses what its recorded run refused
    {"write_policy": WritePolicy(production_hosts=frozenset({"127.0.0.1"}))},
], ids=["read-only", "writes refused"])
def test_a_run_without_writes_is_reproduced(settings, tmp_path):
    original = run_simulator(report_dir=tmp_path / "run", fuzz_examples=1, **settings)
    assert original.record.write is not None and original.record.write.state == "skipped"
    _reproduced(rejudge(original.report_dir, tmp_path / "again"), original)


def test_the_token_polls_judge_the_recorded_times(clean_run, tmp_path):
    """The replay answers at once with the recorded exchange's times, and the clock waits without
    sleeping: the polls are the recorded ones, at the recorded times (the HAR's milliseconds)."""
    result = rejudge(clean_run.report_dir, tmp_path / "again")
    old, new = clean_run.record.write, result.record.write
    assert old is not None and new is not None
    assert [(p.status, p.service_request_id) for p in new.polls] == [(p.status, p.service_request_id)
                                                                      for p in old.polls]
    assert [p.at_s for p in new.polls] == pytest.approx([p.at_s for p in old.polls], abs=0.05)
    assert new.resolution_s == pytest.approx(old.resolution_s, abs=0.05)


def test_a_recorded_run_that_overslept_its_waits_is_judged_at_its_own_times(monkeypatch, tmp_path):
    """A loaded machine sends a poll later than its wait asked: the replay takes each poll's
    time from its own recorded request, not from the previous answer plus the wait."""
    def oversleep(clock: Clock, stopped: threading.Event, seconds: float) -> bool:
        return stopped.wait(max(seconds, 0.0) + 0.15)

    monkeypatch.setattr(Clock, "wait", oversleep)  # the recorded run's; a replay's clock has its own
    original = run_simulator(report_dir=tmp_path / "run", fuzz_examples=1)
    monkeypatch.undo()
    old = original.record.write
    assert old is not None and len(old.polls) >= 2
    # each poll after the first left at least its wait and the oversleep after the one before
    assert all(b.at_s - a.at_s >= 0.15 + 0.05 for a, b in zip(old.polls, old.polls[1:], strict=False))
    new = rejudge(original.report_dir, tmp_path / "again").record.write
    assert new is not None
    assert [p.at_s for p in new.polls] == pytest.approx([p.at_s for p in old.polls], abs=0.05)
    assert new.resolution_s == pytest.approx(old.resolution_s, abs=0.05)


def _edited(bundle: Path, into: Path) -> tuple[Path, str]:
    """A copy of ``bundle`` with a failed check made passed in summary.json, and the manifest
    rewritten to match, as someone who can write files would."""
    copy = shutil.copytree(bundle, into)
    summary_path = copy / "summary.json"
    summary = json.loads(summary_path.read_text())
    check = next(c for c in summary["checks"] if c["outcome"] == "failed")
    check["outcome"], check["message"], check["broken_requirements"] = "passed", "", []
    summary_path.write_text(json.dumps(summary, indent=2))
    manifest_path = copy / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    data = summary_path.read_bytes()
    manifest["files"]["summary.json"].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return copy, check["id"]


def test_an_edited_bundle_verifies_but_is_not_reproduced(failing_run, tmp_path, capsys):
    edited, check_id = _edited(failing_run.report_dir, tmp_path / "edited")
    assert main(["verify", str(edited)]) == ExitCode.OK
    capsys.readouterr()
    code = main(["rejudge", str(edited), "--report-dir", str(tmp_path / "again")])
    out = capsys.readouterr().out
    assert code == ExitCode.FAIL, out
    assert f"  {check_id}: passed -> failed: recorded passed; judged now failed" in out
    rejudged = json.loads((tmp_path / "again" / "summary.json").read_text())["rejudged"]
    assert [(d["id"], d["old"], d["new"]) for d in rejudged["differences"]] == [(check_id, "passed", "failed")]


def test_not_a_bundle_or_not_verified_exits_2(failing_run, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["rejudge", str(tmp_path / "empty")]) == ExitCode.USAGE
    assert "not a report directory" in capsys.readouterr().err
    changed = shutil.copytree(failing_run.report_dir, tmp_path / "changed")
    (changed / "junit.xml").write_text("<edited/>")
    assert main(["rejudge", str(changed), "--report-dir", str(tmp_path / "a")]) == ExitCode.USAGE
    assert "its manifest does not verify" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
    # --no-verify judges it anyway (its evidence is untouched: everything reproduced), and says so
    assert main(["rejudge", str(changed), "--no-verify", "--report-dir", str(tmp_path / "b")]) == ExitCode.OK
    assert "does not verify: re-judged anyway (--no-verify)" in capsys.readouterr().out
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["rejudged"]["verified"] is False
    assert "did NOT verify" in (tmp_path / "b" / "report.html").read_text()


def test_bad_evidence_or_settings_exit_2_without_a_traceback(clean_run, tmp_path, capsys):
    copy = shutil.copytree(clean_run.report_dir, tmp_path / "bad")
    (copy / "evidence.har").write_text('{"log": {"entries": [{"request": 5}]}}')
    assert main(["rejudge", str(copy), "--no-verify", "--report-dir", str(tmp_path / "a")]) == ExitCode.USAGE
    assert "evidence.har: an entry the kit did not write" in capsys.readouterr().err
    shutil.copy(clean_run.report_dir / "evidence.har", copy / "evidence.har")
    summary = json.loads((copy / "summary.json").read_text())
    summary["target"]["timeout_s"] = "fast"
    (copy / "summary.json").write_text(json.dumps(summary))
    assert main(["rejudge", str(copy), "--no-verify", "--report-dir", str(tmp_path / "b")]) == ExitCode.USAGE
    assert "summary.json's settings are not the kit's" in capsys.readouterr().err


def test_a_rejudged_bundle_is_judged_the_same_again(clean_run, tmp_path):
    """A re-judged bundle is a bundle: its answers name the first replay, the second replay
    answers in its place."""
    first = rejudge(clean_run.report_dir, tmp_path / "once")
    second = rejudge(first.report_dir, tmp_path / "twice")
    assert second.record.rejudged is not None
    assert second.record.rejudged.run_id == first.run_id
    assert second.record.rejudged.differences == ()


def test_a_request_not_in_the_evidence_makes_its_check_inconclusive(clean_run, tmp_path):
    """A recorded exchange taken out of the HAR: the checks that asked it are inconclusive
    with that reason, never failed; every other outcome is reproduced."""
    copy = shutil.copytree(clean_run.report_dir, tmp_path / "cut")
    har_path = copy / "evidence.har"
    har = json.loads(har_path.read_text())
    entries = har["log"]["entries"]
    gone = next(e for e in entries if e["request"]["url"].endswith("/discovery.json"))
    entries.remove(gone)
    har_path.write_text(json.dumps(har))
    result = rejudge(copy, tmp_path / "again", check_manifest=False)
    rejudged = result.record.rejudged
    assert rejudged is not None and rejudged.not_in_evidence >= 1
    assert {d.check_id for d in rejudged.differences} == {"test_transport_health.py::test_discovery[json]"}
    (difference,) = rejudged.differences
    assert (difference.old, difference.new) == ("passed", "inconclusive")
    assert NOT_IN_EVIDENCE in difference.why
    gaps = [e for e in result.record.exchanges if REPLAY_HEADER in e.response_headers]
    assert gaps and all(e.status == 502 for e in gaps)


def test_rejudge_contacts_nothing_beyond_loopback(clean_run, tmp_path, monkeypatch):
    """Every address but loopback unreachable: the re-judged run still reproduces everything."""
    tried: list[object] = []
    connect = socket.socket.connect

    def loopback_only(self: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else str(address)
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            tried.append(address)
            raise OSError(f"network unreachable (test): {address}")
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    monkeypatch.setattr(socket, "getaddrinfo", _no_resolving(socket.getaddrinfo, tried))
    result = rejudge(clean_run.report_dir, tmp_path / "again")
    assert tried == []
    assert result.record.rejudged is not None and result.record.rejudged.differences == ()


def _no_resolving(real, tried):
    def getaddrinfo(host, *args, **kwargs):
        if host not in ("127.0.0.1", "::1", "localhost"):
            tried.append(host)
            raise socket.gaierror(f"no resolving in this test: {host}")
        return real(host, *args, **kwargs)
    return getaddrinfo


def test_the_key_is_redacted_on_both_sides():
    key = "secret-key-123"
    live = Asked.of("POST", f"/open311/v2/requests.json?api_key={key}",
                    {"Content-Type": "application/x-www-form-urlencoded"}, f"b=2&api_key={key}&a=1", key)
    recorded = Asked.of("POST", "http://10.0.0.1:8/open311/v2/requests.json?api_key=[REDACTED]",
                        {"Content-Type": "application/x-www-form-urlencoded"}, "a=1&api_key=[REDACTED]&b=2", None)
    assert live == recorded
    assert key not in repr(live)


def test_fuzzing_ignores_the_modules_loaded():
    """Hypothesis' pool of local constants (which depends on what modules are loaded) is empty
    while the kit generates: the internal the kit pins still exists."""
    with fuzzing.seed_alone():
        assert len(fuzzing.providers._get_local_constants()) == 0


@pytest.mark.parametrize("name", sorted(p.name.removesuffix(".tar.gz") for p in CORPUS.glob("*.tar.gz")))
def test_the_recorded_corpus_is_judged_as_recorded(name, tmp_path):
    """Each recorded bundle re-judged by this kit: a change of any outcome fails here until the
    corpus is recorded again on purpose (`python3 tests/corpus/record.py`)."""
    with tarfile.open(CORPUS / f"{name}.tar.gz") as tar:
        tar.extractall(tmp_path, filter="data")
    result = rejudge(tmp_path / name, tmp_path / "again")
    rejudged = result.record.rejudged
    assert rejudged is not None
    assert rejudged.differences == (), "\n".join(
        f"{d.check_id}: {d.old} -> {d.new}: {d.why}" for d in rejudged.differences)
    # a run cut short left requests unsent that the re-judged run asks (the check running at the
    # cut, the token's next poll): not in the evidence, as they were not answered then either
    assert rejudged.not_in_evidence == 0 or result.record.cut_short
    assert result.record.verdict == json.loads((tmp_path / name / "summary.json").read_text())["verdict"]
