"""A POST the City must refuse: unknown service, no or a broken location, no service_code, bad
attributes, long text.

Where the specification states a value set or a limit but not the server's reaction (a list
value outside its keys, a description over 4000 characters), the 400 is judged on its own
(its level depends on the profile) and GR2-POST-INPUT-KEPT holds every profile to the rest:
no 5xx, and an accepted value kept as sent. Both judge the same POST, sent once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from conformance import requirements
from conformance.client import Answer, Client
from conformance.outcomes import Inconclusive, Level, fail
from conformance.run import expect
from conformance.run.checks._writes import service_with_required, valid_post
from conformance.run.context import RunContext
from conformance.run.write_flow import DESCRIPTION_LIMIT, answer_row, fill_attributes, moment

requirement = pytest.mark.requirement
FORMATS = ("json", "xml")
LOCATION_FIELDS = ("lat", "long", "address_string", "address_id")


@pytest.fixture()
def keyed(open311_target):
    if not open311_target.api_key:
        pytest.skip("no API key given: the target would refuse any POST for the key alone")


@dataclass(slots=True)
class SentOnce:
    """POSTs two checks judge from different sides, each sent once a run; the check that reuses
    one cites its exchange too (a re-judged run finds what each check's outcome rests on)."""

    context: RunContext
    answers: dict[str, Any] = field(default_factory=dict)

    def __call__(self, key: str, send: Callable[[], Any]) -> Any:
        if key not in self.answers:
            self.answers[key] = send()
        else:
            self.context.cite(_sent_by(self.answers[key]))
        return self.answers[key]


def _sent_by(answer: Any) -> list[int]:
    exchange = getattr(answer, "exchange", None)
    return [exchange.seq] if exchange is not None else []


@pytest.fixture(scope="session")
def sent_once(open311_context: RunContext) -> SentOnce:
    return SentOnce(open311_context)


def _post(client, fields, attributes, label, fmt="json"):
    return client.create(fields, attributes, fmt=fmt, label=label)


def _expect_refusal(answer: Answer, profile) -> None:
    expect.status(answer, 400)
    expect.error_list(answer, profile)


@requirement("GR2-POST-UNKNOWN-SERVICE")
def test_unknown_service_refused(keyed, open311_client, open311_catalogue, open311_target):
    """A POST for an unknown service_code is refused with 404"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target,
                                    "open311-conformance: unknown service")
    fields["service_code"] = "000000000000000000000000"
    expect.status(_post(open311_client, fields, attributes, "POST unknown service"), 404)


@requirement("GR2-POST-LOCATION")
def test_missing_location_refused(keyed, open311_client, open311_catalogue, open311_target):
    """A POST without any location is refused with 400"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target,
                                    "open311-conformance: no location")
    for name in LOCATION_FIELDS:
        fields.pop(name, None)
    expect.status(_post(open311_client, fields, attributes, "POST without location"), 400)


@requirement("GR2-POST-LOCATION-PAIR")
@pytest.mark.parametrize("fmt", FORMATS)
def test_lat_without_long_refused(keyed, open311_client, open311_catalogue, open311_target, open311_profile,
                                  fmt):
    """A POST with lat but no long (and no address) is refused with 400 and the error list"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target,
                                    "open311-conformance: lat without long")
    for name in LOCATION_FIELDS[1:]:
        fields.pop(name, None)
    _expect_refusal(_post(open311_client, fields, attributes, "POST lat without long", fmt), open311_profile)


# just outside the range: a real server was seen to corrupt its index on absurd values
OUT_OF_RANGE = [pytest.param("lat", "95", "json", id="lat 95, json"),
                pytest.param("long", "-185", "xml", id="long -185, xml")]


@requirement("GR2-POST-LOCATION-RANGE")
@pytest.mark.parametrize(("name", "value", "fmt"), OUT_OF_RANGE)
def test_location_out_of_range_refused(keyed, open311_client, open311_catalogue, open311_target,
                                       open311_profile, name, value, fmt):
    """A POST with lat or long out of range is refused with 400 and the error list"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target,
                                    f"open311-conformance: {name} out of range")
    for address in LOCATION_FIELDS[2:]:
        fields.pop(address, None)  # the coordinates are the only location
    fields[name] = value
    _expect_refusal(_post(open311_client, fields, attributes, f"POST {name} {value}", fmt), open311_profile)


@requirement("GR2-POST-SERVICE-CODE-MISSING")
@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_service_code_refused(keyed, open311_client, open311_catalogue, open311_target,
                                      open311_profile, fmt):
    """A POST without service_code is refused with 400 and the error list"""
    fields, attributes = valid_post(open311_client, open311_catalogue, open311_target,
                                    "open311-conformance: no service_code")
    del fields["service_code"]
    _expect_refusal(_post(open311_client, fields, attributes, "POST without service_code", fmt),
                    open311_profile)


def _required_missing(client, catalogue, target, memo):
    code, attribute = service_with_required(catalogue, ("singlevaluelist", "multivaluelist", "string",
                                                        "number", "text", "datetime"))

    def send() -> Answer:
        fields, _ = valid_post(client, catalogue, target, "open311-conformance: attribute missing")
        fields["service_code"] = code
        attributes = fill_attributes(catalogue.definitions[code], moment(client))
        attributes.pop(attribute["code"], None)
        return _post(client, fields, attributes, "POST without a required attribute")

    return attribute["code"], memo("required-missing", send)


@requirement("GR2-POST-REQUIRED-ATTRIBUTE")
def test_missing_required_attribute_refused(keyed, open311_client, open311_catalogue, open311_target, sent_once):
    """A POST missing a required attribute is refused with 400"""
    _code, answer = _required_missing(open311_client, open311_catalogue, open311_target, sent_once)
    expect.status(answer, 400)


