"""``run --config FILE``: the settings of a run kept in a TOML file, e.g. beside a CI workflow.

Flags win over the environment, the environment over the file, the file over the defaults.
The API key has no place in a file that may be committed: it comes from ``--api-key`` or
``OPEN311_API_KEY`` only.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from conformance.errors import UsageError

# key -> the type it must have (TOML gives ints for whole numbers; floats accept them)
KEYS: dict[str, tuple[type, ...]] = {
    "base_url": (str,), "city": (str,), "jurisdiction_id": (str,), "profile": (str,), "timeout": (int, float),
    "poll_timeout": (int, float), "write_service_code": (str,), "location": (str,),
    "max_requests": (int,), "max_duration": (int, float), "seed": (int,), "fuzz_examples": (int,),
    "allow_writes": (bool,), "allow_writes_to_production": (bool,), "report_dir": (str,),
    "read_only": (bool,), "app_name": (str,), "min_interval": (int, float),
}
ENVIRONMENT = {"base_url": "OPEN311_BASE_URL"}
_NAMES = {str: "a string", int: "a number", bool: "true or false"}


def load(path: str) -> dict[str, Any]:
    """The ``[run]`` table of the file (or its top level), checked key by key."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--config {path}: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"--config {path}: not valid TOML ({exc})") from None
    table = raw.get("run", raw)
    if not isinstance(table, dict):
        raise UsageError(f"--config {path}: [run] must be a table")
    if "api_key" in table:
        raise UsageError(f"--config {path}: api_key does not belong in a file; "
                         "use OPEN311_API_KEY or --api-key")
    for key, value in table.items():
        if key not in KEYS:
            raise UsageError(f"--config {path}: unknown setting {key!r} (known: {', '.join(sorted(KEYS))})")
        # bool is an int in Python: a flag written as 1 must not pass for true, nor true for 1
        if not isinstance(value, KEYS[key]) or (isinstance(value, bool) and bool not in KEYS[key]):
            raise UsageError(f"--config {path}: {key} = {value!r} is not {_NAMES[KEYS[key][0]]}")
    return dict(table)


def apply(args: Any, environ: dict[str, str] | Any) -> Any:
    """Fill the settings the command line left open from ``args.config``, in place."""
    if not getattr(args, "config", None):
        return args
    for key, value in load(args.config).items():
        if key in ENVIRONMENT and environ.get(ENVIRONMENT[key]):
            continue
        current = getattr(args, key, None)
        if current is None or current is False:
            setattr(args, key, float(value) if KEYS[key] == (int, float) else value)
    return args
