"""SIGTERM and SIGINT end a run or a grading the same way: say why, then stop what is waiting.

The handler hands a :class:`~conformance.transport.Stop` to the caller (a run halts its
transport, a grading notes it) and raises KeyboardInterrupt, which interrupts a request or a
wait in progress; the caller catches it, judges what was seen and writes the evidence.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator

from conformance.transport import Stop, StopReason


@contextlib.contextmanager
def stop_on_signals(on_stop: Callable[[Stop], None]) -> Iterator[None]:
    """Only the main thread can install handlers: elsewhere (a test's thread) the process's own stay."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopped = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        if not stopped.is_set():  # a second signal while stopping changes nothing said
            stopped.set()
            now = time.time()
            name = signal.Signals(signum).name
            on_stop(Stop(StopReason.SIGNAL, f"stopped by signal {name} at "
                         f"{time.strftime('%H:%M:%S', time.gmtime(now))} UTC", now))
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
