"""The console every command writes its lines to.

A closed stdout (``run | head -1``, a pager quit early) must not end a command: the run or
the grading goes on, its evidence is still written, and the exit code is still the
verdict's. Keys are redacted from every line the console is given them for.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from conformance.transport import redact_key

if TYPE_CHECKING:
    from conformance.run.engine import RunProgress

# a line of progress without a terminal: at each quarter of the checks, and at the end
PLAIN_STEPS = 4


class Console:
    """Lines to stdout (or to ``line_out``), redacted, and quiet once nobody reads them.

    A run's progress (``progress``) is a live bar on a terminal (rich), else a plain line at
    each quarter of the checks; either way one line at the end says what the run did."""

    def __init__(self, line_out: Callable[[str], None] | None = None, keys: Iterable[str] = (),
                 live: bool | None = None) -> None:
        self._line_out = line_out
        self._keys = [key for key in keys if key]
        self.closed = False
        self.live = (line_out is None and sys.stdout.isatty()) if live is None else live
        self._bar: Any = None  # rich's Progress while a run goes on a terminal
        self._plain_step = 0  # quarters of the checks already said without a terminal

    def progress(self, state: RunProgress) -> None:
        if self.closed:
            return
        if state.final:
            self.end_progress()
            self.say(f"checks {state.done}/{state.total}, {state.requests} requests, {state.elapsed_s:.1f} s")
            return
        if self.live:
            self._draw(state)
            return
        step = state.done * PLAIN_STEPS // state.total if state.total else 0
        if step > self._plain_step and state.done < state.total:
            self._plain_step = step
            self.say(f"  ... checks {state.done}/{state.total}, {state.requests} requests, "
                     f"{state.elapsed_s:.1f} s")

    def _draw(self, state: RunProgress) -> None:
        if self._bar is None:
            # start-up time: only a run on a terminal loads rich
            from rich.console import Console as RichConsole
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(TextColumn("checks"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[requests]} requests"), TimeElapsedColumn(),
                                 console=RichConsole(file=sys.stdout), transient=True)
            self._bar.start()
            self._task = self._bar.add_task("run", total=state.total, requests=0)
        self._bar.update(self._task, completed=state.done, total=state.total, requests=state.requests)

    def end_progress(self) -> None:
        """Take the bar off the terminal (the run ended, or stopped on an error)."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def say(self, line: str) -> None:
        if self.closed:
            return
        for key in self._keys:
            line = redact_key(line, key)
        if self._line_out is not None:
            self._line_out(line)
            return
        if self._bar is not None:
            # above the live bar, as written: no markup ("[x]" is a checklist mark), no wrapping
            self._bar.console.print(line, markup=False, highlight=False, emoji=False, soft_wrap=True)
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
