"""How a run ends against a target that fails: a hung one (every path stalls) and an
unreachable one (connection refused).

    python benchmarks/failing_target.py [--timeout S ...]

For each --timeout (default 2 and 10) it runs ``open311-conformance run -q`` against a
loopback server that answers nothing and prints the wall time and the cut-short reason; then
it runs against a closed loopback port and prints the wall time and the console lines.
Loopback only; every run is bounded by its own --timeout and --max-duration.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.hostile import hostile_server  # noqa: E402

KEY = "benchmark-key-123456"


def run(base_url: str, *flags: str) -> tuple[float, int, list[str], dict]:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, "-m", "conformance.cli", "run", "-q", "--base-url", base_url,
                   "--report-dir", tmp, "--max-duration", "300", *flags]
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=ROOT,
                              env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "OPEN311_API_KEY": KEY})
        wall = time.perf_counter() - start
        summary = json.loads((Path(tmp) / "summary.json").read_text(encoding="utf-8"))
    return wall, done.returncode, (done.stdout + done.stderr).splitlines(), summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeout", type=float, action="append", help="per-request timeout(s) to try")
    args = parser.parse_args()
    for timeout in args.timeout or [2.0, 10.0]:
        with hostile_server("hang", KEY) as url:
            wall, code, _lines, summary = run(url, "--timeout", f"{timeout:g}")
        print(f"hung target, --timeout {timeout:g}: exit {code} after {wall:.1f} s "
              f"(bound 2 x timeout + 10 = {2 * timeout + 10:g} s): {summary['cut_short']['detail']}")
    wall, code, lines, summary = run("http://127.0.0.1:9/open311/v2")
    print(f"unreachable target: exit {code} after {wall:.1f} s, {len(lines)} console lines: "
          f"{summary['cut_short']['detail']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
