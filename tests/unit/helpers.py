"""Assertions shared by the unit tests of the command groups (requests sent to the mock API, one-line errors)."""

from __future__ import annotations

import json

from tests.conftest import MOCK_TOKEN


def body(request) -> object:
    """The JSON body of a sent request (None when empty)."""
    return json.loads(request.content) if request.content else None


def assert_sent(mock_api, method: str, path: str, json_body: object = None, request=None) -> None:
    """The request (default: the last) went to METHOD raw-PATH with the token, and carried exactly `json_body`."""
    req = request or mock_api.last
    assert (req.method, mock_api.path(req)) == (method, path)
    assert req.headers["authorization"] == f"Bearer {MOCK_TOKEN}"
    if json_body is None:
        assert req.content == b"" and "content-type" not in req.headers
    else:
        assert req.headers["content-type"] == "application/json"
        assert body(req) == json_body


def assert_one_error(r, code: int, *needles: str) -> None:
    """Exit `code`, one `Error:` line on stderr holding each needle, no traceback, nothing on stdout."""
    assert r.exit_code == code, (r.stdout, r.stderr)
    lines = r.stderr.splitlines()
    assert lines and lines[0].startswith("Error: "), r.stderr
    assert sum(line.startswith("Error:") for line in lines) == 1
    assert "Traceback" not in r.stderr and r.stdout == ""
    for needle in needles:
        assert needle in lines[0], lines[0]
