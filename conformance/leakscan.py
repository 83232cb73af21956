"""After a run: look for the API key in every artifact, and take it out if it got in.

The transport redacts the key wherever it passes, so a hit here means some path slipped
past it (a reporter, a new artifact): the run reports it as an error rather than hoping.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from conformance.transport import REDACTED, key_forms

MIN_KEY_LENGTH = 6  # shorter "keys" would match ordinary text; they are not scanned for


@dataclass(slots=True, frozen=True)
class Leak:
    path: Path
    count: int


def scan(directory: Path, key: str | None) -> list[Leak]:
    if not key or len(key) < MIN_KEY_LENGTH:
        return []
    forms = [f.encode("utf-8") for f in key_forms(key)]
    leaks = []
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        data = path.read_bytes()
        count = sum(data.count(form) for form in forms)
        if count:
            leaks.append(Leak(path, count))
    return leaks


def scrub(leaks: list[Leak], key: str) -> None:
    forms = sorted((f.encode("utf-8") for f in key_forms(key)), key=len, reverse=True)
    for leak in leaks:
        data = leak.path.read_bytes()
        for form in forms:
            data = data.replace(form, REDACTED.encode())
        leak.path.write_bytes(data)
