"""``check-app``: grade an application against the City-like simulator (or a proxy)."""

from __future__ import annotations

import argparse
from pathlib import Path

from conformance.appcheck.session import AppCheckSettings, check_app
from conformance.cli.console import Console
from conformance.settings import NETWORK, RunSettings


def main(args: argparse.Namespace) -> int:
    settings = AppCheckSettings.build(
        formats=args.formats, app_command=args.app_command, app_name=args.app_name, wait=args.wait,
        simulator_delay=args.simulator_delay, port=args.port, host=args.host,
        report_dir=Path(args.report_dir) if args.report_dir else None, proxy=args.proxy,
        app_output=tuple(Path(p) for p in args.app_output), read_only=args.read_only,
        app_tz=args.app_tz, token_wait=args.token_wait, quick=args.quick,
        network=RunSettings.from_mapping({name: getattr(args, name) for name in NETWORK if hasattr(args, name)}))
    return check_app(settings, Console().say).exit_code
