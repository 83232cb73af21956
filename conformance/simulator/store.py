"""The simulated city's state in SQLite: keys, service requests (history and written), tokens.

In memory by default; with a file it survives restarts, and the history is generated only when
the file is new. One connection, guarded by a lock: the HTTP server is threaded, and a few
hundred rows make a single connection plenty fast. Every use of the connection holds the lock.

Durability with a file: every change is committed before the method making it returns, so an
answer carrying a token or an id is sent only after its row is committed; a change of several
statements is one transaction (``_transaction``), so a killed process leaves all of it or none.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from conformance.simulator import data

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    api_key TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE,
    token TEXT UNIQUE,
    service_code TEXT NOT NULL,
    status TEXT NOT NULL,
    sort_ts INTEGER NOT NULL,
    requested INTEGER,
    updated INTEGER NOT NULL,
    origin TEXT NOT NULL,
    ready REAL,
    doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS requests_order ON requests (sort_ts DESC, seq DESC);
"""
_COLUMNS = "seq, id, token, service_code, status, sort_ts, requested, updated, origin, ready, doc"


@dataclass(slots=True)
class Query:
    """A request-list query, already validated; None means "not asked"."""

    ids: Sequence[str] | None = None
    service_codes: Sequence[str] | None = None
    statuses: Sequence[str] | None = None
    start: float | None = None
    end: float | None = None
    updated_after: float | None = None
    updated_before: float | None = None
    page: int = 1
    page_size: int = 50
    include_pending: bool = True  # only lists without an id filter show pending rows
    include_written: bool = True
    oldest_first: bool = False


def new_token() -> str:
    """24 hex digits like the City's tokens (a MongoDB ObjectId: time, then randomness)."""
    return f"{int(time.time()) & 0xFFFFFFFF:08x}{secrets.token_hex(8)}"


