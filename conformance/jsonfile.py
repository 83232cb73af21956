"""Reading a JSON file a user pointed the kit at (a bundle's summary or manifest, a sweep):
a file that is not JSON is a usage error with a one-line reason, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance.errors import UsageError


def read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not valid JSON (not UTF-8 text)") from None
