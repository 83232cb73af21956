"""One grading of an application (``check-app``) against the City-like simulator.

Starts the server (the grading simulator, or the proxy with ``--proxy``), tells the
application where it is (printed, and in COMMAND's environment), runs COMMAND or waits for a
hand-run application, then judges the recording and writes the bundle. Exit codes as ``run``.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from conformance.appcheck import bundle, judges, launcher, leaks, livepage
from conformance.appcheck.grading import JURISDICTION, GradingServer, GradingSimulator, grade
from conformance.appcheck.live import Progress
from conformance.appcheck.livepage import LivePage
from conformance.appcheck.proxy import ProxyServer
from conformance.appcheck.recording import redactor
from conformance.errors import UsageError
from conformance.record import RunRecord, new_run_id
from conformance.report import prepare_directory
from conformance.settings import RunSettings
from conformance.signals import stop_on_signals
from conformance.timestamps import iso_utc
from conformance.transport import Stop, StopReason, key_fingerprint

FORMATS = ("json", "xml")
SETTLE_S = 2.0  # after a hand-run app's flow is seen: time to catch a poll after the id
_SYMBOL = {"passed": "PASS", "failed": "FAIL", "warning": "WARN", "skipped": "SKIP",
           "inconclusive": "NOT SHOWN", "error": "ERROR"}


@dataclass(slots=True, frozen=True)
class AppCheckSettings:
    """What one grading needs, checked: every bad value is a UsageError naming its flag."""

    app_name: str = "open311 application"
    formats: tuple[str, ...] = ("json",)
    wait: float = 300.0  # seconds for the application; then it is stopped
    simulator_delay: float = 5.0  # seconds before a written request gets its id
    token_wait: float | None = None  # seconds the first written request waits for its id (None: 30)
    quick: bool = False  # every id after simulator_delay: patience is not tested
    port: int = 0  # 0: any free port
    host: str = "127.0.0.1"  # the address served on; another exposes the simulator to that network
    report_dir: Path | None = None  # None: reports/<run-id>
    proxy: str | None = None  # forward to this server instead of the simulator
    app_command: tuple[str, ...] = ()  # empty: the application is run by hand
    app_tz: str = "America/Chicago"  # the application's TZ: the City's zone
    read_only: bool = False  # an application that never writes: the write requirements do not apply
    app_output: tuple[Path, ...] = ()  # files or directories the application writes: searched when it is done
    # how --proxy reaches its server: run's own settings (--ca-bundle, --insecure, --http-proxy,
    # --proxy-from-env), checked as run checks them
    network: RunSettings = field(default_factory=RunSettings)

    def __post_init__(self) -> None:
        if not self.wait or self.wait <= 0:
            raise UsageError("--wait must be a positive number of seconds")
        if self.simulator_delay is None or self.simulator_delay < 0:
            raise UsageError("--simulator-delay must be a number of seconds, 0 or more")
        if self.token_wait is not None and (self.quick or self.token_wait <= 0):
            raise UsageError("--token-wait takes a positive number of seconds, and not with --quick"
                             if not self.quick else "--quick and --token-wait contradict each other: choose one")
        if not 0 <= self.port <= 65535:
            raise UsageError(f"--port must be between 0 and 65535, not {self.port}")
        if self.network.given() and not self.proxy:
            flags = ", ".join("--" + name.replace("_", "-") for name in self.network.given())
            raise UsageError(f"{flags}: only with --proxy (the grading simulator is on this machine)")
        try:
            ZoneInfo(self.app_tz)
        except (ValueError, ZoneInfoNotFoundError):
            raise UsageError(f"--app-tz takes a time zone name such as America/Chicago or UTC, "
                             f"not {self.app_tz!r}") from None

    @classmethod
    def build(cls, *, formats: str, app_command: Sequence[str], **values: object) -> AppCheckSettings:
        """From the command line's words: ``json,xml``, and COMMAND after an optional ``--``."""
        argv = list(app_command)
        if argv and argv[0] == "--":
            argv = argv[1:]
        return cls(formats=parse_formats(formats), app_command=tuple(argv), **values)  # type: ignore[arg-type]


DEFAULT_TOKEN_WAIT_S = 30.0  # longer than an impatient app waits (one gave up after 10 s)


