"""How long writing a run's bundle takes, by artifact, and how much each weighs.

    python benchmarks/report_write.py [--repeat N] [--fault NAME]

Runs the simulator once and keeps its frozen record, then times each writer on that record
N times into fresh directories. Prints the median and the worst of each, and the sizes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.record import RunRecord  # noqa: E402
from conformance.report import har, html, junit, manifest, summary, write_bundle  # noqa: E402
from conformance.run.engine import run_simulator  # noqa: E402


def steps(record: RunRecord) -> dict[str, Callable[[Path], object]]:
    return {
        "evidence.har": lambda d: (d / "evidence.har").write_text(json.dumps(har.har(record.exchanges))),
        "exchanges.html": lambda d: (d / "exchanges.html").write_text(html.exchanges_page(record)),
        "report.html": lambda d: (d / "report.html").write_text(html.report_page(record)),
        "junit.xml": lambda d: (d / "junit.xml").write_bytes(junit.junit(record)),
        "summary.json": lambda d: (d / "summary.json").write_text(json.dumps(summary.build(record, files=[]))),
        "manifest.json": lambda d: manifest.write_manifest(record, d),
        "whole bundle": lambda d: write_bundle(record, d),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fault", action="append", default=[])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        record = run_simulator(tuple(args.fault), report_dir=Path(tmp) / "run").record
        timings: dict[str, list[float]] = {}
        sizes: dict[str, int] = {}
        for i in range(args.repeat):
            for name, step in steps(record).items():
                directory = Path(tmp) / f"{i}-{name}"
                directory.mkdir()
                start = time.perf_counter()
                step(directory)
                timings.setdefault(name, []).append(time.perf_counter() - start)
                if (directory / name).is_file():
                    sizes[name] = (directory / name).stat().st_size
    print(f"{len(record.results)} checks, {len(record.exchanges)} exchanges, verdict {record.verdict}; "
          f"{args.repeat} repeats")
    for name, values in timings.items():
        size = f"{sizes[name] / 1024:9.1f} KiB" if name in sizes else " " * 13
        print(f"  {name:<15} median {statistics.median(values) * 1000:7.1f} ms  worst {max(values) * 1000:7.1f} ms"
              f"  {size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
