"""Profiles as values: the registry, what each selects, its quirks, defaults and checklist."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from conformance import contract, profiles, requirements
from conformance.checklist import TARGET_CONDITIONS
from conformance.client import Client
from conformance.errors import UsageError
from conformance.outcomes import Inconclusive
from conformance.profiles import KeyPlace
from conformance.run.write_flow import choose_service, ensure_location
from conformance.target import Target

ABANDONED_VEHICLE = "4ffa4c69601827691b000018"
# quirk -> the requirement that judges it: a profile has the quirk exactly when it selects it
QUIRK_REQUIREMENTS = {
    "pending_rows_without_id": "CHI-PENDING-ONLY-LISTS",
    "extensions": "CHI-EXTENSIONS",
    "paging": "CHI-PAGING",
    "updated_filters": "CHI-FILTER-UPDATED",
    "jsonp": "CHI-JSONP",
}


def test_registry_names_and_default() -> None:
    assert profiles.names() == ("georeport-v2", "chicago")
    assert profiles.DEFAULT is profiles.get("chicago")
    assert profiles.get(profiles.DEFAULT) is profiles.DEFAULT
    assert profiles.get("chicago").parent == "georeport-v2"
    assert all(p.parent is None or p.parent in profiles.names() for p in profiles.REGISTRY.values())


def test_unknown_profile_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown profile 'berlin': expected one of georeport-v2, chicago"):
        profiles.get("berlin")
    assert issubclass(profiles.UnknownProfile, ValueError)


@pytest.mark.parametrize("name", profiles.names())
def test_schema_dir_holds_every_resource(name: str) -> None:
    profile = profiles.get(name)
    assert contract.schema_dir(profile).name == profile.schema_set
    assert {p.stem for p in contract.schema_dir(profile).glob("*.json")} >= set(contract.RESOURCES)


@pytest.mark.parametrize("name", profiles.names())
@pytest.mark.parametrize("quirk", sorted(QUIRK_REQUIREMENTS))
def test_quirks_agree_with_the_requirements_selected(name: str, quirk: str) -> None:
    profile = profiles.get(name)
    requirement = requirements.load()[QUIRK_REQUIREMENTS[quirk]]
    assert getattr(profile.quirks, quirk) is profile.selects(requirement)


@pytest.mark.parametrize("name", profiles.names())
def test_checklist_shows_exactly_the_conditions_its_requirements_support(name: str) -> None:
    profile = profiles.get(name)
    supported = {r.checklist for r in requirements.for_profile(profile) if r.checklist}
    assert set(profile.checklist) == supported
    order = [c.key for c in TARGET_CONDITIONS]
    assert list(profile.checklist) == [k for k in order if k in profile.checklist]


def test_checklist_universe_is_one_list() -> None:
    assert [c.key for c in TARGET_CONDITIONS] == list(requirements.CHECKLIST)


def test_summary_schema_knows_every_profile() -> None:
    schema = json.loads((contract.contract_root() / "schemas" / "summary.json").read_text())
    assert schema["$defs"]["profile"]["enum"] == sorted(profiles.names())


def test_requirement_tags_are_profile_names() -> None:
    used = {tag for r in requirements.load().values() for tag in r.profiles}
    assert used == profiles.requirement_tags() == set(profiles.names())


# --- defaults ------------------------------------------------------------------------------

SERVICES = [{"service_code": "first"}, {"service_code": ABANDONED_VEHICLE}]


@pytest.mark.parametrize(("profile", "wanted", "services", "chosen"), [
    ("chicago", None, SERVICES, ABANDONED_VEHICLE),
    ("chicago", None, SERVICES[:1], "first"),
    ("georeport-v2", None, SERVICES, "first"),
    ("georeport-v2", ABANDONED_VEHICLE, SERVICES, ABANDONED_VEHICLE),
    ("chicago", "absent", SERVICES, None),
])
def test_write_service_preference(profile: str, wanted: str | None, services: list[dict[str, Any]],
                                  chosen: str | None) -> None:
    target = Target(base_url="http://127.0.0.1:1/v2", profile=profile, write_service_code=wanted)
    service = choose_service(services, target)
    assert (service or {}).get("service_code") == chosen


def test_locations_by_profile() -> None:
    chicago = profiles.get("chicago").defaults
    assert Target(base_url="http://x.invalid/v2").location == chicago.location
    assert Target(base_url="http://x.invalid/v2").address_string == "121 N LaSalle St, Chicago, IL 60602"
    remote_spec = Target(base_url="http://x.invalid/v2", profile="georeport-v2")
    assert remote_spec.location is None and remote_spec.address_string is None
    # the embedded simulator is Chicago's: it is written to at City Hall under any profile
    simulated = Target(base_url="", profile="georeport-v2", simulator=True)
    assert simulated.location == chicago.location and simulated.address_string == chicago.address_string
    assert Target(base_url="http://x.invalid/v2", location=(1.0, 2.0)).address_string is None


def _listing(rows: list[Any]) -> Any:
    answer = SimpleNamespace(ok=True, data=rows)
    return SimpleNamespace(requests=lambda: answer)


def test_location_from_a_listed_request() -> None:
    target = Target(base_url="http://x.invalid/v2", profile="georeport-v2")
    rows = [{"service_request_id": "1", "lat": "41.9", "long": -87.6},  # text: not a coordinate
            {"lat": 10.0, "long": 10.0},  # no id: ignored
            {"service_request_id": "2", "lat": 39.29, "long": -76.61}]
    assert ensure_location(_listing(rows), target) == (39.29, -76.61)
    assert target.location == (39.29, -76.61)


def test_no_location_anywhere_is_inconclusive() -> None:
    target = Target(base_url="http://x.invalid/v2", profile="georeport-v2")
    with pytest.raises(Inconclusive, match="--location"):
        ensure_location(_listing([{"service_request_id": "1"}]), target)


# --- where the key goes --------------------------------------------------------------------

class _RecordingTransport:
    api_key = "the-key"

    def __init__(self) -> None:
        self.posts: list[tuple[str, list[tuple[str, Any]]]] = []

    def post(self, path: str, form: list[tuple[str, Any]], *, label: str | None = None) -> Any:
        self.posts.append((path, form))
        return SimpleNamespace(status=201, content_type="application/json", body=b'[{"token": "t"}]',
                               exchange=None)


@pytest.mark.parametrize(("place", "path", "form_key"), [
    (KeyPlace.POST_FORM, "requests.json", True),
    (KeyPlace.QUERY, "requests.json?api_key=the-key", False),
])
def test_key_goes_where_the_profile_says(place: KeyPlace, path: str, form_key: bool) -> None:
    transport = _RecordingTransport()
    answer = Client(transport, key_on=place).create({"service_code": "x"})  # type: ignore[arg-type]
    assert answer.data == [{"token": "t"}]
    sent_path, form = transport.posts[0]
    assert sent_path == path
    assert (("api_key", "the-key") in form) is form_key


def test_every_profile_puts_the_key_in_the_form() -> None:
    # what GeoReport v2 and Chicago document; QUERY exists for a city profile that needs it
    assert {p.quirks.key_on for p in profiles.REGISTRY.values()} == {KeyPlace.POST_FORM}


def test_quirk_parameters_follow_the_quirks():
    from conformance.run.fuzzing.wiring import unfuzzed_parameters

    assert set(profiles.QUIRK_PARAMETERS) <= {f for f in profiles.Quirks.__dataclass_fields__}
    chicago, spec = profiles.get("chicago"), profiles.get("georeport-v2")
    assert chicago.quirks.undocumented_parameters() == frozenset()
    assert spec.quirks.undocumented_parameters() == {
        "extensions", "page", "page_size", "updated_after", "updated_before", "callback"}
    query = {"status": "open", "page_size": 500, "extensions": "true"}
    assert chicago.quirks.documented(query) == query and chicago.quirks.documents(query)
    assert spec.quirks.documented(query) == {"status": "open"} and not spec.quirks.documents(query)
    # the fuzzing leaves out at least what the scenarios leave out
    for profile in (chicago, spec):
        assert profile.quirks.undocumented_parameters() <= unfuzzed_parameters(profile)
