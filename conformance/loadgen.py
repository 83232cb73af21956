"""Concurrent client traffic for the simulator, and the check that nothing written got lost.

One place for the load the benchmark (``benchmarks/simulator_load.py``) measures and the
integration tests assert on: ``drive()`` runs many client threads (a kit Transport each:
nothing in the kit sends a request any other way) with a weighted mix of reads and writes,
bounded in count and in time; ``verify()`` then checks every acknowledged POST: its token
resolves, to an id no other token got, and that id is listed exactly once.
Loopback targets only: this is a load generator.
"""

from __future__ import annotations

import enum
import json
import math
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from conformance.transport import Response, Transport, TransportError, is_loopback

POTHOLE = "4fd3b656e750846c53000004"
MAX_PAGE_SIZE = 500  # the simulator's cap (queries.MAX_PAGE_SIZE)
ID_BATCH = 100  # ids per service_request_id= list: keeps the target line short
MAX_LIST_PAGES = 200  # a full-list scan stops here even if the store keeps growing


class CallKind(enum.Enum):
    SERVICES = "services.json"
    DEFINITION = "services/{code}.json"
    LIST_JSON = "requests.json"
    LIST_XML = "requests.xml"
    SINGLE = "requests/{id}.json"
    POST = "POST requests.json"
    TOKEN = "tokens/{token}.json"


class CallResult(enum.Enum):
    OK = "ok"
    STATUS = "unexpected status"  # not 2xx where 2xx was expected
    BODY = "unusable body"  # 2xx, but not what the kind promises (e.g. a POST without token)
    CONNECTION = "connection error"  # refused, reset, timed out


DEFAULT_MIX: Mapping[CallKind, int] = {
    CallKind.SERVICES: 10, CallKind.DEFINITION: 10, CallKind.LIST_JSON: 20, CallKind.LIST_XML: 10,
    CallKind.SINGLE: 15, CallKind.POST: 15, CallKind.TOKEN: 20,
}
WRITES_ONLY: Mapping[CallKind, int] = {CallKind.POST: 1}
# how a read's body must begin: a cheap sign the whole answer came, without parsing it all
_OPENS = {CallKind.SERVICES: b"[", CallKind.DEFINITION: b"{", CallKind.LIST_JSON: b"[", CallKind.LIST_XML: b"<",
          CallKind.SINGLE: b"["}


class LoadError(RuntimeError):
    """The simulator refused what the load generator needs before or after the traffic."""


class NotLoopback(ValueError):
    """The base URL names a host other than a loopback address."""


@dataclass(slots=True)
class Sample:
    kind: CallKind
    seconds: float
    outcome: CallResult
    detail: str = ""  # status code or exception class, for the error list


@dataclass(slots=True)
class Written:
    """One POST the simulator acknowledged with a token (and, later, the id it resolved to)."""

    token: str
    marker: str  # the description sent: ties the listed request to this POST
    id: str | None = None


@dataclass(slots=True)
class Load:
    base_url: str  # .../open311/v2
    api_key: str
    threads: int = 50
    requests: int = 2000  # the whole run's budget, all threads together
    seconds: float = 60.0  # the run stops at this even with budget left
    settle_seconds: float = 30.0  # after the traffic, how long tokens may take to resolve
    mix: Mapping[CallKind, int] = field(default_factory=lambda: dict(DEFAULT_MIX))
    timeout: float = 10.0  # per HTTP request
    seed: int = 13
    keep_alive: bool = True  # False: a new connection per request, as many small clients do


@dataclass(slots=True)
class CallStats:
    kind: CallKind | None  # None: all kinds together
    count: int
    errors: int
    p50: float  # seconds
    p90: float
    p99: float
    max: float


@dataclass(slots=True)
class LoadResult:
    samples: list[Sample]
    written: list[Written]
    traffic_requests: int  # requests of the budgeted phase (settling polls excluded)
    traffic_seconds: float

    @property
    def errors(self) -> list[Sample]:
        return [s for s in self.samples if s.outcome is not CallResult.OK]

    @property
    def throughput(self) -> float:
        return self.traffic_requests / self.traffic_seconds if self.traffic_seconds else 0.0

    def stats(self) -> list[CallStats]:
        by_kind: dict[CallKind, list[Sample]] = {}
        for sample in self.samples:
            by_kind.setdefault(sample.kind, []).append(sample)
        rows = [_stats(kind, by_kind[kind]) for kind in CallKind if kind in by_kind]
        if self.samples:
            rows.append(_stats(None, self.samples))
        return rows


