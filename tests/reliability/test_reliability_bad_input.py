"""The bad-input corpus (tests/reliability/bad_inputs.json, 250+ cases): each case runs through the real entry point
and must end with the documented exit code, exactly one `Error:` line (a `Hint:` allowed), no traceback, and — for
input errors — nothing sent to the API. A few `ok` cases prove what must NOT be rejected (binary and empty bodies are
sent byte-exact; a config readable by others only warns)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import MOCK_TOKEN
from tests.reliability.figures import record

CORPUS = json.loads((Path(__file__).with_name("bad_inputs.json")).read_text(encoding="utf-8"))["cases"]
BINARY = bytes(range(256)) * 4

GENERIC = re.compile(r"Error: unexpected \w*(Error|Exception)\b")  # the boundary's last-resort message
RAW_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")  # never printed raw


def _prepare(case: dict[str, Any], tmp: Path, monkeypatch, mock_api) -> list[str]:
    work = tmp / "work"
    work.mkdir()
    (work / "adir").mkdir()
    (work / "binary.bin").write_bytes(BINARY)
    (work / "empty.txt").write_bytes(b"")
    (work / "ok.jsonl").write_text('{"destination": "https://example.com/hook", "body": "x"}\n')
    unreadable = work / "unreadable.txt"
    unreadable.write_text("secret")
    unreadable.chmod(0o000)
    for name, text in case.get("files", {}).items():
        (work / name).write_text(text, encoding="utf-8")
    config = Path(os.environ["QSTASH_CONFIG"])
    config.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if case.get("config_dir"):
        config.mkdir()
    elif "config" in case:
        config.write_text(case["config"], encoding="utf-8")
        config.chmod(int(case.get("config_mode", "600"), 8))
    for key, value in case.get("env", {}).items():
        monkeypatch.setenv(key, value)
    if case.get("no_token"):
        monkeypatch.delenv("QSTASH_TOKEN")

    def answer(request: httpx.Request) -> httpx.Response:
        mock_api.requests.append(request)
        return httpx.Response(200, json={"messageId": "msg_1", "current": "sig_a", "next": "sig_b"})

    mock_api.handler = answer
    return [a.replace("{tmp}", str(work)) for a in case["argv"]]


def _params() -> list[Any]:
    out = []
    for case in CORPUS:
        marks = []
        if case.get("nonroot") and hasattr(os, "geteuid") and os.geteuid() == 0:
            marks.append(pytest.mark.skip(reason="root can read a 000 file"))
        out.append(pytest.param(case, id=case["id"], marks=marks))
    return out


def test_corpus_is_big_enough() -> None:
    assert len(CORPUS) >= 200
    assert len({c["id"] for c in CORPUS}) == len(CORPUS)
    by_category: dict[str, int] = {}
    for case in CORPUS:
        by_category[case["category"]] = by_category.get(case["category"], 0) + 1
    record("bad_input_corpus", {"cases": len(CORPUS), "by_category": by_category})


@pytest.mark.parametrize("case", _params())
def test_bad_input(case: dict[str, Any], cli, mock_api, tmp_path, monkeypatch) -> None:
    argv = _prepare(case, tmp_path, monkeypatch, mock_api)
    stdin = BINARY if case.get("stdin_file") == "binary.bin" else b""
    r = cli(*argv, stdin=stdin)
    shown = r.stdout + r.stderr
    assert "Traceback" not in shown
    assert MOCK_TOKEN not in shown
    assert not RAW_CONTROL.search(shown), f"raw control character in {shown!r}"
    for secret in case.get("forbid", []):
        assert secret not in shown, f"{secret!r} shown"
    assert r.exit_code == case["code"], f"exit {r.exit_code}, stderr: {r.stderr!r}"
    lines = r.stderr.splitlines()
    if case["code"] != 0:
        errors = [line for line in lines if line.startswith("Error:")]
        assert len(errors) == 1, r.stderr
        assert not GENERIC.match(errors[0]), errors[0]
        if case["category"] != "usage":  # the case must reach the command's own validation
            assert "No such command" not in errors[0] and "No such option" not in errors[0], errors[0]
        if case.get("error_has"):
            assert case["error_has"] in errors[0], errors[0]
        batch = case["category"] == "batch" or "--batch" in argv
        allowed = ("Error:", "Hint:", "Warning:") + (("line ", "sent ") if batch else ())
        others = [line for line in lines if not line.startswith(allowed)]  # a batch lists its failed lines
        assert not others, f"extra stderr lines: {others}"
    else:
        assert not any(line.startswith("Error:") for line in lines), r.stderr
    if case.get("warn"):
        assert "Warning:" in r.stderr and "chmod 600" in r.stderr
    if case["sent"]:
        assert mock_api.requests, "nothing was sent"
        if case.get("path_has"):
            assert case["path_has"] in mock_api.path(mock_api.requests[0]), mock_api.path(mock_api.requests[0])
        if "body_file" in case or "stdin_file" in case:
            expected = (tmp_path / "work" / (case.get("body_file") or case["stdin_file"])).read_bytes()
            assert mock_api.requests[0].content == expected
        elif "-d" in argv:
            assert mock_api.requests[0].content == argv[argv.index("-d") + 1].encode()
    else:
        assert mock_api.requests == [], f"sent {[(q.method, q.url) for q in mock_api.requests]}"
