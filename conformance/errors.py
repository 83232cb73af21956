"""Errors every layer may raise, and the exit codes the command line turns outcomes into."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """What every command exits with; a run's verdict maps onto the first four."""

    OK = 0  # pass, valid, verified
    FAIL = 1  # fail, invalid, not verified, newly failing
    USAGE = 2  # a bad flag, file or setting: nothing was judged
    INCONCLUSIVE = 3
    INTERRUPTED = 130  # stopped by the user before the command could finish


class UsageError(Exception):
    """A bad flag or configuration value; reported in one line, exit code 2."""
