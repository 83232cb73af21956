"""The City's data: services, service definitions, dates, and a seeded request history.

Services are the City's real test-environment list (``data/services.json``, copied from the
reference); definitions use the real attribute codes where they were captured and plausible
Chicago-style codes elsewhere (``data/definitions.json``). The history is generated from a
seed so two runs with the same seed see the same requests (dates move with "now").
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).with_name("data")
JURISDICTION = "cityofchicago.org"
TEST_SERVICE = "5215128e0163869e00d1587d"  # "does not post to CRM": no history of its own
HISTORY_DAYS = 120
HISTORY_SIZE = 320
FIRST_SERIAL = 1_234_000


def _chicago() -> tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/Chicago")
    except Exception:  # no tzdata on this machine: standard time all year is still W3C
        return timezone(timedelta(hours=-6), "CST")


CHICAGO = _chicago()

_W3C = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$")


def w3c(epoch: float, with_zone: bool = True) -> str:
    """Epoch seconds as a W3C date-time in Chicago's local time, e.g. 2014-07-12T10:58:43-05:00."""
    text = datetime.fromtimestamp(int(epoch), CHICAGO).isoformat()
    return text[:19] if not with_zone else text


def parse_w3c(text: str) -> float:
    """A W3C date-time with a zone as epoch seconds; ValueError for anything else.

    A blank where the offset's '+' belongs is taken as '+': it is what an unencoded '+' in a
    query string turns into, and refusing it would punish a client for an encoding slip.
    """
    text = text.strip()
    if len(text) > 6 and text[-6] == " " and re.fullmatch(r"\d{2}:\d{2}", text[-5:]):
        text = text[:-6] + "+" + text[-5:]
    match = _W3C.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a W3C date-time with a zone "
                         "(e.g. 2010-01-01T00:00:00Z or 2010-01-01T00:00:00-06:00)")
    fraction = match.group(7) or ""
    plain = text.replace(fraction, "", 1) if fraction else text
    if plain.endswith("Z"):
        plain = plain[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(plain)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date-time: {exc}") from None
    return moment.timestamp() + (float(fraction) if fraction else 0.0)


@cache
def services() -> tuple[dict[str, Any], ...]:
    with (DATA_DIR / "services.json").open(encoding="utf-8") as handle:
        return tuple(json.load(handle))


@cache
def definitions() -> dict[str, dict[str, Any]]:
    with (DATA_DIR / "definitions.json").open(encoding="utf-8") as handle:
        return json.load(handle)


def service_names() -> dict[str, str]:
    return {s["service_code"]: s["service_name"] for s in services()}


AGENCIES = {
    "5215128e0163869e00d1587d": "Test",
    "4ffa4c69601827691b000018": "Streets and Sanitation",
    "4ffa9cad6018277d4000007b": "Division of Electrical Operations CDOT",
    "4fd3bd72e750846c530000cd": "DOB - Conservation",
    "4fd3b167e750846744000005": "Graffiti Blasters - S/S",
    "4ffa971e6018277d4000000b": "CDOT - Department of Transportation",
    "4fd3b656e750846c53000004": "Division of In-House Construction CDOT",
    "4fd6e4ece750840569000019": "Food Protection - Health",
    "4fd3b9bce750846c5300004a": "Bureau of Rodent Control - S/S",
    "4fd3b750e750846c5300001d": "Bureau of Sanitation - S/S",
    "4ffa995a6018277d4000003c": "CDOT - Public Way Inspection",
    "4ffa9f2d6018277d400000c8": "Division of Electrical Operations CDOT",
    "4ffa9db16018277d400000a2": "Division of Electrical Operations CDOT",
    "4fd3bbf8e750846c53000069": "Bureau of Forestry - S/S",
}

# how often each service shows up in the history (potholes and lights dominate, as in life)
_WEIGHTS = {
    "4fd3b656e750846c53000004": 9, "4ffa9f2d6018277d400000c8": 7, "4fd3b167e750846744000005": 6,
    "4fd3b9bce750846c5300004a": 5, "4ffa4c69601827691b000018": 5, "4fd3b750e750846c5300001d": 4,
    "4ffa9cad6018277d4000007b": 3, "4fd3bbf8e750846c53000069": 3, "4fd3bd72e750846c530000cd": 3,
    "4ffa9db16018277d400000a2": 2, "4ffa995a6018277d4000003c": 2, "4ffa971e6018277d4000000b": 2,
    "4fd6e4ece750840569000019": 2,
}
_STREETS = (
    ("N", "LASALLE ST"), ("W", "17TH ST"), ("S", "NORMAL AVE"), ("W", "77TH ST"),
    ("N", "MILWAUKEE AVE"), ("W", "FULLERTON AVE"), ("S", "HALSTED ST"), ("N", "CLARK ST"),
    ("W", "CHICAGO AVE"), ("S", "ASHLAND AVE"), ("N", "WESTERN AVE"), ("W", "CERMAK RD"),
    ("W", "81ST ST"), ("N", "BROADWAY"), ("S", "COTTAGE GROVE AVE"), ("W", "DIVISION ST"),
    ("N", "PULASKI RD"), ("W", "LAWRENCE AVE"), ("S", "KEDZIE AVE"), ("W", "MADISON ST"),
)
_CHANNELS = ("phone", "phone", "web", "web", "open311", "mobile")
_DESCRIPTIONS = (
    "Car has not moved in weeks", "Deep pothole, cars swerving", "Light out for three nights",
    "Graffiti on garage door facing the alley", "Rats seen near the garbage carts",
    "Branches stacked at the curb", "Dumpster overflowing since Monday",
    "Signal dark at the intersection", "Cave-in next to the manhole",
)
_STATUS_NOTES_CLOSED = ("Completed", "Duplicate", "No Violation Found", "Work Completed")


def zip_for(lat: float, long: float) -> str:
    return f"606{int(abs(lat * 1000 + long * 100)) % 60 + 1:02d}"


def ward_for(lat: float, long: float) -> str:
    return str(int(abs(lat * 10_000 + long * 1_000)) % 50 + 1)


def police_for(lat: float, long: float) -> str:
    return str(int(abs(lat * 1_000 + long * 10_000)) % 25 + 1)


def request_id(serial: int, epoch: float) -> str:
    """Chicago's pre-2019 id shape: two-digit year, dash, eight digits (14-01100669)."""
    return f"{datetime.fromtimestamp(int(epoch), CHICAGO).year % 100:02d}-{serial:08d}"


@dataclass(slots=True)
class HistoryRequest:
    """A generated service request; dates are epoch seconds, rendering happens in app.py."""

    service_code: str
    status: str  # open | closed | submitted (not yet processed)
    sort_ts: int
    updated: int
    doc: dict[str, Any]
    id: str | None = None
    token: str | None = None
    requested: int | None = None
    origin: str = "history"  # history | open311
    ready: float | None = None  # wall-clock epoch when a written request gets its id


def _answer(attribute: dict[str, Any], rng: random.Random) -> Any:
    datatype = attribute["datatype"]
    if datatype == "singlevaluelist":
        return rng.choice(attribute["values"])["key"]
    if datatype == "multivaluelist":
        keys = [v["key"] for v in attribute["values"]]
        return ",".join(rng.sample(keys, rng.randint(1, 2)))
    if datatype == "number":
        return rng.randint(1, 60)
    if attribute["code"] == "FQSKA4":
        return f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}" \
               f"{rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')} {rng.randint(1000, 9999)}"
    if datatype == "datetime":
        return None
    if attribute["code"] == "A511OPTN":
        return None
    return rng.choice(("Front porch stairs", "Rear unit", "Joe's Diner", "No heat in the unit"))


def generate_history(seed: int, now: float, size: int = HISTORY_SIZE) -> tuple[list[HistoryRequest], int]:
    """``size`` requests over the last HISTORY_DAYS days, oldest first; and the next serial."""
    rng = random.Random(seed)
    codes = list(_WEIGHTS)
    weights = [_WEIGHTS[c] for c in codes]
    names = service_names()
    defs = definitions()
    moments = sorted(int(now - rng.uniform(600, HISTORY_DAYS * 86400)) for _ in range(size))
    rows: list[HistoryRequest] = []
    serial = FIRST_SERIAL
    for requested in moments:
        serial += rng.randint(40, 400)  # the City's counter also counts other channels
        code = rng.choices(codes, weights)[0]
        direction, street = rng.choice(_STREETS)
        lat = 41.65 + rng.random() * 0.36
        long = -87.94 + rng.random() * 0.39
        zip_code = zip_for(lat, long)
        sr_id = request_id(serial, requested)
        age_days = (now - requested) / 86400
        closed = rng.random() < min(0.92, 0.15 + age_days / 40)
        channel = rng.choice(_CHANNELS)
        notes: list[dict[str, Any]] = [
            {"datetime": requested, "summary": "Request opened", "type": "opened"}]
        if channel == "open311":
            notes.append({"datetime": requested + rng.randint(30, 600),
                          "summary": "Request submitted via Open311", "type": "submitted"})
        updated = notes[-1]["datetime"]
        extended: dict[str, Any] = {"channel": channel, "ward": ward_for(lat, long),
                                    "police": police_for(lat, long), "zip": zip_code}
        doc: dict[str, Any] = {
            "service_name": names[code],
            "agency_responsible": AGENCIES[code],
            "address": f"{rng.randint(1, 9999)} {direction} {street}, CHICAGO, IL, {zip_code}",
            "lat": lat,
            "long": long,
        }
        if rng.random() < 0.4:
            doc["description"] = rng.choice(_DESCRIPTIONS)
        attributes = {}
        for attribute in defs[code]["attributes"]:
            if attribute["required"] or rng.random() < 0.6:
                value = _answer(attribute, rng)
                if value is not None:
                    attributes[attribute["code"]] = value
        doc["attributes"] = attributes
        if rng.random() < 0.3:
            moment = min(int(now) - 60, updated + rng.randint(3600, 5 * 86400))
            if moment > updated:
                notes.append({"datetime": moment, "summary": "Field inspection completed",
                              "type": "activity"})
                updated = moment
        if rng.random() < 0.12:
            moment = min(int(now) - 60, updated + rng.randint(3600, 3 * 86400))
            serial += 1
            child = request_id(serial, moment)
            if moment > updated:
                notes.append({
                    "datetime": moment,
                    "summary": "Follow-on Inspect Public Way Construction Created",
                    "description": f"Inspect Public Way Survey #{child} created for Transportation",
                    "type": "follow_on_created",
                    "extended_attributes": {"service_request_id": child,
                                            "service_name": "Inspect Public Way Survey",
                                            "agency_responsible": "Transportation"},
                })
                updated = moment
        status = "open"
        if closed:
            status = "closed"
            moment = min(int(now) - 30, updated + rng.randint(1800, 20 * 86400))
            moment = max(moment, updated + 1)
            notes.append({"datetime": moment, "summary": "Request closed", "type": "closed"})
            updated = moment
            note = rng.choice(_STATUS_NOTES_CLOSED)
            if note == "Duplicate" and rows:
                extended["duplicate"] = True
                extended["parent_service_request_id"] = rng.choice(rows[-20:]).id
            if note != "Duplicate" or rows:
                doc["status_notes"] = note
        elif rng.random() < 0.1:
            doc["status_notes"] = "Locked"
        doc["extended_attributes"] = extended
        doc["notes"] = notes
        rows.append(HistoryRequest(service_code=code, status=status, sort_ts=requested, updated=updated,
                        doc=doc, id=sr_id, requested=requested))
    return rows, serial + rng.randint(40, 400)
