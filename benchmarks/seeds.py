"""Verdicts of the default run over many fuzzing seeds: how often a conformant server fails.

    python benchmarks/seeds.py --dialect lenient [--profile chicago] [--seeds 311,1-19]
    python benchmarks/seeds.py --base-url http://127.0.0.1:8311/open311/v2 --api-key KEY \\
        --profile chicago [--kit /path/to/another/checkout]

Runs ``python3 -m conformance.cli run -q --seed N --report-dir ...`` once per seed, against
the embedded simulator in ``--dialect`` or against ``--base-url`` (e.g. a ``serve --dialect``
of a newer kit, so an older kit, ``--kit``, can be measured against it), and prints per seed
the verdict and the ids of the failed checks, then the totals. The default seeds are 311 (the
kit's own) and 1..19. Exit status 0 when every run passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SEEDS = "311,1-19"
FAILED = ("failed", "error")


def seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        out += list(range(int(low), int(high) + 1)) if dash else [int(low)]
    return out


def one(args: argparse.Namespace, seed: int) -> tuple[str, list[str], float]:
    """The verdict and the failed checks' ids of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "run"
        command = [sys.executable, "-m", "conformance.cli", "run", "-q", "--seed", str(seed),
                   "--report-dir", str(report)]
        if args.profile:
            command += ["--profile", args.profile]
        if args.base_url:
            command += ["--base-url", args.base_url]
            if args.api_key:
                command += ["--api-key", args.api_key]
        else:
            command += ["--simulator-dialect", args.dialect,
                        "--simulator-delay", str(args.simulator_delay)]
        kit = Path(args.kit).resolve()
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=kit, timeout=900,
                              env={**os.environ, "PYTHONPATH": str(kit)})
        wall = time.perf_counter() - started
        summary_file = report / "summary.json"
        if not summary_file.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            return f"no report (exit {done.returncode}: {' / '.join(tail)})", [], wall
        summary = json.loads(summary_file.read_text())
        failed = [c for c in summary.get("checks", []) if c.get("outcome") in FAILED]
        if failed and args.keep:
            shutil.copytree(report, Path(args.keep) / f"seed-{seed}", dirs_exist_ok=True)
        return str(summary.get("verdict")), [_why(c) for c in failed], wall


def _why(check: dict) -> str:
    """The check's id and the first lines of its message, so a failure can be told apart."""
    lines = [line.strip() for line in str(check.get("message", "")).splitlines() if line.strip()]
    return f"{check.get('id', '?')}\n      " + "\n      ".join(line[:300] for line in lines[:3])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dialect", default="chicago", help="simulator dialect (default chicago)")
    parser.add_argument("--profile", help="requirements profile (default: the kit's)")
    parser.add_argument("--base-url", help="a running server instead of the embedded simulator")
    parser.add_argument("--api-key", help="its test key (with --base-url)")
    parser.add_argument("--seeds", default=DEFAULT_SEEDS, help=f"e.g. 1-5,311 (default {DEFAULT_SEEDS})")
    parser.add_argument("--simulator-delay", type=float, default=0.3, help="token delay (default 0.3 s)")
    parser.add_argument("--kit", default=str(ROOT), help="the checkout whose kit runs (default this one)")
    parser.add_argument("--keep", metavar="DIR", help="copy the report of every failing run to DIR/seed-N")
    args = parser.parse_args(argv)
    target = args.base_url or f"simulator --dialect {args.dialect}"
    print(f"target: {target}; profile: {args.profile or 'default'}; kit: {args.kit}")
    runs_failing = failed_checks = 0
    total = 0.0
    chosen = seeds(args.seeds)
    for seed in chosen:
        verdict, failed, wall = one(args, seed)
        total += wall
        runs_failing += verdict != "pass"
        failed_checks += len(failed)
        print(f"seed {seed:>4}: {verdict:<12} {wall:5.1f} s  {len(failed)} failed", flush=True)
        for why in failed:
            print(f"    {why}", flush=True)
    print(f"total: {runs_failing} of {len(chosen)} runs not passing, {failed_checks} failed checks, "
          f"{total:.0f} s")
    return 0 if runs_failing == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
