"""A run's wall time against its re-judging's.

    python3 benchmarks/rejudge.py [--rounds 3] [--remote-like LATENCY] [-- RUN FLAGS]

Each round runs, in a fresh child process each, ``python3 -m conformance.cli run -q
--report-dir <temp>/run`` (the default run against the embedded simulator, or RUN FLAGS) and
then ``python3 -m conformance.cli rejudge <temp>/run --report-dir <temp>/again``; it prints each
round's wall and CPU (user + system of the child) and the medians, and whether every outcome
was reproduced (rejudge's exit code 0). ``--remote-like LATENCY`` runs against a ``serve``
process answering LATENCY seconds late (token delay 5 s), paced and fuzzed as a remote target is
(benchmarks/remote_like.py): what re-judging a remote run saves.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from remote_like import REMOTE_EXAMPLES, REMOTE_PACE, serve  # noqa: E402 (the benchmark beside this one)


def timed(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and exit code of one child ``python3 -m conformance.cli ARGS``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "conformance.cli", *args], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.returncode


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--remote-like", type=float, metavar="LATENCY", help="against a `serve` process with "
                        "this latency, paced and fuzzed as a remote target")
    parser.add_argument("run_flags", nargs="*", help="flags of `run` (after --)")
    options = parser.parse_args(argv)
    flags = list(options.run_flags)
    simulator = None
    if options.remote_like is not None:
        simulator, base_url, key = serve(options.remote_like, 5.0)
        flags += ["--base-url", base_url, "--api-key", key, "--min-interval", str(REMOTE_PACE),
                  "--fuzz-examples", str(REMOTE_EXAMPLES)]
    try:
        return _rounds(options.rounds, flags)
    finally:
        if simulator is not None:
            simulator.terminate()
            simulator.wait()


def _rounds(rounds: int, flags: list[str]) -> int:
    runs, rejudges = [], []
    for number in range(1, rounds + 1):
        with tempfile.TemporaryDirectory() as scratch:
            bundle, again = Path(scratch) / "run", Path(scratch) / "again"
            run = timed(["run", "-q", "--report-dir", str(bundle), *flags])
            rejudge = timed(["rejudge", str(bundle), "--report-dir", str(again)])
        runs.append(run)
        rejudges.append(rejudge)
        print(f"round {number}: run {run[0]:.2f} s wall, {run[1]:.2f} s CPU (exit {run[2]}); "
              f"rejudge {rejudge[0]:.2f} s wall, {rejudge[1]:.2f} s CPU "
              f"({'every outcome reproduced' if rejudge[2] == 0 else f'exit {rejudge[2]}'})")
    run_wall, rejudge_wall = statistics.median(r[0] for r in runs), statistics.median(r[0] for r in rejudges)
    print(f"median: run {run_wall:.2f} s wall, {statistics.median(r[1] for r in runs):.2f} s CPU; "
          f"rejudge {rejudge_wall:.2f} s wall, {statistics.median(r[1] for r in rejudges):.2f} s CPU "
          f"({rejudge_wall / run_wall:.2f} x the run's wall time)")
    return 0 if all(r[2] == 0 for r in rejudges) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
