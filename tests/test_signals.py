"""A signal stops a run at once, except inside a block that holds it back (a run loading the
checks' machinery), where it is said at once and interrupts at the block's end."""

from __future__ import annotations

import os
import signal
import time

import pytest

from conformance.signals import stop_on_signals
from conformance.transport import Stop, StopReason


def _deliver(signum: int) -> None:
    os.kill(os.getpid(), signum)
    for _ in range(50):  # the handler runs in the main thread at its next bytecode: let it
        time.sleep(0.001)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_interrupts_at_once(signum: int) -> None:
    said: list[Stop] = []
    with pytest.raises(KeyboardInterrupt), stop_on_signals(said.append):
        _deliver(signum)
        pytest.fail("not interrupted")
    assert [s.reason for s in said] == [StopReason.SIGNAL] and signal.Signals(signum).name in said[0].detail


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_held_back_is_said_at_once_and_interrupts_at_the_blocks_end(signum: int) -> None:
    said: list[Stop] = []
    reached = []
    with pytest.raises(KeyboardInterrupt), stop_on_signals(said.append) as stopping:
        with stopping.held_back():
            _deliver(signum)
            assert len(said) == 1  # said while held: the run's transport is halted at once
            reached.append("the block's end")
        pytest.fail("not interrupted after the block")
    assert reached == ["the block's end"]


def test_a_block_held_back_without_a_signal_goes_on() -> None:
    with stop_on_signals(lambda _stop: pytest.fail("a stop without a signal")) as stopping:
        with stopping.held_back():
            pass
        with stopping.held_back():  # held back once more: still nothing pending
            pass
