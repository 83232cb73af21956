"""``sweep`` and ``sweep collect``: arguments in, exit code out.

Exit codes as ``run``: 1 when any target failed, else 3 when any is inconclusive, else 0;
2 for a bad TARGETS.yaml or flag (named by line), before anything is started.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path

from conformance.cli.console import Console
from conformance.cli.parser import MAX_JOBS
from conformance.errors import ExitCode, UsageError
from conformance.record import new_run_id
from conformance.report import MANIFEST, SUMMARY, prepare_directory
from conformance.settings import RunSettings
from conformance.sweep import collect, index, rows, runner, targets
from conformance.sweep.rows import Sweep
from conformance.timestamps import iso_utc


def main(args: argparse.Namespace, say: Callable[[str], None] | None = None) -> int:
    if not 1 <= args.jobs <= MAX_JOBS:
        raise UsageError(f"--jobs must be between 1 and {MAX_JOBS}")
    # a flag not given is absent from the namespace: 0 (--fuzz-examples 0) is a setting
    defaults = {name: getattr(args, name) for name, setting in RunSettings.fields().items()
                if setting.sweep and hasattr(args, name)}
    every = targets.load(Path(args.targets), defaults)
    chosen = targets.select(every, args.only)
    if args.matrix:
        print(json.dumps({"include": [{"name": t.name} for t in chosen]}))
        return ExitCode.OK
    directory = _prepare(Path(args.report_dir) if args.report_dir else None, [t.name for t in chosen])
    # a matrix job runs one target, but the matrix runs them all at once: pace for the file
    pace = runner.paces(every, len(every)) if args.only else runner.paces(chosen, args.jobs)
    planned = runner.launches(chosen, directory, pace, os.environ)
    keys = [key for t in chosen if t.api_key_env and (key := os.environ.get(t.api_key_env))]
    say = _console(say, keys)
    for launch in planned:
        for note in launch.notes:
            say(f"{launch.target.name}: note: {note} (inconclusive unless read_only)")
    for host, group in runner.by_host(chosen).items():
        if len(group) > 1:
            say(f"host {host}: {len(group)} targets share it: each run paced at {pace[group[0].name]:.3g} s "
                "between requests")
    say(f"sweep: {len(planned)} targets, up to {min(args.jobs, len(planned))} at once; bundles in {directory}")
    started = iso_utc()
    found = runner.Sweeper(directory, args.jobs, say).run(planned)
    sweep = index.write(Sweep(found, started, iso_utc(), "sweep"), directory, keys)
    return _end(sweep, directory, say)


def collect_main(args: argparse.Namespace, say: Callable[[str], None] | None = None) -> int:
    say = _console(say, [])
    directory = _prepare(Path(args.report_dir) if args.report_dir else None, [])
    sweep = index.write(collect.collect([Path(b) for b in args.bundles], directory), directory)
    for row in sweep.rows:
        say(f"{row.name}: {row.verdict.upper()}" + (f": {row.problem}" if row.problem else ""))
    return _end(sweep, directory, say)


def _end(sweep: Sweep, directory: Path, say: Callable[[str], None]) -> int:
    for error in sweep.kit_errors:
        say(f"kit error: {error}")
    counts = ", ".join(f"{n} {verdict}" for verdict, n in sweep.counts().items() if n)
    say(f"sweep: {counts}; index: {directory / rows.INDEX}")
    say(f"verdict: {sweep.verdict.upper()}")
    return sweep.exit_code


def _prepare(directory: Path | None, names: list[str]) -> Path:
    """The sweep folder, created; a usage error when it already holds a sweep or a target's bundle."""
    directory = (directory or Path("reports") / f"sweep-{new_run_id()}").resolve()
    taken = [directory / rows.SWEEP] + [directory / n / f for n in names for f in (SUMMARY, MANIFEST)]
    if any(path.exists() for path in taken):
        raise UsageError(f"{directory} already holds a sweep or a target's bundle: choose another --report-dir")
    return prepare_directory(directory)  # ... and not a run's bundle either


def _console(say: Callable[[str], None] | None, keys: list[str]) -> Callable[[str], None]:
    """The sweep's console: as a run's (a closed stdout ends nothing), every key redacted."""
    return Console(say, keys).say
