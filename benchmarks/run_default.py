"""The default run against its floor: wall, CPU (child processes included) and the ratio.

    python3 benchmarks/run_default.py [--pairs 5] [--cold] [--breakdown] [--compare DIR] [-- RUN FLAGS]

Each pair runs, in a fresh child process each, the default run
(``python3 -m conformance.cli run -q --report-dir <temp>``) and its floor, alternating which
goes first so that a change in the machine's load falls on both alike; medians of the pairs.

The floor is what no run can go below: the command started (``python3 -m conformance.cli
--version``: the interpreter, the kit's package and its command line parser) and then the
simulator's token delay (``--simulator-delay``, 2 s by default) waited out, in the same child
process. CPU is user + system of the child and its own children
(``resource.getrusage(RUSAGE_CHILDREN)`` before and after).

``--compare DIR`` adds a third child to every round: the same run from another checkout of
the kit (``git worktree add DIR <commit>``), so a change is measured against what it changes
under the same load; the order within a round rotates.

``--cold`` makes every run draw its fuzzing cases anew, as a run does the first time on a machine
or after a change of the contract, the seed or the kit (``conformance.run.fuzzing.drawn``): each
run gets a cache directory of its own, holding the kit's other cached files (Hypothesis' tables,
the compiled report templates) but no kept draws. Without it, runs read the draws the first one
kept, as every later run on a machine does.

``--breakdown`` adds, in this process, the part of a run spent in the OpenAPI-driven checks
(the sum of the durations of the checks with source "openapi").
"""

from __future__ import annotations

import argparse
import contextlib
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


def measured(argv: list[str], root: Path = ROOT, environ: dict[str, str] | None = None) -> Cost:
    """One child process's wall time and CPU time, its own children included."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(argv, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={**os.environ, "PYTHONPATH": str(root), **(environ or {})}, check=False)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(argv)} ended with {done.returncode}:\n{done.stdout.decode(errors='replace')}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Cost(wall, cpu)


def run_cost(delay: float, extra: list[str], root: Path = ROOT, cold: bool = False) -> Cost:
    with tempfile.TemporaryDirectory() as tmp, cache_without_draws(cold) as environ:
        return measured([sys.executable, "-m", "conformance.cli", "run", "-q", "--report-dir", tmp,
                         "--simulator-delay", str(delay), *extra], root, environ)


@contextlib.contextmanager
def cache_without_draws(cold: bool):
    """For a cold run, XDG_CACHE_HOME at a directory of its own: the kit's cached files but the
    kept draws (``cases/``), linked from the user's cache."""
    if not cold:
        yield {}
        return
    from conformance import cachedir  # the benchmarked checkout's own (PYTHONPATH=ROOT)

    with tempfile.TemporaryDirectory() as home:
        mine = Path(home) / cachedir.APP
        mine.mkdir()
        for kept in cachedir.cache_home().glob("*"):
            if kept.name != "cases":
                (mine / kept.name).symlink_to(kept)
        yield {"XDG_CACHE_HOME": home}


def floor_cost(delay: float) -> Cost:
    return measured([sys.executable, "-c", FLOOR, str(delay)])


def breakdown(repeat: int) -> None:
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
    parser.add_argument("--cold", action="store_true", help="every run draws its fuzzing cases anew")
    parser.add_argument("--breakdown", action="store_true", help="also time the OpenAPI-driven checks")
    parser.add_argument("--compare", type=Path, metavar="DIR", help="another checkout's run, in the same rounds")
    parser.add_argument("run_args", nargs="*", help="further flags of the run (after --)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    measures = {"default run": lambda: run_cost(args.delay, args.run_args, cold=args.cold),
                "floor": lambda: floor_cost(args.delay)}
    if args.compare:
        root = args.compare.resolve()
        measures[f"run of {root.name}"] = lambda: run_cost(args.delay, args.run_args, root, cold=args.cold)
    costs: dict[str, list[Cost]] = {name: [] for name in measures}
    names = list(measures)
    for pair in range(args.pairs):
        for name in names[pair % len(names):] + names[:pair % len(names)]:
            costs[name].append(measures[name]())
        print(f"round {pair + 1}: " + "   ".join(
            f"{name} {c[-1].wall:5.2f} s wall {c[-1].cpu:5.2f} s CPU" for name, c in costs.items()), flush=True)
    print(f"medians of {args.pairs} rounds (load average {os.getloadavg()[0]:.2f}):")
    floor_wall = statistics.median(c.wall for c in costs["floor"])
    for name, series in costs.items():
        wall = statistics.median(c.wall for c in series)
        cpu = statistics.median(c.cpu for c in series)
        ratio = "" if name == "floor" else f"  {wall / floor_wall:5.2f}x floor"
        print(f"  {name:<20} {wall:5.2f} s wall  {cpu:5.2f} s CPU{ratio}")
    print(f"  (floor: --version + {args.delay:g} s token delay, in one child process)")
    drawn = "drawn anew by every run (--cold)" if args.cold else "read back from the kit's cache after the first run"
    print(f"  (fuzzing cases: {drawn})")
    if args.breakdown:
        breakdown(args.pairs)


if __name__ == "__main__":
    main()
