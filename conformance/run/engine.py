"""One run: pytest over ``conformance.run.checks`` with the plugin, then the bundle.

``execute`` tests a target and writes the report directory, saying the pre-approval
checklist and the verdict on the console it is given; ``embedded`` starts the embedded
simulator for a run that names no target.
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from conformance import profiles
from conformance.client import Client, Poll
from conformance.outcomes import CheckResult, Outcome, Verdict
from conformance.profiles import Profile
from conformance.record import RunRecord, new_run_id
from conformance.report import prepare_directory, write_bundle
from conformance.run.context import RunContext
from conformance.run.write_flow import WriteFlow
from conformance.signals import stop_on_signals
from conformance.simulator import faults as fault_catalogue
from conformance.simulator import server
from conformance.target import Target
from conformance.timestamps import Clock, iso_utc
from conformance.transport import (
    StopReason,
    Transport,
    TransportError,
    proxy_host,
    proxy_reads_key,
    redirect_location,
)

if TYPE_CHECKING:
    from conformance.run.fuzzing.drawn import Ahead
    from conformance.run.plugin import RunPlugin

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


@dataclass(slots=True, frozen=True)
class Rerun:
    """What makes a run a re-judged one (``conformance.rejudge``): its writes carry the recorded
    run's id and its clock hands back the recorded moments, so it sends what was sent; and its
    record is reviewed (answers the evidence lacked, what was reproduced) before it is written."""

    recorded_run_id: str
    clock: Clock
    review: Callable[[RunRecord], RunRecord]
    left_out: Mapping[str, str] = field(default_factory=dict)  # check id -> why the recorded run never ran it


@dataclass(slots=True, frozen=True)
class RunProgress:
    """Where a run is, for a console's progress line: after each check, and once at the end."""

    done: int
    total: int
    requests: int
    elapsed_s: float
    final: bool = False


def execute(target: Target, report_dir: Path | None = None, quiet: bool = False,
            say: Callable[[str], None] | None = None, transport: Transport | None = None,
            order_seed: int | None = None, verbose: bool = False,
            progress: Callable[[RunProgress], None] | None = None, rerun: Rerun | None = None) -> RunResult:
    """One run of ``target``. The console (``say``) gets the run's header, the poll timeline once
    the write flow ends, a line per check with ``verbose``, and the checklist and verdict;
    ``quiet`` keeps only the last. ``progress`` hears after each check and once at the end."""
    run_id = new_run_id()
    report_dir = prepare_directory(report_dir or Path("reports") / run_id)
    transport = transport or Transport(
        target.base_url, target.api_key, timeout=target.timeout, write_policy=target.write_policy,
        max_requests=target.max_requests, min_interval=target.min_interval, deadline=target.deadline,
        trust=target.settings.trust, route=target.settings.route, clock=rerun.clock if rerun is not None else None,
        share_answers=target.share_answers)
    console = _Redacted(say or _silent, transport.redact)  # a server may have echoed the key
    client = Client(transport, target.jurisdiction_id, key_on=target.profile.quirks.key_on)
    flow = WriteFlow(client, target, rerun.recorded_run_id if rerun is not None else run_id)
    context = RunContext(target, transport, client, run_id, flow, say=console.say)
    started = iso_utc()
    _print_start(context, console, quiet)
    moved: str | None = None
    with stop_on_signals(lambda stop: transport.halt(stop.reason, stop.detail, stop.at)) as stopping:
        try:
            moved = moved_base(client)
            if moved is not None:
                # before the write flow starts: nothing is written to the wrong place
                transport.halt(StopReason.MOVED, f"the base URL redirects to {transport.redact(moved)}: use that")
            else:
                # the write goes first, before the checks' machinery has even loaded, so the
                # City's processing time overlaps the loading (pytest, schemathesis, Hypothesis:
                # 0.4 s of a run's start) as it overlaps every check (issue 21)
                context.watch()
                flow.start()
        except KeyboardInterrupt:  # stopped at once: the transport is halted, no check is run
            pass
        code: int = _INTERRUPTED
        ahead: Ahead | None = None
        try:
            # imported here, while the write waits, for start-up time; a signal meanwhile is
            # said at once and interrupts once they are loaded, so the evidence can be written
            with stopping.held_back():
                if moved is None and transport.stop is None:
                    ahead = _draw_ahead(target)
                import pytest

                from conformance.run.freeze import freeze
                from conformance.run.plugin import RunPlugin
                plugin = RunPlugin(context, quiet=quiet or not verbose, order_seed=order_seed,
                                   left_out=rerun.left_out if rerun is not None else None)
                watch = _Watch(console, flow, transport, plugin, progress, timeline=not quiet)
                plugin.on_check = watch.checked
            if moved is not None:
                code = pytest.ExitCode.OK
            elif transport.stop is None:
                with hermetic(), lean_collector():
                    code = pytest.main(pytest_args(), plugins=[plugin])
        except KeyboardInterrupt:  # a signal outside pytest's own handling: the same stop
            pass
        finally:
            if code == _INTERRUPTED and transport.stop is None:
                transport.halt(StopReason.SIGNAL, "the run was interrupted")
            if ahead is not None:
                ahead.stop()
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
    if rerun is not None:
        record = rerun.review(record)
    record = write_bundle(record, report_dir, key=transport.api_key)
    watch.finished()
    _print_end(record, report_dir, console, quiet)  # quiet still ends with the checklist and the verdict
    return RunResult(record, report_dir)


