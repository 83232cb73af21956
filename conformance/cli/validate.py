"""``validate FILE --resource R [--profile P]``: judge a recorded answer offline."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance import profiles
from conformance.validation import validate_file


def main(args: argparse.Namespace) -> int:
    return validate_file(Path(args.file), args.resource, profiles.get(args.profile))
