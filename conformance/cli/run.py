"""``run``: test one target (default: the embedded simulator) and leave the evidence."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from pathlib import Path

from conformance import settings
from conformance.cli.console import Console
from conformance.cli.serve import list_faults
from conformance.errors import ExitCode
from conformance.run.engine import embedded, execute
from conformance.run.plan import print_plan
from conformance.settings import RunSettings
from conformance.simulator import faults
from conformance.target import Target


def main(args: argparse.Namespace) -> int:
    if args.list_faults:
        return list_faults(Console().say)
    target = target_from(args, os.environ)
    if target.simulator:
        faults.check(target.faults)
    console = Console()
    if args.plan:
        print_plan(target, console.say)
        return ExitCode.OK
    try:
        with embedded(target, target.settings.simulator_delay) as live:
            report_dir = target.settings.report_dir
            result = execute(live, report_dir=Path(report_dir) if report_dir else None, quiet=args.quiet,
                             verbose=args.verbose, say=console.say,
                             progress=None if args.quiet else console.progress)
    finally:
        console.end_progress()
    return result.exit_code


def target_from(args: argparse.Namespace, environ: Mapping[str, str]) -> Target:
    """The target of ``run``'s flags: flags over the environment over ``--config``'s file."""
    flags = {name: getattr(args, name) for name in RunSettings.fields() if hasattr(args, name)}
    file = settings.from_toml(args.config) if args.config else None
    return Target.resolve(RunSettings.merge(flags, environ, file), environ, api_key=args.api_key)
