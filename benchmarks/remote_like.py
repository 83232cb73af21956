"""The kit against a remote-like City: time to verdict and requests sent.

    python3 benchmarks/remote_like.py [--latency 0.1] [--runs 3] [--delay 5] [--compare DIR] [-- RUN FLAGS]

The simulator runs in its own process (``serve --port 0 --latency S --delay D``), so its work
is not the kit's, as a remote City's is not; every answer takes ``--latency`` seconds more.
The run is paced as a remote target is (``--min-interval 0.2``, the kit's remote pace) and
fuzzes the remote budget (``--fuzz-examples 3``), against that loopback URL; a remote host
would get both by default. Prints each run's time to verdict (the run's process, start to
exit) and its requests (``summary.json``'s requests_sent), then the medians. ``--compare DIR``
alternates each run with the same run of another checkout's kit against the same simulator.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REMOTE_PACE = 0.2  # conformance.target.REMOTE_MIN_INTERVAL
REMOTE_EXAMPLES = 3  # conformance.run.fuzzing.REMOTE_EXAMPLES


def serve(latency: float, delay: float) -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "conformance.cli", "serve", "--port", "0", "--delay", str(delay),
         "--latency", str(latency)],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(2)]
    if not lines[0].startswith("Base URL: "):
        process.kill()
        sys.exit(f"the simulator did not start: {lines}")
    return process, lines[0].split(": ", 1)[1].strip(), lines[1].split(": ", 1)[1].strip()


def one_run(base_url: str, key: str, extra: list[str], root: Path = ROOT) -> tuple[float, int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "conformance.cli", "run", "-q", "--base-url", base_url,
             "--api-key", key, "--min-interval", str(REMOTE_PACE), "--fuzz-examples",
             str(REMOTE_EXAMPLES), "--report-dir", tmp, *extra],
            cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True,
            check=False)
        wall = time.perf_counter() - began
        summary = Path(tmp, "summary.json")
        if not summary.exists():
            sys.exit(f"the run left no summary (exit {done.returncode}):\n{done.stdout}{done.stderr}")
        record = json.loads(summary.read_text())
        return wall, int(record["requests_sent"]), str(record["verdict"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds added to every answer")
    parser.add_argument("--delay", type=float, default=5.0, help="the simulator's token delay")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, metavar="DIR", help="another checkout's kit, alternating")
    parser.add_argument("run_args", nargs="*", help="further flags of the run (after --)")
    args = parser.parse_args()
    kits = {"this kit": ROOT}
    if args.compare:
        kits[f"kit of {args.compare.resolve().name}"] = args.compare.resolve()
    process, base_url, key = serve(args.latency, args.delay)
    walls: dict[str, list[float]] = {name: [] for name in kits}
    sent: dict[str, list[int]] = {name: [] for name in kits}
    try:
        for number in range(args.runs):
            names = list(kits)[number % len(kits):] + list(kits)[:number % len(kits)]
            for name in names:
                wall, requests, verdict = one_run(base_url, key, args.run_args, kits[name])
                walls[name].append(wall)
                sent[name].append(requests)
                print(f"run {number + 1}, {name}: {wall:6.1f} s to verdict ({verdict}), {requests} requests",
                      flush=True)
    finally:
        process.terminate()
        process.wait(timeout=15)
    print(f"medians of {args.runs} runs (latency {args.latency:g} s, pace {REMOTE_PACE:g} s, "
          f"token delay {args.delay:g} s, {REMOTE_EXAMPLES} examples per operation):")
    for name in kits:
        print(f"  {name:<16} {statistics.median(walls[name]):6.1f} s to verdict, "
              f"{statistics.median(sent[name]):g} requests")


if __name__ == "__main__":
    main()
