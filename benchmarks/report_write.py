"""How long writing a run's report takes, by artifact.

    python benchmarks/report_write.py [--repeat N] [--fault NAME]

Runs the simulator once, keeps its context, then times each step of
``conformance.report.write_reports`` (and the static HTML pytest-html embeds) N times
into fresh directories. Prints the median and the worst of each, and the sizes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import conformance.report as report_pkg  # noqa: E402
from conformance.report import har, html, manifest, render, summary  # noqa: E402
from conformance.report.checklist import checklist  # noqa: E402
from conformance.report.evidence import catalogue, write_evidence  # noqa: E402
from conformance.runner import run_simulator  # noqa: E402


def _time(step: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--fault", action="append", default=[])
    args = parser.parse_args()
    seen: dict[str, Any] = {}
    original = report_pkg.write_reports

    def capture(result: Any, context: Any) -> None:
        seen["context"] = context
        original(result, context)

    report_pkg.write_reports = capture
    with tempfile.TemporaryDirectory() as tmp:
        run = run_simulator(tuple(args.fault), report_dir=Path(tmp) / "run")
        report_pkg.write_reports = original
        context = seen["context"]
        source = run.report_dir
        print(f"run: {len(run.results)} checks, {run.requests_sent} exchanges, verdict {run.verdict}")

        def fresh() -> Path:
            target = Path(tempfile.mkdtemp(dir=tmp))
            (target / "report.html").write_bytes((source / "report.html").read_bytes())
            (target / "junit.xml").write_bytes((source / "junit.xml").read_bytes())
            return target

        def whole() -> None:
            original(replace(run, report_dir=fresh()), context)

        def static_html() -> None:
            view = html.build_view(context, run.verdict, run.started, run.finished)
            render.verdict_block(view)
            render.results_block(view)

        def har_only() -> None:
            json.dumps(har.har(context.transport.exchanges, context.transport.redact), separators=(",", ":"))

        def summary_only() -> None:
            data = summary.build(run, context, checklist=checklist(run.results),
                                 write=write_evidence(context, run.results), catalogue=catalogue(context),
                                 files=[])
            json.dumps(data, indent=2)

        def manifest_only() -> None:
            manifest.manifest(run, context)

        steps = {"write_reports (all)": whole, "static HTML (hook)": static_html,
                 "evidence.har": har_only, "summary.json": summary_only, "manifest hashes": manifest_only}
        for name, step in steps.items():
            times = _time(step, args.repeat)
            print(f"{name:<22} median {statistics.median(times) * 1000:8.1f} ms   "
                  f"max {max(times) * 1000:8.1f} ms")
        for path in sorted(source.iterdir()):
            print(f"{path.name:<22} {path.stat().st_size / 1024:10.1f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
