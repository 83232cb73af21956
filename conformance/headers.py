"""An HTTP header's value, whatever the case of its name: the one lookup the kit's headers need,
whether held as a mapping (requests, the evidence) or as name-value pairs (the simulator's
replies, check-app's recording)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def header(headers: Mapping[str, str] | Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of ``name`` in ``headers``; None when it is not there."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    wanted = name.lower()
    return next((value for key, value in pairs if key.lower() == wanted), None)
