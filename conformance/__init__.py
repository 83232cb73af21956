"""open311-conformance: conformance and contract tests for Chicago's Open311 (GeoReport v2)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("open311-conformance")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