class Store:
    def __init__(self, path: str | None = None, *, seed: int = 311,
                 now: float | None = None) -> None:
        self.lock = threading.RLock()
        self.path = path
        # autocommit (isolation_level=None): a lone statement commits by itself; several that
        # belong together are wrapped in _transaction()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False,
                                   isolation_level=None)
        if path:
            # WAL: a commit is an append to the -wal file, and once the write() returns it is
            # the kernel's, so a killed process (kill -9 included) loses nothing it committed,
            # whatever `synchronous` says ("transactions are durable across application
            # crashes regardless of the synchronous setting or journal mode", SQLite docs).
            # NORMAL skips the fsync per commit that FULL makes: only a power loss or an OS
            # crash could then take the last commits (the file stays consistent), a fair trade
            # for a test environment. Measured (benchmarks/simulator_load.py --writes-only,
            # 16 threads): rollback journal 190 POST/s, WAL+FULL ~580, WAL+NORMAL ~750.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        # tokens written by this process wait on the monotonic clock; older ones (from a
        # previous run of a --db file) fall back to the wall-clock time stored with them
        self._ready_mono: dict[str, float] = {}
        self.fresh = self._meta("seed") is None
        if self.fresh:
            self._seed_city(seed, time.time() if now is None else now)
        self.seed = int(self._meta("seed") or seed)
        self.default_key = self._meta("default_key") or ""

    # -- set-up --------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE .. COMMIT (ROLLBACK on an exception); the caller holds the lock."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _seed_city(self, seed: int, now: float) -> None:
        rows, next_serial = data.generate_history(seed, now)
        # one transaction: a process killed while seeding leaves a file that seeds again
        with self.lock, self._transaction():
            self._db.executemany(
                "INSERT INTO requests (id, token, service_code, status, sort_ts, requested,"
                " updated, origin, ready, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(r.id, r.token, r.service_code, r.status, r.sort_ts, r.requested, r.updated,
                  r.origin, r.ready, json.dumps(r.doc)) for r in rows])
            key = secrets.token_hex(16)
            self._db.execute("INSERT INTO keys VALUES (?, ?, ?, ?)",
                             (key, "open311-conformance", "test@example.org", now))
            self._set_meta("default_key", key)
            self._set_meta("next_serial", str(next_serial))
            self._set_meta("now", str(int(now)))
            self._set_meta("seed", str(seed))

    def close(self) -> None:
        with self.lock:
            self._db.close()

    # -- keys ----------------------------------------------------------------------------
    def add_key(self, name: str, email: str, key: str | None = None) -> str:
        """Provision a key; ``key`` adopts a given one (a run's plan uses the user's key)."""
        key = key or secrets.token_hex(16)
        with self.lock:
            self._db.execute("INSERT OR IGNORE INTO keys VALUES (?, ?, ?, ?)",
                             (key, name, email, time.time()))
        return key

    def key_valid(self, key: str | None) -> bool:
        if not key:
            return False
        with self.lock:
            return self._db.execute("SELECT 1 FROM keys WHERE api_key = ?", (key,)).fetchone() \
                is not None

    # -- writing -------------------------------------------------------------------------
    def write(self, service_code: str, doc: dict[str, Any], delay: float) -> Row:
        """Store a written request, unprocessed until ``delay`` seconds have passed."""
        now = time.time()
        token = new_token()
        with self.lock:
            # one INSERT, committed by autocommit before this returns the token to answer with
            self._db.execute(
                "INSERT INTO requests (id, token, service_code, status, sort_ts, requested,"
                " updated, origin, ready, doc) VALUES (NULL, ?, ?, 'submitted', ?, NULL, ?,"
                " 'open311', ?, ?)",
                (token, service_code, int(now), int(now), now + delay, json.dumps(doc)))
            self._ready_mono[token] = time.monotonic() + delay
            return self.by_token(token)  # type: ignore[return-value]

    def add_unprocessed(self, rows: list[Row]) -> None:
        """Rows the City lists but never gives an id (``ready`` NULL: processing never ends),
        in their place by ``sort_ts`` like any other row, so paging and windows hold them."""
        with self.lock, self._transaction():
            self._db.executemany(
                "INSERT INTO requests (id, token, service_code, status, sort_ts, requested,"
                " updated, origin, ready, doc) VALUES (NULL, NULL, ?, ?, ?, ?, ?, ?, NULL, ?)",
                [(r.service_code, r.status, r.sort_ts, r.requested, r.updated, r.origin,
                  json.dumps(r.doc)) for r in rows])

    def remove_origin(self, origin: str) -> None:
        with self.lock:
            self._db.execute("DELETE FROM requests WHERE origin = ?", (origin,))

    def process(self, resolve: bool = True) -> None:
        """Give every written request whose delay has passed its id (the City's CRM at work)."""
        if not resolve:
            return
        with self.lock:
            pending = self._db.execute(
                "SELECT seq, token, sort_ts, ready, doc FROM requests"
                " WHERE id IS NULL AND ready IS NOT NULL").fetchall()
            mono, wall = time.monotonic(), time.time()
            due = [row for row in pending if self._due(row[1], row[3], mono, wall)]
            if not due:
                return  # most calls: no write, no transaction
            # the serial counter and the ids it hands out change together or not at all
            with self._transaction():
                serial = int(self._meta("next_serial") or data.FIRST_SERIAL)
                for seq, _token, submitted, _ready, doc_text in due:
                    processed = max(int(wall), submitted)
                    doc = json.loads(doc_text)
                    doc.setdefault("notes", []).append({
                        "datetime": processed, "summary": "Request submitted via Open311",
                        "type": "submitted"})
                    self._db.execute(
                        "UPDATE requests SET id = ?, status = 'open', requested = ?, updated = ?,"
                        " doc = ? WHERE seq = ?",
                        (data.request_id(serial, submitted), submitted, processed,
                         json.dumps(doc), seq))
                    serial += 1
                self._set_meta("next_serial", str(serial))
            for _seq, token, *_rest in due:
                self._ready_mono.pop(token, None)

    def _due(self, token: str, ready: float, mono: float, wall: float) -> bool:
        """A token of this process waits on the monotonic clock; one left by a previous
        process (a --db file) on the wall-clock ``ready`` stored with it."""
        mono_ready = self._ready_mono.get(token)
        return wall >= ready if mono_ready is None else mono >= mono_ready

    # -- reading -------------------------------------------------------------------------
    def by_token(self, token: str) -> Row | None:
        with self.lock:
            found = self._db.execute(f"SELECT {_COLUMNS} FROM requests WHERE token = ?",
                                     (token,)).fetchone()
        return _row(found) if found else None

    def by_id(self, sr_id: str) -> Row | None:
        with self.lock:
            found = self._db.execute(f"SELECT {_COLUMNS} FROM requests WHERE id = ?",
                                     (sr_id,)).fetchone()
        return _row(found) if found else None

    def pending(self) -> list[Row]:
        with self.lock:
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE id IS NULL"
                " ORDER BY sort_ts DESC, seq DESC").fetchall()
        return [_row(r) for r in found]

    def neighbour(self, sr_id: str) -> Row | None:
        """Another request with an id, the one listed right after ``sr_id`` (or before it)."""
        with self.lock:
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE id IS NOT NULL AND id != ?"
                " ORDER BY sort_ts DESC, seq DESC LIMIT 1", (sr_id,)).fetchone()
        return _row(found) if found else None

    def query(self, q: Query) -> list[Row]:
        where: list[str] = []
        args: list[Any] = []
        if q.ids is not None:
            where.append(f"id IN ({','.join('?' * len(q.ids))})")
            args.extend(q.ids)
        if q.service_codes is not None:
            where.append(f"service_code IN ({','.join('?' * len(q.service_codes))})")
            args.extend(q.service_codes)
        if q.statuses is not None:
            where.append(f"status IN ({','.join('?' * len(q.statuses))})")
            args.extend(q.statuses)
        # a row without requested_datetime is outside every requested_datetime window
        if q.start is not None:
            where.append("requested >= ?")
            args.append(q.start)
        if q.end is not None:
            where.append("requested <= ?")
            args.append(q.end)
        if q.updated_after is not None:
            where.append("updated > ?")
            args.append(q.updated_after)
        if q.updated_before is not None:
            where.append("updated < ?")
            args.append(q.updated_before)
        if not q.include_pending:
            where.append("id IS NOT NULL")
        if not q.include_written:
            where.append("origin != 'open311'")
        sql = f"SELECT {_COLUMNS} FROM requests"
        if where:
            sql += " WHERE " + " AND ".join(where)
        # written requests keep their place when processed: requested = submission time
        order = "ASC" if q.oldest_first else "DESC"
        sql += f" ORDER BY sort_ts {order}, seq {order} LIMIT ? OFFSET ?"
        args += [q.page_size, (q.page - 1) * q.page_size]
        with self.lock:
            found = self._db.execute(sql, args).fetchall()
        return [_row(r) for r in found]


@dataclass(slots=True)
class Row:
    seq: int
    id: str | None
    token: str | None
    service_code: str
    status: str
    sort_ts: int
    requested: int | None
    updated: int
    origin: str
    ready: float | None
    doc: dict[str, Any]

    @property
    def pending(self) -> bool:
        return self.id is None


def _row(values: tuple[Any, ...]) -> Row:
    *head, doc = values
    return Row(*head, doc=json.loads(doc))