def patience(settings: AppCheckSettings) -> float | None:
    """How long the first id is held, or None when patience is not tested (--quick, --proxy)."""
    if settings.quick or settings.proxy:
        return None
    return settings.token_wait if settings.token_wait is not None else DEFAULT_TOKEN_WAIT_S


def check_app(settings: AppCheckSettings, say: Callable[[str], None]) -> RunRecord:
    """Serve, run or wait for the application, grade what it did, and write the bundle."""
    proxy_key = _proxy_key(settings.proxy) if settings.proxy else None
    run_id = new_run_id()
    report_dir = prepare_directory(settings.report_dir or Path("reports") / run_id)
    server = _start(settings, proxy_key)
    argv = list(settings.app_command)
    formats = settings.formats
    started = iso_utc()
    stop: list[Stop] = []  # a signal's stop: the grading then judges what it saw, inconclusive at best
    try:
        with stop_on_signals(stop.append):
            _announce(server, settings, say)
            progress = Progress(server.recorder, formats, say)
            needles = leaks.Needles(server.pending_markers, server.api_key)
            watch = leaks.Watch(needles, redactor(server.api_key))
            app = None
            wait_ended = False
            try:
                if argv:
                    values = {"base_url": server.base_url, "api_key": server.api_key}
                    try:
                        app = launcher.run(launcher.expand(argv, values),
                                           app_environment(server.base_url, server.api_key, settings), settings.wait,
                                           redactor(server.api_key), say, watch)
                    except launcher.LaunchError as exc:
                        _remove_if_empty(report_dir)
                        raise UsageError(str(exc)) from None
                else:
                    wait_ended = _wait_by_hand(progress, settings.wait, say)
            except KeyboardInterrupt:
                stop = stop or [Stop(StopReason.SIGNAL, "stopped by signal", time.time())]
                say(f"{stop[0].detail}: grading what the application did until then")
        found, read = leaks.scan_paths(settings.app_output, needles, redactor(server.api_key))
        for path in read.missing:
            say(f"--app-output {path}: nothing there when the application was done")
        output = judges.Output(leaks=(*watch.leaks, *found), places=(*watch.streams, *read.places),
                               missing=read.missing, marked=bool(server.pending_markers))
        grading = grade(server, app_name=settings.app_name, formats=formats, started=started, app=app,
                        wait_ended=wait_ended or bool(stop), output=output, read_only=settings.read_only,
                        app_tz=settings.app_tz, patience_s=patience(settings))
    finally:
        server.stop()
        if stop:
            say("Simulator stopped.")
    record = bundle.write(grading, report_dir, server.api_key, run_id, stop=stop[0] if stop else None)
    _print_end(record, report_dir, say)
    return record


def app_environment(base_url: str, api_key: str, settings: AppCheckSettings) -> dict[str, str]:
    """What COMMAND finds in its environment besides the kit's own (the README names each)."""
    return {"OPEN311_BASE_URL": base_url, "OPEN311_API_KEY": api_key, "OPEN311_JURISDICTION_ID": JURISDICTION,
            "OPEN311_FORMATS": ",".join(settings.formats), "TZ": settings.app_tz}


def parse_formats(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(part.strip().lower() for part in (text or "").split(",") if part.strip()))
    bad = [n for n in names if n not in FORMATS]
    if not names or bad:
        raise UsageError(f"--formats takes json, xml or json,xml, not {text!r}")
    return names


def _proxy_key(url: str) -> str:
    """The upstream's key (from the environment, never a flag: shell history keeps flags)."""
    split = urlsplit(url)
    if split.scheme not in ("http", "https") or not split.hostname:
        raise UsageError(f"--proxy needs an http(s) URL, not {url!r}")
    key = os.environ.get("OPEN311_API_KEY", "").strip()
    if not key:
        raise UsageError("--proxy needs the server's test key in the environment variable OPEN311_API_KEY")
    return key


def _start(settings: AppCheckSettings, proxy_key: str | None) -> GradingServer:
    if proxy_key is not None:
        try:
            return ProxyServer(settings.proxy, proxy_key, port=settings.port,
                               trust=settings.network.trust, route=settings.network.route)
        except OSError as exc:
            raise UsageError(f"cannot serve on port {settings.port}: {exc.strerror or exc}") from None
    try:
        return GradingSimulator(app_name=settings.app_name, delay=settings.simulator_delay, port=settings.port,
                                token_wait=patience(settings), host=settings.host)
    except OSError as exc:
        raise UsageError(f"cannot serve on {settings.host} port {settings.port}: {exc.strerror or exc}") from None


