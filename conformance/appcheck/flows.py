"""The City's write flow, followed through a recording: POST, token polls, id, read-back.

The judges ask the same questions of a recording (which POSTs got a token, when did the id
arrive, was it read back, in which format); this module answers them once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from conformance.appcheck.recording import BASE, Kind, Seen

# what an application sends when it takes a row's missing id for an id
MISSING_IDS = frozenset({"", "none", "null", "undefined", "nil", "nan"})
DATE_PARAMS = ("start_date", "end_date", "updated_after", "updated_before")
_ZONE = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")
# a whole value that is a date with a time of day, with or without a zone (never text that starts with one)
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:[zZ]|[+-]\d{2}:?\d{2})?")
FORMATS = ("json", "xml")
_PLURAL = {"service": "services", "request": "requests", "token": "tokens"}
_OPERATIONS = "services, services/{code}, requests, requests/{id} and tokens/{token}, each ending .json or .xml"
# how far from the run a date that means "now" may be (the app computes it before sending)
NEAR_RUN_S = 300.0
MIN_ZONE_OFFSET_S = 1800  # smaller offsets are not told apart from a clock's drift


@dataclass(slots=True)
class TokenFlow:
    """One accepted POST and what followed it."""

    post: Seen
    token: str
    polls: list[Seen] = field(default_factory=list)
    id_answer: Seen | None = None  # the first poll answered with the id
    service_request_id: str | None = None
    readbacks: list[Seen] = field(default_factory=list)

    @property
    def fmt(self) -> str | None:
        return self.post.fmt

    def complete_in(self, fmt: str) -> bool:
        """Written, polled to the id and read back, all of it in ``fmt``."""
        return (self.post.fmt == fmt and self.id_answer is not None and self.id_answer.fmt == fmt
                and all(p.fmt == fmt for p in self.polls_until_id)
                and any(r.fmt == fmt for r in self.readbacks))

    @property
    def polls_until_id(self) -> list[Seen]:
        if self.id_answer is None:
            return list(self.polls)
        return [p for p in self.polls if p.seq <= self.id_answer.seq]

    @property
    def seen(self) -> list[Seen]:
        """The flow's exchanges: its POST, the polls until the id, the read-backs."""
        return [self.post, *self.polls_until_id, *self.readbacks]

    @property
    def polls_after_id(self) -> list[Seen]:
        if self.id_answer is None:
            return []
        delivered = self.id_answer.at + self.id_answer.elapsed_s
        return [p for p in self.polls if p.seq > self.id_answer.seq and p.at >= delivered]


def error_text(seen: Seen) -> str:
    """The server's reason for a refusal (the first description of its error list)."""
    if seen.accepted:
        return ""
    return next((str(r["description"]) for r in rows(seen) if r.get("description")), "")


def same_report(one: Seen, other: Seen) -> bool:
    """Whether two POSTs carry the same report (every field but the key, in any order)."""
    def fields(post: Seen) -> list[tuple[str, str]]:
        return sorted((k, v.strip()) for k, v in post.form_pairs if k != "api_key")

    return fields(one) == fields(other)


def answered_handle(post: Seen) -> bool:
    """Whether a POST's answer holds a token or a service_request_id: what shows a write
    happened (a bare 2xx does not)."""
    return post.accepted and any(r.get("token") or r.get("service_request_id") for r in rows(post))


def rows(seen: Seen) -> list[dict[str, Any]]:
    data = seen.data()
    return [r for r in data if isinstance(r, dict)] if isinstance(data, list) else []


