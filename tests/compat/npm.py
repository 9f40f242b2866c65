"""Install the official JS clients (tests/compat/package.json) into a cache at test time, once per version set."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).parent
CACHE = Path(os.environ.get("QSTASH_TEST_CACHE", Path.home() / ".cache" / "qstash-tests")) / "compat"


def node_modules() -> Path:
    """`node_modules` holding the versions pinned in package.json; skips (with the reason) without node/npm."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are not installed: the JS SDK compatibility tests need them")
    manifest = (HERE / "package.json").read_bytes()
    target = CACHE / hashlib.sha256(manifest).hexdigest()[:12]
    done = target / ".installed"
    if not done.exists():
        target.mkdir(parents=True, exist_ok=True)
        (target / "package.json").write_bytes(manifest)
        r = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=target,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if r.returncode != 0:
            pytest.fail(f"npm install failed in {target}:\n{r.stdout}\n{r.stderr}")
        done.write_text("ok\n")
    return target / "node_modules"
