"""A run setting is declared once, as a field of RunSettings, and reaches every place a user may
give it: a flag of `run`, a key of a --config file and of a TARGETS.yaml entry, a flag of
`sweep` when it says so, the README's table. These tests walk the fields, so a new field that
does not reach one of them fails here, not in a user's hands."""

from __future__ import annotations

import argparse
import dataclasses
import re
from pathlib import Path

import pytest

from conformance import settings
from conformance.cli.parser import build_parser
from conformance.errors import UsageError
from conformance.settings import RunSettings

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
FIELDS = RunSettings.fields()
# a value of each kind that its checks accept, for a file and an entry
SAMPLE = {str: "x", int: 3, float: 1.5, bool: True, tuple: ["x"]}
# values that the settings' own checks need in a certain shape
SHAPED = {"base_url": "http://127.0.0.1:1/open311/v2", "profile": "georeport-v2", "location": "41.88,-87.63",
          "simulator_dialect": "georeport", "fault": ["post-refused"], "http_proxy": "http://127.0.0.1:3128",
          "city": "chicago"}


# the sweep's own --report-dir is where the sweep writes, not a run's setting
SWEEPS_OWN = {"report_dir"}


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def options(parser: argparse.ArgumentParser, command: str) -> set[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {option for action in sub.choices[command]._actions for option in action.option_strings}


@pytest.mark.parametrize("name", list(FIELDS))
def test_every_setting_is_a_flag_of_run_and_of_sweep_when_it_says_so(name):
    parser = build_parser()
    assert flag(name) in options(parser, "run")
    if name not in SWEEPS_OWN:
        assert (flag(name) in options(parser, "sweep")) == FIELDS[name].sweep


@pytest.mark.parametrize("name", list(FIELDS))
def test_every_setting_is_in_the_readme(name):
    assert re.search(rf"`(run )?{flag(name)}\b", README), f"the README names no {flag(name)}"


@pytest.mark.parametrize("name", [n for n, s in FIELDS.items() if s.file])
def test_every_file_setting_is_a_key_of_a_config_file_and_of_an_entry(name, tmp_path):
    value = SHAPED.get(name, SAMPLE[FIELDS[name].kind])
    config = tmp_path / "run.toml"
    literal = {str: lambda v: f'"{v}"', bool: lambda v: str(v).lower(),
               list: lambda v: "[" + ", ".join(f'"{i}"' for i in v) + "]"}.get(type(value), str)
    config.write_text(f"[run]\n{name} = {literal(value)}\n", encoding="utf-8")
    assert settings.from_toml(config) == {name: value}
    if FIELDS[name].entry:
        settings.check_value(name, value, "entry")
    else:
        with pytest.raises(UsageError, match="unknown setting"):
            settings.check_value(name, value, "entry")


def test_a_key_is_never_a_setting_so_never_read_from_a_file(tmp_path):
    assert "api_key" not in FIELDS
    config = tmp_path / "run.toml"
    config.write_text('[run]\napi_key = "k3y"\n', encoding="utf-8")
    with pytest.raises(UsageError, match="does not belong in a file"):
        settings.from_toml(config)


def test_flags_win_over_the_environment_over_the_file():
    file = {"base_url": "http://127.0.0.1:1/file", "timeout": 5}
    environ = {"OPEN311_BASE_URL": "http://127.0.0.1:2/env"}
    assert RunSettings.merge({}, {}, file).base_url == "http://127.0.0.1:1/file"
    assert RunSettings.merge({}, environ, file).base_url == "http://127.0.0.1:2/env"
    merged = RunSettings.merge({"base_url": "http://127.0.0.1:3/flag"}, environ, file)
    assert (merged.base_url, merged.timeout) == ("http://127.0.0.1:3/flag", 5.0)


def test_a_setting_is_checked_wherever_it_comes_from(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text("[run]\ntimeout = -1\n", encoding="utf-8")
    with pytest.raises(UsageError) as from_file:
        RunSettings.merge({}, {}, settings.from_toml(config))
    with pytest.raises(UsageError) as from_flag:
        RunSettings.merge({"timeout": -1.0}, {})
    assert str(from_file.value) == str(from_flag.value)


def test_given_names_only_what_differs_from_the_defaults():
    chosen = RunSettings.merge({"seed": 7, "timeout": 30.0}, {})
    assert chosen.given() == {"seed": 7}
    assert all(f.default is not dataclasses.MISSING for f in dataclasses.fields(RunSettings))
