"""What the artifacts of a run share: exchange bodies as text, media types, query pairs."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

BODY_SHOWN = 64 * 1024  # bytes of a body the HTML report shows; the HAR keeps all of it

# --- bodies ---------------------------------------------------------------------------------

def body_text(body: bytes, cap: int | None = None) -> tuple[str, bool, int]:
    """(text, is_text, bytes left out). Binary bodies come back empty with is_text False."""
    shown = body if cap is None else body[:cap]
    try:
        text = shown.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a cap can cut a multi-byte character: that is still text
        if cap is not None and exc.start >= len(shown) - 3 and len(body) > cap:
            text = shown[:exc.start].decode("utf-8", "replace")
        else:
            return "", False, len(body)
    return text, True, len(body) - len(shown)


def media_type(headers: Mapping[str, str]) -> str:
    for name, value in headers.items():
        if name.lower() == "content-type":
            return value
    return ""


def query_pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)
