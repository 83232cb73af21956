"""The one place HTTP happens.

Every request the kit sends goes through :class:`Transport`: it bounds each exchange
(timeout, a deadline for the whole body, a size cap), keeps the evidence of every exchange,
redacts the API key wherever it could appear, enforces the write guard and the request
budget, and is polite to remote hosts; asked to (``share_answers``), it keeps each GET's
answer for a caller that may judge it instead of sending the same GET again
(:meth:`Transport.answered_get`). It knows nothing of Open311.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import ipaddress
import os
import posixpath
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import certifi
import requests
import urllib3

from conformance.headers import header
from conformance.timestamps import Clock

DEFAULT_MAX_BODY = 10 * 1024 * 1024
STALLS_BEFORE_GIVING_UP = 2
SILENT_PATHS_BEFORE_GIVING_UP = 2  # different paths failing in a row, nothing answered between: gone
RETRY_STATUSES = (429, 503)
MAX_RETRIES = 2
MAX_RETRY_AFTER = 60.0  # seconds; a server asking for longer gets its answer recorded as is
REDACTED = "[REDACTED]"
MAX_REDIRECTS = 5  # hops of one GET within the target's origin; a longer chain is answered as is
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

class Failure(StrEnum):
    """Why an exchange yielded no answer."""

    TIMEOUT = "timeout"
    CONNECTION = "connection"
    TOO_LARGE = "too-large"
    WRITE_REFUSED = "write-refused"
    RATE_LIMITED = "rate-limited"  # the server asked for a longer wait than the run may give
    STOPPED = "stopped"  # the run was cut short: nothing more is sent (see ``Stop``)
    PLANNED = "planned"


class StopReason(StrEnum):
    """Why the kit stopped sending: its own limits, a signal, or a target that is gone."""

    BUDGET = "budget"
    DEADLINE = "deadline"
    HUNG = "hung"
    UNREACHABLE = "unreachable"
    SIGNAL = "signal"
    MOVED = "moved"  # the base URL redirects: the run is pointed at the wrong place


@dataclass(slots=True, frozen=True)
class Stop:
    reason: StopReason
    detail: str
    at: float  # time.time() of the moment the run was cut short (for a hang: when it began)


class TransportError(Exception):
    """An exchange that did not yield an answer. ``kind`` says why, for the verdict."""

    def __init__(self, kind: Failure | str, message: str, exchange: Exchange | None = None,
                 *, never_connected: bool = False) -> None:
        super().__init__(message)
        self.kind = Failure(kind)
        self.exchange = exchange
        # refused, no such host, TLS: the target cannot be reached at all (a reset after
        # connecting is a broken answer, not an absent target)
        self.never_connected = never_connected


def key_fingerprint(key: str | None) -> str | None:
    if not key:
        return None
    return "sha256:" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(slots=True, frozen=True)
class WritePolicy:
    """Who may receive a POST: loopback and the given test hosts; production hosts need a
    second, explicit permission. The host lists come from the caller (the transport knows
    no city)."""

    allow_writes: bool = False
    allow_production: bool = False
    test_hosts: frozenset[str] = frozenset()
    production_hosts: frozenset[str] = frozenset()
    read_only: bool = False
    # a refusal decided for another URL: a re-judged run refuses what its recorded run refused
    refused: str | None = None

    def refusal(self, url: str) -> str | None:
        """Why a write to ``url`` is refused, or None when it is allowed."""
        if self.refused:
            return self.refused
        if self.read_only:
            return "this is a read-only run (--read-only): nothing is written"
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
        if host in self.production_hosts:
            if self.allow_production and self.allow_writes:
                return None
            return (f"{host} is a known production host: writes need --allow-writes "
                    "and --allow-writes-to-production")
        if is_loopback(host) or host in self.test_hosts or self.allow_writes:
            return None
        return f"{host} is neither loopback nor a known test host: writes need --allow-writes"


@dataclass(slots=True, frozen=True)
class Trust:
    """Whose TLS certificates the kit believes: the default (certifi's authorities), plus
    a private CA from ``ca_bundle``; or nobody's (``verify`` False: --insecure)."""

    ca_bundle: str | None = None
    verify: bool = True


@dataclass(slots=True, frozen=True)
class Route:
    """How requests reach the target: straight, through a named proxy, or through the
    proxy the environment names (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), only when asked."""

    proxy: str | None = None
    from_env: bool = False


def proxy_host(proxy: str | None) -> str | None:
    """host:port of a proxy URL: what a record may say of it, never its credentials."""
    if not proxy:
        return None
    parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def proxy_reads_key(proxy: str | None, base_url: str, keyed: bool) -> bool:
    """A key sent in plain HTTP through a proxy: the proxy can read it."""
    return bool(proxy and keyed and urlsplit(base_url).scheme == "http")


@dataclass(slots=True)
class Exchange:
    """The evidence of one HTTP exchange, already redacted."""

    seq: int
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str | None
    started: float
    label: str | None = None
    status: int | None = None
    reason: str = ""
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    truncated: bool = False
    elapsed_s: float = 0.0
    error: str | None = None
    # when it left on the run's clock (:meth:`Clock.monotonic`): a re-judged run's is the
    # recorded exchange's, so times measured between requests are the recorded run's
    sent_at: float = 0.0


@dataclass(slots=True, frozen=True)
class SameGet:
    """What makes two GETs one request: the URL (the key in it too) and every header the
    session sends with it, its defaults included; no body, by being a GET."""

    url: str
    headers: frozenset[tuple[str, str]]


@dataclass(slots=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes
    url: str
    exchange: Exchange

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Transport:
    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        max_body: int = DEFAULT_MAX_BODY,
        write_policy: WritePolicy | None = None,
        max_requests: int | None = None,
        min_interval: float = 0.0,
        deadline: float | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
        plan: Callable[[str, str, str | None], None] | None = None,
        stand_in: str | None = None,
        max_retries: int = MAX_RETRIES,
        keep_bodies: bool = True,
        trust: Trust | None = None,
        route: Route | None = None,
        clock: Clock | None = None,
        share_answers: bool = False,
    ) -> None:
        """``deadline`` is a time.monotonic() value after which nothing more is sent.

        With ``plan``, every request is announced as ``plan(method, url, refusal)`` with the
        target's URL, and, if allowed, sent to ``stand_in`` (the embedded simulator) instead,
        so a plan can follow the answers a run depends on without touching the target.
        ``max_retries`` 0 hands a 429/503 with Retry-After to the caller as it came (a proxy
        must let the application behind it see the answer it is judged on). ``clock`` is the
        run's (the moments its requests carry, its waits): a re-judged run's replays them.
        With ``share_answers``, every GET's answer is kept for :meth:`answered_get`.
        """
        self.clock = clock or Clock()
        self.base_url = base_url.rstrip("/") + "/"
        self.api_key = api_key or None
        self.timeout = timeout
        self.max_body = max_body
        self.write_policy = write_policy or WritePolicy()
        self.max_requests = max_requests
        self.min_interval = min_interval
        self.on_exchange = on_exchange
        self.deadline = deadline
        self.plan = plan
        self.stand_in = stand_in.rstrip("/") + "/" if stand_in else None
        self.max_retries = max_retries
        self.keep_bodies = keep_bodies  # False: a load generator's thousands of answers are not evidence
        self.exchanges: list[Exchange] = []
        self.share_answers = share_answers
        self._answers: dict[SameGet, Response] = {}  # the first answer to each GET, when shared
        self.stop: Stop | None = None
        self.stopped = threading.Event()  # waits that should end when the run is cut short use it
        self._answered = 0
        self._silent_paths: dict[str, float] = {}  # path -> when its timed-out exchange started
        self._lock = threading.RLock()  # halt() is called with it held, from _check_limits
        self._last_sent = 0.0
        self._stalls: dict[str, int] = {}
        self._session = requests.Session()
        self._session.headers["User-Agent"] = "open311-conformance"
        self._session.trust_env = False  # never route through a proxy from the environment
        self.trust = trust or Trust()
        self._combined_ca: str | None = None
        self._session.verify = self._verify()
        self.route = route or Route()
        # trust_env stays off even with from_env: the environment may name a proxy, never
        # a CA bundle or a .netrc password that would travel with every request
        self._session.proxies = self._proxies()

    @property
    def proxy(self) -> str | None:
        """The proxy every request goes through (its URL, credentials and all), or None."""
        return self._session.proxies.get(urlsplit(self.base_url).scheme or "http")

    # -- public API ----------------------------------------------------------------------
    @property
    def key_fingerprint(self) -> str | None:
        return key_fingerprint(self.api_key)

    @property
    def requests_sent(self) -> int:
        return len(self.exchanges)

    def url_for(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        url = urljoin(self.base_url, path.lstrip("/")) if not path.startswith(("http://", "https://")) else path
        query = _encode(params)
        return f"{url}?{query}" if query else url

    def get(self, path: str, params: Mapping[str, Any] | None = None, *,
            label: str | None = None, headers: Mapping[str, str] | None = None) -> Response:
        return self.send("GET", self.url_for(path, params), label=label, headers=headers)

    def post(self, path: str, data: Mapping[str, Any] | list[tuple[str, Any]], *,
             label: str | None = None, headers: Mapping[str, str] | None = None) -> Response:
        body = _encode(data)
        sent = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})}
        return self.send("POST", self.url_for(path), body=body, headers=sent, label=label)

    def answered_get(self, url: str, headers: Mapping[str, str] | None = None) -> Response | None:
        """The answer an earlier GET of ``url`` with the same headers received, None when no
        such GET was answered (or answers are not shared: ``share_answers``).

        For a caller that judges properties any answer to that request must have: it cites
        the answer's exchange, which stays one exchange of the evidence. Only an answer
        received straight from ``url`` is kept: not a failure, not a redirect (its chain is
        its own exchanges), not a retried one, not a 429/503 (it says "later", not what the
        request gets)."""
        with self._lock:
            return self._answers.get(self.same_get(url, headers))

    def write_refusal(self, path: str = "") -> str | None:
        return self.write_policy.refusal(self.url_for(path))

    def send(self, method: str, url: str, *, body: str | bytes | None = None,
             headers: Mapping[str, str] | None = None, label: str | None = None, hops: int = 0) -> Response:
        method = method.upper()
        refusal = self.write_policy.refusal(url) if method not in SAFE_METHODS else None
        if self.plan is not None:
            self.plan(method, self.redact(url), refusal)
        if refusal:
            raise TransportError(Failure.WRITE_REFUSED, f"{method} refused by the write guard: {refusal}")
        with self._lock:
            self._check_limits(method, url)
            self._pace()  # before the exchange is stamped: its start is when it really left
            exchange = Exchange(
                seq=len(self.exchanges) + 1, method=method, url=self.redact(url),
                request_headers={k: self.redact(v) for k, v in (headers or {}).items()},
                request_body=self.redact(body.decode("utf-8", "replace") if isinstance(body, bytes) else body),
                started=time.time(), label=label, sent_at=self.clock.monotonic(),
            )
            self.exchanges.append(exchange)
        sent_to = self._stand_in_url(url) if self.plan is not None else url
        try:
            response = self._exchange_with_retries(method, sent_to, body, headers, exchange)
        finally:
            if self.on_exchange:
                self.on_exchange(exchange)
        if (self.share_answers and method == "GET" and body is None and hops == 0
                and response.exchange is exchange
                and response.status not in REDIRECT_STATUSES + RETRY_STATUSES):
            with self._lock:
                self._answers.setdefault(self.same_get(url, headers), response)
        return self._followed(response, method, url, headers, label, hops)

    def same_get(self, url: str, headers: Mapping[str, str] | None = None) -> SameGet:
        """What a GET of ``url`` with ``headers`` is, as sent: the headers as requests merges
        them, the session's overridden by the given (None: left out)."""
        sent = requests.structures.CaseInsensitiveDict(self._session.headers)
        sent.update(headers or {})
        return SameGet(url, frozenset((name.lower(), str(value)) for name, value in sent.items()
                                      if value is not None))

    def _followed(self, response: Response, method: str, url: str, headers: Mapping[str, str] | None,
                  label: str | None, hops: int) -> Response:
        """The answer at the end of a GET's redirects within the target's origin.

        requests follows nothing (``allow_redirects=False``): each hop is sent here again, so
        it is its own exchange, paced, counted and guarded. A write is never re-sent to a
        Location, and a Location on another origin is never asked: the 3xx is the answer,
        and the evidence keeps both URLs for the check that judges it.
        """
        # the answer's own header, not the evidence's: a Location carrying the key keeps it
        location = redirect_location(response.status, response.headers, url)
        if (location is None or method not in ("GET", "HEAD") or hops >= MAX_REDIRECTS
                or self.plan is not None or not same_origin(location, self.base_url)):
            return response
        hop = f"{label or method} (redirect {hops + 1})"
        return self.send(method, location, headers=headers, label=hop, hops=hops + 1)

    def halt(self, reason: StopReason, detail: str, at: float | None = None) -> None:
        """Send nothing more. The first reason given is the one the run reports."""
        with self._lock:
            if self.stop is None:
                self.stop = Stop(reason, detail, time.time() if at is None else at)
        self.stopped.set()

    def redact(self, value: Any) -> Any:
        """The value with every occurrence of the API key (raw or URL-encoded) replaced."""
        return redact_key(value, self.api_key)

    def close(self) -> None:
        self._session.close()
        if self._combined_ca is not None:
            with contextlib.suppress(OSError):
                os.unlink(self._combined_ca)
            self._combined_ca = None

    def _proxies(self) -> dict[str, str]:
        if self.route.proxy:
            return {"http": self.route.proxy, "https": self.route.proxy}
        if self.route.from_env:
            # NO_PROXY honoured for the target's own host, as every other client would
            return dict(requests.utils.get_environ_proxies(self.base_url))
        return {}

    def _verify(self) -> bool | str:
        """What requests verifies against: the default, a private CA added to it, or nothing."""
        if not self.trust.verify:
            # the user asked for it and the record says so: the warning per request adds nothing
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            return False
        if not self.trust.ca_bundle:
            return True  # requests' default: certifi's authorities (REQUESTS_CA_BUNDLE is ignored)
        # added to the default, not instead of it: a private CA must not make public hosts fail
        with open(certifi.where(), encoding="utf-8") as default, \
                open(self.trust.ca_bundle, encoding="utf-8") as private:
            combined = default.read() + "\n" + private.read() + "\n"
        handle, path = tempfile.mkstemp(prefix="open311-ca-", suffix=".pem")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(combined)
        self._combined_ca = path
        return path

    # -- internals -----------------------------------------------------------------------
    def _check_limits(self, method: str, url: str) -> None:
        where = f"{method} {self.redact(url)}: not sent"
        if self.stop is None:
            if self.max_requests is not None and len(self.exchanges) >= self.max_requests:
                self.halt(StopReason.BUDGET, f"the request budget of {self.max_requests} (--max-requests) is spent")
            elif self.deadline is not None and time.monotonic() >= self.deadline:
                self.halt(StopReason.DEADLINE, "the run's time bound (--max-duration) is reached")
        if self.stop is not None:
            raise TransportError(Failure.STOPPED, f"{where}: {self.stop.detail}")
        stalls = self._stalls.get(_path_of(url), 0)
        if stalls >= STALLS_BEFORE_GIVING_UP:
            raise TransportError(Failure.TIMEOUT, f"{where}, the same path stalled {stalls} times already")

    def _stand_in_url(self, url: str) -> str:
        """The stand-in's URL for a target URL; a plan never sends anything to the target."""
        target, wanted = urlsplit(self.base_url), urlsplit(url)
        if self.stand_in is None or (wanted.scheme, wanted.netloc) != (target.scheme, target.netloc):
            raise TransportError("planned", f"planned only: {self.redact(url)}")
        # the same place relative to the versioned base (discovery sits one level up)
        relative = posixpath.relpath(wanted.path, target.path.rstrip("/") or "/")
        query = f"?{wanted.query}" if wanted.query else ""
        return urljoin(self.stand_in, relative) + query

    def _exchange_with_retries(self, method: str, url: str, body: str | bytes | None,
                               headers: Mapping[str, str] | None, exchange: Exchange) -> Response:
        for attempt in range(self.max_retries + 1):
            try:
                response = self._exchange(method, url, body, headers, exchange)
            except TransportError as exc:
                self._note_failure(exc, exchange)
                raise
            with self._lock:
                self._answered += 1
                self._silent_paths.clear()
            wait = _retry_after(response) if response.status in RETRY_STATUSES else None
            if wait is None or self.max_retries == 0:  # 0: a proxy hands the answer on as it came
                return response
            if attempt == self.max_retries or wait > MAX_RETRY_AFTER or (
                    self.deadline is not None and time.monotonic() + wait >= self.deadline):
                # waiting longer is beyond the run's means: the check cannot decide, the
                # target has not failed it
                asked = f"Retry-After {wait:g} s" + (f" after {attempt} retries" if attempt else "")
                exchange.error = f"HTTP {response.status}, {asked}: more than the run may wait"
                raise TransportError(Failure.RATE_LIMITED, f"{method} {exchange.url}: the server answered "
                                     f"{response.status} with {asked}, more than the run may wait", exchange)
            # the server asked us to come back later: honour it, and keep the refusal as evidence
            exchange.error = f"HTTP {response.status}, Retry-After {wait:g} s honoured (attempt {attempt + 1})"
            if self.clock.wait(self.stopped, wait):
                raise TransportError(Failure.STOPPED, f"{method} {exchange.url}: not retried: "
                                     f"{self.stop.detail if self.stop else 'the run stopped'}", exchange)
            exchange = self._record_retry(exchange)
        return response  # pragma: no cover  (the loop always returns)

    def _note_failure(self, exc: TransportError, exchange: Exchange) -> None:
        """Count failures towards the two ways a target can be gone: unreachable, or hung.

        A target that never answered and cannot be connected to is unreachable at once.
        Otherwise it takes different paths failing in a row, nothing answered between: one
        path that breaks while others answer fails its own checks, it does not end the run.
        """
        if exc.kind not in (Failure.CONNECTION, Failure.TIMEOUT):
            return
        with self._lock:
            never_answered = self._answered == 0
            self._silent_paths.setdefault(_path_of(exchange.url), exchange.started)
            silent = dict(self._silent_paths)
        where = self.redact(self.base_url)
        if exc.kind is Failure.CONNECTION and (
                (never_answered and exc.never_connected) or len(silent) >= SILENT_PATHS_BEFORE_GIVING_UP):
            cause = exchange.error or str(exc)
            self.halt(StopReason.UNREACHABLE, f"the target is unreachable: {cause} at {where}")
        elif len(silent) >= SILENT_PATHS_BEFORE_GIVING_UP:
            began = min(silent.values())
            self.halt(StopReason.HUNG, f"the target stopped answering at {_clock(began)} "
                      f"({len(silent)} different paths timed out or failed in a row)", at=began)

    def _record_retry(self, previous: Exchange) -> Exchange:
        with self._lock:
            retry = Exchange(seq=len(self.exchanges) + 1, method=previous.method, url=previous.url,
                             request_headers=dict(previous.request_headers),
                             request_body=previous.request_body, started=time.time(),
                             label=f"{previous.label or ''} (retry)".strip(), sent_at=self.clock.monotonic())
            self.exchanges.append(retry)
            return retry

    def _pace(self) -> None:
        if self.min_interval <= 0:
            return
        wait = self._last_sent + self.min_interval - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last_sent = time.monotonic()

    def _exchange(self, method: str, url: str, body: str | bytes | None,
                  headers: Mapping[str, str] | None, exchange: Exchange) -> Response:
        start = time.monotonic()
        deadline = start + self.timeout
        try:
            raw = self._session.request(method, url, data=body, headers=dict(headers or {}),
                                        timeout=(min(self.timeout, 10.0), self.timeout),
                                        stream=True, allow_redirects=False)
        except requests.ConnectTimeout:
            return self._fail(exchange, start, Failure.CONNECTION, f"could not connect within {self.timeout:g} s",
                              never_connected=True)
        except requests.Timeout:
            return self._fail(exchange, start, Failure.TIMEOUT, f"no answer within {self.timeout:g} s")
        except requests.RequestException as exc:
            return self._fail(exchange, start, Failure.CONNECTION, connection_failure(exc),
                              never_connected=_never_connected(exc))
        with raw:
            exchange.status = raw.status_code
            exchange.reason = raw.reason or ""
            exchange.response_headers = {k: self.redact(v) for k, v in raw.headers.items()}
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in raw.iter_content(chunk_size=65536):
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > self.max_body:
                        exchange.response_body = self.redact(b"".join(chunks)[:65536])
                        exchange.truncated = True
                        return self._fail(exchange, start, Failure.TOO_LARGE,
                                          f"answer body exceeds the cap of {self.max_body} bytes")
                    if time.monotonic() > deadline:
                        exchange.response_body = self.redact(b"".join(chunks))
                        exchange.truncated = True
                        return self._fail(exchange, start, Failure.TIMEOUT,
                                          f"answer body not complete within {self.timeout:g} s")
            except requests.RequestException as exc:
                exchange.response_body = self.redact(b"".join(chunks))
                timed_out = isinstance(exc, requests.Timeout) or "timed out" in str(exc)
                kind = Failure.TIMEOUT if timed_out else Failure.CONNECTION
                return self._fail(exchange, start, kind, f"answer body broken off: {_reason(exc)}")
        content = b"".join(chunks)
        exchange.response_body = self.redact(content) if self.keep_bodies else b""
        exchange.elapsed_s = time.monotonic() - start
        exchange.sent_at = self.clock.heard(exchange.response_headers, exchange.sent_at)
        headers_map = requests.structures.CaseInsensitiveDict(raw.headers)
        return Response(raw.status_code, headers_map, content, exchange.url, exchange)

    def _fail(self, exchange: Exchange, start: float, kind: Failure, message: str, *,
              never_connected: bool = False) -> Response:
        exchange.elapsed_s = time.monotonic() - start
        exchange.error = message
        if kind is Failure.TIMEOUT:
            # a path that stalls keeps stalling: stop paying the timeout for it
            with self._lock:
                path = _path_of(exchange.url)
                self._stalls[path] = self._stalls.get(path, 0) + 1
        # from None: the requests/urllib3 chain behind it says nothing the message does not
        raise TransportError(kind, f"{exchange.method} {exchange.url}: {message}", exchange,
                             never_connected=never_connected) from None


