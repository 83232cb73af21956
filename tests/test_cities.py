"""City presets: the data, the write guard built from it, `cities` and `run --city`."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import pytest

from conformance import cities, cli, profiles
from conformance.cli.run import target_from as from_args
from conformance.errors import UsageError
from conformance.target import make_write_policy

ALL = cities.all()
TEST_HOSTS, PRODUCTION_HOSTS = cities.known_hosts()


def args(*argv: str):
    return cli.build_parser().parse_args(["run", *argv])


def test_presets_are_slugs_with_a_profile() -> None:
    names = [c.name for c in ALL]
    assert len(names) == len(set(names)) >= 25
    assert {"chicago", "baltimore", "toronto", "koeln", "washington-dc"} <= set(names)
    assert {c.name for c in ALL if c.profile is profiles.get("chicago")} == {"chicago"}
    assert all(c.profile is profiles.get("georeport-v2") for c in ALL if c.name != "chicago")


def test_chicago_preset() -> None:
    chicago = cities.get("chicago")
    assert chicago.title == "Chicago, IL" and chicago.jurisdiction_id == "cityofchicago.org"
    assert chicago.base_url == chicago.test_url == "http://test311api.cityofchicago.org/open311/v2/"
    assert chicago.production_url == "http://311api.cityofchicago.org/open311/v2/"


@pytest.mark.parametrize("city", ALL, ids=lambda c: c.name)
def test_guard_refuses_every_production_host_and_admits_test_hosts(city: cities.City) -> None:
    guard = make_write_policy()
    for url in (city.production_url, *city.alternate_urls):
        assert urlsplit(url).hostname in PRODUCTION_HOSTS
        assert "production host" in guard.refusal(url + "requests.json")
    if city.test_url and city.test_host not in PRODUCTION_HOSTS:
        assert city.test_host in TEST_HOSTS
        assert guard.refusal(city.test_url + "requests.json") is None
    elif city.test_url:
        # a test URL on a production host is guarded as production, and the preset says so
        assert any("production host" in note for note in city.notes)
        assert guard.refusal(city.test_url + "requests.json") is not None


def test_unknown_city_names_close_ones() -> None:
    with pytest.raises(cities.UnknownCity, match="did you mean chicago"):
        cities.get("chicgo")
    with pytest.raises(UsageError, match="see `open311-conformance cities`"):
        cities.get("atlantis")


def test_run_with_unknown_city_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--city", "baltimor", "--plan"]) == 2
    err = capsys.readouterr().err
    assert "unknown city 'baltimor': did you mean baltimore?" in err
    assert err.count("\n") == 1


def test_cities_command_lists_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["cities"]) == 0
    out = capsys.readouterr().out
    for city in ALL:
        assert f"{city.name}  " in out and city.production_url in out
    assert "note: XML only" in out


def test_cities_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["cities", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [c.name for c in ALL]
    toronto = next(r for r in rows if r["name"] == "toronto")
    assert toronto == {
        "name": "toronto", "title": "Toronto, ON", "profile": "georeport-v2",
        "test_url": "https://secure.toronto.ca/open311test/ws/",
        "production_url": "https://secure.toronto.ca/webwizard/ws/", "jurisdiction_id": "toronto.ca",
        "alternate_urls": [], "notes": toronto["notes"]}


# --- run --city ----------------------------------------------------------------------------

def test_city_fills_url_jurisdiction_and_profile() -> None:
    target = from_args(args("--city", "chicago"), environ={})
    assert target.base_url == "http://test311api.cityofchicago.org/open311/v2"
    assert target.jurisdiction_id == "cityofchicago.org" and target.profile.name == "chicago"
    assert target.kind == "known test host" and not target.simulator


def test_city_without_test_url_is_its_production_url() -> None:
    target = from_args(args("--city", "washington-dc"), environ={})
    assert target.base_url == "http://app.311.dc.gov/cwi/Open311/v2"
    assert target.profile.name == "georeport-v2" and target.jurisdiction_id == "dc.gov"
    assert target.kind == "known PRODUCTION host"
    assert target.location is None  # the spec has no city: a listed request's place is used


def test_flags_and_environment_win_over_the_city(tmp_path) -> None:
    target = from_args(args("--city", "baltimore", "--profile", "chicago", "--jurisdiction-id", "x.gov"),
                       environ={"OPEN311_BASE_URL": "http://127.0.0.1:9/open311/v2"})
    assert target.base_url == "http://127.0.0.1:9/open311/v2"
    assert (target.profile.name, target.jurisdiction_id) == ("chicago", "x.gov")
    config = tmp_path / "run.toml"
    config.write_text('base_url = "http://127.0.0.1:8/open311/v2"\ncity = "toronto"\n')
    target = from_args(args("--config", str(config)), environ={})
    assert target.base_url == "http://127.0.0.1:8/open311/v2" and target.jurisdiction_id == "toronto.ca"
