"""Wall time of a sweep of loopback targets against the same runs one after another.

    python benchmarks/sweep.py [--repeat N] [--delay S] [--jobs N] [--fuzz-examples N]

Three targets, as in the sweep's integration test: a conformant simulator, one with the
"xml-parity-drift" fault (both started here, with a token delay of ``--delay`` seconds, which
stands in for a real target's latency) and an unreachable URL. Measured: ``run`` processes one
after another (the shell loop a sweep replaces), ``sweep --jobs 1`` and ``sweep --jobs N``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from conformance.simulator import server  # noqa: E402


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "conformance.cli", *argv], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--delay", type=float, default=6.0, help="token delay of the simulators (default 6 s)")
    parser.add_argument("--jobs", type=int, default=3)
    parser.add_argument("--fuzz-examples", type=int, default=0)
    args = parser.parse_args()
    flags = ["--fuzz-examples", str(args.fuzz_examples), "--poll-timeout", "10", "--timeout", "3"]
    with tempfile.TemporaryDirectory() as tmp, server.start(delay=args.delay) as clean, \
            server.start(delay=args.delay, faults=["xml-parity-drift"]) as faulty:
        where = Path(tmp)
        file = where / "targets.yaml"
        file.write_text(f"""targets:
  - name: conformant
    base_url: {clean.base_url}
    api_key_env: BENCH_CLEAN_KEY
  - name: faulty
    base_url: {faulty.base_url}
    api_key_env: BENCH_FAULTY_KEY
  - name: unreachable
    base_url: http://127.0.0.1:9/open311/v2
""", encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_")}
        env |= {"PYTHONPATH": str(ROOT), "BENCH_CLEAN_KEY": clean.api_key, "BENCH_FAULTY_KEY": faulty.api_key}
        runs = [(clean.base_url, clean.api_key), (faulty.base_url, faulty.api_key),
                ("http://127.0.0.1:9/open311/v2", "")]
        walls: dict[str, list[float]] = {"run, one after another": [], "sweep --jobs 1": [],
                                         f"sweep --jobs {args.jobs}": []}
        for n in range(args.repeat):
            start = time.perf_counter()
            for i, (url, key) in enumerate(runs):
                timed(["run", "-q", "--base-url", url, "--report-dir", str(where / f"loop-{n}-{i}"), *flags],
                      env | ({"OPEN311_API_KEY": key} if key else {}))
            walls["run, one after another"].append(time.perf_counter() - start)
            for jobs in (1, args.jobs):
                wall, code = timed(["sweep", str(file), "--jobs", str(jobs), "--report-dir",
                                    str(where / f"sweep-{n}-{jobs}"), *flags], env)
                assert code == 1, f"the sweep should fail (the faulty target), exit {code}"
                walls[f"sweep --jobs {jobs}"].append(wall)
    print(f"3 targets (token delay {args.delay} s, --fuzz-examples {args.fuzz_examples}), {args.repeat} times, "
          f"{os.cpu_count()} CPUs")
    for name, values in walls.items():
        print(f"{name:<24} wall mean {statistics.mean(values):6.2f} s  min {min(values):6.2f} s")


if __name__ == "__main__":
    main()
