"""Browser tests of the console: real headless Chromium (Debian's `chromium` + `chromium-driver`) driven by Selenium,
against a real `qstash dev` (tests/live.py). Skipped, with the reason shown, when the browser or Selenium is missing.

The tests write a screenshot of each page (`stream.png`, `message.png`, `dlq.png`, ...) to `console-screenshots/` at
the repository root (git-ignored; `QSTASH_SCREENSHOTS=DIR` puts them elsewhere) so a reviewer can look at them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import live  # noqa: F401 - the CLI against the dev server

CHROMIUM = os.environ.get("QSTASH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("QSTASH_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("QSTASH_SCREENSHOTS", Path(__file__).resolve().parents[2] / "console-screenshots"))
WAIT = 15.0  # seconds a page may take to show what a test waits for (a failure, never a timing assertion)
FAKE_HOST = "console.test"  # resolved to 127.0.0.1 inside the browser only: a request by a non-loopback name


def _missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).exists() or shutil.which(path)):
            return f"{path} not found (apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install '.[test]')"
    return None


@pytest.fixture(scope="session")
def driver() -> Iterator[Any]:
    """One headless Chromium for the session (each test opens its own server and page)."""
    reason = _missing()
    if reason:
        pytest.skip(f"browser tests need Chromium: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must not look for drivers on the network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1360,1000",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        f"--host-resolver-rules=MAP {FAKE_HOST} 127.0.0.1",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield browser
    finally:
        browser.quit()


@dataclass
class Console:
    """The console of one dev server in the shared browser."""

    driver: Any
    base: str

    def open(self, hash_path: str = "#/stream", host: str = "127.0.0.1") -> None:
        base = self.base.replace("127.0.0.1", host)
        self.driver.get("about:blank")
        self.driver.get(f"{base}/{hash_path}")

    def go(self, hash_path: str) -> None:
        """Change the page without a reload (as a click on the menu does)."""
        self.driver.execute_script("location.hash = arguments[0]", hash_path)

    def wait(self, condition: Callable[[Any], Any], what: str, timeout: float = WAIT) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.1).until(condition, f"page never showed {what}")

    def find(self, css: str, timeout: float = WAIT) -> Any:
        from selenium.webdriver.common.by import By

        return self.wait(lambda d: (d.find_elements(By.CSS_SELECTOR, css) or [None])[0], css, timeout)

    def text_of(self, css: str) -> str:
        return self.find(css).text

    def wait_text(self, css: str, text: str, timeout: float = WAIT) -> Any:
        from selenium.webdriver.common.by import By

        def found(d: Any) -> Any:
            for node in d.find_elements(By.CSS_SELECTOR, css):
                try:
                    if text in node.text:
                        return node
                except Exception:  # noqa: BLE001 - replaced while reading (the page re-renders)
                    continue
            return None

        return self.wait(found, f"{text!r} in {css}", timeout)

    def click(self, css: str) -> None:
        self.find(css).click()

    def confirm(self) -> str:
        """Answer yes in the confirmation step; returns its question."""
        question = self.find("#confirm[open] #confirm-question").text
        self.click("#confirm-yes")
        return question

    def screenshot(self, page: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{page}.png"
        self.driver.save_screenshot(str(path))
        return path

    def js_errors(self) -> list[str]:
        try:
            logs = self.driver.get_log("browser")
        except Exception:  # noqa: BLE001 - not every driver keeps the console log
            return []
        return [e["message"] for e in logs if e.get("level") == "SEVERE"]


@pytest.fixture
def console(driver: Any, dev_server: Any) -> Iterator[Console]:
    """The console of a fresh `qstash dev` (see tests/live.py `dev_server`) in the shared browser."""
    page = Console(driver, dev_server.url)
    yield page
    driver.get("about:blank")  # closes the page's event stream before the server stops
