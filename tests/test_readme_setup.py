"""The README's two set-up commands are what CI runs, as written, inside a virtual environment."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
CI_RUN = ROOT / ".ci" / "run"
# .ci/run ends each command with this so that a failure inside its && list stops CI (set -e does not)
STOP = " || exit"


def setup_commands(readme: str) -> list[str]:
    """The ```sh blocks of the README's "Set-up" section, one command each."""
    match = re.search(r"^## Set-up: two commands\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, 'README.md has no "## Set-up: two commands" section'
    blocks = re.findall(r"^```sh\n(.*?)^```", match.group(1), re.S | re.M)
    return [block.strip() for block in blocks]


def ci_lines(text: str) -> list[str]:
    """.ci/run's commands: its lines without comments, echo lines and blank lines."""
    lines = [line.strip() for line in text.splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "echo "))]


def test_the_readme_promises_two_one_line_commands_that_make_and_use_a_venv():
    commands = setup_commands(README.read_text(encoding="utf-8"))
    assert len(commands) == 2, commands
    assert all("\n" not in command for command in commands), commands
    first, second = commands
    # the first makes the environment, every one uses it before it installs anything
    assert first.startswith("python3 -m venv .venv && . .venv/bin/activate && "), first
    assert second.startswith(". .venv/bin/activate && "), second
    for command in commands:
        install = command.index("pip install")
        assert command.index(". .venv/bin/activate") < install, command
    assert "open311-conformance run" in first
    assert "python3 -m pytest" in second


def test_ci_runs_exactly_the_readme_commands_in_order_and_everything_after_inside_the_venv():
    commands = setup_commands(README.read_text(encoding="utf-8"))
    lines = ci_lines(CI_RUN.read_text(encoding="utf-8"))
    ran = [line for line in lines if line.removesuffix(STOP) in commands]
    assert [line.removesuffix(STOP) for line in ran] == commands, "CI must run the README's commands, in order"
    assert all(line.endswith(STOP) for line in ran), "a failure inside a command's && list must stop CI"
    first = lines.index(ran[0])
    # nothing installs with pip outside the README's commands (that would hide a missing step)
    others = [line for line in lines if line not in ran]
    assert not [line for line in others if "pip install" in line], others
    # the kit's tools run only once the environment is active, never from the system's PATH
    for tool in ("lint-imports", "open311-conformance", "pytest"):
        uses = [i for i, line in enumerate(lines) if tool in line]
        assert uses, f".ci/run never runs {tool}"
        assert min(uses) >= first, f"{tool} runs before the virtual environment is made"


def test_ci_keeps_the_browser_step_of_the_print_test():
    text = CI_RUN.read_text(encoding="utf-8")
    assert "apt-get install" in text and "chromium" in text and "poppler-utils" in text


def test_the_ci_script_parses_and_its_stop_suffix_really_stops_a_failing_list():
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash is not installed")
    subprocess.run([bash, "-n", str(CI_RUN)], check=True)
    # the reason for STOP: under set -e, "false && true" alone would carry on to the next line
    carried_on = subprocess.run([bash, "-c", "set -euo pipefail; false && true\necho on"],
                                capture_output=True, text=True)
    stopped = subprocess.run([bash, "-c", f"set -euo pipefail; false && true{STOP}\necho on"],
                             capture_output=True, text=True)
    assert carried_on.stdout == "on\n"
    assert stopped.stdout == "" and stopped.returncode != 0
