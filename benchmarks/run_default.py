"""The default run against its floor: wall, CPU (child processes included) and the ratio.

    python3 benchmarks/run_default.py [--pairs 5] [--breakdown]

Each pair runs, in a fresh child process each, the default run
(``python3 -m conformance.cli run -q --report-dir <temp>``) and its floor, alternating which
goes first so that a change in the machine's load falls on both alike; medians of the pairs.

The floor is what no run can go below: the command started (``python3 -m conformance.cli
--version``: the interpreter, the kit's package and its command line parser) and then the
simulator's token delay (``--simulator-delay``, 2 s by default) waited out, in the same child
process. CPU is user + system of the child and its own children
(``resource.getrusage(RUSAGE_CHILDREN)`` before and after).

``--breakdown`` adds, in this process, the part of a run spent in the OpenAPI-driven checks
(the sum of the durations of the checks with source "openapi").
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
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN_DELAY = 2.0  # the run's default --simulator-delay (conformance/settings.py)

FLOOR = ("import sys, time\n"
         "from conformance.cli import main\n"
         "main(['--version'])\n"
         "time.sleep(float(sys.argv[1]))\n")


@dataclass(slots=True, frozen=True)
class Cost:
    wall: float
    cpu: float


def measured(argv: list[str]) -> Cost:
    """One child process's wall time and CPU time, its own children included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} ended with {done.returncode}:\n{done.stdout.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Cost(wall, cpu)


def run_cost(delay: float, extra: list[str]) -> Cost:
    with tempfile.TemporaryDirectory() as tmp:
        return measured([sys.executable, "-m", "conformance.cli", "run", "-q", "--report-dir", tmp,
                         "--simulator-delay", str(delay), *extra])


def floor_cost(delay: float) -> Cost:
    return measured([sys.executable, "-c", FLOOR, str(delay)])


def breakdown(repeat: int) -> None:
    sys.path.insert(0, str(ROOT))
    from conformance.run.engine import run_simulator

    fuzzing = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            result = run_simulator(report_dir=Path(tmp), delay=TOKEN_DELAY)
        fuzzing.append(sum(r.duration_s for r in result.results if r.source == "openapi"))
    print(f"OpenAPI-driven checks: median {statistics.median(fuzzing):.2f} s of a run ({repeat} runs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--delay", type=float, default=TOKEN_DELAY, help="the simulator's token delay")
    parser.add_argument("--breakdown", action="store_true", help="also time the OpenAPI-driven checks")
    parser.add_argument("run_args", nargs="*", help="further flags of the run (after --)")
    args = parser.parse_args()
    runs, floors = [], []
    for pair in range(args.pairs):
        if pair % 2:
            floors.append(floor_cost(args.delay))
            runs.append(run_cost(args.delay, args.run_args))
        else:
            runs.append(run_cost(args.delay, args.run_args))
            floors.append(floor_cost(args.delay))
        print(f"pair {pair + 1}: run {runs[-1].wall:5.2f} s wall {runs[-1].cpu:5.2f} s CPU   "
              f"floor {floors[-1].wall:5.2f} s wall {floors[-1].cpu:5.2f} s CPU", flush=True)
    run_wall = statistics.median(c.wall for c in runs)
    run_cpu = statistics.median(c.cpu for c in runs)
    floor_wall = statistics.median(c.wall for c in floors)
    floor_cpu = statistics.median(c.cpu for c in floors)
    print(f"medians of {args.pairs} pairs (load average {os.getloadavg()[0]:.2f}):")
    print(f"  default run  {run_wall:5.2f} s wall  {run_cpu:5.2f} s CPU")
    print(f"  floor        {floor_wall:5.2f} s wall  {floor_cpu:5.2f} s CPU  "
          f"(--version + {args.delay:g} s token delay)")
    print(f"  ratio        {run_wall / floor_wall:5.2f}x wall")
    if args.breakdown:
        breakdown(args.pairs)


if __name__ == "__main__":
    main()
