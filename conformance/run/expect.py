"""Judgements the scenarios share: status, content type, schema, error lists.

Each helper raises :class:`~conformance.outcomes.CheckFailed` with a message a developer
can act on (what was asked, what came back), or :class:`Inconclusive` when the answer
cannot be judged on this point because another requirement already broke.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

from conformance import contract, wire
from conformance.client import Answer
from conformance.outcomes import CheckFailed, Inconclusive
from conformance.profiles import Profile

W3C_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
DATETIME_FIELDS = ("requested_datetime", "updated_datetime", "expected_datetime")
MAX_LISTED = 5


def status(answer: Answer, *expected: int) -> None:
    if answer.status not in expected:
        wanted = " or ".join(str(e) for e in expected)
        raise CheckFailed(f"expected HTTP {wanted}, got {answer.status}: {answer.describe()}"
                          + _body_hint(answer))


def ok(answer: Answer) -> None:
    if not answer.ok:
        raise Inconclusive(f"the answer this check needs failed: {answer.describe()}" + _body_hint(answer))


def decoded(answer: Answer) -> Any:
    if answer.decode_error:
        if answer.unsafe:
            raise Inconclusive(f"{answer.describe()}: {answer.decode_error} (judged by GR2-FMT-XML-SAFE)")
        raise CheckFailed(f"{answer.describe()}: {answer.decode_error}")
    return answer.data


def valid(answer: Answer, resource: str, profile: Profile, data: Any = None) -> None:
    data = decoded(answer) if data is None else data
    violations = contract.validate(data, resource, profile)
    if violations:
        raise CheckFailed(f"{answer.describe()}: {len(violations)} schema violation(s) ({resource}, "
                          f"profile {profile.name}):\n" + listing(str(v) for v in violations))


def content_type(answer: Answer) -> None:
    if not wire.content_type_matches(answer.content_type, answer.fmt):
        wanted = " or ".join(wire.JSON_CONTENT_TYPES if answer.fmt == "json" else wire.XML_CONTENT_TYPES)
        raise CheckFailed(f"{answer.describe()}: a .{answer.fmt} answer must be served as {wanted}")


def error_entries(answer: Answer) -> Any:
    """The errors of a 4xx answer, decoded in the requested format or, failing that, the other."""
    if answer.status < 400 or answer.status >= 500:
        raise Inconclusive(f"not an error answer: {answer.describe()} (judged by the status check)")
    if answer.decode_error:
        other = "xml" if answer.fmt == "json" else "json"
        try:
            return wire.decode(answer.body, other, "errors").data
        except wire.WireError:
            raise CheckFailed(f"{answer.describe()}: the error body is neither an error list in "
                              f"{answer.fmt} nor in {other}" + _body_hint(answer)) from None
    return answer.data


def error_list(answer: Answer, profile: Profile) -> None:
    data = error_entries(answer)
    violations = contract.validate(data, "errors", profile)
    if violations:
        raise CheckFailed(f"{answer.describe()}: the error body is not a list of code/description:\n"
                          + listing(str(v) for v in violations))


def error_format(answer: Answer) -> None:
    if answer.status < 400 or answer.status >= 500:
        raise Inconclusive(f"not an error answer: {answer.describe()} (judged by the status check)")
    content_type(answer)
    if answer.decode_error:
        raise CheckFailed(f"{answer.describe()}: error not in the requested format: {answer.decode_error}")


def datetime_problems(rows: Iterable[dict[str, Any]]) -> list[str]:
    problems = []
    for row in rows:
        rid = row.get("service_request_id", "?")
        for name in DATETIME_FIELDS:
            value = row.get(name)
            if value is not None and not (isinstance(value, str) and W3C_DATETIME.match(value)):
                problems.append(f"request {rid}: {name} {value!r} is not a W3C date-time with a zone")
        for note in row.get("notes") or []:
            value = note.get("datetime") if isinstance(note, dict) else None
            if value is not None and not (isinstance(value, str) and W3C_DATETIME.match(value)):
                problems.append(f"request {rid}: note datetime {value!r} is not a W3C date-time with a zone")
    return problems


def address_problem(address_string: str | None, row: dict[str, Any]) -> str | None:
    """Why a request written with ``address_string`` does not read back with that address."""
    if address_string and str(row.get("address") or "").strip().lower() != address_string.strip().lower():
        return f"address: wrote {address_string!r}, read {row.get('address')!r}"
    return None


def error_text(answer: Answer) -> str:
    """The descriptions of an error answer in one string ('' when there is no error list)."""
    try:
        errors = error_entries(answer)
    except (CheckFailed, Inconclusive):
        return ""
    if not isinstance(errors, list):
        return ""
    return " ".join(str(e.get("description", "")) for e in errors if isinstance(e, dict))


def refusal_text(answer: Answer, limit: int = 300) -> str:
    """What a refusal says, from whatever body it came in: an error list in either format, a
    bare JSON object, HTML, other XML or plain text ('' when the body says nothing).

    Read from the evidence copy of the body, where the transport redacted the key."""
    listed = error_text(answer)
    if listed.strip():
        return listed
    body = answer.exchange.response_body
    try:
        text = " ".join(_strings(wire.decode_json(body)))
    except wire.WireError:
        # HTML or XML: the words without the markup (never parsed: no entity is expanded)
        text = body.decode("utf-8", "replace")
        if "<" in text:
            text = html.unescape(_TAGS.sub(" ", _HIDDEN.sub(" ", text)))
    return clip(" ".join(text.split()), limit)


_HIDDEN = re.compile(r"<(script|style)\b.*?</\1\s*>", re.I | re.S)
_TAGS = re.compile(r"<[^>]*>")


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def clip(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def listing(lines: Iterable[str], limit: int = MAX_LISTED) -> str:
    lines = list(lines)
    shown = [f"  - {line}" for line in lines[:limit]]
    if len(lines) > limit:
        shown.append(f"  ... and {len(lines) - limit} more")
    return "\n".join(shown)


def _body_hint(answer: Answer) -> str:
    # the evidence copy of the body: the transport redacted the key there
    text = answer.exchange.response_body[:200].decode("utf-8", "replace").strip()
    return f"\n  body: {text}" if text else ""
