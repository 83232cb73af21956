"""Every command's --help explains every flag and argument, and names values in one style."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from conformance import cli, requirements
from conformance.cli.parser import build_collect_parser, build_parser
from conformance.simulator.faults import CATALOGUE

# The one vocabulary of value names: S is always seconds, N a count; no argparse default
# (TIMEOUT, SIMULATOR_DELAY) and no bare {choice,list}: the help names the choices.
METAVARS = {"S", "N", "DIR", "FILE", "NAME", "URL", "ID", "CODE", "LAT,LONG", "KEY", "HOST", "PORT",
            "PROFILE", "DIALECT", "RESOURCE", "FORMATS", "OLD", "NEW", "BUNDLE", "TARGETS.yaml", "ZONE", "PATH",
            "-- COMMAND [ARGS...]"}


def parsers() -> Iterator[tuple[str, argparse.ArgumentParser]]:
    def walk(name: str, parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
        yield name, parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, subparser in action.choices.items():
                    yield from walk(f"{name} {sub}", subparser)

    yield from walk("open311-conformance", build_parser())
    yield "open311-conformance sweep collect", build_collect_parser()


def actions() -> Iterator[tuple[str, argparse.Action]]:
    for name, parser in parsers():
        for action in parser._actions:
            if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
                yield f"{name} {'/'.join(action.option_strings) or action.dest}", action


def _ids(value: object) -> str:
    return value if isinstance(value, str) else ""


def test_the_walk_sees_every_command():
    names = {name for name, _ in parsers()}
    assert {"open311-conformance run", "open311-conformance compare", "open311-conformance verify",
            "open311-conformance validate", "open311-conformance sweep collect"} <= names
    assert sum(1 for _ in actions()) > 60


@pytest.mark.parametrize(("where", "action"), list(actions()), ids=_ids)
def test_every_flag_and_argument_has_help(where, action):
    assert action.help and action.help is not argparse.SUPPRESS and len(action.help) > 10, where


@pytest.mark.parametrize(("where", "action"), list(actions()), ids=_ids)
def test_every_value_is_named_in_the_one_style(where, action):
    if action.nargs == 0:  # a switch takes no value
        return
    assert action.metavar in METAVARS, f"{where}: metavar {action.metavar!r}"
    if action.type is float:
        assert action.metavar == "S", f"{where}: a number of seconds is S"
    if action.choices:  # the metavar hides them from the usage line: the help names each
        missing = [choice for choice in action.choices if choice not in action.help]
        assert not missing, f"{where}: help does not name {missing}"


def test_a_flag_without_help_is_caught():
    parser = argparse.ArgumentParser()
    parser.add_argument("--timeout", type=float)
    bare = parser._actions[-1]
    with pytest.raises(AssertionError):
        test_every_flag_and_argument_has_help("x", bare)
    with pytest.raises(AssertionError):
        test_every_value_is_named_in_the_one_style("x", bare)


def test_run_lists_the_fault_catalogue_with_each_requirement(capsys):
    assert cli.main(["run", "--list-faults"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert len(lines) == len(CATALOGUE) + 1
    for line, fault in zip(lines, CATALOGUE.values(), strict=False):
        assert line.split(None, 2) == [fault.name, fault.requirement, fault.description]


def test_requirements_text_shows_each_source(capsys):
    assert cli.main(["requirements"]) == 0
    out = capsys.readouterr().out
    registry = requirements.load()
    for requirement in registry.values():
        assert f"source: {requirement.source}" in out, requirement.id
    assert out.count("source: ") == len(registry)
