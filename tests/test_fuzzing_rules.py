"""The rules that decide what the fuzzing may not demand a 4xx for, each on hand-made requests."""

from __future__ import annotations

import pytest

from conformance import contract, profiles
from conformance.run import fuzzing
from conformance.run.fuzzing import rules
from conformance.simulator import start
from conformance.transport import Transport

CHICAGO = profiles.get("chicago")
GEOREPORT = profiles.get("georeport-v2")
LIST = rules.REQUEST_LIST
DEFINED = rules.parameters_of(contract.load_openapi(), LIST)


def request(query: dict[str, str], profile=CHICAGO, operation=LIST, path=None, defined=None):
    return rules.read(operation, profile, list(query.items()), path or {},
                      DEFINED if defined is None else defined)


def excused_by(query, **kwargs) -> list[str] | None:
    found = rules.excuses(request(query, **kwargs))
    return None if found is None else [e.rule.name for e in found]


def test_every_rule_names_its_source():
    for rule in rules.RULES:
        assert rule.source and rule.applies.__doc__
        assert rule.requirement is None or rule.requirement.startswith(("GR2-", "CHI-"))


def test_values_are_judged_by_their_schema():
    read = request({"status": "open,closed", "page_size": "50", "start_date": "2024-01-01T00:00:00Z",
                    "extensions": "true", "service_code": "a,b"})
    assert read.invalid == ()
    read = request({"status": "opened", "page_size": "x", "start_date": "yesterday", "extensions": "yes"})
    assert {p.name for p in read.invalid} == {"status", "page_size", "start_date", "extensions"}


@pytest.mark.parametrize("name", ["end_date", "service_code", "status", "page_size", "jurisdiction_id"])
def test_an_empty_parameter_is_absent(name):
    assert excused_by({name: ""}) in (["empty is absent"], [])  # []: "" is valid there
    assert rules.empty_is_absent(rules.Parameter(name, "query", "", False), request({}))


def test_an_empty_path_parameter_is_not_absent():
    assert not rules.empty_is_absent(rules.Parameter("service_code", "path", "", False), request({}))


@pytest.mark.parametrize("name, value", [("start_date", "garbage"), ("status", "bogus"),
                                         ("page", "0"), ("extensions", "maybe")])
def test_service_request_id_overrides_the_rest(name, value):
    assert excused_by({"service_request_id": "26-01234567", name: value}) == [
        "service_request_id overrides the rest"]


def test_no_override_without_a_usable_id():
    assert excused_by({"start_date": "garbage"}) is None
    assert excused_by({"service_request_id": "", "start_date": "garbage"}) is None
    # an id list with an empty item is itself invalid: nothing overrides, nothing excuses
    assert excused_by({"service_request_id": "a,,b", "start_date": "garbage"}) is None


def test_the_override_is_the_request_lists_only():
    defined = rules.parameters_of(contract.load_openapi(), "getServiceRequest")
    found = rules.excuses(request({"service_request_id": "x", "extensions": "maybe"},
                                  operation="getServiceRequest", path={"service_request_id": "x"},
                                  defined=defined))
    assert found is None


def test_a_parameter_the_profile_does_not_define_may_be_ignored():
    without_page = {k: v for k, v in DEFINED.items() if k != "page"}
    assert excused_by({"page": "-1"}, defined=without_page) == ["not defined by the profile"]
    assert excused_by({"page": "-1"}) is None  # chicago defines page: below 1 is refused


def test_a_refusal_below_must_is_not_demanded():
    assert excused_by({"status": "bogus"}, profile=GEOREPORT) == ["refusal is not a MUST here"]
    assert excused_by({"status": "bogus"}, profile=CHICAGO) is None  # a MUST under chicago
    assert excused_by({"start_date": "bogus"}, profile=GEOREPORT) is None  # GR2-BAD-DATE-400: MUST


def test_a_page_size_above_the_maximum_may_be_clamped():
    assert excused_by({"page_size": "501"}) == ["page_size clamped"]
    assert excused_by({"page_size": "0"}) is None
    assert excused_by({"page_size": "many"}) is None


def test_a_request_sent_valid_demands_nothing():
    # a type mutation of the service_code list that serialised to a valid code, the mutated
    # page left out: the server received nothing invalid
    assert excused_by({"service_code": "false"}) == []
    assert excused_by({}) == []


def test_one_unexcused_parameter_keeps_the_demand():
    assert excused_by({"end_date": "", "start_date": "garbage"}) is None
    assert excused_by({"end_date": "", "page_size": "9999"}) == ["empty is absent", "page_size clamped"]


# -- the rules at work, on a server ------------------------------------------------------------------
SEEDS = (1, 4, 6, 7)  # seeds whose invalid dates reach a server without a service_request_id beside them


def _rejections(faults=(), dialect="chicago") -> list[tuple[int, str]]:
    """The seeds at which the fuzzing of the request list demanded a refusal it did not get,
    with the requirement each demand blamed."""
    spec = next(s for s in fuzzing.OPERATIONS if s.operation_id == rules.REQUEST_LIST)
    found = []
    with start(delay=0.3, faults=faults, dialect=dialect) as sim:
        for seed in SEEDS:
            transport = Transport(sim.base_url, sim.api_key, timeout=5)
            result = fuzzing.fuzz(transport, spec, "json", base_url=sim.base_url, seed=seed, examples=10)
            demanded = rules.refusal_requirements(rules.REQUEST_LIST)
            found += [(seed, b.requirement) for f in result.findings for b in f.failures
                      if b.requirement in demanded]
    return found


@pytest.mark.integration
def test_an_accepted_invalid_date_is_still_demanded_a_4xx():
    # GR2-BAD-DATE-400 is a MUST and no rule excuses a date: the leniency weakened nothing there,
    # and the demand blames the requirement that makes it
    found = _rejections(("bad-date-accepted",))
    assert found and {requirement for _seed, requirement in found} == {"GR2-BAD-DATE-400"}


@pytest.mark.integration
def test_the_rules_are_what_lets_a_lenient_server_pass(monkeypatch):
    assert _rejections(dialect="lenient") == []
    monkeypatch.setattr(rules, "RULES", ())
    assert _rejections(dialect="lenient"), "without the rules the schema alone demands refusals"


@pytest.mark.parametrize(("query", "profile", "blamed"), [
    ({"start_date": "yesterday"}, CHICAGO, "GR2-BAD-DATE-400"),
    ({"status": "opened"}, CHICAGO, "GR2-BAD-STATUS-400"),
    ({"page": "x"}, CHICAGO, "CHI-PAGE-SIZE-LIMIT"),
    ({"extensions": "yes"}, CHICAGO, "GR2-INPUT-REFUSED"),  # no requirement demands this refusal
    ({"status": "", "extensions": "yes"}, CHICAGO, "GR2-INPUT-REFUSED"),  # the empty one is excused
    ({"status": "opened", "start_date": "yesterday"}, GEOREPORT, "GR2-BAD-DATE-400"),  # status: a SHOULD
])
def test_an_accepted_invalid_value_blames_the_requirement_demanding_its_refusal(query, profile, blamed):
    read = request(query, profile=profile)
    assert rules.excuses(read) is None
    assert rules.refusal_requirement(read) == blamed
    assert blamed in rules.refusal_requirements(LIST)
