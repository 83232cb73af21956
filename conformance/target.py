"""Who is tested and how: base URL, key, jurisdiction, profile, write policy, limits.

:meth:`Target.resolve` turns a run's :class:`~conformance.settings.RunSettings` into the
target: the city preset (``city``) and then the profile's defaults fill what the settings
leave open, and the key comes from ``--api-key`` or ``OPEN311_API_KEY`` only.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from conformance import cities, profiles
from conformance.profiles import Profile
from conformance.settings import RunSettings, parse_location
from conformance.transport import WritePolicy, is_loopback

REMOTE_MIN_INTERVAL = 0.2  # seconds between requests to a host we do not run
# the embedded simulator is the City of Chicago's test environment: a run against it writes
# where a Chicago run would, whatever profile judges the answers
SIMULATED = profiles.get("chicago")


def make_write_policy(allow_writes: bool = False, allow_production: bool = False,
                      read_only: bool = False) -> WritePolicy:
    test, production = cities.known_hosts()
    return WritePolicy(allow_writes, allow_production, test, production, read_only)


# the kind of a target that is the embedded simulator (summary.json target.kind)
EMBEDDED_SIMULATOR = "embedded simulator"


class KeySource(StrEnum):
    """Who supplied the key a run used: what the artifacts may say of it."""

    GIVEN = "given"  # the user gave it (--api-key, OPEN311_API_KEY, a config file)
    SIMULATOR = "simulator"  # the embedded simulator handed the run its practice key

    @property
    def words(self) -> str:
        return "your test key" if self is KeySource.GIVEN else "the simulator's practice key"


@dataclass(slots=True)
class Target:
    base_url: str
    api_key: str | None = None
    jurisdiction_id: str | None = None
    profile: Profile = profiles.DEFAULT
    timeout: float = 30.0
    poll_timeout: float = profiles.SIMULATOR_POLL_TIMEOUT
    write_service_code: str | None = None
    # None: the profile's default place; a profile without one (georeport-v2) writes where a
    # request the target lists is (write_flow.ensure_location)
    location: tuple[float, float] | None = None
    address_string: str | None = None
    write_policy: WritePolicy = field(default_factory=lambda: make_write_policy())
    max_requests: int | None = None
    min_interval: float = 0.0
    simulator: bool = False
    faults: tuple[str, ...] = ()
    simulator_dialect: str = "chicago"  # how the embedded simulator speaks (simulator.dialect)
    max_duration: float = 1800.0  # seconds: the whole run's bound
    seed: int | None = None  # of the OpenAPI-driven fuzzing; None: the kit's fixed default
    fuzz_examples: int | None = None  # per operation; None: a default by kind of target
    # the fuzzing judges the answer another check got to the same GET instead of sending it
    # again: decided by the pace (resolve), kept in the record for a re-judged run
    share_answers: bool = False
    read_only: bool = False  # a deliberate run without writes (--read-only)
    app_name: str | None = None  # the application the key was issued to (--app-name)
    key_from_simulator: bool = False  # the embedded simulator supplied api_key, not the user
    settings: RunSettings = field(default_factory=RunSettings)  # what the user asked, as asked
    _deadline: float | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.profile = profiles.get(self.profile)
        if self.location is None:
            place = SIMULATED.defaults if self.simulator else self.profile.defaults
            self.location, self.address_string = place.location, place.address_string
        if self.read_only and not self.write_policy.read_only:
            # one fact, one place: a read-only target's guard refuses every write
            self.write_policy = dataclasses.replace(self.write_policy, read_only=True)

    @property
    def deadline(self) -> float:
        """The time.monotonic() value after which the run sends nothing more."""
        if self._deadline is None:
            self._deadline = time.monotonic() + self.max_duration
        return self._deadline

    @property
    def host(self) -> str:
        return (urlsplit(self.base_url).hostname or "").lower()

    @property
    def root_url(self) -> str:
        """The folder above the versioned base, where discovery lives (``.../open311/``)."""
        base = self.base_url.rstrip("/")
        return base.rsplit("/", 1)[0] + "/" if "/" in base.split("://", 1)[-1] else base + "/"

    @property
    def kind(self) -> str:
        return EMBEDDED_SIMULATOR if self.simulator else describe_host(self.base_url)

    @property
    def key_source(self) -> KeySource | None:
        if not self.api_key:
            return None
        return KeySource.SIMULATOR if self.key_from_simulator else KeySource.GIVEN

    @property
    def remote(self) -> bool:
        return not (self.simulator or is_loopback(self.host))

    @classmethod
    def resolve(cls, settings: RunSettings, environ: Mapping[str, str], api_key: str | None = None) -> Target:
        """The target the settings name; ``api_key`` is the flag's, else OPEN311_API_KEY's."""
        city = cities.get(settings.city) if settings.city else None
        profile = profiles.get(settings.profile or (city.profile if city else profiles.DEFAULT))
        base_url = settings.base_url or (city.base_url if city else None)
        remote = base_url is not None and not is_loopback(urlsplit(base_url).hostname or "")
        # a remote host is never paced faster than the kit's default, whatever was asked;
        # a loopback target is paced only when asked (a sweep sharing a host asks)
        min_interval = max(settings.min_interval or 0.0, REMOTE_MIN_INTERVAL if remote else 0.0)
        jurisdiction_id = settings.jurisdiction_id or (city.jurisdiction_id if city else None) \
            or profile.defaults.jurisdiction_id
        return cls(
            base_url=(base_url or "").rstrip("/"),
            api_key=api_key or environ.get("OPEN311_API_KEY") or None,
            jurisdiction_id=jurisdiction_id or None,
            profile=profile,
            timeout=settings.timeout,
            poll_timeout=settings.poll_timeout or (profile.defaults.remote_poll_timeout if remote
                                                   else profile.defaults.simulator_poll_timeout),
            write_service_code=settings.write_service_code,
            location=parse_location(settings.location) if settings.location else None,
            write_policy=make_write_policy(settings.allow_writes, settings.allow_writes_to_production,
                                           settings.read_only),
            max_requests=settings.max_requests,
            min_interval=min_interval,
            simulator=base_url is None,
            faults=settings.fault,
            simulator_dialect=settings.simulator_dialect or "chicago",
            max_duration=settings.max_duration,
            seed=settings.seed,
            fuzz_examples=settings.fuzz_examples,
            # where every request costs the pace, a GET the run has an answer to is not sent
            # again for the fuzzing; unpaced (the embedded simulator, a loopback target, the
            # kit's own fault runs) each check sends its own, and the run's requests stay as
            # they were
            share_answers=min_interval > 0,
            read_only=settings.read_only,
            app_name=settings.app_name,
            settings=settings,
        )

    def describe(self) -> dict[str, Any]:
        """What may appear in artifacts: no key, only whether one was given."""
        return {
            "base_url": self.base_url, "kind": self.kind, "profile": self.profile.name,
            "jurisdiction_id": self.jurisdiction_id, "api_key_given": self.key_source is KeySource.GIVEN,
            "timeout_s": self.timeout, "poll_timeout_s": self.poll_timeout, "max_duration_s": self.max_duration,
            "write_service_code": self.write_service_code,
            "location": list(self.location) if self.location is not None else None,
            "faults": list(self.faults), "simulator_dialect": self.simulator_dialect,
            "seed": self.seed, "fuzz_examples": self.fuzz_examples, "max_requests": self.max_requests,
            "read_only": self.read_only, "min_interval_s": self.min_interval,
            # the write guard's decision for this target: what a re-judged run decides again
            "write_refusal": self.write_policy.refusal(self.base_url) if self.base_url else None,
            "ca_bundle": self.settings.ca_bundle,
        }


def describe_host(url: str) -> str:
    """What kind of host serves ``url``: loopback, a known test or production host, or other."""
    host = (urlsplit(url).hostname or "").lower()
    if is_loopback(host):
        return "loopback"
    test, production = cities.known_hosts()
    if host in test:
        return "known test host"
    if host in production:
        return "known PRODUCTION host"
    return "remote host"
