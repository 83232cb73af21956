"""What keeps a run's CPU down (issue 21) stays in place, and leaves its caller as it was."""

from __future__ import annotations

import gc

from conformance.run import engine


def test_the_collector_runs_rarer_during_a_run_and_is_put_back_after() -> None:
    before = gc.get_threshold()
    assert gc.get_freeze_count() == 0
    with engine.lean_collector():
        assert gc.get_threshold()[0] >= engine.YOUNG_COLLECTION_THRESHOLD > before[0]
        assert gc.get_freeze_count() > 0  # what was loaded before is not traced again
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_a_callers_own_freeze_is_left_to_the_caller() -> None:
    gc.freeze()
    try:
        with engine.lean_collector():
            pass
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_the_run_neither_rewrites_asserts_nor_hunts_unraisable_exceptions() -> None:
    args = engine.pytest_args()
    assert "--assert=plain" in args
    assert args[args.index("no:unraisableexception") - 1] == "-p"
