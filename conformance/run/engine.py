"""One run: pytest over ``conformance.run.checks`` with the plugin, then the bundle.

``execute`` tests a target and writes the report directory, saying the pre-approval
checklist and the verdict on the console it is given; ``embedded`` starts the embedded
simulator for a run that names no target.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance import profiles
from conformance.client import Client, Poll
from conformance.outcomes import CheckResult, Outcome, Verdict
from conformance.profiles import Profile
from conformance.record import RunRecord, new_run_id
from conformance.report import prepare_directory, write_bundle
from conformance.run.context import RunContext
from conformance.run.freeze import freeze
from conformance.run.plugin import RunPlugin
from conformance.run.write_flow import WriteFlow
from conformance.signals import stop_on_signals
from conformance.simulator import faults as fault_catalogue
from conformance.simulator import server
from conformance.target import Target
from conformance.timestamps import iso_utc
from conformance.transport import StopReason, Transport

CHECKS = Path(__file__).with_name("checks")


@dataclass(slots=True, frozen=True)
class RunResult:
    """A finished run: its frozen record, and where the bundle was written."""

    record: RunRecord
    report_dir: Path

    @property
    def run_id(self) -> str:
        return self.record.run_id

    @property
    def verdict(self) -> Verdict:
        return self.record.verdict

    @property
    def exit_code(self) -> int:
        return self.record.exit_code

    @property
    def results(self) -> tuple[CheckResult, ...]:
        return self.record.results

    @property
    def requests_sent(self) -> int:
        return self.record.requests_sent

    @property
    def kit_errors(self) -> tuple[str, ...]:
        return self.record.kit_errors


@contextlib.contextmanager
def embedded(target: Target, delay: float) -> Iterator[Target]:
    """The target itself, or the embedded simulator started for it."""
    if not target.simulator:
        yield target
        return
    simulator = server.start(delay=delay, faults=target.faults, dialect=target.simulator_dialect)
    try:
        target.base_url = simulator.base_url
        if not target.api_key:
            target.api_key, target.key_from_simulator = simulator.api_key, True
        yield target
    finally:
        simulator.stop()


def run_simulator(faults: tuple[str, ...] = (), *, delay: float = 0.3, report_dir: Path | None = None,
                  profile: Profile | str = profiles.DEFAULT, timeout: float = 5.0, poll_timeout: float = 10.0,
                  say: Callable[[str], None] | None = None, quiet: bool = True,
                  order_seed: int | None = None, **settings: Any) -> RunResult:
    """A whole run against a fresh embedded simulator: what the kit's own tests drive.
    ``settings`` are further Target fields (``app_name``, ``max_requests``, ...)."""
    fault_catalogue.check(faults)
    target = Target(base_url="", profile=profile, timeout=timeout, poll_timeout=poll_timeout,
                    simulator=True, faults=faults, **settings)
    with embedded(target, delay) as live:
        return execute(live, report_dir=report_dir, quiet=quiet, say=say or (lambda _line: None),
                       order_seed=order_seed)


def execute(target: Target, report_dir: Path | None = None, quiet: bool = False,
            say: Callable[[str], None] | None = None, transport: Transport | None = None,
            order_seed: int | None = None) -> RunResult:
    run_id = new_run_id()
    report_dir = prepare_directory(report_dir or Path("reports") / run_id)
    transport = transport or Transport(
        target.base_url, target.api_key, timeout=target.timeout, write_policy=target.write_policy,
        max_requests=target.max_requests, min_interval=target.min_interval, deadline=target.deadline)
    console = _Redacted(say or _silent, transport.redact)  # a server may have echoed the key
    client = Client(transport, target.jurisdiction_id, key_on=target.profile.quirks.key_on)
    flow = WriteFlow(client, target, run_id, on_poll=None if quiet else _poll_printer(console.say))
    context = RunContext(target, transport, client, run_id, flow, say=console.say)
    started = iso_utc()
    _print_start(context, console, quiet)
    plugin = RunPlugin(context, quiet=quiet, order_seed=order_seed)
    code: int | pytest.ExitCode = pytest.ExitCode.INTERRUPTED
    with stop_on_signals(lambda stop: transport.halt(stop.reason, stop.detail, stop.at)):
        try:
            with hermetic(), lean_collector():
                code = pytest.main(pytest_args(), plugins=[plugin])
        except KeyboardInterrupt:  # a signal outside pytest's own handling: the same stop
            pass
        finally:
            if code == pytest.ExitCode.INTERRUPTED and transport.stop is None:
                transport.halt(StopReason.SIGNAL, "the run was interrupted")
            flow.wait(timeout=1)
            transport.close()
    kit_errors = list(context.kit_errors)
    results = list(context.results.values())
    if transport.stop is not None:
        ended = transport.stop.detail
    elif code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        kit_errors.append(f"pytest ended with {code!r} after {len(context.results)} checks")
        ended = f"pytest ended with {code!r}"
    else:
        ended = "the run ended before it"
    results += plugin.unrun(ended)
    record = freeze(context, results, started=started, finished=iso_utc(), kit_errors=kit_errors)
    record = write_bundle(record, report_dir, key=transport.api_key)
    _print_end(record, report_dir, console, quiet)  # quiet still ends with the checklist and the verdict
    return RunResult(record, report_dir)


# what a user's shell or CI may set that would change what the run judges (pytest reads them
# in pytest.main); the run's checks are the kit's to choose, so they are hidden while it runs
PYTEST_ENVIRONMENT = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")


def pytest_args() -> list[str]:
    """The in-process pytest's whole configuration: the kit's ini, rootdir and plugins only."""
    return [
        str(CHECKS), "--rootdir", str(CHECKS), "-c", str(CHECKS / "pytest.ini"),
        # no conftest.py above the checks, no plugin installed beside the kit
        "--confcutdir", str(CHECKS), "--disable-plugin-autoload",
        "-p", "no:terminal", "-p", "no:cacheprovider", "-p", "no:randomly", "-p", "no:html",
        # the plugin by module name, whether or not the kit is installed with its entry point
        "-p", "no:open311_conformance", "-p", "conformance.run.plugin",
        # the checks judge through expect's fail(), not assert: no module needs its asserts
        # rewritten on every run
        "--assert=plain",
        # a run reports no warnings, so the collections that find unraisable exceptions for
        # them at the session's end (five full garbage collections) are CPU for nobody
        "-p", "no:unraisableexception",
    ]


# the young generation's size between two collections (CPython's default is 700): a run
# allocates millions of short-lived objects (Hypothesis' draws above all) and collected about
# 500 times, for a second of CPU (issue 21)
YOUNG_COLLECTION_THRESHOLD = 10_000


@contextlib.contextmanager
def lean_collector() -> Iterator[None]:
    """The cyclic garbage collector run rarer while the checks run, and never over what was
    loaded before them (the kit's modules, pytest, schemathesis: they live as long as the
    process); both put back after, for a caller that goes on."""
    threshold, frozen_by_caller = gc.get_threshold(), gc.get_freeze_count() > 0
    gc.freeze()
    gc.set_threshold(max(threshold[0], YOUNG_COLLECTION_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if not frozen_by_caller:  # a caller's own freeze is the caller's to undo
            gc.unfreeze()


@contextlib.contextmanager
def hermetic() -> Iterator[None]:
    """PYTEST_ADDOPTS and PYTEST_PLUGINS hidden from the run's pytest, and put back after."""
    saved = {name: os.environ.pop(name) for name in PYTEST_ENVIRONMENT if name in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


@dataclass(slots=True, frozen=True)
class _Redacted:
    """The caller's console, every line redacted of the key first."""

    line_out: Callable[[str], None]
    redact: Callable[[str], str]

    def say(self, line: str) -> None:
        self.line_out(self.redact(line))


def _poll_printer(say: Callable[[str], None]) -> Callable[[Poll], None]:
    def on_poll(poll: Poll) -> None:
        state = f"id {poll.service_request_id}" if poll.service_request_id else (poll.note or "pending")
        say(f"        token poll {poll.attempt} at {poll.at_s:.1f} s: {state}")

    return on_poll


PRACTICE = ("Practice run: the embedded simulator stands in for the City's test environment. "
            "This is not evidence for the City.")


def _print_start(context: RunContext, console: _Redacted, quiet: bool) -> None:
    target = context.target
    if quiet:
        return
    if target.simulator:
        console.say(PRACTICE)
    console.say(f"open311-conformance run {context.run_id}")
    console.say(f"  target  {target.base_url} ({target.kind}), profile {target.profile.name}")
    if target.app_name:
        console.say(f"  app     {target.app_name}")
    source = target.key_source
    key = f"{source.words} ({source}), fingerprint {context.transport.key_fingerprint}" if source else "none"
    console.say(f"  key     {key}{' (read-only run: nothing is written)' if target.read_only else ''}")
    console.say("")


FAILED_LINES_ON_CONSOLE = 4


def _print_end(record: RunRecord, report_dir: Path, console: _Redacted, quiet: bool = False) -> None:
    say = console.say
    if not quiet:
        say("")
    say("Pre-approval checklist" + (f" for {record.app_name}" if record.app_name else ""))
    for item in record.checklist:
        say(f"  [{item.mark}] {item.title}: {item.state}")
    failed = [r for r in record.results if r.outcome in (Outcome.FAILED, Outcome.ERROR)]
    if failed:
        say("")
        say(f"Failed checks ({len(failed)}):")
        for r in failed[:10]:
            say(f"  {' '.join(r.headline_ids)}: {r.title}")
            lines = r.message.splitlines()
            say("".join(f"      {text}\n" for text in lines[:FAILED_LINES_ON_CONSOLE]).rstrip("\n"))
        if len(failed) > 10:
            say(f"  ... and {len(failed) - 10} more in the report")
    for error in record.kit_errors:
        say(f"kit error: {error.splitlines()[0] if error else error}")
    if record.cut_short:
        say(f"Cut short: {record.cut_short}")
    say("")
    say(" ".join(f"{n} {o}" for o, n in record.counts.items()))
    say(f"requests sent: {record.requests_sent}; report: {report_dir}")
    if record.practice:
        say(PRACTICE)
    say(record.pre_approval.sentence())
    say(f"verdict: {record.verdict.upper()}")


def _silent(_line: str) -> None:
    """The console of a run nobody watches (the kit's own tests, a plan's stand-in run)."""
