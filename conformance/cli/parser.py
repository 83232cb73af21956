"""The command line's words: every sub-command, its flags and its help.

Kept apart from the commands so ``--help`` imports nothing heavy: a handler module is
imported only when its command runs.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable
from typing import Any

from conformance import profiles, settings
from conformance.contract import RESOURCES
from conformance.settings import RunSettings

MAX_JOBS = 64


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="open311-conformance",
        description="Conformance and contract tests for Chicago's Open311 (GeoReport v2).",
    )
    parser.add_argument("--version", action="store_true", help="print the kit version")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="test an Open311 endpoint (default: the embedded simulator)")
    _add_run_arguments(run)
    run.set_defaults(handler=_lazy("conformance.cli.run", "main"))

    check_app = sub.add_parser(
        "check-app", help="grade an Open311 application against the City-like simulator",
        usage="%(prog)s [options] [-- COMMAND [ARGS...]]")
    _add_check_app_arguments(check_app)
    check_app.set_defaults(handler=_lazy("conformance.cli.check_app", "main"))

    serve = sub.add_parser("serve", help="run the embedded Chicago test environment")
    serve.add_argument("--host", default="127.0.0.1", metavar="HOST", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8311, metavar="PORT", help="port (default 8311; 0 = any)")
    serve.add_argument("--delay", type=float, default=5.0, metavar="S",
                       help="seconds before a new request gets its id (default 5)")
    serve.add_argument("--latency", type=float, default=0.0, metavar="S",
                       help="seconds added to every answer, as a remote City's round trip (default 0)")
    serve.add_argument("--fault", action="append", default=[], metavar="NAME",
                       help="switch on a named fault (repeatable); see --list-faults")
    serve.add_argument("--db", metavar="FILE", help="keep the simulated city in this SQLite file")
    serve.add_argument("--list-faults", action="store_true",
                       help="list the fault catalogue (each fault with the requirement it breaks) and exit")
    serve.add_argument("--seed", type=int, default=311, metavar="N", help="seed of the simulated history (default 311)")
    serve.add_argument("--dialect", default="chicago", choices=_dialects(), metavar="DIALECT",
                       help="how it speaks GeoReport v2: chicago (default), georeport (the "
                            "specification, strictly), spec-examples (as its examples: numeric ids), "
                            "lenient or lenient-georeport (every open choice taken permissively)")
    serve.set_defaults(handler=_lazy("conformance.cli.serve", "main"))

    validate = sub.add_parser("validate", help="validate a recorded answer offline")
    validate.add_argument("file", metavar="FILE", help="a recorded answer: a .json or .xml file")
    validate.add_argument("--resource", required=True, choices=RESOURCES, metavar="RESOURCE",
                          help="what the answer is: " + ", ".join(RESOURCES))
    validate.add_argument("--profile", default=profiles.DEFAULT_NAME, choices=profiles.names(), metavar="PROFILE",
                          help=f"whose schemas judge it: {_or(profiles.names())} (default {profiles.DEFAULT_NAME})")
    validate.set_defaults(handler=_lazy("conformance.cli.validate", "main"))

    reqs = sub.add_parser("requirements", help="list the requirement registry")
    reqs.add_argument("--profile", choices=profiles.names(), metavar="PROFILE",
                      help="only those of this profile, at its levels: " + _or(profiles.names()))
    reqs.add_argument("--json", action="store_true", help="machine-readable output")
    reqs.set_defaults(handler=_lazy("conformance.cli.requirements", "main"))

    cities = sub.add_parser("cities", help="list the city presets of `run --city`")
    cities.add_argument("--json", action="store_true", help="machine-readable output")
    cities.set_defaults(handler=_lazy("conformance.cli.cities", "main"))

    compare = sub.add_parser("compare", help="compare two report directories (or two sweep folders)")
    compare.add_argument("old", metavar="OLD", help="the accepted run: a report directory, its summary.json, "
                         "or a sweep folder")
    compare.add_argument("new", metavar="NEW", help="the run to compare with it (the same kind as OLD)")
    compare.set_defaults(handler=_lazy("conformance.cli.compare", "main"))

    sweep = sub.add_parser("sweep", help="run many targets side by side (TARGETS.yaml); "
                           "`sweep collect` builds a sweep from bundles made elsewhere",
                           epilog="sweep collect BUNDLE... [--report-dir DIR]: see `sweep collect --help`")
    add_sweep_arguments(sweep)
    sweep.set_defaults(handler=_lazy("conformance.cli.sweep", "main"))

    verify = sub.add_parser("verify", help="check a report directory against its manifest")
    verify.add_argument("directory", metavar="DIR", help="a report directory (a run's bundle) with its "
                        "manifest.json")
    verify.set_defaults(handler=_lazy("conformance.cli.verify", "main"))

    rejudge = sub.add_parser("rejudge", help="judge a run's bundle again with this kit, from its recorded "
                             "exchanges alone (no server, no network beyond loopback)")
    rejudge.add_argument("bundle", metavar="BUNDLE", help="a run's report directory (summary.json, evidence.har, "
                         "manifest.json)")
    rejudge.add_argument("--report-dir", metavar="DIR", help="where the re-judged bundle goes "
                         "(default reports/<run-id>)")
    rejudge.add_argument("--no-verify", action="store_true", help="re-judge a bundle whose manifest does not "
                         "verify (the new report says so)")
    rejudge.set_defaults(handler=_lazy("conformance.cli.rejudge", "main"))
    return parser


def _add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument("--api-key", metavar="KEY", help="test API key (env OPEN311_API_KEY; never from a file)")
    run.add_argument("--config", metavar="FILE", help="TOML file with run settings (flags win over it)")
    run.add_argument("--plan", action="store_true", help="print the requests a run would send, and send nothing")
    run.add_argument("--list-faults", action="store_true", help="list the embedded simulator's fault catalogue "
                     "(each fault with the requirement it breaks: what --fault takes) and exit")
    amount = run.add_mutually_exclusive_group()
    amount.add_argument("-q", "--quiet", action="store_true",
                        help="print only the checklist, failed checks, pre-approval and verdict")
    amount.add_argument("-v", "--verbose", action="store_true",
                        help="also print a line for every check as it is decided")
    add_settings(run.add_argument_group("run settings (also keys of --config and of TARGETS.yaml entries)"))


def add_settings(group: argparse._ActionsContainer, *, sweep: bool = False,
                 only: tuple[str, ...] | None = None) -> None:
    """A flag per run setting (only those a sweep passes on, with ``sweep``; only those named,
    with ``only``); a flag not given is absent from the namespace, so the settings' own
    defaults and precedence hold."""
    choices = {"profile": profiles.names, "simulator_dialect": _dialects}
    for name, setting in RunSettings.fields().items():
        if (sweep and not setting.sweep) or (only is not None and name not in only):
            continue
        options: dict[str, Any] = {"help": setting.help, "default": argparse.SUPPRESS}
        if setting.kind is bool:
            options["action"] = "store_true"
        else:
            options["action"] = "append" if setting.kind is tuple else "store"
            options["type"] = str if setting.kind is tuple else setting.kind
            options["metavar"] = setting.metavar
        if name in choices:
            options["choices"] = choices[name]()
        group.add_argument("--" + name.replace("_", "-"), **options)


def _dialects() -> tuple[str, ...]:
    from conformance.simulator.dialect import DIALECTS  # start-up time: --help imports no simulator

    return tuple(DIALECTS)


def _add_check_app_arguments(check: argparse.ArgumentParser) -> None:
    check.add_argument("--app-name", default="open311 application", metavar="NAME",
                       help="the application's name (the one you will ask the City's key for)")
    check.add_argument("--formats", default="json", metavar="FORMATS",
                       help="formats the application claims: json, xml or json,xml (default json)")
    check.add_argument("--wait", type=float, default=300.0, metavar="S",
                       help="seconds to wait for the application (default 300); then it is stopped")
    check.add_argument("--simulator-delay", type=float, default=5.0, metavar="S",
                       help="seconds before a written request gets its id (default 5)")
    check.add_argument("--token-wait", type=float, default=None, metavar="S",
                       help="seconds the first written request waits for its id (default 30): the application's "
                            "patience (APP-TOKEN-PATIENCE)")
    check.add_argument("--quick", action="store_true",
                       help="every id after --simulator-delay (5 s): faster, and patience is not tested")
    check.add_argument("--port", type=int, default=0, metavar="PORT",
                       help="port to serve the application on (default: any free)")
    check.add_argument("--host", default="127.0.0.1", metavar="HOST",
                       help="address to serve the application on (default 127.0.0.1, this machine only); another "
                            "address, e.g. this machine's on the local network, lets a phone reach the simulator, "
                            "its fresh test key and the live page, and so does anyone else on that network")
    check.add_argument("--report-dir", metavar="DIR", help="where to write the bundle (default reports/<run-id>)")
    check.add_argument("--proxy", metavar="URL",
                       help="forward to this server (its test key in OPEN311_API_KEY) instead of the simulator")
    add_settings(check.add_argument_group("how --proxy reaches its server (as for run)"), only=settings.NETWORK)
    check.add_argument("--app-tz", default="America/Chicago", metavar="ZONE",
                       help="the time zone the application runs in (its TZ; default America/Chicago, the "
                            "City's): a date it sends off by exactly that zone's offset warns APP-DATES-ZONE")
    check.add_argument("--read-only", action="store_true",
                       help="the application only reads (lists, reads by id): the write requirements do not "
                            "apply, and pre-approval stays incomplete (the City's condition is a write)")
    check.add_argument("--app-output", action="append", default=[], metavar="PATH",
                       help="a file or directory the application writes (a CSV, a JSON-lines export, a "
                            "database, a rendered page): searched, when it is done, for rows without an id "
                            "and for the API key (repeatable)")
    check.add_argument("app_command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]",
                       help="the application to run; {base_url} and {api_key} in ARGS are replaced")


def _or(words: tuple[str, ...] | list[str]) -> str:
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else "".join(words)


def _lazy(module: str, attr: str) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module), attr)(args)

    return handler


def build_collect_parser() -> argparse.ArgumentParser:
    """`sweep collect`: a sub-command of sweep, whose first argument is otherwise a file."""
    collect = argparse.ArgumentParser(prog="open311-conformance sweep collect",
                                      description="build sweep.json and index.html from bundles made elsewhere "
                                                  "(the collect job of a CI matrix)")
    add_collect_arguments(collect)
    collect.set_defaults(handler=_lazy("conformance.cli.sweep", "collect_main"), command="sweep collect",
                         version=False)
    return collect


def add_sweep_arguments(sweep: argparse.ArgumentParser) -> None:
    sweep.add_argument("targets", metavar="TARGETS.yaml", help="the targets (see the README, 'Sweeping many targets')")
    sweep.add_argument("--report-dir", metavar="DIR", help="where the bundles, sweep.json and index.html go "
                       "(default reports/sweep-<id>)")
    sweep.add_argument("--jobs", type=int, default=4, metavar="N", help="targets run side by side (default 4)")
    sweep.add_argument("--only", action="append", metavar="NAME", help="run only this target (repeatable): "
                       "what each job of a CI matrix runs")
    sweep.add_argument("--matrix", action="store_true", help="print the targets as a GitHub Actions matrix "
                       '({"include": [{"name": ...}]}) and run nothing')
    add_settings(sweep.add_argument_group("run settings for every target that does not set them itself"),
                 sweep=True)


def add_collect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundles", nargs="+", metavar="BUNDLE", help="a run's bundle (its folder's name is the "
                        "target's name) or a sweep folder")
    parser.add_argument("--report-dir", metavar="DIR", help="where sweep.json, index.html and the bundles go "
                        "(default reports/sweep-<id>)")
