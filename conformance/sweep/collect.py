"""``open311-conformance sweep collect BUNDLE... --report-dir DIR``: a sweep from bundles made elsewhere.

The collect job of a CI matrix: each matrix job ran ``sweep TARGETS.yaml --only NAME`` and
uploaded its folder; this job downloads them and builds one ``sweep.json`` and ``index.html``.
Each argument is either a run's bundle (its folder's name is the target's name) or a sweep
folder (its targets, with their names, their rows' facts and their console logs; a target
whose run left no bundle keeps its row). Every bundle is copied into ``DIR/<name>/`` so the
folder can be published whole, and verified against its manifest: one that does not verify
is marked and its row is inconclusive.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.errors import UsageError
from conformance.report import MANIFEST, SUMMARY
from conformance.sweep import rows
from conformance.sweep.rows import Sweep, TargetRow
from conformance.sweep.targets import NAME
from conformance.timestamps import iso_utc


def collect(sources: list[Path], directory: Path) -> Sweep:
    started = iso_utc()
    gathered: dict[str, TargetRow] = {}
    for row in _rows(sources, directory):
        if row.name in gathered:
            raise UsageError(f"target {row.name!r} is in more than one of the bundles given")
        gathered[row.name] = row
    return Sweep(list(gathered.values()), started, iso_utc(), "collect")


def _rows(sources: list[Path], directory: Path) -> Iterator[TargetRow]:
    for source in sources:
        if rows.is_sweep(source):
            yield from _from_sweep(source, directory)
        elif (source / SUMMARY).is_file() or (source / MANIFEST).is_file():
            name = source.resolve().name
            if not NAME.match(name):
                raise UsageError(f"{source}: the bundle's folder name {name!r} is not a target name "
                                 "(letters, digits and dashes): rename the folder to the target's name")
            yield rows.from_bundle(name, _place(source, directory / name), directory)
        elif not source.is_dir():
            raise UsageError(f"{source}: no such directory")
        else:
            raise UsageError(f"{source}: neither a run's bundle (summary.json, manifest.json) nor a sweep "
                             "folder (sweep.json)")


def _from_sweep(source: Path, directory: Path) -> Iterator[TargetRow]:
    for row in rows.load(source).rows:
        log = _place_file(source, row.console_log, directory)
        facts: dict[str, Any] = {"exit_code": row.exit_code, "notes": row.notes, "console_log": log}
        bundle = source / row.report_dir if row.report_dir else None
        if bundle is None or not (bundle / SUMMARY).is_file():
            yield row.but(report_dir=None, verified=None, console_log=log)
            continue
        fresh = rows.from_bundle(row.name, _place(bundle, directory / row.name), directory)
        # what only the sweep that ran it knew (a hang, a crash after the bundle) stays said
        known = row.problem and row.problem not in (fresh.problem or "")
        yield fresh.but(row.problem if known else None, **facts)


def _place(bundle: Path, destination: Path) -> Path:
    """The bundle inside the sweep folder: copied there unless it already is there."""
    if bundle.resolve() == destination.resolve():
        return destination
    if destination.exists():
        raise UsageError(f"{destination} already exists: choose an empty --report-dir")
    shutil.copytree(bundle, destination)
    return destination


def _place_file(source: Path, relative: str | None, directory: Path) -> str | None:
    if not relative or Path(relative).is_absolute() or ".." in Path(relative).parts:
        return None
    origin, destination = source / relative, directory / relative
    if not origin.is_file():
        return None
    if origin.resolve() != destination.resolve():
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, destination)
    return relative
