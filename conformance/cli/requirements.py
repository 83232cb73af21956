"""``requirements``: the requirement registry, whole or as a profile selects and levels it."""

from __future__ import annotations

import argparse
import json

from conformance import profiles, requirements
from conformance.cli.console import Console
from conformance.errors import ExitCode


def main(args: argparse.Namespace) -> int:
    say = Console().say  # `requirements | head` ends quietly
    chosen = profiles.get(args.profile) if args.profile else None
    rows = [r for r in requirements.load().values() if chosen is None or chosen.selects(r)]

    def level(r: requirements.Requirement) -> str:
        # under a profile: its level; without one: the level, and where a profile differs
        if chosen is not None:
            return chosen.level_of(r)
        return "/".join([r.level, *(f"{tag}:{lv}" for tag, lv in r.levels)])

    if args.json:
        say(json.dumps([{
            "id": r.id, "level": chosen.level_of(r) if chosen else r.level, "source": r.source,
            "statement": r.statement, "endpoints": list(r.endpoints), "formats": list(r.formats),
            "profiles": list(r.profiles), "checklist": r.checklist,
            **({"levels": dict(r.levels)} if r.levels else {}),
        } for r in rows], indent=2))
        return ExitCode.OK
    width = max(len(r.id) for r in rows)
    for r in rows:
        say(f"{r.id:<{width}}  {level(r):<6}  {r.statement}")
        # the source under the statement, in the same column: both are sentences too long to share a line
        say(f"{'':<{width}}  {'':<6}  source: {r.source}")
    musts = sum((chosen.level_of(r) if chosen else r.level) == "MUST" for r in rows)
    say(f"\n{len(rows)} requirements ({musts} MUST)")
    return ExitCode.OK
