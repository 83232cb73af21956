"""The requirement registry (requirements.yaml) as value objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import yaml

from conformance import profiles
from conformance.outcomes import CheckResult, Level
from conformance.profiles import Profile

LEVELS = ("MUST", "SHOULD", "MAY")
# the pre-approval conditions a requirement may support; each profile shows some of them
CHECKLIST = ("key", "write", "readback", "pending", "formats", "errors")
# an application's conditions (check-app); their titles are in conformance/appcheck/conditions.py
APP_CHECKLIST = ("app-key", "app-write", "app-readback", "app-pending", "app-formats", "app-polite")
# who a requirement is about: the server (run judges it) or the application (check-app does)
SUBJECTS = {"GR2-": "server", "CHI-": "server", "APP-": "application"}
REGISTRY_PATH = Path(__file__).with_name("requirements.yaml")


@dataclass(slots=True, frozen=True)
class Requirement:
    id: str
    level: Level
    source: str
    statement: str
    endpoints: tuple[str, ...]
    formats: tuple[str, ...]
    profiles: tuple[str, ...]  # requirement tags of profiles (Profile.selects asks)
    checklist: str | None = None
    # (requirement tag, level) where a profile's documents make the requirement stronger or
    # weaker than ``level`` says; Profile.level_of asks
    levels: tuple[tuple[str, Level], ...] = ()

    @property
    def subject(self) -> str:
        return next(s for prefix, s in SUBJECTS.items() if self.id.startswith(prefix))

    def level_for(self, tag: str) -> Level:
        """The level under the profile whose requirement tag is ``tag``."""
        return dict(self.levels).get(tag, self.level)

    @property
    def strongest(self) -> Level:
        """The highest level under any profile (a MUST anywhere needs a check and a fault)."""
        return min((self.level, *(level for _tag, level in self.levels)), key=lambda level: level.rank)


class RegistryError(ValueError):
    pass


@cache
def load(path: Path = REGISTRY_PATH) -> dict[str, Requirement]:
    # libyaml's parser when PyYAML has it: the same data, a tenth of the CPU of every run (issue 21)
    raw = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    registry: dict[str, Requirement] = {}
    for entry in raw["requirements"]:
        req = Requirement(
            id=entry["id"],
            level=Level(entry["level"]) if entry["level"] in LEVELS else entry["level"],
            source=entry["source"],
            statement=entry["statement"],
            endpoints=tuple(entry.get("endpoints", ())),
            formats=tuple(entry.get("formats", ())),
            profiles=tuple(entry.get("profiles", sorted(profiles.requirement_tags()))),
            checklist=entry.get("checklist"),
            levels=tuple((tag, Level(level) if level in LEVELS else level)
                         for tag, level in (entry.get("levels") or {}).items()),
        )
        problems = []
        if req.id in registry:
            problems.append("duplicate id")
        known_prefix = req.id.startswith(tuple(SUBJECTS))
        if not known_prefix:
            problems.append(f"id must start with one of {', '.join(SUBJECTS)}")
        if req.level not in LEVELS:
            problems.append(f"level {req.level!r} not one of {LEVELS}")
        if not set(req.profiles) <= profiles.requirement_tags():
            problems.append(f"unknown profile in {req.profiles}")
        for tag, level in req.levels:
            if tag not in req.profiles:
                problems.append(f"levels names {tag!r}, not one of its profiles {req.profiles}")
            if level not in LEVELS:
                problems.append(f"level {level!r} for {tag} not one of {LEVELS}")
        if known_prefix and req.checklist is not None:
            conditions = APP_CHECKLIST if req.subject == "application" else CHECKLIST
            if req.checklist not in conditions:
                problems.append(f"checklist {req.checklist!r} not one of {conditions}")
        if problems:
            raise RegistryError(f"{path}: requirement {req.id}: {'; '.join(problems)}")
        registry[req.id] = req
    return registry


def named_by(results: Iterable[CheckResult], profile: Profile | str) -> dict[str, Requirement]:
    """The requirements ``results`` name, in registry order, each at its level under ``profile``."""
    profile = profiles.get(profile)
    named = {i for r in results for i in r.requirement_ids}
    return {r.id: replace(r, level=profile.level_of(r), levels=()) for r in load().values() if r.id in named}


def for_profile(profile: Profile | str, subject: str = "server") -> list[Requirement]:
    """The requirements a run under ``profile`` judges, each at its level in that profile."""
    profile = profiles.get(profile)
    return [replace(r, level=profile.level_of(r), levels=()) for r in load().values()
            if profile.selects(r) and r.subject == subject]