@requirement("CHI-ERR-NAMES-ATTRIBUTE")
def test_missing_attribute_named(keyed, open311_client, open311_catalogue, open311_target, sent_once):
    """The refusal names the missing attribute code"""
    code, answer = _required_missing(open311_client, open311_catalogue, open311_target, sent_once)
    text = expect.error_text(answer)
    if code not in text:
        fail(f"the error does not name {code}: {text!r}")


@dataclass(slots=True, frozen=True)
class OutOfRange:
    """A POST with one value outside what the specification states, and where it reads back."""

    what: str
    answer: Answer
    attribute: str | None  # the attribute code, or None for the description
    value: str
    # the stated limit of a text, and the requirement that asks to refuse text over it: where
    # the profile makes that refusal a SHOULD, the text cut to the limit is its warning, not a
    # failure here (the specification states the limit, not the server's reaction)
    limit: int | None = None
    refusal: str | None = None

    def read(self, row: dict[str, Any]) -> Any:
        if self.attribute is None:
            return row.get("description")
        attributes = row.get("attributes")
        return attributes.get(self.attribute) if isinstance(attributes, dict) else None


def _bad_list_value(client, catalogue, target, memo) -> OutOfRange:
    code, attribute = service_with_required(catalogue, ("singlevaluelist",))
    value = "NOT-A-KEY-OF-THIS-LIST"

    def send() -> Answer:
        fields, _ = valid_post(client, catalogue, target, "open311-conformance: bad list value")
        fields["service_code"] = code
        attributes = fill_attributes(catalogue.definitions[code], moment(client))
        attributes[attribute["code"]] = value
        return _post(client, fields, attributes, "POST bad list value")

    return OutOfRange(f"list value {value!r} of {attribute['code']}", memo("bad-list-value", send),
                      attribute["code"], value)


def _long_description(client, catalogue, target, memo) -> OutOfRange:
    text = "x" * (DESCRIPTION_LIMIT + 1)

    def send() -> Answer:
        fields, attributes = valid_post(client, catalogue, target, text)
        return _post(client, fields, attributes, "POST 4001-character description")

    return OutOfRange("4001-character description", memo("long-description", send), None, text,
                      limit=DESCRIPTION_LIMIT, refusal="GR2-POST-DESCRIPTION-LENGTH")


@requirement("GR2-POST-ATTRIBUTE-VALUE")
def test_unknown_list_value_refused(keyed, open311_client, open311_catalogue, open311_target, sent_once):
    """A list attribute value that is not a key is refused with 400"""
    case = _bad_list_value(open311_client, open311_catalogue, open311_target, sent_once)
    expect.status(case.answer, 400)


@requirement("GR2-POST-DESCRIPTION-LENGTH")
def test_long_description_refused(keyed, open311_client, open311_catalogue, open311_target, sent_once):
    """A description over 4000 characters is refused with 400"""
    case = _long_description(open311_client, open311_catalogue, open311_target, sent_once)
    expect.status(case.answer, 400)


@requirement("GR2-POST-INPUT-KEPT")
def test_out_of_range_input_refused_or_kept(keyed, open311_client, open311_catalogue, open311_target,
                                            open311_profile, sent_once):
    """Out-of-range input is refused, or kept as sent: never a 5xx, never dropped or changed
    (a description cut to the limit only where refusing it is a SHOULD)"""
    cases = [_bad_list_value(open311_client, open311_catalogue, open311_target, sent_once),
             _long_description(open311_client, open311_catalogue, open311_target, sent_once)]
    problems, unjudged = [], []
    for case in cases:
        if case.answer.status >= 500:
            problems.append(f"{case.what}: {case.answer.describe()}")
        elif case.answer.ok:
            problem = _kept_problem(open311_client, open311_target, open311_profile, case)
            if problem is None:
                continue
            (unjudged if problem.startswith("not judged") else problems).append(f"{case.what}: {problem}")
    if problems:
        fail("input outside the stated values was answered with a 5xx or accepted and not kept:\n"
             + expect.listing(problems))
    if unjudged:
        raise Inconclusive("\n".join(unjudged))


def _kept_problem(client: Client, target, profile, case: OutOfRange) -> str | None:
    """Why an accepted out-of-range value does not read back as sent (None: it does)."""
    row = answer_row(case.answer) or {}
    rid = str(row["service_request_id"]) if row.get("service_request_id") else None
    if rid is None and row.get("token"):
        rid = client.resolve_token(str(row["token"]), target.poll_timeout, remote=target.remote).service_request_id
    if rid is None:
        return "not judged: accepted, but no service_request_id to read it back by"
    if case.attribute is not None and not profile.quirks.extensions:
        return "not judged: attribute values read back only with extensions=true"
    params = {"extensions": "true"} if profile.quirks.extensions else None
    rows, _ = Client.identified(client.request(rid, params=params))
    mine = [r for r in rows if str(r.get("service_request_id")) == rid]
    if not mine:
        return f"not judged: request {rid} does not read back"
    got = case.read(mine[0])
    got = ",".join(str(v) for v in got) if isinstance(got, list) else got
    if got == case.value or (got == case.value[:case.limit] and _cut_allowed(profile, case)):
        return None
    return f"accepted as request {rid}, which reads back {expect.clip(got)!r}"


def _cut_allowed(profile, case: OutOfRange) -> bool:
    """Whether the profile lets text over its limit be cut to it: the refusal is below MUST."""
    if case.limit is None or case.refusal is None:
        return False
    refusal = requirements.load()[case.refusal]
    return profile.selects(refusal) and profile.level_of(refusal) is not Level.MUST
