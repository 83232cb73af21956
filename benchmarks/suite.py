"""The kit's own suite: wall and CPU (its xdist workers included) of the fast tier or the whole.

    python3 benchmarks/suite.py [--whole] [--rounds 2] [--compare DIR] [-- PYTEST ARGS]

Runs ``python3 -m pytest -q -m "not integration"`` (``--whole``: the whole suite) in a child
process, with the pyproject's options (one xdist worker per core), from this checkout and,
with ``--compare DIR``, from another checkout of the kit (``git worktree add DIR <commit>``)
in alternating rounds, so a change is measured against what it changes under the same load;
medians of the rounds. CPU is user + system of the child and its children
(``resource.getrusage(RUSAGE_CHILDREN)`` before and after): on a shared machine it says more
than the wall time. A round whose tests do not all pass stops the benchmark.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(root: Path, whole: bool, extra: list[str]) -> tuple[float, float, str]:
    argv = [sys.executable, "-m", "pytest", "-q", *([] if whole else ["-m", "not integration"]), *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=root, env={**os.environ, "PYTHONPATH": str(root)},
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode != 0:
        sys.exit(f"{root}: pytest ended with {done.returncode}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whole", action="store_true", help="the whole suite, not the fast tier")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--compare", type=Path, metavar="DIR", help="another checkout's suite, alternating")
    parser.add_argument("pytest_args", nargs="*", help="further pytest arguments (after --)")
    args = parser.parse_args()
    roots = {"this checkout": ROOT}
    if args.compare:
        roots[f"suite of {args.compare.resolve().name}"] = args.compare.resolve()
    measured: dict[str, list[tuple[float, float]]] = {name: [] for name in roots}
    names = list(roots)
    for number in range(args.rounds):
        for name in names[number % len(names):] + names[:number % len(names)]:
            wall, cpu, last = timed(roots[name], args.whole, args.pytest_args)
            measured[name].append((wall, cpu))
            print(f"round {number + 1}, {name}: {wall:6.1f} s wall {cpu:6.1f} s CPU ({last})", flush=True)
    tier = "whole suite" if args.whole else "fast tier"
    print(f"medians of {args.rounds} rounds, {tier} (load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} cores):")
    for name, series in measured.items():
        print(f"  {name:<24} {statistics.median(w for w, _ in series):6.1f} s wall "
              f"{statistics.median(c for _, c in series):6.1f} s CPU")


if __name__ == "__main__":
    main()
