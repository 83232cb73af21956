"""The run's console: progress while it goes, the poll timeline once, a short end, and what to do next."""

from __future__ import annotations

import re

import pytest

from conformance import cities, cli
from conformance.cli.console import Console
from conformance.client import Poll
from conformance.report.html import report_page
from conformance.run.engine import RunProgress, poll_timeline
from tests.records import record

TOTAL = 184
DEFAULT_RUN_MAX_LINES = 40


def feed(console: Console, total: int = TOTAL) -> None:
    for done in range(1, total + 1):
        console.progress(RunProgress(done, total, requests=done * 2, elapsed_s=done / 10))
    console.progress(RunProgress(total, total, requests=total * 2, elapsed_s=20.0, final=True))


def test_without_a_terminal_progress_is_a_plain_line_at_each_quarter_and_one_at_the_end():
    lines: list[str] = []
    feed(Console(line_out=lines.append, live=False))
    assert lines == ["  ... checks 46/184, 92 requests, 4.6 s", "  ... checks 92/184, 184 requests, 9.2 s",
                     "  ... checks 138/184, 276 requests, 13.8 s", "checks 184/184, 368 requests, 20.0 s"]


def test_on_a_terminal_a_bar_runs_and_lines_print_above_it_as_written(capsys):
    console = Console(live=True)
    console.progress(RunProgress(1, TOTAL, requests=3, elapsed_s=0.1))
    assert console._bar is not None  # rich's live bar is up
    console.say("  [x] The server answers errors as documented: met")
    feed(console)
    assert console._bar is None  # and gone once the run ended
    out = capsys.readouterr().out
    # rich markup is off: a checklist mark is not taken for a style
    assert "  [x] The server answers errors as documented: met" in out
    assert "checks 184/184, 368 requests, 20.0 s" in out


def test_the_poll_timeline_is_every_poll_in_order_in_a_few_lines():
    polls = [Poll(n, n * 0.25, 200, None) for n in range(1, 30)] + [Poll(30, 7.5, 200, "26-0001")]
    lines = poll_timeline(polls)
    assert lines[0].startswith("Token poll timeline (30 polls): 0.2 s pending, 0.5 s pending")
    assert lines[-1].endswith("7.5 s id 26-0001")
    assert all(len(line) <= 100 for line in lines) and len(lines) <= 8
    text = " ".join(lines)
    assert text.count("pending") == 29
    # a line breaks between polls, never inside one
    assert not any(re.search(r"\d s$", line) for line in lines)


def test_a_practice_run_names_the_next_steps_and_a_real_run_none():
    test_url = cities.get("chicago").test_url.rstrip("/")
    practice = record(kind="practice")
    steps = "\n".join(practice.next_steps)
    assert f"{test_url}/apps/new" in steps  # the City's key page, from cities.yaml
    assert f"--base-url {test_url}" in steps and "OPEN311_API_KEY" in steps
    assert "open311-conformance check-app" in steps
    assert record(kind="test-host").next_steps == ()
    page = report_page(practice)
    first_screen = page[:page.index('<table class="facts">')]  # the verdict block opens the page
    assert 'id="next"' in first_screen and f"{test_url}/apps/new" in first_screen
    assert 'id="next"' not in report_page(record(kind="test-host"))


def test_quiet_and_verbose_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as stopped:
        cli.build_parser().parse_args(["run", "-q", "-v"])
    assert stopped.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.integration
def test_a_passing_default_run_is_short_and_ends_with_next(tmp_path, capsys):
    assert cli.main(["run", "--report-dir", str(tmp_path), "--simulator-delay", "0.3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= DEFAULT_RUN_MAX_LINES, "\n".join(lines)
    assert not [line for line in lines if line.lstrip().startswith("PASS")]  # no line per check
    assert not [line for line in lines if "token poll " in line]  # no stray poll lines
    assert sum(line.startswith("Token poll timeline") for line in lines) == 1
    assert any(re.fullmatch(r"checks (\d+)/\1, \d+ requests, [\d.]+ s", line) for line in lines)
    order = [next(i for i, line in enumerate(lines) if line.startswith(words))
             for words in ("Pre-approval checklist", "Pre-approval evidence", "verdict: PASS", "Next:")]
    assert order == sorted(order)
    assert lines[-3].startswith("  - Get a test key on the City's key page: http")
    assert "open311-conformance check-app" in lines[-1]
    assert 'id="next"' in (tmp_path / "report.html").read_text(encoding="utf-8")


@pytest.mark.integration
def test_verbose_lists_every_check(tmp_path, capsys):
    assert cli.main(["run", "-v", "--report-dir", str(tmp_path), "--simulator-delay", "0.3",
                     "--fuzz-examples", "0"]) == 0
    out = capsys.readouterr().out
    checks = re.search(r"^checks (\d+)/(\d+),", out, re.M)
    assert checks and checks.group(1) == checks.group(2)
    listed = [line for line in out.splitlines() if re.match(r"  (PASS|FAIL|WARN|SKIP|INC|ERR)", line)]
    assert len(listed) == int(checks.group(2))


def test_the_timeline_is_said_once_when_the_flow_ends_and_at_the_latest_when_the_run_does():
    from types import SimpleNamespace

    from conformance.run.engine import _Redacted, _Watch

    lines: list[str] = []
    polls = [Poll(1, 0.1, 200, None), Poll(2, 0.4, 200, "26-1")]
    flow = SimpleNamespace(done=False, outcome=SimpleNamespace(token_result=SimpleNamespace(polls=polls)))
    plugin = SimpleNamespace(context=SimpleNamespace(results={}), items=[1, 2, 3])
    heard: list[RunProgress] = []
    watch = _Watch(_Redacted(lines.append, lambda line: line), flow, SimpleNamespace(requests_sent=5),  # type: ignore[arg-type]
                   plugin, heard.append, timeline=True)  # type: ignore[arg-type]
    watch.checked(None)  # type: ignore[arg-type]
    assert lines == []  # still polling: nothing yet, no line per poll
    flow.done = True
    watch.checked(None)  # type: ignore[arg-type]
    watch.checked(None)  # type: ignore[arg-type]
    assert lines == ["Token poll timeline (2 polls): 0.1 s pending, 0.4 s id 26-1"]
    watch.finished()
    assert len(lines) == 1 and heard[-1].final and heard[-1].total == 3 and heard[-1].requests == 5
    # a run that ended while the flow still polled: the polls so far, at the end
    cut: list[str] = []
    flow.done = False
    _Watch(_Redacted(cut.append, lambda line: line), flow, SimpleNamespace(requests_sent=5),  # type: ignore[arg-type]
           plugin, None, timeline=True).finished()  # type: ignore[arg-type]
    assert cut == lines
