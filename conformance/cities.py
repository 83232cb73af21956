"""City presets (``conformance/cities.yaml``): ``open311-conformance cities`` and ``run --city``.

A preset names a city's published endpoints (test and production), its jurisdiction_id and
the profile that judges it. The same file is the write guard's list of known hosts: a city's
production hosts refuse writes without ``--allow-writes --allow-writes-to-production``, its
test hosts take them. Adding a city is one entry in the YAML.

API for other modules::

    cities.get("baltimore") -> City      # UnknownCity (a UsageError) for unknown names
    cities.all() -> list[City]           # in the file's order
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from conformance import profiles
from conformance.errors import UsageError
from conformance.profiles import Profile

CITIES_PATH = Path(__file__).with_name("cities.yaml")
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FIELDS = frozenset({"name", "title", "production_url", "test_url", "jurisdiction_id", "profile",
                     "alternate_urls", "notes"})


class UnknownCity(UsageError):
    """A city name no preset has."""


class CityFileError(ValueError):
    """cities.yaml breaks its own rules: a bug of the kit, caught by its tests."""


@dataclass(slots=True, frozen=True)
class City:
    name: str
    title: str
    production_url: str
    test_url: str | None
    jurisdiction_id: str | None
    profile: Profile
    alternate_urls: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def base_url(self) -> str:
        """What ``run --city`` tests: the test environment where one is published."""
        return self.test_url or self.production_url

    @property
    def production_hosts(self) -> frozenset[str]:
        return frozenset(_host(url) for url in (self.production_url, *self.alternate_urls))

    @property
    def test_host(self) -> str | None:
        return _host(self.test_url) if self.test_url else None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "profile": self.profile.name,
                "test_url": self.test_url, "production_url": self.production_url,
                "jurisdiction_id": self.jurisdiction_id, "alternate_urls": list(self.alternate_urls),
                "notes": list(self.notes)}


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


@cache
def _load(path: Path = CITIES_PATH) -> dict[str, City]:
    import yaml

    # libyaml's parser when PyYAML has it (the same data, a tenth of the CPU: issue 21)
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    loaded: dict[str, City] = {}
    for entry in raw["cities"]:
        city = _city(entry, path)
        if city.name in loaded:
            raise CityFileError(f"{path}: city {city.name!r} listed twice")
        loaded[city.name] = city
    return loaded


def _city(entry: dict[str, Any], path: Path) -> City:
    name = str(entry.get("name"))
    problems = []
    if not _SLUG.match(name):
        problems.append("name must be a slug of lower-case letters, digits and dashes")
    if set(entry) - _FIELDS:
        problems.append(f"unknown fields {sorted(set(entry) - _FIELDS)}")
    urls = [entry.get("production_url"), entry.get("test_url"), *(entry.get("alternate_urls") or [])]
    if not entry.get("production_url") or any(
            url is not None and (urlsplit(url).scheme not in ("http", "https") or not _host(url))
            for url in urls):
        problems.append("every URL must be http(s) with a host, and production_url is required")
    try:
        profile = profiles.get(entry.get("profile", ""))
    except profiles.UnknownProfile as exc:
        problems.append(str(exc))
    if problems:
        raise CityFileError(f"{path}: city {name}: {'; '.join(problems)}")
    return City(name=name, title=str(entry["title"]), production_url=entry["production_url"],
                test_url=entry.get("test_url"), jurisdiction_id=entry.get("jurisdiction_id"),
                profile=profile, alternate_urls=tuple(entry.get("alternate_urls") or ()),
                notes=tuple(entry.get("notes") or ()))


def all() -> list[City]:  # shadows the builtin on purpose: callers write cities.all()
    return list(_load().values())


def get(name: str) -> City:
    """The preset of that name; UnknownCity naming the closest names otherwise."""
    presets = _load()
    try:
        return presets[name]
    except KeyError:
        close = difflib.get_close_matches(name.lower(), presets, n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "see `open311-conformance cities`"
        raise UnknownCity(f"unknown city {name!r}: {hint}") from None


@cache
def known_hosts() -> tuple[frozenset[str], frozenset[str]]:
    """(test hosts, production hosts) of every preset, for the write guard.

    A test URL on a production host counts as production only: the guard knows hosts, and
    a production host must never take writes by accident.
    """
    production = frozenset().union(*(c.production_hosts for c in _load().values()))
    test = frozenset(c.test_host for c in _load().values() if c.test_host) - production
    return test, production
