"""Wall time of a default run against the embedded simulator, and of its fuzzing part.

    python benchmarks/run_default.py [--repeat N]

The fuzzing part is the sum of the durations of the checks with source "openapi"; the run
without fuzzing is the same run with ``fuzz_examples=0``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conformance.run.engine import embedded, execute  # noqa: E402
from conformance.target import Target  # noqa: E402


def one_run(fuzz_examples: int | None) -> tuple[float, float]:
    target = Target(base_url="", timeout=5.0, poll_timeout=10.0, simulator=True,
                    fuzz_examples=fuzz_examples)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, embedded(target, 0.3) as live:
        result = execute(live, report_dir=Path(tmp), quiet=True, say=lambda _line: None)
    wall = time.perf_counter() - start
    fuzzing = sum(r.duration_s for r in result.results if r.source == "openapi")
    return wall, fuzzing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for name, examples in (("default run", None), ("without fuzzing", 0)):
        walls, fuzz = [], []
        for _ in range(args.repeat):
            wall, part = one_run(examples)
            walls.append(wall)
            fuzz.append(part)
        print(f"{name:<16} wall mean {statistics.mean(walls):6.2f} s  min {min(walls):6.2f} s   "
              f"fuzzing mean {statistics.mean(fuzz):5.2f} s  min {min(fuzz):5.2f} s")


if __name__ == "__main__":
    main()
