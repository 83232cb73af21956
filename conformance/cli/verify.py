"""``verify DIR``: check a report directory against its manifest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.errors import ExitCode
from conformance.report.manifest import MANIFEST, sha256_file, verify


def main(args: argparse.Namespace) -> int:
    check = verify(Path(args.directory))
    for name in check.ignored:
        print(f"ignored: {name} (a file manager's, not the kit's)")
    if check.ok:
        path = check.directory / MANIFEST
        print(f"ok: {len(check.matched)} files of run {check.run_id} match {path} (sha256 {sha256_file(path)})")
        return ExitCode.OK
    for kind in ("changed", "missing", "unexpected"):
        for name in getattr(check, kind):
            print(f"{kind}: {name}")
    print(f"NOT VERIFIED: {check.directory} differs from its manifest "
          f"({len(check.changed)} changed, {len(check.missing)} missing, {len(check.unexpected)} unexpected)",
          file=sys.stderr)
    return ExitCode.FAIL
