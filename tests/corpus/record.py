"""Record the corpus of bundles that tests/test_rejudge.py re-judges: `python3 tests/corpus/record.py`.

Each bundle is a whole run against the embedded simulator (one per dialect and profile, a failing
run, a run cut short), kept as <name>.tar.gz. Recording them again is deliberate: it accepts every
outcome the current kit gives, so do it when a change of judgement is meant, and say so in the commit.
"""

from __future__ import annotations

import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # the checkout's kit, whatever is installed

from conformance.run.engine import run_simulator  # noqa: E402 (after the path above)

# name -> the run's settings; one fuzzing example per operation keeps each bundle small
CORPUS: dict[str, dict[str, object]] = {
    "chicago": {},
    "georeport": {"profile": "georeport-v2", "simulator_dialect": "georeport"},
    "spec-examples": {"profile": "georeport-v2", "simulator_dialect": "spec-examples"},
    "lenient": {"simulator_dialect": "lenient"},
    "lenient-georeport": {"profile": "georeport-v2", "simulator_dialect": "lenient-georeport"},
    "failing": {"faults": ("odd-parameter-500",)},
    "cut-short": {"max_requests": 60},
}


def record(name: str, settings: dict[str, object], into: Path) -> Path:
    settings = dict(settings)
    faults = tuple(settings.pop("faults", ()))  # type: ignore[arg-type]
    with tempfile.TemporaryDirectory() as scratch:
        bundle = Path(scratch) / name
        result = run_simulator(faults, report_dir=bundle, fuzz_examples=1, **settings)  # type: ignore[arg-type]
        archive = into / f"{name}.tar.gz"
        with tarfile.open(archive, "w:gz") as tar:
            for path in sorted(bundle.iterdir()):
                tar.add(path, arcname=f"{name}/{path.name}")
    print(f"{name}: verdict {result.verdict}, {len(result.results)} checks, {result.requests_sent} requests -> "
          f"{archive.relative_to(HERE.parent.parent)}")
    return archive


def main(names: list[str]) -> int:
    for name in names or list(CORPUS):
        if name not in CORPUS:
            print(f"unknown corpus bundle {name!r}: one of {', '.join(CORPUS)}", file=sys.stderr)
            return 2
        record(name, CORPUS[name], HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
