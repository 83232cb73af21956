"""Running the application under test (``check-app -- COMMAND``): bounded, echoed, its tail kept.

The application gets the server in its environment (and ``{base_url}``/``{api_key}`` in its
arguments), its output is echoed prefixed and its last lines kept (key redacted) as
evidence; stdout and stderr are read apart, each line searched (``leaks.Watch``) before it is
redacted, so what the app prints is judged too. Past ``wait`` seconds it is stopped,
terminate first and then kill, with its whole process group (a shell script's children go
too).
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

from conformance.appcheck.leaks import Watch

TAIL_LINES = 50
STDERR_TAIL_LINES = 20  # what the first screen shows of an application that failed
STOP_GRACE_S = 3.0
PREFIX = "app| "

Redact = Callable[[str], str]


class LaunchError(Exception):
    """The command could not be started at all (not found, not executable)."""


@dataclass(slots=True, frozen=True)
class AppRun:
    """What the kit saw of the application process; ``command`` has the key redacted."""

    command: str
    exit_code: int | None
    tail: tuple[str, ...]
    duration_s: float
    stopped_by_wait: bool
    stderr_tail: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {"command": self.command, "exit_code": self.exit_code, "tail": list(self.tail),
                "stderr_tail": list(self.stderr_tail), "duration_s": round(self.duration_s, 3),
                "stopped_by_wait": self.stopped_by_wait}


def expand(argv: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """``{base_url}`` and ``{api_key}`` (only those) replaced in every argument."""
    out = []
    for arg in argv:
        for name, value in values.items():
            arg = arg.replace("{" + name + "}", value)
        out.append(arg)
    return out


def run(argv: Sequence[str], env: Mapping[str, str], wait_s: float, redact: Redact,
        echo: Callable[[str], None], watch: Watch | None = None) -> AppRun:
    shown = redact(shlex.join(argv))
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv), env={**os.environ, **env}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, encoding="utf-8", errors="replace", bufsize=1,
            start_new_session=os.name == "posix")
    except OSError as exc:
        raise LaunchError(f"cannot start {shown!r}: {exc.strerror or exc}") from None
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    stderr_tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
    readers = [threading.Thread(target=_pump, args=(stream, name, tails, redact, echo, watch), daemon=True,
                                name=f"check-app {name}")
               for stream, name, tails in ((process.stdout, "stdout", (tail,)),
                                           (process.stderr, "stderr", (tail, stderr_tail)))]
    for reader in readers:
        reader.start()
    stopped = False
    try:
        process.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        stopped = True
        echo(f"the application did not exit within {wait_s:g} s: stopping it")
        _stop(process)
    except KeyboardInterrupt:  # a signal: the application goes with the grading
        _stop(process)
        _join(readers)
        raise
    _join(readers)
    return AppRun(shown, process.returncode, tuple(tail), time.monotonic() - started, stopped,
                  tuple(stderr_tail))


def _join(readers: list[threading.Thread]) -> None:
    for reader in readers:
        reader.join(timeout=STOP_GRACE_S)


def _pump(stream: IO[str] | None, name: str, tails: tuple[deque[str], ...], redact: Redact,
          echo: Callable[[str], None], watch: Watch | None) -> None:
    if stream is None:
        return
    if watch is not None:
        watch.mark_read(name)
    for number, raw in enumerate(stream, 1):
        raw = raw.rstrip("\r\n")
        if watch is not None:
            watch.line(name, number, raw)
        line = redact(raw)
        for tail in tails:
            tail.append(line)
        echo(PREFIX + line)


def _stop(process: subprocess.Popen[str]) -> None:
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (getattr(signal, "SIGKILL", signal.SIGTERM), STOP_GRACE_S)):
        _signal(process, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def _signal(process: subprocess.Popen[str], sig: int) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, sig)  # the group the kit started: the app and its children
        elif sig == signal.SIGTERM:
            process.terminate()
        else:
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass
