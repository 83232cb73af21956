"""Building the target from flags and environment; bad values are usage errors."""

from __future__ import annotations

import re

import pytest

from conformance import cli, profiles
from conformance.cli.run import target_from as from_args
from conformance.errors import UsageError


def args(*argv: str):
    return cli.build_parser().parse_args(["run", *argv])


def test_no_target_means_the_simulator():
    target = from_args(args(), environ={})
    assert target.simulator and target.location == profiles.get("chicago").defaults.location
    assert target.poll_timeout == 30


def test_environment_supplies_url_and_key():
    target = from_args(args(), environ={"OPEN311_BASE_URL": "http://test311api.cityofchicago.org/open311/v2/",
                                        "OPEN311_API_KEY": "k"})
    assert target.base_url == "http://test311api.cityofchicago.org/open311/v2"
    assert target.api_key == "k" and not target.simulator
    assert target.kind == "known test host" and target.remote
    assert target.poll_timeout == 600 and target.min_interval > 0


def test_flags_win_over_environment():
    target = from_args(args("--base-url", "http://127.0.0.1:1/open311/v2", "--api-key", "flag"),
                       environ={"OPEN311_BASE_URL": "http://x.invalid/", "OPEN311_API_KEY": "env"})
    assert target.api_key == "flag" and target.kind == "loopback" and not target.remote


def test_describe_never_holds_the_key():
    target = from_args(args("--api-key", "super-secret-key"), environ={})
    assert "super-secret-key" not in repr(target.describe())
    assert target.describe()["api_key_given"] is True


@pytest.mark.parametrize(("argv", "message"), [
    (["--base-url", "not a url"], "not an http(s) URL"),
    (["--base-url", "http://x.invalid/v2?a=1"], "query"),
    (["--base-url", "http://x.invalid/v2", "--fault", "paging-ignored"], "embedded simulator only"),
    (["--location", "91,0"], "out of range"),
    (["--location", "abc"], "LAT,LONG"),
    (["--timeout", "0"], "positive"),
    (["--poll-timeout", "nan"], "positive"),
    (["--max-requests", "0"], "at least 1"),
    (["--fuzz-examples", "-1"], "fuzz-examples"),
    (["--min-interval", "-0.1"], "--min-interval"),
    (["--min-interval", "inf"], "--min-interval"),
])
def test_bad_values_are_usage_errors(argv, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        from_args(args(*argv), environ={})


def test_bad_flag_exit_2_without_traceback(capsys):
    assert cli.main(["run", "--location", "north"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "LAT,LONG" in err


def write_config(tmp_path, text: str) -> str:
    path = tmp_path / "open311.toml"
    path.write_text(text)
    return str(path)


def test_config_file_fills_what_flags_leave_open(tmp_path):
    config = write_config(tmp_path, '[run]\nbase_url = "http://test311api.cityofchicago.org/open311/v2"\n'
                                    'profile = "georeport-v2"\ntimeout = 12\nfuzz_examples = 2\n'
                                    'location = "41.9,-87.6"\n')
    target = from_args(args("--config", config, "--timeout", "5"), environ={})
    assert target.base_url.startswith("http://test311api") and target.profile.name == "georeport-v2"
    assert target.timeout == 5  # the flag wins
    assert target.fuzz_examples == 2 and target.location == (41.9, -87.6)


def test_environment_wins_over_config_file(tmp_path):
    config = write_config(tmp_path, 'base_url = "http://x.invalid/open311/v2"\n')
    target = from_args(args("--config", config), environ={"OPEN311_BASE_URL": "http://127.0.0.1:1/open311/v2"})
    assert target.base_url == "http://127.0.0.1:1/open311/v2"


@pytest.mark.parametrize(("text", "message"), [
    ('api_key = "k"\n', "does not belong in a file"),
    ('colour = "red"\n', "unknown setting 'colour'"),
    ('timeout = "soon"\n', "timeout = 'soon' is not a number"),
    ('allow_writes = 1\n', "allow_writes = 1 is not true or false"),
    ('fuzz_examples = true\n', "fuzz_examples = True is not a number"),
    ('[run\n', "not valid TOML"),
])
def test_bad_config_is_a_usage_error(tmp_path, text, message):
    with pytest.raises(UsageError, match=re.escape(message)):
        from_args(args("--config", write_config(tmp_path, text)), environ={})


def test_missing_config_file_exit_2(tmp_path, capsys):
    assert cli.main(["run", "--config", str(tmp_path / "nope.toml")]) == 2
    assert "No such file" in capsys.readouterr().err


@pytest.mark.parametrize(("base_url", "asked", "paced"), [
    ("http://127.0.0.1:1/open311/v2", None, 0.0),  # loopback: not paced unless asked
    ("http://127.0.0.1:1/open311/v2", 0.6, 0.6),  # asked: paced, loopback or not (a sweep asks)
    ("http://test311api.cityofchicago.org/open311/v2", 0.6, 0.6),
    ("http://test311api.cityofchicago.org/open311/v2", 0.05, 0.2),  # never faster than the remote pace
    ("http://test311api.cityofchicago.org/open311/v2", None, 0.2),
])
def test_min_interval(base_url, asked, paced):
    argv = ["--base-url", base_url] + (["--min-interval", str(asked)] if asked is not None else [])
    target = from_args(args(*argv), environ={})
    assert target.min_interval == paced and target.describe()["min_interval_s"] == paced
