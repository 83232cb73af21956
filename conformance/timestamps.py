"""The one way the kit writes a moment: UTC, milliseconds, a ``Z`` (summary, report, HAR)."""

from __future__ import annotations

import datetime as dt


def iso_utc(epoch: float | None = None) -> str:
    """``epoch`` (seconds, default now) as e.g. ``2026-11-27T20:41:16.123Z``."""
    moment = dt.datetime.now(dt.UTC) if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
