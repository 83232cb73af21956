"""``open311-conformance run``: test one target and leave the evidence.

Drives pytest over ``conformance.scenarios`` with the plugin, then writes the report
directory and prints the pre-approval checklist and the verdict. With no target it starts
the embedded simulator in-process and tests that.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from conformance import outcomes, profiles
from conformance import target as target_mod
from conformance.client import Client, Poll
from conformance.context import RunContext
from conformance.errors import UsageError
from conformance.outcomes import CheckResult
from conformance.plugin import RunPlugin
from conformance.profiles import Profile
from conformance.target import Target
from conformance.timestamps import iso_utc
from conformance.transport import Transport
from conformance.write_flow import WriteFlow

SCENARIOS = Path(__file__).with_name("scenarios")


@dataclass(slots=True)
class RunResult:
    run_id: str
    verdict: str
    report_dir: Path
    results: list[CheckResult]
    started: str
    finished: str
    requests_sent: int
    kit_errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return outcomes.EXIT_CODES[self.verdict]


def new_run_id() -> str:
    now = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{now}-{secrets.token_hex(3)}"


def main(args: Any) -> int:
    target = target_mod.from_args(args)
    if target.simulator:
        _check_faults(target.faults)
    if args.plan:
        from conformance.plan import print_plan

        return print_plan(target)
    with embedded(target, args.simulator_delay) as live:
        result = execute(live, report_dir=Path(args.report_dir) if args.report_dir else None,
                         quiet=args.quiet)
    return result.exit_code


def _check_faults(names: tuple[str, ...]) -> None:
    from conformance.simulator.faults import CATALOGUE

    unknown = [n for n in names if n not in CATALOGUE]
    if unknown:
        raise UsageError(f"unknown fault {', '.join(unknown)} (see `open311-conformance serve --list-faults`)")


@contextlib.contextmanager
def embedded(target: Target, delay: float) -> Iterator[Target]:
    """The target itself, or the embedded simulator started for it."""
    if not target.simulator:
        yield target
        return
    from conformance.simulator import server

    simulator = server.start(delay=delay, faults=target.faults)
    try:
        target.base_url = simulator.base_url
        target.api_key = target.api_key or simulator.api_key
        yield target
    finally:
        simulator.stop()


def run_simulator(faults: tuple[str, ...] = (), *, delay: float = 0.3, report_dir: Path | None = None,
                  profile: Profile | str = profiles.DEFAULT, timeout: float = 5.0, poll_timeout: float = 10.0,
                  say: Callable[[str], None] | None = None, quiet: bool = True,
                  order_seed: int | None = None) -> RunResult:
    """A whole run against a fresh embedded simulator: what the kit's own tests drive."""
    _check_faults(faults)
    target = Target(base_url="", profile=profile, timeout=timeout, poll_timeout=poll_timeout,
                    simulator=True, faults=faults)
    with embedded(target, delay) as live:
        return execute(live, report_dir=report_dir, quiet=quiet, say=say or (lambda _line: None),
                       order_seed=order_seed)


def execute(target: Target, report_dir: Path | None = None, quiet: bool = False,
            say: Callable[[str], None] | None = None, transport: Transport | None = None,
            order_seed: int | None = None) -> RunResult:
    from conformance.report import write_reports
    from conformance.report.html import HtmlReport

    print_line = say or _printer()
    run_id = new_run_id()
    report_dir = (report_dir or Path("reports") / run_id).resolve()
    if any((report_dir / name).exists() for name in ("summary.json", "manifest.json")):
        raise UsageError(f"{report_dir} already holds a run's report: choose another --report-dir")
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create report directory {report_dir}: {exc.strerror}") from None
    transport = transport or Transport(
        target.base_url, target.api_key, timeout=target.timeout, write_policy=target.write_policy,
        max_requests=target.max_requests, min_interval=target.min_interval, deadline=target.deadline)
    redact = transport.redact

    def say(line: str) -> None:
        print_line(redact(line))  # every console line: a server may have echoed the key

    client = Client(transport, target.jurisdiction_id, key_on=target.profile.quirks.key_on)
    flow = WriteFlow(client, target, run_id, on_poll=None if quiet else _poll_printer(say))
    context = RunContext(target, transport, client, run_id, flow, say=say)
    started = iso_utc()
    if not quiet:
        say(f"open311-conformance run {run_id}")
        say(f"  target  {target.base_url} ({target.kind}), profile {target.profile.name}")
        say(f"  key     {'given, fingerprint ' + transport.key_fingerprint if target.api_key else 'none'}")
        say("")
    pytest_args = [
        str(SCENARIOS), "--rootdir", str(SCENARIOS), "-c", str(SCENARIOS / "pytest.ini"),
        "-p", "no:terminal", "-p", "no:cacheprovider", "-p", "no:randomly",
        # the plugin by module name, whether or not the kit is installed with its entry point
        "-p", "no:open311_conformance", "-p", "conformance.plugin",
        "--junitxml", str(report_dir / "junit.xml"),
        "--html", str(report_dir / "report.html"), "--self-contained-html",
    ]
    try:
        code = pytest.main(pytest_args, plugins=[RunPlugin(context, quiet=quiet, order_seed=order_seed),
                                                 HtmlReport(context, started=started)])
    finally:
        flow.wait(timeout=1)
        transport.close()
    if code == pytest.ExitCode.INTERRUPTED:
        # what was recorded is still written: an interrupted run is evidence, not a verdict
        context.kit_errors.append(f"the run was interrupted after {len(context.results)} checks")
    elif code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        context.kit_errors.append(f"pytest ended with {code!r} after {len(context.results)} checks")
    results = list(context.results.values())
    verdict = outcomes.run_verdict(results, context.kit_errors)
    result = RunResult(run_id, verdict, report_dir, results, started, iso_utc(),
                       transport.requests_sent, context.kit_errors)
    write_reports(result, context)
    _print_end(result, target.profile, say)  # quiet still ends with the checklist and the verdict
    return result


def _printer() -> Callable[[str], None]:
    def say(line: str) -> None:
        print(line, flush=True)

    return say


def _poll_printer(say: Callable[[str], None]) -> Callable[[Poll], None]:
    def on_poll(poll: Poll) -> None:
        state = f"id {poll.service_request_id}" if poll.service_request_id else (poll.note or "pending")
        say(f"        token poll {poll.attempt} at {poll.at_s:.1f} s: {state}")

    return on_poll


def _print_end(result: RunResult, profile: Profile, say: Callable[[str], None]) -> None:
    from conformance.report.checklist import checklist

    counts: dict[str, int] = {}
    for r in result.results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    say("")
    say("Pre-approval checklist")
    for item in checklist(result.results, profile):
        say(f"  [{item.mark}] {item.title}: {item.state}")
    for error in result.kit_errors:
        say(f"kit error: {error}")
    say("")
    say(" ".join(f"{counts.get(o, 0)} {o}" for o in outcomes.OUTCOMES))
    say(f"requests sent: {result.requests_sent}; report: {result.report_dir}")
    say(f"verdict: {result.verdict.upper()}")
    sys.stdout.flush()
