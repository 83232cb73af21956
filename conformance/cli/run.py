"""``run``: test one target (default: the embedded simulator) and leave the evidence."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance import target as target_mod
from conformance.cli.console import Console
from conformance.errors import ExitCode
from conformance.run.engine import embedded, execute
from conformance.run.plan import print_plan
from conformance.simulator import faults


def main(args: argparse.Namespace) -> int:
    target = target_mod.from_args(args)
    if target.simulator:
        faults.check(target.faults)
    console = Console()
    if args.plan:
        print_plan(target, console.say)
        return ExitCode.OK
    with embedded(target, args.simulator_delay) as live:
        result = execute(live, report_dir=Path(args.report_dir) if args.report_dir else None,
                         quiet=args.quiet, say=console.say)
    return result.exit_code
