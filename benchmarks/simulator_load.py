"""The simulator under many concurrent clients: throughput, latency, errors, lost writes.

Starts a real ``open311-conformance serve`` process on a free loopback port, drives it with
``--threads`` client threads (mixed reads and writes) until ``--requests`` are sent or
``--seconds`` have passed, then checks every acknowledged POST (token resolved, id listed
exactly once) and stops the process with SIGTERM. Prints numbers; asserts nothing.

    python benchmarks/simulator_load.py [--threads 50] [--requests 2000] [--seconds 60]
                                        [--delay 0.5] [--db FILE] [--writes-only]
                                        [--no-keep-alive] [--json]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conformance.loadgen import (  # noqa: E402
    DEFAULT_MIX,
    WRITES_ONLY,
    CallResult,
    Integrity,
    Load,
    LoadResult,
    drive,
    verify,
)
from conformance.simulator.spawn import ServeProcess  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="all threads together")
    parser.add_argument("--seconds", type=float, default=60.0, help="stop after this at the latest")
    parser.add_argument("--delay", type=float, default=0.5, help="serve --delay: token to id")
    parser.add_argument("--db", help="serve --db FILE (default: in memory)")
    parser.add_argument("--writes-only", action="store_true", help="only POSTs (and no polling)")
    parser.add_argument("--no-keep-alive", action="store_true", help="a new connection per request")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    args = parser.parse_args()

    serve_args = ["--delay", str(args.delay)] + (["--db", args.db] if args.db else [])
    with ServeProcess(*serve_args) as server:
        load = Load(server.base_url, server.api_key, threads=args.threads,
                    requests=args.requests, seconds=args.seconds,
                    mix=dict(WRITES_ONLY if args.writes_only else DEFAULT_MIX),
                    keep_alive=not args.no_keep_alive)
        result = drive(load)
        began = time.monotonic()
        integrity = verify(server.base_url, result.written)
        verify_seconds = time.monotonic() - began
        began = time.monotonic()
        exit_code = server.stop(signal.SIGTERM)
        stop_seconds = time.monotonic() - began
        tracebacks = server.stderr().count("Traceback")
    if args.json:
        print(json.dumps(_as_json(args, result, integrity, exit_code, stop_seconds, tracebacks),
                         indent=2))
    else:
        _print_table(args, result, integrity, verify_seconds, exit_code, stop_seconds, tracebacks)
    return 0


def _print_table(args: argparse.Namespace, result: LoadResult, integrity: Integrity,
                 verify_seconds: float, exit_code: int | None, stop_seconds: float,
                 tracebacks: int) -> None:
    mix = ("writes only" if args.writes_only else "mixed") + \
        (", new connection per request" if args.no_keep_alive else "")
    print(f"serve --delay {args.delay:g} store {args.db or 'in memory'}: {args.threads} threads, {mix}, "
          f"budget {args.requests} requests / {args.seconds:g} s")
    print(f"traffic: {result.traffic_requests} requests in {result.traffic_seconds:.2f} s = "
          f"{result.throughput:.0f} req/s (token polls while settling excluded)")
    print()
    print(f"{'kind':<22} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8}")
    for row in result.stats():
        label = row.kind.value if row.kind else "all"
        print(f"{label:<22} {row.count:>6} {row.errors:>6} {1000 * row.p50:>8.1f} "
              f"{1000 * row.p90:>8.1f} {1000 * row.p99:>8.1f} {1000 * row.max:>8.1f}")
    errors = result.errors
    if errors:
        print("\nerrors:")
        for outcome in CallResult:
            found = [e for e in errors if e.outcome is outcome]
            if found:
                details = sorted({f"{e.kind.value} {e.detail}" for e in found})
                print(f"  {outcome.value}: {len(found)} ({'; '.join(details[:5])})")
    print()
    print(f"integrity: {integrity.acknowledged} POSTs acknowledged, {integrity.resolved} tokens "
          f"resolved, {'nothing lost or duplicated' if integrity.ok else 'PROBLEMS'} "
          f"(checked in {verify_seconds:.1f} s)")
    for problem in integrity.problems():
        print(f"  {problem}")
    print(f"SIGTERM: exit code {exit_code} after {stop_seconds:.2f} s, "
          f"{tracebacks} tracebacks in the log")


def _as_json(args: argparse.Namespace, result: LoadResult, integrity: Integrity,
             exit_code: int | None, stop_seconds: float, tracebacks: int) -> dict[str, object]:
    return {
        "threads": args.threads, "budget": args.requests, "seconds_limit": args.seconds,
        "delay": args.delay, "db": args.db, "writes_only": args.writes_only,
        "keep_alive": not args.no_keep_alive,
        "traffic_requests": result.traffic_requests,
        "traffic_seconds": round(result.traffic_seconds, 3),
        "throughput": round(result.throughput, 1),
        "kinds": [{"kind": row.kind.value if row.kind else "all", "count": row.count,
                   "errors": row.errors, "p50_ms": round(1000 * row.p50, 2),
                   "p90_ms": round(1000 * row.p90, 2), "p99_ms": round(1000 * row.p99, 2),
                   "max_ms": round(1000 * row.max, 2)} for row in result.stats()],
        "errors": [{"kind": e.kind.value, "outcome": e.outcome.value, "detail": e.detail}
                   for e in result.errors],
        "integrity": {"ok": integrity.ok, "acknowledged": integrity.acknowledged,
                      "resolved": integrity.resolved, "problems": integrity.problems()},
        "stop": {"signal": "SIGTERM", "exit_code": exit_code, "seconds": round(stop_seconds, 2),
                 "tracebacks": tracebacks},
    }


if __name__ == "__main__":
    sys.exit(main())
