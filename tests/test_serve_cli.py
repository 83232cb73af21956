"""``open311-conformance serve``: the fault list, usage errors, and a real foreground run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.simulator import CATALOGUE
from conformance.transport import Transport

REPO = Path(__file__).resolve().parents[1]


def test_list_faults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--list-faults"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip()][:-1]
    assert len(lines) == len(CATALOGUE)
    for line, fault in zip(lines, CATALOGUE.values(), strict=True):
        name, requirement, description = line.split(None, 2)
        assert (name, requirement, description) == (fault.name, fault.requirement,
                                                    fault.description)


def test_unknown_fault_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--fault", "paging-ignored", "--fault", "nope"]) == 2
    err = capsys.readouterr().err
    assert "unknown fault: nope" in err and len(err.strip().splitlines()) == 1


def test_negative_delay_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--delay", "-1"]) == 2
    assert "--delay" in capsys.readouterr().err


@pytest.mark.parametrize("latency", ["-1", "nan", "inf"])
def test_a_latency_that_is_no_number_of_seconds_is_a_usage_error(
        latency: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--latency", latency]) == 2
    assert "--latency must be a number of seconds" in capsys.readouterr().err


def _serve(*extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", "0", "--delay", "0.1",
         *extra],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _read_urls(process: subprocess.Popen[str]) -> tuple[str, str]:
    assert process.stdout is not None
    base_line = process.stdout.readline()
    key_line = process.stdout.readline()
    assert base_line.startswith("Base URL: http://127.0.0.1:"), base_line
    assert key_line.startswith("API key: "), key_line
    return base_line.split(": ", 1)[1].strip(), key_line.split(": ", 1)[1].strip()


@pytest.mark.integration
@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serve_prints_base_url_and_key_then_serves(stop_signal: int) -> None:
    process = _serve("--fault", "paging-ignored")
    try:
        base_url, key = _read_urls(process)
        assert base_url.endswith("/open311/v2")
        client = Transport(base_url, key, timeout=10)
        assert client.get("services.json").status == 200
        assert client.post("requests.json", {
            "api_key": key, "service_code": "4fd3b656e750846c53000004",
            "address_string": "121 N LaSalle St", "attribute[WHEREIST]": "CURB"}).status == 200
        process.send_signal(stop_signal)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.integration
def test_serve_keeps_the_key_in_a_db(tmp_path: Path) -> None:
    db = str(tmp_path / "city.sqlite3")
    keys = []
    for _ in range(2):
        process = _serve("--db", db)
        try:
            keys.append(_read_urls(process)[1])
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=10) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert keys[0] == keys[1]
