"""manifest.json, written last: the sha256 of every other file of the report directory.

``open311-conformance verify DIR`` recomputes them and names what changed, what is
missing and what was added. The manifest proves a bundle is the one the kit wrote, as far
as a hash list can: whoever can edit the files can rewrite the manifest too, so a
reviewer who needs more keeps the manifest's own hash (CI logs it) or signs it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from conformance import jsonfile
from conformance.errors import UsageError
from conformance.record import RunRecord

MANIFEST = "manifest.json"
MANIFEST_VERSION = 1


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def bundle_files(directory: Path) -> list[str]:
    """Every regular file below ``directory`` but the manifest, as sorted posix paths."""
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*")
                  if p.is_file() and p.relative_to(directory).as_posix() != MANIFEST)


def manifest(record: RunRecord, directory: Path) -> dict[str, Any]:
    return {
        "manifest_version": MANIFEST_VERSION,
        "run_id": record.run_id,
        "subject": str(record.subject),
        "kit_version": record.kit_version,
        "verdict": str(record.verdict),
        "pre_approval_complete": record.pre_approval.complete,
        "target": dict(record.target),
        "app_name": record.app_name,
        "api_key_fingerprint": record.key_fingerprint,
        "started": record.started,
        "finished": record.finished,
        "contract": dict(record.contract),
        "files": {name: {"sha256": sha256_file(directory / name), "size": (directory / name).stat().st_size}
                  for name in bundle_files(directory)},
    }


def write_manifest(record: RunRecord, directory: Path) -> Path:
    """Hash the directory as it is now: call it after the last change to any artifact."""
    data = manifest(record, directory)
    path = directory / MANIFEST
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


# --- verify ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Verification:
    directory: Path
    run_id: str
    matched: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # a file manager's files: named, never a failure

    @property
    def ok(self) -> bool:
        return not (self.changed or self.missing or self.unexpected)


def load_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a report directory; UsageError with a one-line reason when there is none."""
    if not directory.exists():
        raise UsageError(f"{directory}: no such directory")
    if not directory.is_dir():
        raise UsageError(f"{directory}: not a directory")
    path = directory / MANIFEST
    if not path.is_file():
        raise UsageError(f"{directory}: not a report bundle (no {MANIFEST})")
    data = jsonfile.read(path)
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("sha256"), str) for v in files.values()):
        raise UsageError(f"{path}: not a conformance manifest (no files with sha256)")
    for name in files:
        pure = PurePosixPath(name)
        if pure.is_absolute() or ".." in pure.parts or not pure.parts or name == MANIFEST:
            raise UsageError(f"{path}: names a file outside the bundle: {name!r}")
    return data


def verify(directory: Path) -> Verification:
    data = load_manifest(directory)
    check = Verification(directory, str(data.get("run_id", "?")))
    recorded: dict[str, dict[str, Any]] = data["files"]
    present = set(bundle_files(directory))
    for name in sorted(recorded):
        path = directory / name
        if name not in present:
            check.missing.append(name)
        elif sha256_file(path) != recorded[name]["sha256"]:
            check.changed.append(name)
        else:
            check.matched.append(name)
    for name in sorted(present - set(recorded)):
        (check.ignored if file_manager_made(name) else check.unexpected).append(name)
    return check


# what a file manager leaves in a folder it merely opened (macOS Finder, Windows Explorer);
# the kit writes none of these, so they cannot hide a change to the evidence
FILE_MANAGER_NAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def file_manager_made(name: str) -> bool:
    """Whether a bundle's file (a posix path) is one a file manager creates by itself."""
    base = PurePosixPath(name).name
    # ._name: macOS's AppleDouble file of another file's metadata, on a disk that has no room for it
    return base in FILE_MANAGER_NAMES or base.startswith("._")
