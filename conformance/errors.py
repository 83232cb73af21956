"""Errors every layer may raise and the command line turns into exit codes."""

from __future__ import annotations


class UsageError(Exception):
    """A bad flag or configuration value; reported in one line, exit code 2."""