def _draw_ahead(target: Target) -> Ahead | None:
    """The run's fuzzing cases drawn on another core while the run starts (imported here, with
    schemathesis and Hypothesis, for start-up time: after the write has gone)."""
    from conformance.run import fuzzing
    try:
        return fuzzing.draw_ahead(target.profile, fuzzing.seed_for(target.seed),
                                  fuzzing.examples_for(target.fuzz_examples, target.remote))
    except Exception:  # noqa: BLE001 - only speed is at stake: the fuzzing checks meet it again and say what it is
        return None


def moved_base(client: Client) -> str | None:
    """Where the base URL redirects to, found by the run's first request (the services
    list, which the checks and the write flow reuse from the client's cache); None when it
    answers itself. A hop followed within the origin (a moved path) counts as much as one
    the transport refused to follow (another scheme or host)."""
    transport = client.transport
    before = len(transport.exchanges)
    with contextlib.suppress(TransportError):  # no answer at all: the checks meet it as they would
        client.services("json")
    if len(transport.exchanges) <= before:
        return None
    first = transport.exchanges[before]
    location = redirect_location(first.status, first.response_headers, first.url)
    if location is None:
        return None
    moved = urlunsplit(urlsplit(location)._replace(query="", fragment=""))
    asked, base = urlsplit(first.url).path, urlsplit(transport.base_url).path
    # the base is what stands where the services list was asked
    suffix = asked[len(base):] if asked.startswith(base) else ""
    return moved[:-len(suffix)].rstrip("/") if suffix and moved.endswith(suffix) else moved


_INTERRUPTED = 2  # pytest.ExitCode.INTERRUPTED, before pytest is loaded: the run never got to its end

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


class _Watch:
    """The console while the run goes: progress after each check, and the token's poll timeline
    once, whole, as soon as the write flow has ended (its polls run beside the checks, so a line
    per poll would land among them)."""

    def __init__(self, console: _Redacted, flow: WriteFlow, transport: Transport, plugin: RunPlugin,
                 progress: Callable[[RunProgress], None] | None, timeline: bool) -> None:
        self.console, self.flow, self.transport, self.plugin = console, flow, transport, plugin
        self.progress = progress
        self.timeline_due = timeline
        self.started = time.monotonic()

    def checked(self, _result: CheckResult) -> None:
        self._timeline(ended=self.flow.done)
        self._progress(final=False)

    def finished(self) -> None:
        # a run cut short may leave the flow polling: its polls so far are still the timeline
        self._timeline(ended=True)
        self._progress(final=True)

    def _progress(self, final: bool) -> None:
        if self.progress is not None:
            self.progress(RunProgress(len(self.plugin.context.results), len(self.plugin.items),
                                      self.transport.requests_sent, time.monotonic() - self.started, final))

    def _timeline(self, ended: bool) -> None:
        if not self.timeline_due or not ended:
            return
        self.timeline_due = False
        result = self.flow.outcome.token_result
        if result is not None and result.polls:
            for line in poll_timeline(list(result.polls)):
                self.console.say(line)


def poll_timeline(polls: list[Poll], width: int = 100) -> list[str]:
    """Every poll of the token, in order, in as few lines as fit ``width``."""
    def state(poll: Poll) -> str:
        return f"id {poll.service_request_id}" if poll.service_request_id else (poll.note or "pending")

    lines = [f"Token poll timeline ({len(polls)} poll{'s' if len(polls) != 1 else ''}):"]
    for number, poll in enumerate(polls):
        entry = f"{poll.at_s:.1f} s {state(poll)}" + ("," if number < len(polls) - 1 else "")
        # a line breaks between polls, never inside one
        if len(lines[-1]) + 1 + len(entry) > width:
            lines.append("  " + entry)
        else:
            lines[-1] += " " + entry
    return lines


PRACTICE = ("Practice run: the embedded simulator stands in for the City's test environment. "
            "This is not evidence for the City.")


def _print_start(context: RunContext, console: _Redacted, quiet: bool) -> None:
    target = context.target
    proxy = proxy_host(context.transport.proxy)
    if proxy_reads_key(proxy, target.base_url, bool(target.api_key)):
        # said even to a quiet run: the key leaves this machine readable by a third party
        console.say(f"warning: {target.base_url} is plain HTTP: the proxy {proxy} sees every request, "
                    "the API key included")
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
    if proxy:
        console.say(f"  proxy   {proxy}")
    console.say("")


FAILED_LINES_ON_CONSOLE = 4


def _print_end(record: RunRecord, report_dir: Path, console: _Redacted, quiet: bool = False) -> None:
    say = console.say
    if record.stop is not None and record.stop.reason is StopReason.MOVED:
        say(record.stop.detail)  # the one thing to do; nothing else was judged
        say(f"requests sent: {record.requests_sent}; report: {report_dir}")
        return
    if not quiet:
        say("")
    say("Pre-approval checklist" + (f" for {record.app_name}" if record.app_name else ""))
    for item in record.checklist:
        say(f"  [{item.mark}] {item.title}: {item.said}")
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
    if record.next_steps:
        say("")
        say("Next:")
        for step in record.next_steps:
            say(f"  - {step}")


def _silent(_line: str) -> None:
    """The console of a run nobody watches (the kit's own tests, a plan's stand-in run)."""
