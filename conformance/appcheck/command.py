"""``open311-conformance check-app``: grade an application against the City-like simulator.

Starts the server (the grading simulator, or the proxy with ``--proxy``), tells the
application where it is (printed, and in COMMAND's environment), runs COMMAND or waits for a
hand-run application, then judges the recording and writes the bundle. Exit codes as ``run``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from conformance.appcheck import bundle, launcher
from conformance.appcheck.grading import JURISDICTION, GradingServer, GradingSimulator, grade
from conformance.appcheck.live import Progress
from conformance.appcheck.recording import redactor
from conformance.errors import UsageError
from conformance.record import RunRecord
from conformance.report import prepare_directory
from conformance.signals import stop_on_signals
from conformance.timestamps import iso_utc
from conformance.transport import Stop, StopReason, key_fingerprint

FORMATS = ("json", "xml")
SETTLE_S = 2.0  # after a hand-run app's flow is seen: time to catch a poll after the id
_SYMBOL = {"passed": "PASS", "failed": "FAIL", "warning": "WARN", "skipped": "SKIP",
           "inconclusive": "NOT SHOWN", "error": "ERROR"}


def main(args: argparse.Namespace) -> int:
    formats = _formats(args.formats)
    argv = list(args.app_command)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not args.wait or args.wait <= 0:
        raise UsageError("--wait must be a positive number of seconds")
    if args.simulator_delay is None or args.simulator_delay < 0:
        raise UsageError("--simulator-delay must be a number of seconds, 0 or more")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {args.port}")
    proxy_key = _proxy_key(args.proxy) if args.proxy else None
    from conformance.run.engine import new_run_id

    run_id = new_run_id()
    report_dir = prepare_directory(Path(args.report_dir) if args.report_dir else Path("reports") / run_id)
    server = _start(args, proxy_key)
    say = _say
    started = iso_utc()
    stop: list[Stop] = []  # a signal's stop: the grading then judges what it saw, inconclusive at best
    try:
        with stop_on_signals(stop.append):
            _announce(server, args)
            progress = Progress(server.recorder, formats, say)
            app = None
            wait_ended = False
            try:
                if argv:
                    values = {"base_url": server.base_url, "api_key": server.api_key}
                    env = {"OPEN311_BASE_URL": server.base_url, "OPEN311_API_KEY": server.api_key,
                           "OPEN311_JURISDICTION_ID": JURISDICTION, "OPEN311_FORMATS": ",".join(formats)}
                    try:
                        app = launcher.run(launcher.expand(argv, values), env, args.wait,
                                           redactor(server.api_key), say)
                    except launcher.LaunchError as exc:
                        _remove_if_empty(report_dir)
                        raise UsageError(str(exc)) from None
                else:
                    wait_ended = _wait_by_hand(progress, args.wait, say)
            except KeyboardInterrupt:
                stop = stop or [Stop(StopReason.SIGNAL, "stopped by signal", time.time())]
                say(f"{stop[0].detail}: grading what the application did until then")
        grading = grade(server, app_name=args.app_name, formats=formats, started=started, app=app,
                        wait_ended=wait_ended or bool(stop))
    finally:
        server.stop()
        if stop:
            say("Simulator stopped.")
    record = bundle.write(grading, report_dir, server.api_key, run_id, stop=stop[0] if stop else None)
    _print_end(record, report_dir)
    return record.exit_code


def _formats(text: str) -> tuple[str, ...]:
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


def _start(args: argparse.Namespace, proxy_key: str | None) -> GradingServer:
    if proxy_key is not None:
        from conformance.appcheck.proxy import ProxyServer

        try:
            return ProxyServer(args.proxy, proxy_key, port=args.port)
        except OSError as exc:
            raise UsageError(f"cannot serve on port {args.port}: {exc.strerror or exc}") from None
    try:
        return GradingSimulator(app_name=args.app_name, delay=args.simulator_delay, port=args.port)
    except OSError as exc:
        raise UsageError(f"cannot serve on port {args.port}: {exc.strerror or exc}") from None


def _announce(server: GradingServer, args: argparse.Namespace) -> None:
    # the first three lines, always in this order: what a person configures the app with
    _say(f"Base URL: {server.base_url}")
    if server.mode == "proxy":
        _say(f"API key: the key in OPEN311_API_KEY ({key_fingerprint(server.api_key)})")
    else:
        # the one place the key is shown: a person may have to type it into the app
        _say(f"API key: {server.api_key}")
    _say(f"Jurisdiction: {JURISDICTION}")
    if server.mode == "proxy":
        _say(f"Grading {args.app_name!r}: forwarding to {server.upstream}")
    else:
        _say(f"Grading {args.app_name!r}: token delay {args.simulator_delay:g} s; lists hold rows without "
             "an id; a token's first poll is answered 503 with Retry-After")


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


def _print_end(record: RunRecord, report_dir: Path) -> None:
    _say("")
    _say("Application checks")
    for result in record.results:
        _say(f"  {_SYMBOL.get(result.outcome, result.outcome.upper()):<9} {'/'.join(result.requirement_ids):<22} "
             f"{result.message}")
    _say("")
    _say("Application checklist")
    for item in record.checklist:
        _say(f"  [{item.mark}] {item.title}: {item.state}")
    for error in record.kit_errors:
        _say(f"kit error: {error}")
    _say(" ".join(f"{n} {o}" for o, n in record.counts.items()))
    _say(f"requests recorded: {len(record.exchanges)}; report: {report_dir}")
    if record.practice:
        _say("Practice grading: the application ran against the embedded simulator, not the City's test environment.")
    _say(record.pre_approval.sentence())
    _say(f"verdict: {record.verdict.upper()}")


def _say(line: str) -> None:
    print(line, flush=True)


def _remove_if_empty(directory: Path) -> None:
    with contextlib.suppress(OSError):
        directory.rmdir()
