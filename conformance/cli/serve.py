"""``serve``: the simulated City in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from collections.abc import Callable

from conformance.errors import ExitCode, UsageError
from conformance.simulator import faults as fault_catalogue
from conformance.simulator.server import start
from conformance.transport import is_loopback


def list_faults(say: Callable[[str], None]) -> int:
    """The fault catalogue (``serve --list-faults``, ``run --list-faults``): name, requirement, what it does."""
    for line in fault_catalogue.describe():
        say(line)
    say(f"\n{len(fault_catalogue.CATALOGUE)} faults: switch one on with --fault NAME")
    return ExitCode.OK


def main(args: argparse.Namespace) -> int:
    if args.list_faults:
        return list_faults(print)
    active = fault_catalogue.check(args.fault or ())
    if args.delay is None or args.delay < 0:
        raise UsageError("--delay must be a number of seconds, 0 or more")
    if not math.isfinite(args.latency) or args.latency < 0:
        raise UsageError("--latency must be a number of seconds, 0 or more")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {args.port}")

    # SIGINT and SIGTERM are only noted: the main thread then stops the server in order,
    # instead of a KeyboardInterrupt landing wherever it happens to be (mid-print, mid-stop).
    # A list, not an Event: a handler runs in the main thread between two bytecodes, maybe
    # while that thread holds the Event's lock inside wait(), and set() would wait forever.
    # Installed before start(), so a signal while the history is generated also stops cleanly.
    received: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, _frame: received.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            sim = start(delay=args.delay, faults=sorted(active), db=args.db, host=args.host,
                        port=args.port, seed=args.seed, log=True,
                        dialect=getattr(args, "dialect", "chicago"), latency=args.latency)
        except OSError as exc:
            raise UsageError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") \
                from None
        except Exception as exc:  # e.g. a --db file that is not SQLite
            raise UsageError(f"cannot start the simulator: {exc}") from None
        try:
            print(f"Base URL: {sim.base_url}")
            print(f"API key: {sim.api_key}")
            print(f"Discovery: {sim.root_url}/discovery.json   Keys: {sim.base_url}/apps/new")
            latency = f"   Latency: {sim.latency:g} s" if sim.latency else ""
            print(f"Token delay: {sim.delay:g} s{latency}   Faults: {', '.join(sorted(active)) or 'none'}"
                  f"   Store: {args.db or 'in memory'}")
            if not is_loopback(args.host):
                print(f"warning: listening on {args.host}, not only on loopback", file=sys.stderr)
            print("Press Ctrl-C to stop.", flush=True)
            while not received:
                time.sleep(0.1)  # a signal ends the sleep early; the handler runs, then we look
        finally:
            sim.stop()  # bounded: server.DRAIN_SECONDS + FORCE_SECONDS at most for answers
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("Simulator stopped.", flush=True)
    return ExitCode.OK