def token_flows(recording: list[Seen]) -> list[TokenFlow]:
    flows: list[TokenFlow] = []
    for seen in recording:
        if seen.kind is Kind.POST and seen.accepted:
            token = next((str(r["token"]) for r in rows(seen) if r.get("token")), None)
            if token:
                flows.append(TokenFlow(seen, token))
    by_token = {f.token: f for f in flows}
    for seen in recording:
        flow = by_token.get(seen.route.arg or "") if seen.kind is Kind.TOKEN else None
        if flow is None or seen.seq < flow.post.seq:
            continue
        flow.polls.append(seen)
        if flow.id_answer is None and seen.accepted:
            found = next((str(r["service_request_id"]) for r in rows(seen)
                          if r.get("service_request_id")), None)
            if found:
                flow.id_answer, flow.service_request_id = seen, found
    for flow in flows:
        if flow.service_request_id is not None:
            flow.readbacks = [s for s in recording if s.seq > flow.id_answer.seq  # type: ignore[union-attr]
                              and flow.service_request_id in asked_ids(s)]
    return flows


def asked_ids(seen: Seen) -> list[str]:
    """The service_request_ids a GET asks for (by path or by the id filter)."""
    if seen.method != "GET":
        return []
    if seen.kind is Kind.REQUEST:
        return [seen.route.arg or ""]
    if seen.kind is Kind.LIST and "service_request_id" in seen.params:
        return [part.strip() for part in seen.params["service_request_id"].split(",")]
    return []


def missing_id_asked(seen: Seen) -> str | None:
    """How ``seen`` asks for a row by an id it does not have, or None."""
    if seen.method != "GET":
        return None
    if seen.kind is Kind.TOKEN and (seen.route.arg or "").strip().lower() in MISSING_IDS:
        return f"tokens/{seen.route.arg}"
    if seen.kind is Kind.REQUEST and (seen.route.arg or "").strip().lower() in MISSING_IDS:
        return f"requests/{seen.route.arg}"
    if seen.kind is Kind.LIST and "service_request_id" in seen.params:
        bad = [i for i in asked_ids(seen) if i.lower() in MISSING_IDS]
        if bad:
            return f"service_request_id={seen.params['service_request_id']}"
    return None


def rows_without_id(seen: Seen) -> int:
    if seen.kind is not Kind.LIST or not seen.accepted:
        return 0
    return sum(1 for r in rows(seen) if not r.get("service_request_id"))


def has_location(form: Mapping[str, str]) -> bool:
    if form.get("lat", "").strip() and form.get("long", "").strip():
        return True
    return bool(form.get("address_string", "").strip() or form.get("address_id", "").strip())


def missing_attributes(form_pairs: list[tuple[str, str]], definition: Mapping[str, Any] | None) -> list[str]:
    given = {name for name, value in form_pairs if value.strip()}
    missing = []
    for attribute in (definition or {}).get("attributes") or ():
        if not isinstance(attribute, Mapping) or not attribute.get("required"):
            continue
        if attribute.get("variable", True) is False:
            continue
        code = str(attribute.get("code"))
        if f"attribute[{code}]" not in given and f"attribute[{code}][]" not in given:
            missing.append(code)
    return missing


def datetime_attributes(definition: Mapping[str, Any] | None) -> list[str]:
    return [str(a.get("code")) for a in (definition or {}).get("attributes") or ()
            if isinstance(a, Mapping) and a.get("datatype") == "datetime"]


@dataclass(slots=True, frozen=True)
class DateSent:
    """One date an application sent: where, its text, and whether the API documents that
    field as a date (a date parameter, a datetime attribute of the posted service)."""

    name: str
    value: str
    documented: bool


def dates_sent(seen: Seen, definitions: Mapping[str, Mapping[str, Any]]) -> list[DateSent]:
    """Every date ``seen`` carries: the date parameters wherever they are sent, the posted
    service's datetime attributes, and any other field whose whole value reads as a date-time
    (an application may send one where the kit does not expect it: it is judged all the same,
    though such a field may hold text that only looks like a date)."""
    pairs = seen.param_pairs + (seen.form_pairs if seen.method == "POST" else [])
    datetime_fields = {f"attribute[{code}]" for code in datetime_attributes(
        definitions.get(seen.form.get("service_code", "")))} if seen.kind is Kind.POST else set()
    dates = []
    for name, value in pairs:
        documented = name in DATE_PARAMS or name in datetime_fields
        if value.strip() and (documented or _DATETIME.fullmatch(value.strip())):
            dates.append(DateSent(name, value, documented))
    return dates


