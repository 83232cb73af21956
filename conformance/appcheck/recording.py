"""What an application sent and what it was answered: the recording check-app judges.

Every exchange the grading simulator (or the forwarding proxy) serves becomes one
:class:`Seen`, parsed once into what the judges ask about: which resource, which format, the
query and form fields, the answer decoded. The recording keeps the API key in memory (the
judges compare it); :func:`to_exchanges` is the only way out of it, and redacts.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from conformance import wire
from conformance.headers import header
from conformance.transport import Exchange, redact_key

BASE = "/open311/v2"


class Kind(enum.StrEnum):
    SERVICES = "services"
    DEFINITION = "service-definition"
    LIST = "requests"
    REQUEST = "request"
    TOKEN = "token"
    POST = "post"
    KEYS = "apps/new"
    DISCOVERY = "discovery"
    OTHER = "other"


_RESOURCE = {Kind.SERVICES: "services", Kind.DEFINITION: "service-definition",
             Kind.LIST: "service-requests", Kind.REQUEST: "service-requests",
             Kind.TOKEN: "token", Kind.POST: "post-response"}


@dataclass(slots=True, frozen=True)
class Route:
    """Where a request went: the resource, its argument (code, id, token) and the format."""

    kind: Kind
    arg: str | None = None
    fmt: str | None = None


def route(method: str, target: str) -> Route:
    path = unquote(urlsplit(target).path)
    if not path.startswith(BASE + "/"):
        return Route(Kind.DISCOVERY if path.startswith("/open311/discovery") else Kind.OTHER)
    rest = path[len(BASE) + 1:]
    stem, dot, fmt = rest.rpartition(".")
    if not dot or "/" in fmt:
        stem, fmt = rest, ""
    parts = stem.split("/")
    fmt_or_none = fmt.lower() or None
    if parts == ["apps", "new"]:
        return Route(Kind.KEYS, None, fmt_or_none)
    if parts == ["services"]:
        return Route(Kind.SERVICES, None, fmt_or_none)
    if parts == ["requests"]:
        return Route(Kind.POST if method == "POST" else Kind.LIST, None, fmt_or_none)
    if len(parts) == 2 and parts[0] in ("services", "requests", "tokens"):
        kind = {"services": Kind.DEFINITION, "requests": Kind.REQUEST, "tokens": Kind.TOKEN}[parts[0]]
        return Route(kind, parts[1], fmt_or_none)
    if parts == ["tokens"]:  # a token asked for without one
        return Route(Kind.TOKEN, "", fmt_or_none)
    return Route(Kind.OTHER, None, fmt_or_none)


@dataclass(slots=True)
class Seen:
    """One exchange as the application saw it; times are when it reached the kit."""

    seq: int
    method: str
    target: str  # path and query as sent (key included: never written out as is)
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_body: bytes
    received: float  # wall clock, for the evidence
    at: float  # monotonic, for intervals
    elapsed_s: float = 0.0
    note: str = ""  # the kit's own word on it (a forwarded POST refused, an upstream error)
    route: Route = field(init=False)

    def __post_init__(self) -> None:
        self.route = route(self.method, self.target)

    @property
    def kind(self) -> Kind:
        return self.route.kind

    @property
    def fmt(self) -> str | None:
        return self.route.fmt

    @property
    def params(self) -> dict[str, str]:
        return _first(self.param_pairs)

    @property
    def param_pairs(self) -> list[tuple[str, str]]:
        """The query, every field as sent (a name given twice is there twice)."""
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def form(self) -> dict[str, str]:
        """The POST form: body fields first (they win), then the query's."""
        return _first(self.form_pairs)

    @property
    def form_pairs(self) -> list[tuple[str, str]]:
        text = self.body.decode("utf-8", "replace")
        return parse_qsl(text, keep_blank_values=True)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300

    def response_header(self, name: str) -> str | None:
        return header(self.response_headers, name)

    def data(self) -> Any:
        """The answer decoded (JSON or XML into one model), None when it does not decode."""
        return _decode(self)


def _decode(seen: Seen) -> Any:
    resource = _RESOURCE.get(seen.kind)
    fmt = "xml" if seen.fmt == "xml" else "json"
    if resource is None or not seen.response_body:
        return None
    try:
        return wire.decode(seen.response_body, fmt, None).data
    except wire.WireError:
        return None


def _first(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


Listener = Callable[[Seen], None]


class Recorder:
    """Collects what the simulator or the proxy served, in order; thread-safe."""

    def __init__(self) -> None:
        self._seen: list[Seen] = []
        self._lock = threading.Lock()
        self.listeners: list[Listener] = []

    def add(self, method: str, target: str, headers: Mapping[str, str], body: bytes, status: int,
            response_headers: list[tuple[str, str]], response_body: bytes, received: float,
            at: float, elapsed_s: float = 0.0, note: str = "") -> Seen:
        with self._lock:
            seen = Seen(len(self._seen) + 1, method.upper(), target, dict(headers), body, status,
                        list(response_headers), response_body, received, at, elapsed_s, note)
            self._seen.append(seen)
        for listener in list(self.listeners):
            listener(seen)
        return seen

    def snapshot(self) -> list[Seen]:
        with self._lock:
            return list(self._seen)

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def __iter__(self) -> Iterator[Seen]:
        return iter(self.snapshot())


Redact = Callable[[Any], Any]


def redactor(key: str | None) -> Redact:
    """The transport's redaction rule for ``key``, as a one-argument function."""
    return partial(redact_key, key=key)


def to_exchanges(recording: list[Seen], base_url: str, redact: Redact) -> list[Exchange]:
    """The recording as the kit's evidence objects, numbered as recorded, key redacted."""
    split = urlsplit(base_url)
    origin = f"{split.scheme}://{split.netloc}"
    return [Exchange(
        seq=s.seq, method=s.method, url=redact(origin + s.target),
        request_headers={k: redact(v) for k, v in s.headers.items()},
        request_body=redact(s.body.decode("utf-8", "replace")) if s.body else None,
        started=s.received, label=_label(s), status=s.status,
        reason=_reason(s.status), response_headers={k: redact(v) for k, v in s.response_headers},
        response_body=redact(s.response_body), elapsed_s=s.elapsed_s,
        error=redact(s.note) or None) for s in recording]


def _label(seen: Seen) -> str:
    arg = f" {seen.route.arg}" if seen.route.arg else ""
    return f"application: {seen.kind.value}{arg}"


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""

