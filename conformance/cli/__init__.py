"""The ``open311-conformance`` command: run | check-app | serve | validate | requirements |
cities | compare | sweep | verify | rejudge.

Every command is a thin adapter in its own module here: parse, build the settings, call the
layer below, map the outcome to an exit code (:class:`~conformance.errors.ExitCode`: 0
pass/valid, 1 fail/invalid, 2 usage or configuration, 3 inconclusive). Nothing outside this
package reads the command line.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

from conformance import __version__
from conformance.cli.parser import build_collect_parser, build_parser
from conformance.errors import ExitCode, UsageError

__all__ = ["build_parser", "command", "main"]


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:2] == ["sweep", "collect"]:
        parser, argv = build_collect_parser(), argv[2:]
    else:
        parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(__version__)
        return ExitCode.OK
    if not getattr(args, "handler", None):
        parser.print_help()
        return ExitCode.USAGE
    try:
        return int(args.handler(args))
    except UsageError as exc:
        print(f"open311-conformance {args.command}: error: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return ExitCode.INTERRUPTED


def command() -> int:
    """The installed ``open311-conformance`` and ``python -m conformance.cli``: :func:`main`,
    for a process that ends with it. Everything the command made is frozen out of the cyclic
    collector's reach first: the process is about to end, and the interpreter's last collection
    over a run's millions of objects cost 0.12 s of CPU for nothing (issue 21); the files are
    written and closed, and exit handlers still run."""
    code = main()
    gc.freeze()
    return code