def has_zone(text: str) -> bool:
    return bool(_ZONE.search(text.strip()))


def zone_mistake(name: str, value: str, sent_at: float, run_started: float, zone: str | None) -> str | None:
    """How ``value`` is a moment of the run written in the wrong zone, or None.

    Local wall-clock time labelled Z (or +00:00) reads ``offset`` away from the run; UTC wall-clock
    time labelled with the local offset reads ``-offset`` away. A date near the run as read is
    fine, and so is one that is no moment of the run either way (a window 30 days back).
    """
    if not zone:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    read = moment.timestamp()
    offset = moment.astimezone(ZoneInfo(zone)).utcoffset()
    off = offset.total_seconds() if offset is not None else 0.0
    labelled = moment.utcoffset().total_seconds()  # type: ignore[union-attr]
    if abs(off) < MIN_ZONE_OFFSET_S or _near(read, run_started, sent_at):
        return None
    utc = dt.datetime.fromtimestamp(read, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    hours = f"{abs(off) / 3600:g} h"
    if labelled == 0 and _near(read - off, run_started, sent_at):
        meant = dt.datetime.fromtimestamp(read - off, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f"{name}={value} reads as {utc}, {hours} from the run; as {zone} wall-clock time labelled Z "
                f"it is {meant}, a moment of the run")
    if labelled == off and _near(read + off, run_started, sent_at):
        meant = dt.datetime.fromtimestamp(read + off, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return (f"{name}={value} reads as {utc}, {hours} from the run; as UTC wall-clock time labelled with "
                f"{zone}'s offset it is {meant}, a moment of the run")
    return None


def _near(moment: float, run_started: float, sent_at: float) -> bool:
    return run_started - NEAR_RUN_S <= moment <= sent_at + NEAR_RUN_S


def undocumented(seen: Seen) -> str | None:
    """Why ``seen`` is to no documented operation (naming the one it resembles), or None."""
    if seen.method in ("OPTIONS", "HEAD"):  # a browser's preflight, a cache's check: no operation asked
        return None
    path = urlsplit(seen.target).path
    kind = seen.kind
    if kind is Kind.KEYS:
        return None
    if kind is Kind.DISCOVERY:
        documented = path.rsplit(".", 1)[-1].lower() in FORMATS and "/discovery." in path
        return None if documented else f"{path}: the documented one is {BASE.rsplit('/', 1)[0]}/discovery.json"
    if seen.method == "POST" and kind is not Kind.POST:
        return f"POST {path}: the one write is POST requests.{seen.fmt or 'json'}"
    bare_tokens = kind is Kind.TOKEN and not seen.route.arg and "/tokens/" not in path
    if kind is not Kind.OTHER and seen.fmt in FORMATS and not bare_tokens:
        return None
    rest = unquote(path)[len(BASE) + 1:] if unquote(path).startswith(BASE + "/") else None
    if rest is None:
        return f"{path} is outside {BASE}/ (the operations: {_OPERATIONS})"
    stem, dot, fmt = rest.rpartition(".")
    if not dot or "/" in fmt:
        stem, fmt = rest, ""
    parts = stem.split("/")
    wanted = fmt.lower() if fmt.lower() in FORMATS else "json"
    head = _PLURAL.get(parts[0], parts[0])
    if head in ("services", "requests", "tokens") and len(parts) <= 2 and (len(parts) == 2 or head != "tokens"):
        documented = "/".join([head, *parts[1:]]) + f".{wanted}"
        problem = "no format" if not fmt else f"format {fmt!r}" if fmt.lower() not in FORMATS else "a singular"
        return f"{path}: {problem}; the documented operation is {BASE}/{documented}"
    return f"{path} is no operation of the API (the operations: {_OPERATIONS})"
