"""Cases still failing when the reliability work was handed over are listed in xfail.json (node id → reason, e.g. a
command another engineer had not landed yet, or a bug reported to its owner). They run as non-strict xfail, so they
turn into passes on their own once fixed — then delete their entries."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

XFAIL = json.loads((Path(__file__).with_name("xfail.json")).read_text())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        reason = XFAIL.get(item.nodeid)
        if reason:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
