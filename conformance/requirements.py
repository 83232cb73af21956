"""The requirement registry (requirements.yaml) as value objects."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from conformance import profiles
from conformance.outcomes import Level
from conformance.profiles import Profile

LEVELS = ("MUST", "SHOULD", "MAY")
# the pre-approval conditions a requirement may support; each profile shows some of them
CHECKLIST = ("key", "write", "readback", "pending", "formats", "errors")
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


class RegistryError(ValueError):
    pass


@cache
def load(path: Path = REGISTRY_PATH) -> dict[str, Requirement]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
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
        )
        problems = []
        if req.id in registry:
            problems.append("duplicate id")
        if not req.id.startswith(("GR2-", "CHI-")):
            problems.append("id must start with GR2- or CHI-")
        if req.level not in LEVELS:
            problems.append(f"level {req.level!r} not one of {LEVELS}")
        if not set(req.profiles) <= profiles.requirement_tags():
            problems.append(f"unknown profile in {req.profiles}")
        if req.checklist is not None and req.checklist not in CHECKLIST:
            problems.append(f"checklist {req.checklist!r} not one of {CHECKLIST}")
        if problems:
            raise RegistryError(f"{path}: requirement {req.id}: {'; '.join(problems)}")
        registry[req.id] = req
    return registry


def for_profile(profile: Profile | str) -> list[Requirement]:
    profile = profiles.get(profile)
    return [r for r in load().values() if profile.selects(r)]
