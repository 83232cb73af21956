"""check-app end to end: the reference application passes, each flawed one fails naming its
requirement (tests/cases/apps.json), a hand-run app is waited for, the proxy forwards through the
transport, and the open311_simulator fixture serves an application's own tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.appcheck.grading import GradingSimulator
from conformance.appcheck.proxy import ProxyServer
from conformance.transport import Transport

pytestmark = pytest.mark.integration
pytest_plugins = ("pytester",)

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "apps" / "reference_app.py"
CASES = json.loads((ROOT / "tests" / "cases" / "apps.json").read_text())["cases"]
DELAY = "1.2"


def env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), **extra}


def check_app(report_dir: Path, *args: str, app: list[str] | None = None, timeout: float = 120,
              extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    quick = () if "--token-wait" in args else ("--quick",)  # patience is tested by its own cases
    command = [sys.executable, "-m", "conformance.cli", "check-app", "--report-dir", str(report_dir),
               "--simulator-delay", DELAY, *quick, *args]
    if app is not None:
        command += ["--", *app]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env(**(extra_env or {})),
                          cwd=ROOT)


def judged(report_dir: Path, outcome: str) -> list[str]:
    summary = json.loads((report_dir / "summary.json").read_text())
    return sorted(i for c in summary["checks"] if c["outcome"] == outcome for i in c["requirement_ids"])


def message_of(report_dir: Path, requirement: str) -> str:
    summary = json.loads((report_dir / "summary.json").read_text())
    return next(c["message"] for c in summary["checks"] if requirement in c["requirement_ids"])


def first_screen(report_dir: Path) -> str:
    """report.html down to its results: what a reader sees before scrolling."""
    page = (report_dir / "report.html").read_text()
    return page[:page.index('<section id="results">')]


def api_key_of(stdout: str) -> str:
    return next(line.split(": ", 1)[1] for line in stdout.splitlines() if line.startswith("API key: "))


@pytest.mark.parametrize("case", CASES, ids=[c["flaw"] or "reference" for c in CASES])
def test_flawed_application(case, tmp_path):
    app = [sys.executable, str(APP), "--formats", case["formats"]]
    app += ["--flaw", case["flaw"]] if case["flaw"] else []
    kept = tmp_path / "app-output"
    options = ("--app-output", str(kept)) if case.get("app_output") else ()
    options += tuple(case.get("args", ()))
    app += ["--out", str(kept)] if case.get("app_output") else []
    done = check_app(tmp_path / "report", "--formats", case["formats"], "--wait", "60", *options, app=app)
    assert done.returncode == case["exit"], done.stdout + done.stderr
    assert judged(tmp_path / "report", "failed") == sorted(case["failed"])
    assert judged(tmp_path / "report", "warning") == sorted(case["warning"])
    assert "Traceback" not in done.stderr
    screen = first_screen(tmp_path / "report")
    if case["warning"] and not case["failed"]:  # a passing grading's warning is said under its condition
        said = [c["said"] for c in json.loads((tmp_path / "report" / "summary.json").read_text())["checklist"]]
        for warned in case["warning"]:  # alike on the console, in summary.json and on report.html's first screen
            assert f"met, with warnings ({warned})" in done.stdout, done.stdout
            assert any(s.startswith("met, with warnings (") and warned in s for s in said), said
            assert f"met, with warnings ({warned})" in screen and f"<b>{warned}</b>" in screen
    if case["flaw"] == "omit-attribute":  # the server's reason for refusing the POST, up front
        assert "answered 400: &#39;WHATTYP1 required&#39;" in screen
    if case["flaw"] is None:
        assert judged(tmp_path / "report", "inconclusive") == []
        assert "rows.csv" in message_of(tmp_path / "report", "APP-IGNORE-PENDING")
    if case["flaw"] == "read-only":
        summary = json.loads((tmp_path / "report" / "summary.json").read_text())
        assert summary["verdict"] == "pass" and summary["application"]["writes"].startswith("none: read-only")
        assert "read-only run: nothing was written" in summary["pre_approval"]["reasons"]
        assert "read-only application" in message_of(tmp_path / "report", "APP-WRITE")
    if case["flaw"] == "crash-at-start":
        assert "RuntimeError: cannot build the request body" in "\n".join(
            json.loads((tmp_path / "report" / "summary.json").read_text())["application"]["stderr_tail"])
        # APP-EXIT fails first, its status and the end of stderr on the first screen; the write
        # condition says why it is not met
        failed = screen.split('id="failed"')[1]
        assert failed.index("APP-EXIT") < failed.index("APP-WRITE")
        assert "exited with status 1" in failed and "RuntimeError: cannot build the request body" in failed
        assert "the application exited before writing" in screen.split('class="checklist"')[1].split("</table>")[0]


def test_an_app_that_fails_at_once_fails_on_its_exit_code_with_its_tail(tmp_path):
    # an unknown argument: the app exits 2 at once; everything else is not shown
    done = check_app(tmp_path, "--app-name", "Reference 311", "--wait", "60",
                     app=[sys.executable, str(APP), "--base", "{base_url}"])
    assert done.returncode == 1
    assert judged(tmp_path, "failed") == ["APP-EXIT", "APP-WRITE"]
    assert "exited before writing (status 2" in message_of(tmp_path, "APP-WRITE")
    summary = json.loads((tmp_path / "summary.json").read_text())
    application = summary["application"]
    assert application["exit_code"] == 2 and "unrecognized arguments" in "\n".join(application["tail"])


def test_the_key_reaches_no_artifact(tmp_path):
    # the app echoes its key and gets it in its argv: the console shows it once, the bundle never
    app = [sys.executable, "-c", "import os,sys; print('my key is', os.environ['OPEN311_API_KEY'], sys.argv[1])",
           "{api_key}"]
    done = check_app(tmp_path, "--wait", "30", app=app)
    key = api_key_of(done.stdout)
    assert len(key) >= 16 and done.stdout.count(key) == 1
    assert "app| my key is [REDACTED] [REDACTED]" in done.stdout
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["subject"] == "application" and summary["api_key_fingerprint"].startswith("sha256:")
    for path in tmp_path.rglob("*"):
        assert key.encode() not in path.read_bytes(), path
    assert "[REDACTED]" in summary["application"]["command"]


def test_a_full_grading_keeps_the_key_out_of_the_har(tmp_path):
    done = check_app(tmp_path, "--formats", "json", "--wait", "60",
                     app=[sys.executable, str(APP), "--flaw", "key-on-get"])
    key = api_key_of(done.stdout)
    har = (tmp_path / "evidence.har").read_text()
    assert key not in har and har.count("[REDACTED]") >= 5
    entries = json.loads(har)["log"]["entries"]
    assert [e["_seq"] for e in entries] == list(range(1, len(entries) + 1))
    assert any(e["response"]["status"] == 503 for e in entries)


def test_an_app_past_wait_is_stopped_and_judged_on_what_was_seen(tmp_path):
    started = time.monotonic()
    done = check_app(tmp_path, "--wait", "2", app=[sys.executable, "-c", "import time; time.sleep(60)"])
    assert time.monotonic() - started < 30
    assert done.returncode == 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["application"]["stopped_by_wait"] is True
    assert judged(tmp_path, "failed") == ["APP-EXIT"]


def test_a_hand_run_app_is_waited_for_until_its_flow_is_seen(tmp_path):
    grader = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "check-app", "--report-dir", str(tmp_path),
         "--simulator-delay", DELAY, "--quick", "--wait", "90"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env(), cwd=ROOT)
    try:
        assert grader.stdout is not None
        lines = [grader.stdout.readline() for _ in range(3)]
        assert [line.split(": ")[0] for line in lines] == ["Base URL", "API key", "Jurisdiction"]
        base_url, key = (line.split(": ", 1)[1].strip() for line in lines[:2])
        subprocess.run([sys.executable, str(APP)], env=env(OPEN311_BASE_URL=base_url, OPEN311_API_KEY=key),
                       timeout=60, check=True, capture_output=True)
        out, _err = grader.communicate(timeout=30)
    finally:
        if grader.poll() is None:
            grader.kill()
            grader.wait()
    assert grader.returncode == 0, out
    assert "POST accepted (json), token" in out and "read back" in out and "flow was seen end to end" in out
    # by hand: no exit code, no output read; --quick: no patience held
    assert judged(tmp_path, "skipped") == ["APP-EXIT", "APP-KEY-SECRET", "APP-TOKEN-PATIENCE"]


# -- the proxy ----------------------------------------------------------------------------------
def test_proxy_grades_the_app_against_another_server(tmp_path):
    with GradingSimulator(delay=1.2) as upstream:
        done = check_app(tmp_path, "--proxy", upstream.base_url, "--wait", "60",
                         app=[sys.executable, str(APP)], extra_env={"OPEN311_API_KEY": upstream.api_key})
        assert done.returncode == 0, done.stdout + done.stderr
        assert upstream.api_key not in done.stdout
        posts = [s for s in upstream.recorder.snapshot() if s.method == "POST"]
        assert len(posts) == 1 and posts[0].accepted  # forwarded, and written upstream
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["application"]["mode"] == "proxy" and summary["target"]["base_url"] == upstream.base_url
    for path in tmp_path.rglob("*"):
        assert upstream.api_key.encode() not in path.read_bytes()


class _NoWrites:
    def refusal(self, url: str) -> str:
        return "this test allows no writes"


def test_proxy_refuses_a_post_the_write_guard_refuses():
    import requests

    with GradingSimulator(delay=0.2) as upstream:
        transport = Transport(upstream.base_url, upstream.api_key, write_policy=_NoWrites(),  # type: ignore[arg-type]
                              max_retries=0)
        proxy = ProxyServer(upstream.base_url, upstream.api_key, transport=transport)
        try:
            answer = requests.post(f"{proxy.base_url}/requests.json", timeout=10,
                                   data={"api_key": upstream.api_key, "service_code": "x"})
            listed = requests.get(f"{proxy.base_url}/services.json", timeout=10)
        finally:
            proxy.stop()
        assert answer.status_code == 403
        assert "did not forward this POST" in answer.json()[0]["description"]
        assert listed.status_code == 200 and len(listed.json()) == 14
        assert [s.method for s in upstream.recorder.snapshot()] == ["GET"]  # the POST never left
        recorded = proxy.recorder.snapshot()
        assert [(s.method, s.status) for s in recorded] == [("POST", 403), ("GET", 200)]
        assert "write guard" in recorded[0].note


def test_proxy_hands_the_app_the_upstreams_503():
    import requests

    with GradingSimulator(delay=0.2) as upstream:
        proxy = ProxyServer(upstream.base_url, upstream.api_key)
        try:
            posted = requests.post(f"{proxy.base_url}/requests.json", timeout=10, data={
                "api_key": upstream.api_key, "service_code": "4fd3b167e750846744000005", "lat": "41.88",
                "long": "-87.63", "attribute[WHATTYP1]": "BRICK"})
            token = posted.json()[0]["token"]
            first = requests.get(f"{proxy.base_url}/tokens/{token}.json", timeout=10)
        finally:
            proxy.stop()
    assert first.status_code == 503 and first.headers["Retry-After"] == "3"


# -- the fixture, as an application developer uses it ----------------------------------------------
def test_open311_simulator_fixture_in_a_developers_suite(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    pytester.makepyfile(test_my_app=f"""
        import sys, time
        import pytest
        import requests
        sys.path.insert(0, {str(APP.parent)!r})
        import reference_app

        @pytest.mark.open311_simulator(delay=0.3)
        def test_my_app_writes_and_reads_back(open311_simulator):
            app = reference_app.App(open311_simulator.base_url, open311_simulator.api_key,
                                    open311_simulator.jurisdiction_id, None)
            assert app.flow("json")
            assert len(open311_simulator.sent("post")) == 1
            assert open311_simulator.problems() == []

        def test_my_app_notices_an_outage(open311_simulator):
            open311_simulator.set_faults("key-revoked")
            app = reference_app.App(open311_simulator.base_url, open311_simulator.api_key,
                                    open311_simulator.jurisdiction_id, None)
            assert not app.flow("json")
            assert [s.status for s in open311_simulator.sent("post")] == [403]

        def test_a_flawed_app_is_told_what_it_broke(open311_simulator):
            app = reference_app.App(open311_simulator.base_url, open311_simulator.api_key,
                                    open311_simulator.jurisdiction_id, "phantom")
            app.flow("json")
            assert [p.split(":")[0] for p in open311_simulator.problems()] == ["APP-IGNORE-PENDING"]

        def test_rows_without_an_id_it_prints_or_keeps_are_caught(open311_simulator, capsys, tmp_path):
            app = reference_app.App(open311_simulator.base_url, open311_simulator.api_key,
                                    open311_simulator.jurisdiction_id, "print-pending", out=str(tmp_path))
            app.list_requests("json")
            printed = capsys.readouterr().out
            assert open311_simulator.pending_markers[0] in printed
            problems = open311_simulator.problems(output=[printed, tmp_path])
            assert [p.split(":")[0] for p in problems] == ["APP-IGNORE-PENDING"]
            assert "output line" in problems[0]
            assert "rows.csv line" in open311_simulator.problems(output=[tmp_path])[0]  # it kept them too
    """)
    result = pytester.runpytest_subprocess("-p", "no:open311_conformance", "-p", "conformance.run.plugin", "-q")
    result.assert_outcomes(passed=4)


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_signal_stops_the_grading_and_keeps_the_evidence(signum, tmp_path):
    import signal

    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    process = subprocess.Popen([sys.executable, "-m", "conformance.cli", "check-app", "--report-dir", str(tmp_path),
                                "--", *sleeper], env=env(), cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    sent = time.monotonic()
    process.send_signal(getattr(signal, signum))
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - sent < 10
    assert process.returncode == 3 and "Traceback" not in out + err
    assert "Simulator stopped." in out and f"stopped by signal {signum}" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["cut_short"]["reason"] == "signal" and summary["verdict"] == "inconclusive"
    assert (tmp_path / "manifest.json").is_file()


# -- the live page of a hand-run grading ------------------------------------------------------------
def _chromium() -> str | None:
    import shutil

    return next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)


@pytest.mark.skipif(_chromium() is None, reason="no Chromium on this machine")
def test_the_live_page_shows_each_requirements_state_in_headless_chromium(tmp_path):
    import re

    import requests

    grader = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "check-app", "--report-dir", str(tmp_path / "report"),
         "--simulator-delay", "3", "--quick", "--wait", "90"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, env=env(), cwd=ROOT)
    app = None
    try:
        assert grader.stdout is not None
        lines = [grader.stdout.readline() for _ in range(4)]
        assert [line.split(": ")[0] for line in lines] == ["Base URL", "API key", "Jurisdiction", "Live page"]
        base_url, key, _, page = (line.split(": ", 1)[1].strip() for line in lines)
        raw = requests.get(page, timeout=10).text
        assert '<noscript><meta http-equiv="refresh"' in raw  # refreshes itself without JavaScript too
        app = subprocess.Popen([sys.executable, str(APP)], env=env(OPEN311_BASE_URL=base_url, OPEN311_API_KEY=key),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)  # the app has read the services and listed; its token is not resolved yet
        dom = subprocess.run([_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=2000",
                              "--dump-dom", page], capture_output=True, text=True, timeout=60).stdout
        assert app.wait(timeout=60) == 0
        out, _err = grader.communicate(timeout=30)
    finally:
        for process in (app, grader):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    states = dict(re.findall(r'data-requirement="([^"]+)">.*?data-state="([^"]*)"', dom))
    apps = {r.id for r in requirements_of_applications()}
    assert set(states) == apps, dom
    assert set(states.values()) <= {"met", "not met", "not shown", "not applicable"}
    assert states["APP-KEY-NOT-IN-GET"] == "met" and states["APP-EXIT"] == "not applicable"
    assert 'data-updated-by="script"' in dom  # the script asked state.json and redrew the table
    assert key not in dom
    assert grader.returncode == 0, out
    har = json.loads((tmp_path / "report" / "evidence.har").read_text())
    urls = [e["request"]["url"] for e in har["log"]["entries"]]
    assert urls and not [u for u in urls if "/check-app" in u or "favicon" in u]
    assert judged(tmp_path / "report", "failed") == []  # the page and the browser's icon were never the app's


def requirements_of_applications():
    from conformance import requirements

    return [r for r in requirements.load().values() if r.subject == "application"]
