"""SIGTERM and SIGINT end a run or a grading the same way: say why, then stop what is waiting.

The handler hands a :class:`~conformance.transport.Stop` to the caller (a run halts its
transport, a grading notes it) and raises KeyboardInterrupt, which interrupts a request or a
wait in progress (inside a block the caller holds back, :meth:`Stopping.held_back`, at its
end); the caller catches it, judges what was seen and writes the evidence.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator

from conformance.transport import Stop, StopReason


class Stopping:
    """What :func:`stop_on_signals` hands its caller: a way to hold the interruption back."""

    def __init__(self) -> None:
        self._holding = False
        self._pending = False

    @contextlib.contextmanager
    def held_back(self) -> Iterator[None]:
        """A signal during the block is said at once (the caller's ``on_stop``) and interrupts
        at the block's end, not inside it: a run loads the checks' machinery here, and an
        interruption halfway through an import would leave it without the means to write the
        evidence of what it already sent."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False
        if self._pending:
            self._pending = False
            raise KeyboardInterrupt

    def interrupt(self) -> None:
        if self._holding:
            self._pending = True
            return
        raise KeyboardInterrupt


@contextlib.contextmanager
def stop_on_signals(on_stop: Callable[[Stop], None]) -> Iterator[Stopping]:
    """Only the main thread can install handlers: elsewhere (a test's thread) the process's own stay."""
    stopping = Stopping()
    if threading.current_thread() is not threading.main_thread():
        yield stopping
        return
    stopped = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if not stopped.is_set():  # a second signal while stopping changes nothing said
            stopped.set()
            now = time.time()
            name = signal.Signals(signum).name
            on_stop(Stop(StopReason.SIGNAL, f"stopped by signal {name} at "
                         f"{time.strftime('%H:%M:%S', time.gmtime(now))} UTC", now))
        stopping.interrupt()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stopping
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
