"""The layers of ARCHITECTURE.md hold: import-linter's contracts, and only cli/ reads the command line."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "conformance"


def test_the_import_contracts_hold() -> None:
    # pyproject.toml's [tool.importlinter] contracts: the layers, the vocabulary, the sweep
    # apart from the engine, and no cycle among siblings (a function's import counts too)
    script = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


def _readers_of_the_command_line(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name == "argparse" for a in node.names):
            found.append(f"line {node.lineno}: import argparse")
        elif isinstance(node, ast.ImportFrom) and node.module == "argparse":
            found.append(f"line {node.lineno}: from argparse import ...")
        elif isinstance(node, ast.Attribute) and node.attr == "Namespace":
            found.append(f"line {node.lineno}: .Namespace")
        elif isinstance(node, ast.Name) and node.id == "Namespace":
            found.append(f"line {node.lineno}: Namespace")
    return found


def _outside_cli() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if (PACKAGE / "cli") not in p.parents)


@pytest.mark.parametrize("path", _outside_cli(), ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_only_cli_reads_the_command_line(path: Path) -> None:
    assert _readers_of_the_command_line(path) == [], "argparse belongs in conformance/cli/ only"


def test_the_command_line_reader_finds_what_it_looks_for(tmp_path: Path) -> None:
    # the check above can fail: a module taking a Namespace is found
    module = tmp_path / "m.py"
    module.write_text("import argparse\n\ndef main(args: argparse.Namespace) -> int:\n    return 0\n")
    assert len(_readers_of_the_command_line(module)) == 2
