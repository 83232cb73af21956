"""What passes between the simulator's modules: a parsed request, its answer, a refusal.

A module of its own so that the request-list, write and fault helpers can refuse or answer
without importing ``app.py``, which imports them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from conformance.headers import header


@dataclass(slots=True)
class Reply:
    """An HTTP answer. ``stream``, when set, yields the body after the headers are sent."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: Callable[[], Iterator[bytes]] | None = None
    length: int | None = None  # Content-Length of a streamed body

    @property
    def content_type(self) -> str:
        return header(self.headers, "Content-Type") or ""


class Refused(Exception):
    """An input the City refuses: becomes an error answer with this status."""

    def __init__(self, status: int, *descriptions: str) -> None:
        super().__init__(descriptions[0] if descriptions else "")
        self.status = status
        self.descriptions = descriptions


@dataclass(slots=True)
class Call:
    """One request, parsed."""

    method: str
    stem: str  # path below /open311/v2 (or /open311) without the format suffix
    fmt: str | None  # the suffix as given, lowercased
    params: dict[str, str]
    host: str
    form: list[tuple[str, str]] = field(default_factory=list)
    callback: str | None = None

    @property
    def answer_fmt(self) -> str:
        return "xml" if self.fmt == "xml" else "json"
