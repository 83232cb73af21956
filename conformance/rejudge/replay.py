"""The replay target: a loopback HTTP server that answers every request from a bundle's evidence.har.

A request is matched on what the kit chose to send: method, path, query (in any order), body
(a form's fields in any order) and the headers that change an answer (``Accept``,
``Content-Type``), with the API key redacted on both sides as the transport redacts it (the
HAR holds ``[REDACTED]`` where the key was). Identical requests (a token polled again and
again) are answered in their recorded order. A request the evidence does not hold is answered
502 with :data:`NOT_IN_EVIDENCE` in the :data:`REPLAY_HEADER` header: the re-judged run makes
the checks that cited it inconclusive, never failed. It listens on 127.0.0.1 only and sends
nothing: the recorded target is never contacted.
"""

from __future__ import annotations

import base64
import binascii
import collections
import datetime as dt
import http.server
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from conformance import jsonfile
from conformance.errors import UsageError
from conformance.timestamps import RECORDED_AT
from conformance.transport import DEFAULT_MAX_BODY, origin, redact_key

REPLAY_HEADER = "X-Open311-Replay"
NOT_IN_EVIDENCE = "not in the evidence"
IN_PART = "in the evidence only in part"
NOT_IN_EVIDENCE_STATUS = 502
# the headers whose value changes an answer, and what a request without one carries (the
# transport's session sends requests' defaults; the HAR keeps only what the kit set itself)
MATTERING = {"accept": "*/*", "content-type": ""}
# hop-by-hop or re-made here: the body is replayed decoded and whole
NOT_REPLAYED = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"})
FORM = "application/x-www-form-urlencoded"


@dataclass(slots=True, frozen=True)
class Asked:
    """What identifies a request for the replay: the same on the recorded and the live side."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: tuple[tuple[str, str], ...] | str | None
    accept: str
    content_type: str

    @classmethod
    def of(cls, method: str, target: str, headers: Mapping[str, str], body: str | None,
           key: str | None) -> Asked:
        """``target`` a URL or an origin-form path with its query; every value redacted of ``key``."""
        def clean(text: str) -> str:
            return redact_key(text, key)

        parts = urlsplit(clean(target))
        lower = {name.lower(): value for name, value in headers.items()}
        content_type = clean(lower.get("content-type", MATTERING["content-type"]))
        query = tuple(sorted((clean(n), clean(v)) for n, v in parse_qsl(parts.query, keep_blank_values=True)))
        shaped: tuple[tuple[str, str], ...] | str | None = None
        if body:
            body = clean(body)
            shaped = (tuple(sorted((clean(n), clean(v)) for n, v in parse_qsl(body, keep_blank_values=True)))
                      if content_type.split(";")[0].strip().lower() == FORM else body)
        return cls(method.upper(), clean(unquote(parts.path)), query, shaped,
                   clean(lower.get("accept", MATTERING["accept"])), content_type)


@dataclass(slots=True, frozen=True)
class RecordedAnswer:
    """One recorded exchange, as the replay answers it."""

    seq: int
    status: int  # 0: the exchange got no answer
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    error: str | None
    truncated: bool
    label: str
    started: float  # when the recorded exchange started (epoch seconds)
    elapsed: float  # how long it took, in seconds

    @property
    def cut(self) -> bool:
        """Whether the kit stopped reading this answer before its end (too slow, broken off, too
        large): the evidence holds only its beginning. A Retry-After's note is no cut."""
        error = self.error or ""
        return bool(self.status) and (self.truncated or any(
            words in error for words in ("not complete within", "broken off", "exceeds the cap")))


