"""The hostile-server battery: every run ends within its bound, with the right verdict, a
clean report and no key anywhere (integration tier)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

from conformance import cli
from conformance.run.engine import run_simulator
from tests.hostile import SCRIPT, hostile_server

pytestmark = pytest.mark.integration
KEY = "hostile-KEY-0123456789abcdef"
BOUND_S = 60  # the --max-duration the battery runs with; the runs must stop on their own


def run_against(url: str, tmp_path, *extra: str) -> tuple[int, str]:
    code = cli.main(["run", "--base-url", url, "--api-key", KEY, "--report-dir", str(tmp_path),
                     "--timeout", "2", "--poll-timeout", "3", "--max-duration", str(BOUND_S), *extra])
    return code, ""


def assert_clean_bundle(directory, console: str) -> None:
    assert KEY not in console
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert KEY.encode() not in data, f"the key leaked into {path.name}"
            assert b"hostile-KEY" not in data, f"part of the key leaked into {path.name}"


def summary_of(directory) -> dict:
    return json.loads((directory / "summary.json").read_text())


def within_bound(summary: dict) -> bool:
    from datetime import datetime

    started = datetime.fromisoformat(summary["started"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(summary["finished"].replace("Z", "+00:00"))
    return (finished - started).total_seconds() <= BOUND_S + 30


@dataclass(frozen=True, slots=True)
class HostileRun:
    code: int
    console: str  # stdout and stderr
    directory: Path


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], HostileRun]:
    """The run against a hostile server in a mode, once a module: several tests read the same run.
    Its directory is read, never changed."""
    runs: dict[str, HostileRun] = {}

    def run(mode: str) -> HostileRun:
        if mode not in runs:
            directory, console = tmp_path_factory.mktemp(mode), io.StringIO()
            with hostile_server(mode, KEY) as url, redirect_stdout(console), redirect_stderr(console):
                code, _ = run_against(url, directory)
            runs[mode] = HostileRun(code, console.getvalue(), directory)
        return runs[mode]

    return run


@pytest.mark.parametrize(("mode", "verdict", "code"), [
    ("garbage", "fail", 1),
    ("reset", "inconclusive", 3),
    ("reset-requests", "fail", 1),
    ("bad-utf8", "fail", 1),
    ("key-echo", None, None),
    ("script-tags", "fail", 1),
])
def test_hostile_server(mode, verdict, code, hostile_run):
    run = hostile_run(mode)
    summary = summary_of(run.directory)
    assert within_bound(summary)
    if verdict is not None:
        assert summary["verdict"] == verdict
        assert run.code == code
    assert "Traceback" not in run.console
    assert not any(c["outcome"] == "error" for c in summary["checks"]), "a hostile answer broke the kit"
    assert_clean_bundle(run.directory, run.console)
    report = (run.directory / "report.html").read_text()
    assert SCRIPT not in report and "<script>alert(" not in report


@pytest.mark.parametrize(("mode", "requirement", "words"), [
    ("reset-requests", "GR2-HTTP-TIMELY", "connection"),
    ("bad-utf8", "GR2-REQ-SCHEMA", "not valid UTF-8"),
])
def test_broken_answers_fail_their_check_with_a_plain_message(mode, requirement, words, hostile_run):
    failed = [c for c in summary_of(hostile_run(mode).directory)["checks"] if c["outcome"] == "failed"]
    named = [c for c in failed if requirement in c["requirement_ids"]]
    assert named, [(c["id"], c["message"][:80]) for c in failed]
    assert any(words in c["message"] for c in named)


def test_key_echo_is_seen_and_redacted(hostile_run):
    run = hostile_run("key-echo")
    assert_clean_bundle(run.directory, run.console)
    # the echo did happen: the redacted marker stands where the key was sent back
    assert b"[REDACTED]" in (run.directory / "summary.json").read_bytes() + b"".join(
        p.read_bytes() for p in run.directory.glob("*.har"))


@pytest.mark.parametrize("fault", ["xml-entity-bomb", "oversized-body", "stalled-answer"])
def test_hostile_simulator_faults_end_bounded_and_fail(fault, tmp_path):
    started = time.monotonic()
    result = run_simulator((fault,), timeout=2.0, poll_timeout=3.0, report_dir=tmp_path)
    assert time.monotonic() - started <= BOUND_S + 30
    assert result.verdict == "fail"
    assert not any(r.outcome == "error" for r in result.results)
    report = (tmp_path / "report.html").read_text()
    assert "<!ENTITY" not in report  # the bomb is shown escaped, if at all
