"""evidence.har: every exchange of the run as HAR 1.2, for a browser's developer tools.

Bodies are kept whole (the transport already capped them) and were redacted by the
transport; the leak scan after writing is the second line of defence.
Fields HAR has no name for go in ``_``-prefixed custom fields, as the format allows.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from typing import Any

from conformance import __version__
from conformance.headers import header
from conformance.report.evidence import body_text, media_type, query_pairs
from conformance.timestamps import iso_utc
from conformance.transport import Exchange


def har(exchanges: Iterable[Exchange], comment: str = "") -> dict[str, Any]:
    return {"log": {
        "version": "1.2",
        "creator": {"name": "open311-conformance", "version": __version__},
        "pages": [],
        "entries": [entry(e) for e in sorted(exchanges, key=lambda e: e.seq)],
        "comment": comment,
    }}


def entry(exchange: Exchange) -> dict[str, Any]:
    elapsed_ms = round(exchange.elapsed_s * 1000, 3)
    record: dict[str, Any] = {
        "startedDateTime": iso_utc(exchange.started),
        "time": elapsed_ms,
        "request": _request(exchange),
        "response": _response(exchange),
        "cache": {},
        # the transport times the whole exchange, not its phases: all of it counts as wait
        "timings": {"blocked": -1, "dns": -1, "connect": -1, "ssl": -1, "send": 0,
                    "wait": elapsed_ms, "receive": 0},
        "_seq": exchange.seq,
    }
    if exchange.label:
        record["comment"] = exchange.label
    if exchange.error:
        record["_error"] = exchange.error
    if exchange.truncated:
        record["_truncated"] = True
    return record


def _request(exchange: Exchange) -> dict[str, Any]:
    url = exchange.url
    request: dict[str, Any] = {
        "method": exchange.method, "url": url, "httpVersion": "HTTP/1.1", "cookies": [],
        "headers": _headers(exchange.request_headers),
        "queryString": [{"name": n, "value": v} for n, v in query_pairs(url)],
        "headersSize": -1, "bodySize": -1,
    }
    if exchange.request_body is not None:
        body = exchange.request_body
        mime = media_type(exchange.request_headers) or "application/octet-stream"
        post: dict[str, Any] = {"mimeType": mime, "text": body}
        if mime.startswith("application/x-www-form-urlencoded"):
            post["params"] = [{"name": n, "value": v} for n, v in query_pairs("?" + body)]
        request["postData"] = post
        request["bodySize"] = len(body.encode("utf-8"))
    else:
        request["bodySize"] = 0
    return request


def _response(exchange: Exchange) -> dict[str, Any]:
    body = exchange.response_body or b""
    text, is_text, _ = body_text(body)
    content: dict[str, Any] = {"size": len(body), "mimeType": media_type(exchange.response_headers)}
    if is_text:
        content["text"] = text
    else:
        content["text"] = base64.b64encode(body).decode("ascii")
        content["encoding"] = "base64"
    return {
        # HAR's convention for an exchange that got no answer: status 0
        "status": exchange.status or 0, "statusText": exchange.reason or "",
        "httpVersion": "HTTP/1.1" if exchange.status else "", "cookies": [],
        "headers": _headers(exchange.response_headers), "content": content,
        "redirectURL": header(exchange.response_headers, "Location") or "",
        "headersSize": -1, "bodySize": len(body) if exchange.status else -1,
    }


def _headers(headers: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in headers.items()]


