"""The console every command writes its lines to.

A closed stdout (``run | head -1``, a pager quit early) must not end a command: the run or
the grading goes on, its evidence is still written, and the exit code is still the
verdict's. Keys are redacted from every line the console is given them for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

from conformance.transport import redact_key


class Console:
    """Lines to stdout (or to ``line_out``), redacted, and quiet once nobody reads them."""

    def __init__(self, line_out: Callable[[str], None] | None = None, keys: Iterable[str] = ()) -> None:
        self._line_out = line_out
        self._keys = [key for key in keys if key]
        self.closed = False

    def say(self, line: str) -> None:
        if self.closed:
            return
        for key in self._keys:
            line = redact_key(line, key)
        if self._line_out is not None:
            self._line_out(line)
            return
        try:
            print(line, flush=True)
        except BrokenPipeError:
            self.closed = True
            # stdout is gone for good: point it at /dev/null so the interpreter's own flush
            # at exit does not raise again
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
