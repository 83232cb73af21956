"""manifest.json and ``open311-conformance verify``: an untouched bundle passes, any change is named."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from conformance import cli
from conformance.contract import contract_hashes
from conformance.run.engine import RunResult

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def run(clean_run: RunResult) -> RunResult:
    return clean_run


@pytest.fixture
def bundle(run: RunResult, tmp_path: Path) -> Path:
    """A private copy of the run's bundle, free to tamper with."""
    return Path(shutil.copytree(run.report_dir, tmp_path / "bundle"))


def _verify(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = cli.main(["verify", str(directory)])
    out, err = capsys.readouterr()
    return code, out, err


def test_manifest_lists_every_artifact_with_its_hash(run: RunResult) -> None:
    data = json.loads((run.report_dir / "manifest.json").read_text(encoding="utf-8"))
    assert set(data["files"]) == {"report.html", "exchanges.html", "junit.xml", "summary.json", "evidence.har"}
    for name, entry in data["files"].items():
        content = (run.report_dir / name).read_bytes()
        assert entry["sha256"] == hashlib.sha256(content).hexdigest()
        assert entry["size"] == len(content)
    assert data["run_id"] == run.run_id and data["verdict"] == run.verdict
    assert data["contract"] == contract_hashes()
    assert "openapi.yaml" in data["contract"] and "schemas/summary.json" in data["contract"]
    assert data["target"]["kind"] == "embedded simulator"
    assert data["api_key_fingerprint"].startswith("sha256:")
    assert data["started"] == run.record.started and data["finished"] == run.record.finished
    assert data["kit_version"]


def test_untouched_bundle_verifies(run: RunResult, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _verify(run.report_dir, capsys)
    assert code == 0
    assert out.startswith("ok: 5 files")


def test_flipped_byte_is_caught(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = bundle / "evidence.har"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    code, out, err = _verify(bundle, capsys)
    assert code == 1
    assert out.splitlines() == ["changed: evidence.har"]
    assert "NOT VERIFIED" in err


def test_missing_and_unexpected_files_are_named(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (bundle / "junit.xml").unlink()
    (bundle / "extra.txt").write_text("added later\n")
    code, out, _ = _verify(bundle, capsys)
    assert code == 1
    assert "missing: junit.xml" in out.splitlines()
    assert "unexpected: extra.txt" in out.splitlines()


@pytest.mark.parametrize("damage, message", [
    ("no-dir", "no such directory"),
    ("no-manifest", "not a report bundle"),
    ("corrupt", "not valid JSON"),
    ("not-manifest", "not a conformance manifest"),
    ("escape", "outside the bundle"),
])
def test_bad_input_is_a_usage_error(bundle: Path, damage: str, message: str,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    manifest = bundle / "manifest.json"
    target = bundle
    if damage == "no-dir":
        target = bundle / "nowhere"
    elif damage == "no-manifest":
        manifest.unlink()
    elif damage == "corrupt":
        manifest.write_text('{"files": ', encoding="utf-8")
    elif damage == "not-manifest":
        manifest.write_text('{"hello": 1}', encoding="utf-8")
    else:
        manifest.write_text(json.dumps({"files": {"../../etc/passwd": {"sha256": "0" * 64}}}), encoding="utf-8")
    code, out, err = _verify(target, capsys)
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_a_file_managers_files_are_named_as_ignored(bundle: Path, capsys: pytest.CaptureFixture[str]) -> None:
    made = [".DS_Store", "Thumbs.db", "desktop.ini", "._report.html"]
    for name in made:
        (bundle / name).write_bytes(b"\x00\x05\x16\x07")
    code, out, _ = _verify(bundle, capsys)
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("ignored: ")] == [
        f"ignored: {name} (a file manager's, not the kit's)" for name in sorted(made)]
    assert out.splitlines()[-1].startswith("ok: 5 files")
    # any other file still fails, beside them
    (bundle / "DS_Store.txt").write_text("not a file manager's\n")
    code, out, _ = _verify(bundle, capsys)
    assert code == 1 and "unexpected: DS_Store.txt" in out.splitlines()
