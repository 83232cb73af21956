"""Spoiled answers: what some faults send in place of the answer the City would give.

Each fault still decides in ``app.py`` whether to spoil an answer; only the making of the
spoiled body lives here, so the handlers stay readable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from conformance.simulator import data
from conformance.simulator.messages import Reply

STALL_SECONDS = 120.0
OVERSIZED_BYTES = 12 * 1024 * 1024


def services_csv() -> bytes:
    lines = ["service_code,service_name,type"]
    lines += [f"{s['service_code']},\"{s['service_name']}\",{s['type']}" for s in data.services()]
    return ("\n".join(lines) + "\n").encode()


def billion_laughs(root: str) -> bytes:
    entities = ['<!ENTITY lol "lol">']
    entities += [f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                 for i in range(1, 10)]
    return f"<!DOCTYPE {root} [\n  {chr(10).join(entities)}\n]>\n".encode()


def oversized(answer: Reply) -> Reply:
    body = answer.body

    def stream() -> Iterator[bytes]:
        yield body
        left = OVERSIZED_BYTES - len(body)
        chunk = b" " * 65536
        while left > 0:  # whitespace after the JSON: still valid, just far too big
            yield chunk[:left]
            left -= len(chunk)

    return Reply(answer.status, answer.headers, stream=stream,
                  length=max(OVERSIZED_BYTES, len(body)))


def stalled(answer: Reply, stopping: threading.Event) -> Reply:
    body = answer.body

    def stream() -> Iterator[bytes]:
        stopping.wait(STALL_SECONDS)  # returns at once when the server stops
        yield body

    return Reply(answer.status, answer.headers, stream=stream, length=len(body))
