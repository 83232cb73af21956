"""What a run proves, and how it ends, when the kit's limits or the target cut it short.

A run without a key cannot pass; a read-only run says so; a spent budget, a hung or
unreachable target and a signal each end the run inconclusive with the reason, the evidence
written, and no traceback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from conformance.run.engine import execute, run_simulator
from conformance.simulator import server
from conformance.target import Target
from tests.hostile import hostile_server

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[1]


def _summary(directory: Path) -> dict:
    return json.loads((directory / "summary.json").read_text(encoding="utf-8"))


def _cli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OPEN311_API_KEY", None)
    env.pop("OPEN311_BASE_URL", None)
    return subprocess.Popen([sys.executable, "-m", "conformance.cli", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def _seconds(summary: dict, start: str = "started") -> float:
    parse = lambda text: datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: E731
    return (parse(summary["finished"]) - parse(summary[start])).total_seconds()


@pytest.mark.parametrize("read_only", [False, True], ids=["no key", "read-only"])
def test_without_a_key(read_only: bool, tmp_path: Path) -> None:
    with server.start(delay=0.2) as sim:
        target = Target(base_url=sim.base_url, timeout=5, poll_timeout=5, read_only=read_only)
        result = execute(target, report_dir=tmp_path, quiet=True, say=lambda _line: None)
        data = _summary(tmp_path)
    assert data["mode"] == ("read-only" if read_only else "no-key")
    assert data["pre_approval"]["complete"] is False
    assert not any(c["outcome"] == "failed" for c in data["checks"])
    if read_only:
        assert result.verdict == "pass" and result.exit_code == 0
        assert any("read-only run" in r for r in data["pre_approval"]["reasons"])
    else:
        assert result.verdict == "inconclusive" and result.exit_code == 3
        assert any("no API key given" in r for r in data["pre_approval"]["reasons"])
    states = {i["key"]: i["state"] for i in data["checklist"]}
    assert states["write"] == states["readback"] == "not shown"
    har = json.loads((tmp_path / "evidence.har").read_text())["log"]["entries"]
    assert not any(e["request"]["method"] == "POST" for e in har) if read_only else True


def test_a_spent_budget_is_the_kits_limit_not_a_failure(tmp_path: Path) -> None:
    result = run_simulator(report_dir=tmp_path, max_requests=20, poll_timeout=30, delay=5)
    data = _summary(tmp_path)
    assert result.verdict == "inconclusive" and result.exit_code == 3
    assert data["counts"]["failed"] == 0 and data["counts"]["inconclusive"] > 0
    assert data["cut_short"]["reason"] == "budget" and "--max-requests" in data["cut_short"]["detail"]
    assert data["requests_sent"] == 20
    assert _seconds(data) < 15  # the write flow stopped at once instead of polling out its 30 s
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "Cut short." in page[:page.index('<section id="results">')]


def test_a_hung_target_ends_the_run_soon(tmp_path: Path) -> None:
    timeout = 1.0
    with hostile_server("hang", "hang-key-123456") as url:
        result = execute(Target(base_url=url, api_key="hang-key-123456", timeout=timeout, poll_timeout=5),
                         report_dir=tmp_path, quiet=True, say=lambda _line: None)
    data = _summary(tmp_path)
    assert result.exit_code == 3 and data["cut_short"]["reason"] == "hung"
    assert "stopped answering at" in data["cut_short"]["detail"]
    assert _seconds(data) <= 2 * timeout + 10
    assert data["counts"]["failed"] == 0 or all(
        "GR2-HTTP-TIMELY" in c["requirement_ids"] for c in data["checks"] if c["outcome"] == "failed")


def test_an_unreachable_target_in_a_few_lines(tmp_path: Path) -> None:
    process = _cli("run", "-q", "--base-url", "http://127.0.0.1:9/open311/v2", "--report-dir", str(tmp_path))
    out, err = process.communicate(timeout=60)
    lines = (out + err).splitlines()
    assert process.returncode == 3
    assert len(lines) <= 15, lines
    assert any("connection refused" in line and "127.0.0.1:9" in line for line in lines), lines
    assert "Traceback" not in out + err
    assert _summary(tmp_path)["cut_short"]["reason"] == "unreachable"


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_run_and_keeps_the_evidence(signum: int, tmp_path: Path) -> None:
    process = _cli("run", "--simulator-delay", "60", "--poll-timeout", "120", "--fuzz-examples", "0",
                   "--report-dir", str(tmp_path))
    time.sleep(6)  # well into the checks, the write flow polling its token
    sent = time.monotonic()
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - sent < 10
    assert process.returncode == 3, (out[-2000:], err[-2000:])
    assert "Traceback" not in out + err
    data = _summary(tmp_path)
    assert data["cut_short"]["reason"] == "signal" and "stopped by signal" in data["cut_short"]["detail"]
    assert data["verdict"] == "inconclusive"
    assert (tmp_path / "manifest.json").is_file()


def test_a_closed_stdout_loses_nothing(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = (f"{sys.executable} -m conformance.cli run --simulator-delay 0.3 --fuzz-examples 0 "
               f"--report-dir {tmp_path} | head -1; echo \"exit=${{PIPESTATUS[0]}}\"")
    done = subprocess.run(["bash", "-c", command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "exit=0" in done.stdout, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr
    assert _summary(tmp_path)["verdict"] == "pass"
    assert (tmp_path / "manifest.json").is_file()


def test_the_app_name_and_practice_on_the_console(tmp_path: Path) -> None:
    process = _cli("run", "-q", "--app-name", "Pothole Pal", "--simulator-delay", "0.3", "--fuzz-examples", "0",
                   "--report-dir", str(tmp_path))
    out, _err = process.communicate(timeout=120)
    assert process.returncode == 0
    assert "Pothole Pal" in out and "Practice run" in out and "Pre-approval evidence: NOT complete" in out


def test_a_wait_beyond_the_runs_means_is_undecided(tmp_path: Path) -> None:
    with hostile_server("retry-later", "later-key-123456") as url:
        result = execute(Target(base_url=url, api_key="later-key-123456", timeout=5, poll_timeout=3),
                         report_dir=tmp_path, quiet=True, say=lambda _line: None)
    data = _summary(tmp_path)
    on_list = [c for c in data["checks"] if "Retry-After 120" in c["message"]]
    assert on_list and all(c["outcome"] == "inconclusive" for c in on_list)
    assert not any(c["outcome"] == "failed" and "Retry-After" in c["message"] for c in data["checks"])
    assert result.exit_code == 3 and _seconds(data) < 60  # never waited the 120 s asked
