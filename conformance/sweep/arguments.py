"""The arguments of ``sweep`` and ``sweep collect``; kept apart so ``--help`` imports nothing heavy."""

from __future__ import annotations

import argparse

# the run flags a sweep passes to every target that does not set them itself
RUN_FLAGS = ("profile", "timeout", "poll_timeout", "max_requests", "max_duration", "min_interval", "seed",
             "fuzz_examples", "simulator_delay", "read_only", "app_name")


def add_arguments(sweep: argparse.ArgumentParser, profile_names: list[str]) -> None:
    sweep.add_argument("targets", metavar="TARGETS.yaml", help="the targets (see the README, 'Sweeping many targets')")
    sweep.add_argument("--report-dir", metavar="DIR", help="where the bundles, sweep.json and index.html go "
                       "(default reports/sweep-<id>)")
    sweep.add_argument("--jobs", type=int, default=4, metavar="N", help="targets run side by side (default 4)")
    sweep.add_argument("--only", action="append", metavar="NAME", help="run only this target (repeatable): "
                       "what each job of a CI matrix runs")
    sweep.add_argument("--matrix", action="store_true", help="print the targets as a GitHub Actions matrix "
                       '({"include": [{"name": ...}]}) and run nothing')
    runs = sweep.add_argument_group("run settings for every target that does not set them itself")
    runs.add_argument("--profile", choices=profile_names)
    runs.add_argument("--timeout", type=float, metavar="S")
    runs.add_argument("--poll-timeout", type=float, metavar="S")
    runs.add_argument("--max-requests", type=int, metavar="N", help="each target's request budget")
    runs.add_argument("--max-duration", type=float, metavar="S", help="each target's time bound")
    runs.add_argument("--min-interval", type=float, metavar="S", help="each run's pace; targets sharing a host "
                      "get it (or the remote pace) times how many of them run at once")
    runs.add_argument("--seed", type=int)
    runs.add_argument("--fuzz-examples", type=int, metavar="N")
    runs.add_argument("--simulator-delay", type=float, metavar="S", help="token delay of embedded simulators")
    runs.add_argument("--read-only", action="store_true")
    runs.add_argument("--app-name", metavar="NAME")


def add_collect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundles", nargs="+", metavar="BUNDLE", help="a run's bundle (its folder's name is the "
                        "target's name) or a sweep folder")
    parser.add_argument("--report-dir", metavar="DIR", help="where sweep.json, index.html and the bundles go "
                        "(default reports/sweep-<id>)")
