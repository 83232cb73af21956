"""``compare OLD NEW``: what changed between two runs (or two sweeps)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from conformance.errors import UsageError
from conformance.report import compare as runs
from conformance.report.bundle import load_summary
from conformance.sweep import compare as sweeps
from conformance.sweep import rows


def main(args: argparse.Namespace) -> int:
    old_path, new_path = Path(args.old), Path(args.new)
    if rows.is_sweep(old_path) or rows.is_sweep(new_path):
        if not (rows.is_sweep(old_path) and rows.is_sweep(new_path)):
            raise UsageError("compare takes two report directories or two sweep folders (with sweep.json), "
                             "not one of each")
        result = sweeps.compare_sweeps(old_path, new_path)
        lines = sweeps.render(result)
    else:
        comparison = runs.compare(load_summary(old_path), load_summary(new_path))
        comparison.notes = [n for n in (runs.manifest_note(old_path), runs.manifest_note(new_path)) if n]
        result = comparison
        lines = runs.render(comparison, str(old_path), str(new_path))
    for line in lines:
        print(line)
    sys.stdout.flush()
    return result.exit_code
