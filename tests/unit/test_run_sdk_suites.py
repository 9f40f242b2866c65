"""scripts/run_sdk_suites.py: JUnit counting (pytest's and bun's XML), checkout detection, refusals before any run."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "run_sdk_suites.py"

PYTEST_XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4">
<testcase classname="tests.test_dlq" name="test_ok" time="0.1"/>
<testcase classname="tests.test_dlq" name="test_bad"><failure message="assert 1 == 2">trace</failure></testcase>
<testcase classname="tests.test_dlq" name="test_err" time="0.1"><error message="">Boom
  at x</error></testcase>
<testcase classname="tests.test_dlq" name="test_skip" time="0"><skipped message="no key"/></testcase>
</testsuite></testsuites>
"""

BUN_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="3"><testsuite name="src/a.test.ts" file="src/a.test.ts">
<testsuite name="DLQ" file="src/a.test.ts">
<testcase name="lists" classname="DLQ" file="src/a.test.ts" line="3"/>
<testcase name="finds" classname="DLQ" file="src/a.test.ts" line="9"><failure type="Error"
  message="expect(received).toBe(expected)&#10;&#10;Expected: 1&#10;Received: 0&#10;"/></testcase>
<testcase name="later" classname="DLQ" file="src/a.test.ts" line="20"><skipped/></testcase>
</testsuite></testsuite></testsuites>
"""


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("run_sdk_suites", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["run_sdk_suites"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


def test_parse_pytest_junit(script: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(PYTEST_XML)
    result = script.SuiteResult(kind="qstash-py", checkout="x")
    script.parse_junit(path, result)
    assert (result.passed, result.failed, result.skipped) == (1, 2, 1)
    assert [(f.test, f.message) for f in result.failures] == [
        ("tests.test_dlq > test_bad", "assert 1 == 2"),
        ("tests.test_dlq > test_err", "Boom"),
    ]


def test_parse_bun_junit_keeps_expected_and_received(script: ModuleType, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(BUN_XML)
    result = script.SuiteResult(kind="qstash-js", checkout="x")
    script.parse_junit(path, result)
    assert (result.passed, result.failed, result.skipped) == (1, 1, 1)
    assert result.failures[0].test == "src/a.test.ts > DLQ > finds"
    assert result.failures[0].message == "expect(received).toBe(expected) | Expected: 1 | Received: 0"


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("pyproject.toml", '[tool.poetry]\nname = "qstash"\n', "qstash-py"),
        ("pyproject.toml", '[tool.poetry]\nname = "upstash-workflow"\n', "workflow-py"),
        ("package.json", json.dumps({"name": "@upstash/qstash"}), "qstash-js"),
        ("package.json", json.dumps({"name": "@upstash/workflow"}), "workflow-js"),
    ],
)
def test_detect_kind(script: ModuleType, tmp_path: Path, name: str, content: str, kind: str) -> None:
    (tmp_path / name).write_text(content)
    assert script.detect_kind(tmp_path) == kind


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60)


def test_help_documents_the_exit_codes() -> None:
    done = _run("--help")
    assert done.returncode == 0
    assert "loopback" in done.stdout and "Exit status" in done.stdout


def test_refuses_what_is_not_an_sdk_checkout(tmp_path: Path) -> None:
    done = _run(str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and "is not a checkout of" in done.stderr
    assert "Traceback" not in done.stderr


def test_refuses_a_checkout_inside_this_repository() -> None:
    done = _run(str(ROOT / "tests"))
    assert done.returncode == 2
    assert done.stderr.startswith("Error: ") and "inside this repository" in done.stderr


def test_refuses_an_output_directory_inside_this_repository(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "@upstash/qstash"}))
    done = _run(str(tmp_path), "--out", str(ROOT / "logs"))
    assert done.returncode == 2
    assert "--out must be outside this repository" in done.stderr
    assert not (ROOT / "logs").exists()
