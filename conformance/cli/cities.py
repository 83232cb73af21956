"""``cities``: the city presets of ``run --city``."""

from __future__ import annotations

import argparse
import json

from conformance import cities
from conformance.errors import ExitCode


def main(args: argparse.Namespace) -> int:
    presets = cities.all()
    if args.json:
        print(json.dumps([c.as_dict() for c in presets], indent=2, ensure_ascii=False))
        return ExitCode.OK
    width = max(len(c.name) for c in presets)
    for city in presets:
        print(f"{city.name:<{width}}  {city.title}  [{city.profile.name}]")
        print(f"{'':<{width}}  test:        {city.test_url or '-'}")
        print(f"{'':<{width}}  production:  {city.production_url}")
        if city.jurisdiction_id:
            print(f"{'':<{width}}  jurisdiction_id: {city.jurisdiction_id}")
        for note in city.notes:
            print(f"{'':<{width}}  note: {note}")
    print(f"\n{len(presets)} cities; `run --city NAME` tests the test URL where one is published, "
          "else the production URL (writes there need --allow-writes --allow-writes-to-production)")
    return ExitCode.OK
