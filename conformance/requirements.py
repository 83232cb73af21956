"""The requirement registry (requirements.yaml) as value objects."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from conformance.outcomes import Level

LEVELS = ("MUST", "SHOULD", "MAY")
PROFILES = ("chicago", "georeport-v2")
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
    profiles: tuple[str, ...]
    checklist: str | None = None

    def applies_to(self, profile: str) -> bool:
        return profile in self.profiles


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
            profiles=tuple(entry.get("profiles", PROFILES)),
            checklist=entry.get("checklist"),
        )
        problems = []
        if req.id in registry:
            problems.append("duplicate id")
        if not req.id.startswith(("GR2-", "CHI-")):
            problems.append("id must start with GR2- or CHI-")
        if req.level not in LEVELS:
            problems.append(f"level {req.level!r} not one of {LEVELS}")
        if not set(req.profiles) <= set(PROFILES):
            problems.append(f"unknown profile in {req.profiles}")
        if req.checklist is not None and req.checklist not in CHECKLIST:
            problems.append(f"checklist {req.checklist!r} not one of {CHECKLIST}")
        if problems:
            raise RegistryError(f"{path}: requirement {req.id}: {'; '.join(problems)}")
        registry[req.id] = req
    return registry


def for_profile(profile: str) -> list[Requirement]:
    return [r for r in load().values() if r.applies_to(profile)]