@dataclass(slots=True)
class Evidence:
    """The recorded exchanges of a bundle, by what was asked, each list in recorded order."""

    base_url: str  # the recorded run's versioned base URL
    by_request: dict[Asked, collections.deque[RecordedAnswer]] = field(default_factory=dict)
    total: int = 0

    @classmethod
    def load(cls, har_path: Path, base_url: str) -> Evidence:
        data = jsonfile.read(har_path)
        entries = data.get("log", {}).get("entries") if isinstance(data, dict) else None
        if not isinstance(entries, list):
            raise UsageError(f"{har_path}: not a HAR file (no log.entries)")
        evidence = cls(base_url)
        try:
            asked_at = urlsplit(str(entries[0]["request"]["url"])) if entries else None
            if asked_at is not None and asked_at.netloc:
                # the origin the exchanges were sent to (a re-judged bundle's: its replay's), where
                # the answers name themselves; the path is the recorded base's
                evidence.base_url = f"{asked_at.scheme}://{asked_at.netloc}{urlsplit(base_url).path}"
            ordered = sorted(entries, key=lambda e: int(e.get("_seq", 0)))
            for entry in ordered:
                asked, recorded = _entry(entry)
                evidence.by_request.setdefault(asked, collections.deque()).append(recorded)
                evidence.total += 1
        except (AttributeError, KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise UsageError(f"{har_path}: an entry the kit did not write ({type(exc).__name__}: {exc})") from None
        return evidence


def _entry(entry: dict[str, Any]) -> tuple[Asked, RecordedAnswer]:
    request, response = entry["request"], entry["response"]
    headers = {h["name"]: h["value"] for h in request.get("headers", [])}
    post = request.get("postData")
    # the HAR holds the key already redacted: nothing to redact on this side
    asked = Asked.of(request["method"], request["url"], headers, post.get("text") if post else None, None)
    content = response.get("content", {})
    text = content.get("text", "") or ""
    body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode("utf-8")
    recorded = RecordedAnswer(
        seq=int(entry.get("_seq", 0)), status=int(response.get("status") or 0),
        reason=str(response.get("statusText", "")),
        headers=tuple((h["name"], h["value"]) for h in response.get("headers", [])),
        body=body, error=entry.get("_error"), truncated=bool(entry.get("_truncated")),
        label=str(entry.get("comment", "")),
        started=dt.datetime.fromisoformat(str(entry["startedDateTime"]).replace("Z", "+00:00")).timestamp(),
        elapsed=float(entry.get("time") or 0.0) / 1000)
    return asked, recorded


@dataclass(slots=True)
class Unanswered:
    """A request the replay could not answer as recorded."""

    method: str
    path: str
    why: str


class Replay:
    """The evidence served on a free loopback port until :meth:`stop`."""

    def __init__(self, evidence: Evidence, key: str | None, timeout: float, cap: int = DEFAULT_MAX_BODY) -> None:
        self.evidence = evidence
        self.key = key  # the re-judged run's own stand-in key: redacted as the recorded one was
        self.timeout = timeout  # a recorded "no answer within" is replayed as no answer, that long
        self.cap = cap  # a recorded answer over the size cap is replayed past it
        self.unanswered: list[Unanswered] = []
        self.answered = 0
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="replay", daemon=True)
        self._thread.start()

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        """Where the recorded base URL's path is served."""
        return self.origin + urlsplit(self.evidence.base_url).path.rstrip("/")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def next_answer(self, asked: Asked) -> RecordedAnswer | None:
        with self._lock:
            queue = self.evidence.by_request.get(asked)
            if not queue:
                self.unanswered.append(Unanswered(asked.method, asked.path, NOT_IN_EVIDENCE))
                return None
            self.answered += 1
            return queue.popleft()

    def note(self, gap: Unanswered) -> None:
        with self._lock:
            self.unanswered.append(gap)

    def moved(self, body: bytes) -> bytes:
        """A recorded body with the recorded target's origin replaced by the replay's: an answer that
        names its own URL (discovery's endpoints) names the server the run now asks, as it did."""
        recorded = urlsplit(self.evidence.base_url)
        if not recorded.netloc:
            return body
        return body.replace(f"{recorded.scheme}://{recorded.netloc}".encode(), self.origin.encode())

    def location(self, value: str) -> str:
        """A recorded Location on the recorded target's origin, moved to the replay's (a redirect the
        run followed within the origin must stay within it)."""
        recorded = urlsplit(self.evidence.base_url)
        parts = urlsplit(value)
        if parts.netloc and origin(value) == origin(self.evidence.base_url) and recorded.netloc:
            return self.origin + value[len(f"{parts.scheme}://{parts.netloc}"):]
        return value


def _handler(replay: Replay) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the recorded target's connections were
        # headers and body leave in two writes: without this, each answer waits out the client's
        # delayed ACK (40 ms), and a replay of 300 exchanges takes seconds of nothing
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base class's name)
            """Quiet: the run's own evidence records every exchange."""

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body = raw.decode("utf-8", "replace") if raw else None
            asked = Asked.of(self.command, self.path, dict(self.headers.items()), body, replay.key)
            recorded = replay.next_answer(asked)
            if recorded is None:
                self._plain(NOT_IN_EVIDENCE_STATUS, NOT_IN_EVIDENCE,
                            f"{NOT_IN_EVIDENCE}: {asked.method} {asked.path} was not asked in the recorded run "
                            "(or not this many times)")
                return
            if not recorded.status:
                # the recorded exchange got no answer: none here either (a timeout, that long)
                if recorded.error and "no answer within" in recorded.error:
                    time.sleep(replay.timeout + 0.5)
                self.close_connection = True
                return
            if recorded.cut:
                self._cut(asked, recorded)
                return
            self.send_response_only(recorded.status, recorded.reason or None)
            for name, value in recorded.headers:
                if name.lower() in NOT_REPLAYED:
                    continue
                self.send_header(name, replay.location(value) if name.lower() == "location" else value)
            body = replay.moved(recorded.body)
            self.send_header(RECORDED_AT, f"started={recorded.started:.3f}; elapsed={recorded.elapsed:.6f}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _cut(self, asked: Asked, recorded: RecordedAnswer) -> None:
            """An answer the evidence holds only the beginning of: the kit stopped reading it.
            What stopped it is replayed, no more: a body that did not come whole in time stalls
            after what came (the run's own bound judges it again); one broken off is broken off
            after what came; one over the size cap goes on past the cap with spaces (the kit
            never reads beyond it). Anything else is not in the evidence."""
            error = recorded.error or ""
            oversized = "exceeds the cap" in error
            stalled = "not complete within" in error or ("broken off" in error and "timed out" in error)
            if not (stalled or oversized or "broken off" in error):
                replay.note(Unanswered(asked.method, asked.path, IN_PART))
                self._plain(NOT_IN_EVIDENCE_STATUS, IN_PART,
                            f"{IN_PART}: the answer to {asked.method} {asked.path} was cut ({error})")
                return
            self.send_response_only(recorded.status, recorded.reason or None)
            for name, value in recorded.headers:
                if name.lower() not in NOT_REPLAYED:
                    self.send_header(name, value)
            self.send_header("Connection", "close")  # no length: the body ends when the connection does
            self.end_headers()
            self.close_connection = True
            try:
                self.wfile.write(recorded.body)
                if stalled:
                    time.sleep(replay.timeout + 0.5)
                else:
                    padding = b" " * 65536
                    for _ in range(replay.cap // len(padding) + 2):
                        self.wfile.write(padding)
            except OSError:
                pass  # the kit hung up, as it should once it has seen enough

        def _plain(self, status: int, mark: str, text: str) -> None:
            payload = text.encode("utf-8")
            self.send_response_only(status, "Not In Evidence")
            self.send_header(REPLAY_HEADER, mark)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _answer

    return Handler
