"""Profiles: what "conformant" means for one kind of target, as one value per profile.

A profile names the schemas that judge answers, the requirements that apply, the quirks the
target is documented to have (rows without an id, ``extensions=true``, paging, ...), the
defaults of a run (where a request is written, to which service, how long a token may take)
and the pre-approval conditions its checklist shows. Code asks the profile
(``if profile.quirks.extensions:``), never compares its name.

Adding a profile is one entry in :data:`_PROFILES` (plus ``schemas/<name>/`` when it brings
schemas of its own, and its name in ``schemas/summary.json``'s profile enum, which a test
keeps in step). A city that reads the key from the query string but otherwise follows the
specification, reusing its schemas and requirements and writing at its city hall, would be (a
made-up example, not what Toronto documents)::

    Profile(
        name="toronto", parent="georeport-v2", title="City of Toronto",
        description="GeoReport v2 as the City of Toronto serves it.",
        schema_set="georeport-v2", requirement_tag="georeport-v2",
        quirks=Quirks(key_on=KeyPlace.QUERY),
        defaults=Defaults(location=(43.653225, -79.383186),
                          address_string="100 Queen St W, Toronto, ON M5H 2N2"),
        checklist=GEOREPORT_CHECKLIST,
    )

(A quirk judged by a requirement, such as ``paging``, goes with selecting that requirement:
tests/test_profiles.py holds every profile to it.)

Nothing here does I/O: this module is imported by the command line for its ``choices``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from conformance.errors import UsageError

if TYPE_CHECKING:
    from conformance.outcomes import Level
    from conformance.requirements import Requirement

REMOTE_POLL_TIMEOUT = 600.0  # seconds: a real city may take minutes to process a request
SIMULATOR_POLL_TIMEOUT = 30.0


class KeyPlace(StrEnum):
    """Where a write carries the API key."""

    POST_FORM = "post-form"  # a field of the POST's form body, as GeoReport v2 says
    QUERY = "query"  # in the POST's query string (servers that read only the URL)


# the query parameters each quirk brings: a scenario sends one only under a profile with that
# quirk (a server following the specification alone would ignore it, or read it otherwise)
QUIRK_PARAMETERS: dict[str, frozenset[str]] = {
    "extensions": frozenset({"extensions"}),
    "paging": frozenset({"page", "page_size"}),
    "updated_filters": frozenset({"updated_after", "updated_before"}),
    "jsonp": frozenset({"callback"}),
}


@dataclass(slots=True, frozen=True)
class Quirks:
    """What the target is documented to do beyond (or against) the specification."""

    pending_rows_without_id: bool = False  # lists hold rows still processed, with no id
    extensions: bool = False  # extensions=true adds attributes, extended_attributes, notes
    paging: bool = False  # page and page_size
    updated_filters: bool = False  # updated_after and updated_before
    jsonp: bool = False  # callback=NAME wraps a JSON answer
    key_on: KeyPlace = KeyPlace.POST_FORM

    def undocumented_parameters(self) -> frozenset[str]:
        """The quirks' parameters this target is not documented to take."""
        return frozenset(name for quirk, names in QUIRK_PARAMETERS.items()
                         if not getattr(self, quirk) for name in names)

    def documents(self, query: Mapping[str, Any]) -> bool:
        """Whether every parameter of ``query`` is one the target is documented to take."""
        return not (set(query) & self.undocumented_parameters())

    def documented(self, query: Mapping[str, Any]) -> dict[str, Any]:
        """``query`` without the parameters the target is not documented to take."""
        left_out = self.undocumented_parameters()
        return {name: value for name, value in query.items() if name not in left_out}


@dataclass(slots=True, frozen=True)
class Defaults:
    """What a run uses when the command line does not say."""

    # services to write to, in order of preference; none listed: the first service offered
    write_services: tuple[str, ...] = ()
    # where a written request is; None: the location of a request the target lists
    location: tuple[float, float] | None = None
    address_string: str | None = None
    jurisdiction_id: str | None = None  # sent with every request when set
    remote_poll_timeout: float = REMOTE_POLL_TIMEOUT
    simulator_poll_timeout: float = SIMULATOR_POLL_TIMEOUT


@dataclass(slots=True, frozen=True)
class Profile:
    name: str
    title: str
    description: str
    parent: str | None = None
    # schemas/<schema_set>/ judges answers; requirements.yaml entries listing requirement_tag
    # under ``profiles`` apply. Both default to the profile's own name.
    schema_set: str = ""
    requirement_tag: str = ""
    quirks: Quirks = Quirks()
    defaults: Defaults = Defaults()
    checklist: tuple[str, ...] = ()  # keys of the pre-approval conditions shown, in order

    def __post_init__(self) -> None:
        # frozen: fill the "own name" defaults through object.__setattr__
        if not self.schema_set:
            object.__setattr__(self, "schema_set", self.name)
        if not self.requirement_tag:
            object.__setattr__(self, "requirement_tag", self.name)

    def __str__(self) -> str:
        return self.name

    def selects(self, requirement: Requirement) -> bool:
        """Whether ``requirement`` applies to a run under this profile."""
        return self.requirement_tag in requirement.profiles

    def level_of(self, requirement: Requirement) -> Level:
        """How strongly ``requirement`` binds a target of this profile (requirements.yaml's
        ``levels`` may set it per profile: what a city's documents make of the specification)."""
        return requirement.level_for(self.requirement_tag)


class UnknownProfile(UsageError, ValueError):
    """A profile name the registry does not hold (a usage error at the command line)."""


CHICAGO_CHECKLIST = ("key", "write", "readback", "pending", "formats", "errors")
# the specification has no rows without an id, so nothing could show "pending"
GEOREPORT_CHECKLIST = ("key", "write", "readback", "formats", "errors")

_PROFILES = (
    Profile(
        name="georeport-v2",
        title="GeoReport v2",
        description="The GeoReport v2 specification read strictly, for any Open311 city.",
        checklist=GEOREPORT_CHECKLIST,
    ),
    Profile(
        name="chicago",
        parent="georeport-v2",
        title="City of Chicago",
        description="GeoReport v2 as the City of Chicago documents it: the key on POST only, "
                    "tokens polled until an id appears, list rows without an id ignored, "
                    "paging, update-time filters, extensions=true and JSONP.",
        quirks=Quirks(pending_rows_without_id=True, extensions=True, paging=True,
                      updated_filters=True, jsonp=True),
        defaults=Defaults(
            # Abandoned Vehicle: the service the City's own 2012 contract test wrote to
            write_services=("4ffa4c69601827691b000018",),
            location=(41.883630, -87.632380),  # City Hall
            address_string="121 N LaSalle St, Chicago, IL 60602",
        ),
        checklist=CHICAGO_CHECKLIST,
    ),
)

REGISTRY: dict[str, Profile] = {profile.name: profile for profile in _PROFILES}
DEFAULT_NAME = "chicago"
DEFAULT = REGISTRY[DEFAULT_NAME]


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def get(profile: str | Profile) -> Profile:
    """The profile of that name (a Profile is returned as it is); UnknownProfile otherwise."""
    if isinstance(profile, Profile):
        return profile
    try:
        return REGISTRY[profile]
    except KeyError:
        raise UnknownProfile(f"unknown profile {profile!r}: expected one of {', '.join(names())}") from None


def requirement_tags() -> frozenset[str]:
    """The names requirements.yaml may list under ``profiles``."""
    return frozenset(p.requirement_tag for p in _PROFILES)


def schema_sets() -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.schema_set for p in _PROFILES))