def origin(url: str) -> tuple[str, str, int | None]:
    """Scheme, host and port: what a redirect may not leave (the default port made explicit)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower().rstrip("."), port or {"http": 80, "https": 443}.get(scheme)


def same_origin(url: str, base_url: str) -> bool:
    return origin(url) == origin(base_url)


def redirect_location(status: int | None, headers: Mapping[str, str], url: str) -> str | None:
    """The absolute URL a 3xx answer to ``url`` points to, None when it is no redirect."""
    if status not in REDIRECT_STATUSES:
        return None
    location = (header(headers, "Location") or "").strip()
    return urljoin(url, location) if location else None


def redirected_away(exchange: Exchange, base_url: str) -> str | None:
    """Where ``exchange``'s answer sent the kit outside the origin of ``base_url`` (not
    followed), None when it did not."""
    location = redirect_location(exchange.status, exchange.response_headers, exchange.url)
    return location if location is not None and not same_origin(location, base_url) else None


def _retry_after(response: Response) -> float | None:
    """Seconds the server asked for (delta-seconds or an HTTP date), None without the header."""
    value = (response.header("Retry-After") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    inner: BaseException | None = exc
    while inner is not None and inner not in seen:
        seen.append(inner)
        inner = inner.__cause__ or inner.__context__
    return seen


def _never_connected(exc: BaseException) -> bool:
    return any(isinstance(e, urllib3.exceptions.NewConnectionError | ssl.SSLError | socket.gaierror)
               for e in _causes(exc)) or isinstance(exc, requests.exceptions.SSLError)


def connection_failure(exc: BaseException) -> str:
    """Which way a connection failed, in words a user acts on: refused, no such host, TLS."""
    seen = _causes(exc)
    unverified = next((e for e in seen if isinstance(e, ssl.SSLCertVerificationError)), None)
    if unverified is not None:
        return f"TLS failure: {certificate_problem(unverified)}"
    if any(isinstance(e, ssl.SSLError) for e in seen) or isinstance(exc, requests.exceptions.SSLError):
        return f"TLS failure: {_reason(exc)}"
    if any(isinstance(e, socket.gaierror) for e in seen):
        return "no such host (the name does not resolve)"
    if any(isinstance(e, ConnectionRefusedError) for e in seen):
        return "connection refused"
    return f"connection failed: {_reason(exc)}"


# OpenSSL's X509_V_ERR_* codes of a certificate nobody vouched for
_UNKNOWN_AUTHORITY = frozenset({2, 18, 19, 20, 21})
_EXPIRED, _NOT_YET_VALID = 10, 9
_WRONG_HOST = frozenset({62, 64})  # a host name, an IP address the certificate does not name


def certificate_problem(error: ssl.SSLCertVerificationError) -> str:
    """Why a certificate was not believed, and which flag helps, in words a user acts on."""
    said = error.verify_message or str(error)
    code = error.verify_code
    if code in _UNKNOWN_AUTHORITY:
        return (f"the certificate is signed by an unknown certificate authority ({said}); "
                "if the server uses a private CA, trust it with --ca-bundle FILE")
    if code == _EXPIRED:
        return f"the certificate has expired ({said}); the server must renew it (--insecure skips the check)"
    if code == _NOT_YET_VALID:
        return f"the certificate is not valid yet ({said}); check this machine's clock"
    if code in _WRONG_HOST:
        return (f"the certificate is for another host name ({said}); use the host name the "
                "certificate names in the base URL")
    return f"{said} (--ca-bundle FILE trusts a private CA; --insecure skips verification)"


def _clock(moment: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(moment)) + " UTC"


def _path_of(url: str) -> str:
    return urlsplit(url).path


def redact_key(value: Any, key: str | None) -> Any:
    """``value`` (text or bytes) with every occurrence of ``key`` (raw or URL-encoded) replaced."""
    if value is None or not key:
        return value
    if isinstance(value, bytes):
        out = value
        for form in key_forms(key):
            out = out.replace(form.encode("utf-8"), REDACTED.encode())
        return out
    text = str(value)
    for form in key_forms(key):
        text = text.replace(form, REDACTED)
    return text


def key_forms(key: str) -> tuple[str, ...]:
    from urllib.parse import quote, quote_plus

    return tuple({key, quote(key, safe=""), quote_plus(key)})


def _encode(params: Mapping[str, Any] | list[tuple[str, Any]] | None) -> str:
    if not params:
        return ""
    items = params.items() if isinstance(params, Mapping) else params
    return urlencode([(k, v) for k, v in items if v is not None], doseq=True)


def _reason(exc: BaseException) -> str:
    # requests nests the root cause a few levels deep; the innermost says it plainly
    inner: BaseException = exc
    while inner.__context__ is not None and inner.__context__ is not inner:
        inner = inner.__context__
    return str(inner) or type(inner).__name__
