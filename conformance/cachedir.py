"""Where the kit keeps what it derives the same every time, in the user's cache directory.

Only what is a pure function of its inputs and checked against them when read goes here
(Hypothesis' Unicode tables and source constants by their hash, Jinja2's compiled templates by
their source's checksum): never evidence, never a verdict. Deriving them anew costs every run
CPU for nothing (issue 21); losing them costs one run that CPU once.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "open311-conformance"


def cache_home() -> Path:
    """``$XDG_CACHE_HOME/open311-conformance``, else ``~/.cache/open311-conformance``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / APP


def kept(name: str) -> Path | None:
    """The cache's directory ``name``, made when missing; None when it cannot be made (a
    read-only home, a file in the way): the caller derives anew, a run never fails for it."""
    directory = cache_home() / name
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return directory
