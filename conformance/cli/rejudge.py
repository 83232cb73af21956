"""``rejudge BUNDLE``: judge a run's bundle again, from its evidence alone, and say what was reproduced."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.cli.console import Console
from conformance.errors import ExitCode, UsageError
from conformance.rejudge import rejudge


def main(args: argparse.Namespace) -> int:
    console = Console()
    result = rejudge(Path(args.bundle), Path(args.report_dir) if args.report_dir else None,
                     check_manifest=not args.no_verify, say=console.say)
    rejudged = result.record.rejudged
    if rejudged is None:  # never: a re-judged run's record says so
        raise UsageError("the re-judged run's record lost what it reproduced (a kit bug)")
    console.say("")
    if not rejudged.verified:
        console.say(f"warning: the manifest of {args.bundle} does not verify: re-judged anyway (--no-verify)")
    console.say(f"{rejudged.sentence()}: {rejudged.tally()}"
                + (f"; {rejudged.not_in_evidence} request(s) not in the evidence" if rejudged.not_in_evidence
                   else ""))
    for difference in rejudged.differences:
        console.say(f"  {difference.check_id}: {difference.old or '(no such check)'} -> "
                    f"{difference.new or '(no such check)'}: {difference.why}")
    console.say(f"re-judged bundle: {result.report_dir}")
    return ExitCode.OK if not rejudged.differences else ExitCode.FAIL