def _live_page(server: GradingServer, settings: AppCheckSettings) -> str | None:
    """Serve the live page of a hand-run grading on the simulator's port; its URL."""
    if not isinstance(server, GradingSimulator):
        return None
    services, definitions = server.catalogue([])

    def facts() -> judges.Facts:
        return judges.Facts(api_key=server.api_key, formats=settings.formats, services=services,
                            definitions=definitions, read_only=settings.read_only, app_tz=settings.app_tz,
                            patience_s=patience(settings))

    page = LivePage(server.recorder, facts, time.monotonic() + settings.wait, server.api_key)
    server.serve_page(livepage.STATE_PATH, page.json_reply)
    # a browser showing the page asks for an icon on the same port: it is not the application's
    server.serve_page("/favicon.ico", livepage.no_icon)
    return server.serve_page(livepage.PATH, page.html_reply)


def _announce(server: GradingServer, settings: AppCheckSettings, say: Callable[[str], None]) -> None:
    # the first three lines, always in this order: what a person configures the app with
    say(f"Base URL: {server.base_url}")
    if server.mode == "proxy":
        say(f"API key: the key in OPEN311_API_KEY ({key_fingerprint(server.api_key)})")
    else:
        # the one place the key is shown: a person may have to type it into the app
        say(f"API key: {server.api_key}")
    say(f"Jurisdiction: {JURISDICTION}")
    live = None if settings.app_command else _live_page(server, settings)
    if live:
        say(f"Live page: {live}")
    if server.mode == "proxy":
        say(f"Grading {settings.app_name!r}: forwarding to {server.upstream}")
    else:
        held = patience(settings)
        say(f"Grading {settings.app_name!r}: " + (
            f"the first token's id after {held:g} s (patience), later ones after {settings.simulator_delay:g} s"
            if held is not None else f"token delay {settings.simulator_delay:g} s (--quick: patience not tested)")
            + "; lists hold rows without an id; a token's first poll is answered 503 with Retry-After")
    say(f"The application's time zone: {settings.app_tz} (TZ; dates it sends are read with it in mind)")
    if settings.read_only:
        say("Read-only application (--read-only): the write requirements do not apply")


def _wait_by_hand(progress: Progress, wait_s: float, say: Callable[[str], None]) -> bool:
    """Wait for a hand-run application; True when --wait ran out before its flow was seen."""
    enter = threading.Event()
    if sys.stdin is not None and sys.stdin.isatty():
        threading.Thread(target=lambda: (sys.stdin.readline(), enter.set()), daemon=True).start()
        say(f"Waiting for the application (up to {wait_s:g} s; press Enter when it is done)...")
    else:
        say(f"Waiting for the application (up to {wait_s:g} s)...")
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and not enter.is_set():
        if progress.complete.wait(0.2):
            say("The City's flow was seen end to end.")
            time.sleep(min(SETTLE_S, max(0.0, deadline - time.monotonic())))
            return False
    if enter.is_set():
        return False
    say(f"--wait of {wait_s:g} s ran out")
    return True


def _print_end(record: RunRecord, report_dir: Path, say: Callable[[str], None]) -> None:
    say("")
    say("Application checks")
    for result in record.results:
        say(f"  {_SYMBOL.get(result.outcome, result.outcome.upper()):<9} {'/'.join(result.requirement_ids):<22} "
             f"{result.message}")
    say("")
    say("Application checklist")
    for item in record.checklist:
        say(f"  [{item.mark}] {item.title}: {item.said}" + (f": {item.reason}" if item.reason else ""))
    for error in record.kit_errors:
        say(f"kit error: {error}")
    say(" ".join(f"{n} {o}" for o, n in record.counts.items()))
    say(f"requests recorded: {len(record.exchanges)}; report: {report_dir}")
    if record.practice:
        say("Practice grading: the application ran against the embedded simulator, not the City's test environment.")
    say(record.pre_approval.sentence())
    say(f"verdict: {record.verdict.upper()}")


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()
