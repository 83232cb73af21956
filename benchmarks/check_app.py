"""Wall time of grading the reference application with check-app, requests recorded, bundle size.

    python benchmarks/check_app.py [--repeat N] [--formats json,xml] [--simulator-delay S]

Runs ``open311-conformance check-app -- <python> tests/apps/reference_app.py`` as a user would
(a subprocess, into a fresh report directory) and prints the median and worst wall time, the
requests recorded and the bundle's size. The default token delay is check-app's own (5 s).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "apps" / "reference_app.py"


def one(formats: str, delay: str) -> tuple[float, int, int, str]:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "bundle"
        command = [sys.executable, "-m", "conformance.cli", "check-app", "--report-dir", str(report),
                   "--formats", formats, "--simulator-delay", delay, "--wait", "120",
                   "--", sys.executable, str(APP), "--formats", formats]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT)
        wall = time.perf_counter() - start
        summary = json.loads((report / "summary.json").read_text())
        size = sum(p.stat().st_size for p in report.rglob("*") if p.is_file())
        if done.returncode != 0:
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
        return wall, summary["requests_sent"], size, summary["verdict"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="json,xml")
    parser.add_argument("--simulator-delay", default="5")
    args = parser.parse_args()
    runs = [one(args.formats, args.simulator_delay) for _ in range(args.repeat)]
    walls = [r[0] for r in runs]
    print(f"check-app -- reference app (formats {args.formats}, token delay {args.simulator_delay} s), "
          f"{args.repeat} run(s)")
    print(f"  wall time: median {statistics.median(walls):.2f} s, worst {max(walls):.2f} s")
    print(f"  requests recorded: {sorted({r[1] for r in runs})}")
    print(f"  bundle size: {max(r[2] for r in runs)} bytes (every file of the report directory)")
    print(f"  verdicts: {sorted({r[3] for r in runs})}")
    return 0 if all(r[3] == "pass" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