@dataclass(slots=True)
class Integrity:
    """What ``verify`` found; every list empty means nothing acknowledged was lost."""

    acknowledged: int
    resolved: int = 0
    unresolved: list[str] = field(default_factory=list)  # tokens without an id
    duplicate_tokens: list[str] = field(default_factory=list)  # one token for two POSTs
    duplicate_ids: list[str] = field(default_factory=list)  # one id for two tokens, or listed twice
    missing: list[str] = field(default_factory=list)  # ids not listed (by filter or in the full list)
    mismatched: list[str] = field(default_factory=list)  # id moved, or its row is another POST's

    @property
    def ok(self) -> bool:
        return not (self.unresolved or self.duplicate_tokens or self.duplicate_ids
                    or self.missing or self.mismatched)

    def problems(self) -> list[str]:
        named = (("unresolved tokens", self.unresolved), ("duplicate tokens", self.duplicate_tokens),
                 ("duplicate ids", self.duplicate_ids), ("missing ids", self.missing),
                 ("mismatched", self.mismatched))
        return [f"{label}: {len(items)} (e.g. {', '.join(items[:3])})" for label, items in named
                if items]


def drive(load: Load, stop: threading.Event | None = None) -> LoadResult:
    """Run the traffic; returns when the budget or the time is spent (or ``stop`` is set),
    after each thread has polled its own tokens for up to ``settle_seconds``."""
    _require_loopback(load.base_url)
    stop = stop or threading.Event()
    with _client(load.base_url, load.timeout) as session:
        codes, ids = _catalogue(session, load)
    budget = _Budget(load.requests)
    tag = secrets.token_hex(4)  # tells this run's POSTs from earlier ones in a --db file
    workers = [_Worker(load, i, tag, budget, stop, codes, ids) for i in range(load.threads)]
    began = time.monotonic()
    deadline = began + load.seconds
    threads = [threading.Thread(target=w.run, args=(deadline,), name=f"load-{w.number}",
                                daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    failed = next((w.failure for w in workers if w.failure is not None), None)
    if failed is not None:
        raise failed
    ended = max((w.traffic_ended for w in workers), default=began)
    return LoadResult(samples=[s for w in workers for s in w.samples],
                      written=[x for w in workers for x in w.written],
                      traffic_requests=sum(w.traffic_requests for w in workers),
                      traffic_seconds=max(ended - began, 1e-9))


def verify(base_url: str, written: Sequence[Written], settle_seconds: float = 30.0,
           timeout: float = 10.0) -> Integrity:
    """Check every acknowledged POST against the simulator as it is now (no traffic running)."""
    _require_loopback(base_url)
    found = Integrity(acknowledged=len(written))
    tokens = Counter(w.token for w in written)
    found.duplicate_tokens = sorted(t for t, n in tokens.items() if n > 1)
    with _client(base_url, timeout) as session:
        deadline = time.monotonic() + settle_seconds
        ids: dict[str, Written] = {}
        for item in written:
            now_id = _resolve(session, item.token, deadline)
            if now_id is None:
                found.unresolved.append(item.token)
                continue
            found.resolved += 1
            if item.id is not None and item.id != now_id:
                found.mismatched.append(f"{item.token}: {item.id} then {now_id}")
            if now_id in ids:
                found.duplicate_ids.append(now_id)
            ids[now_id] = item
        listed = Counter[str]()
        for batch in _batches(sorted(ids), ID_BATCH):
            for row in _get_json(session, "requests.json", {"service_request_id": ",".join(batch)}):
                listed[row.get("service_request_id")] += 1
                item = ids.get(row.get("service_request_id"))
                if item is not None and row.get("description") != item.marker:
                    found.mismatched.append(f"{row.get('service_request_id')}: another request's row")
        everywhere = _full_list(session)
        for sr_id in sorted(ids):
            counts = (listed[sr_id], everywhere[sr_id])
            if 0 in counts:
                found.missing.append(sr_id)
            if max(counts) > 1:
                found.duplicate_ids.append(sr_id)
        # an id listed twice is a duplicate even if none of our POSTs got it
        found.duplicate_ids += sorted(i for i, n in everywhere.items() if n > 1 and i not in ids)
    return found


# -- the client threads ------------------------------------------------------------------------
class _Budget:
    """How many requests the threads may still send, together."""

    def __init__(self, total: int) -> None:
        self._left = total
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


class _Worker:
    def __init__(self, load: Load, number: int, tag: str, budget: _Budget, stop: threading.Event,
                 codes: Sequence[str], ids: Sequence[str]) -> None:
        self.load, self.number, self.tag = load, number, tag
        self.budget, self.stop = budget, stop
        self.codes, self.ids = codes, list(ids)
        self.rng = random.Random(load.seed * 1000 + number)
        self.kinds = list(load.mix)
        self.weights = [load.mix[k] for k in self.kinds]
        self.samples: list[Sample] = []
        self.written: list[Written] = []
        self.traffic_requests = 0
        self.traffic_ended = time.monotonic()
        self.failure: BaseException | None = None
        self.session = Transport(load.base_url, timeout=load.timeout, keep_bodies=False)
        self.headers = {} if load.keep_alive else {"Connection": "close"}

    def run(self, deadline: float) -> None:
        try:
            self._run(deadline)
        except BaseException as exc:  # a bug of the load generator: drive() raises it
            self.failure = exc
        finally:
            self.session.close()

    def _run(self, deadline: float) -> None:
        while not self.stop.is_set() and time.monotonic() < deadline and self.budget.take():
            self._one(self.rng.choices(self.kinds, self.weights)[0])
            self.traffic_requests += 1
        self.traffic_ended = time.monotonic()
        self._settle()

    def _one(self, kind: CallKind) -> None:
        if kind is CallKind.TOKEN:
            waiting = [w for w in self.written if w.id is None] or self.written
            if waiting:
                self._poll(waiting[0])
                return
            kind = CallKind.POST  # nothing written yet: write something to poll later
        if kind is CallKind.SINGLE and not self.ids:
            kind = CallKind.LIST_JSON  # no id known yet to read
        if kind is CallKind.POST:
            self._post()
            return
        with self._timed(kind) as sample:
            path, params = self._path(kind)
            answer = self.session.get(path, params, headers=self.headers)
            _expect_ok(sample, answer)
            if sample.outcome is CallResult.OK and not answer.body.lstrip().startswith(_OPENS[kind]):
                sample.outcome, sample.detail = CallResult.BODY, answer.body[:40].decode(errors="replace")

    def _path(self, kind: CallKind) -> tuple[str, dict[str, str] | None]:
        if kind is CallKind.DEFINITION:
            return f"services/{self.rng.choice(self.codes)}.json", None
        if kind is CallKind.SINGLE:
            return f"requests/{self.rng.choice(self.ids)}.json", None
        if kind is CallKind.LIST_JSON:
            return "requests.json", {"extensions": "true"}
        return kind.value, None  # services.json, requests.xml

    def _post(self) -> None:
        marker = f"load {self.tag} w{self.number} n{len(self.written)}"
        form = {"api_key": self.load.api_key, "service_code": POTHOLE,
                "address_string": "121 N LaSalle St", "attribute[WHEREIST]": "CURB",
                "description": marker}
        with self._timed(CallKind.POST) as sample:
            answer = self.session.post("requests.json", form, headers=self.headers)
            _expect_ok(sample, answer)
            if sample.outcome is not CallResult.OK:
                return
            first = _first(answer.body)
            if not first.get("token"):
                sample.outcome, sample.detail = CallResult.BODY, "no token"
                return
            self.written.append(Written(first["token"], marker, first.get("service_request_id")))

    def _poll(self, item: Written) -> None:
        with self._timed(CallKind.TOKEN) as sample:
            answer = self.session.get(f"tokens/{item.token}.json", headers=self.headers)
            _expect_ok(sample, answer)
            if sample.outcome is not CallResult.OK:
                return
            sr_id = _first(answer.body).get("service_request_id")
            if sr_id and item.id is None:
                item.id = sr_id
                self.ids.append(sr_id)  # this thread's single reads include its own writes
            elif sr_id and sr_id != item.id:
                sample.outcome, sample.detail = CallResult.BODY, f"id changed {item.id} -> {sr_id}"

    def _settle(self) -> None:
        deadline = time.monotonic() + self.load.settle_seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            waiting = [w for w in self.written if w.id is None]
            if not waiting:
                return
            for item in waiting:
                self._poll(item)
            time.sleep(0.05)

    @contextmanager
    def _timed(self, kind: CallKind) -> Iterator[Sample]:
        sample = Sample(kind, 0.0, CallResult.OK)
        began = time.perf_counter()
        try:
            yield sample
        except TransportError as exc:
            sample.outcome, sample.detail = CallResult.CONNECTION, str(exc.kind)
        except ValueError as exc:  # a 2xx body that is not the JSON it should be
            sample.outcome, sample.detail = CallResult.BODY, type(exc).__name__
        sample.seconds = time.perf_counter() - began
        self.samples.append(sample)


# -- helpers -------------------------------------------------------------------------------------
def _require_loopback(base_url: str) -> None:
    host = urlsplit(base_url).hostname or ""
    if not is_loopback(host):
        raise NotLoopback(f"load goes to loopback addresses only, not {host or base_url}")


@contextmanager
def _client(base_url: str, timeout: float) -> Iterator[Transport]:
    transport = Transport(base_url, timeout=timeout, keep_bodies=False)
    try:
        yield transport
    finally:
        transport.close()


def _catalogue(session: Transport, load: Load) -> tuple[list[str], list[str]]:
    """Service codes and a page of ids to read, fetched once before the clock starts, and only
    if the mix reads them (a fault may hold request lists for minutes)."""
    codes: list[str] = []
    ids: list[str] = []
    if load.mix.get(CallKind.DEFINITION):
        codes = [s["service_code"] for s in _get_json(session, "services.json", {})]
    if load.mix.get(CallKind.SINGLE):
        ids = [row["service_request_id"] for row in _get_json(session, "requests.json", {})
               if "service_request_id" in row]
    return codes, ids


def _expect_ok(sample: Sample, answer: Response) -> None:
    if not 200 <= answer.status < 300:
        sample.outcome, sample.detail = CallResult.STATUS, str(answer.status)


def _first(body: bytes) -> dict[str, str]:
    """The one object of a POST or token answer (a one-element JSON list)."""
    decoded = json.loads(body)
    if not isinstance(decoded, list) or not decoded or not isinstance(decoded[0], dict):
        raise ValueError(f"not a one-object list: {body[:60]!r}")
    return decoded[0]


def _resolve(session: Transport, token: str, deadline: float) -> str | None:
    while True:
        answer = session.get(f"tokens/{token}.json")
        if answer.status == 200:
            sr_id = _first(answer.body).get("service_request_id")
            if sr_id:
                return sr_id
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


def _get_json(session: Transport, path: str, params: Mapping[str, str]) -> list[dict[str, str]]:
    answer = session.get(path, params)
    if not 200 <= answer.status < 300:
        raise LoadError(f"GET {path} answered {answer.status}")
    return json.loads(answer.body)


def _full_list(session: Transport) -> Counter[str]:
    """How often each id appears when the whole store is paged through."""
    seen = Counter[str]()
    for page in range(1, MAX_LIST_PAGES + 1):
        rows = _get_json(session, "requests.json", {"page_size": str(MAX_PAGE_SIZE), "page": str(page)})
        seen.update(row["service_request_id"] for row in rows if "service_request_id" in row)
        if len(rows) < MAX_PAGE_SIZE:
            break
    return seen


def _batches(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``share`` of them at or below."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(len(sorted_values) * share))
    return sorted_values[rank - 1]


def _stats(kind: CallKind | None, samples: Sequence[Sample]) -> CallStats:
    seconds = sorted(s.seconds for s in samples)
    return CallStats(kind=kind, count=len(samples),
                     errors=sum(s.outcome is not CallResult.OK for s in samples),
                     p50=_percentile(seconds, 0.50), p90=_percentile(seconds, 0.90),
                     p99=_percentile(seconds, 0.99), max=seconds[-1] if seconds else 0.0)
