"""Console figure: the server's accept rate while a browser is open on the console's live stream (issue 13).

The same burst of publishes (deliveries running; wrk when installed, as for the throughput figures, else load.py) is
timed alternately without and with headless Chromium showing `/#/stream` of the same server (rounds a b, b a, ...);
the figure is the round with the median ratio. The browser's page must have shown events (it reads the stream over
SSE) for the run to count.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common import DevServer, Row, SinkProc, median
from load import has_wrk, run_publish_many
from server_figures import burst_seconds, delivered_burst

CHROMIUM = os.environ.get("QSTASH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("QSTASH_CHROMEDRIVER", "/usr/bin/chromedriver")
FIGURE = "console: accepted publishes/s with a browser on the live stream"


SETTLE_SECONDS = 2.0  # after a page load (both arms): a burst of 10,000 lasts ~3 s here, the page's load ~1 s of it


def _browser() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ.setdefault("SE_OFFLINE", "true")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1360,1000",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()) and not shutil.which("chromium"):
        return f"needs {CHROMIUM} and {CHROMEDRIVER}"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "needs selenium"
    return None


def accept_with_browser(workdir: Path, n: int, rounds: int = 3, concurrency: int = 32) -> Row:
    """Accepted publishes/s (deliveries running) with the console's live stream open vs closed, same server."""
    reason = _missing()
    if reason:
        return Row(FIGURE, None, None, "/s", "≥ 0.9× without", None, note=f"not measured: {reason}")
    browser = _browser()
    shown: list[int] = []
    errors: list[int] = []
    with DevServer(workdir) as server, SinkProc(workdir) as sink:
        dest = f"{sink.url}/c"
        total = 200
        run_publish_many(server.port, server.token, dest, 200, concurrency=8)  # warm-up
        sink.wait_count(total, timeout=30)

        def burst(with_page: bool) -> float:
            nonlocal total
            browser.get(f"{server.url}/#/stream" if with_page else "about:blank")
            if with_page:
                _wait(lambda: "live" in browser.find_element("id", "status").text, 15)
            time.sleep(SETTLE_SECONDS)  # the page's load is not part of the figure: a browser *on* the stream
            before = _events_shown(browser) if with_page else 0
            rate, accepted, bad = delivered_burst(server, workdir, dest, n, concurrency)
            errors.append(bad)
            total += accepted
            sink.wait_count(total, timeout=max(60.0, n / 100))
            if with_page:
                time.sleep(1)  # the page catches up with the last poll
                shown.append(_events_shown(browser) - before)
            return rate

        without, with_page = [], []
        for i in range(rounds):
            order = (False, True) if i % 2 == 0 else (True, False)
            for flag in order:
                (with_page if flag else without).append(burst(flag))
    browser.quit()
    # A round is two adjacent bursts, one of each: the machine's load drifts less within a round than over the run,
    # so the figure is the round with the median ratio (a ratio never mixes rounds, as in server_figures).
    ratios = [w / b for b, w in zip(without, with_page, strict=True)]
    overall = median(with_page) / median(without)
    pick = sorted(range(rounds), key=ratios.__getitem__)[rounds // 2]
    base, ours = without[pick], with_page[pick]
    ok = ours >= 0.9 * base and all(s > 0 for s in shown) and not any(errors)
    bursts = f"wrk for {burst_seconds(n)} s a burst" if has_wrk() else f"load.py, {n:,} publishes a burst"
    note = (
        f"the round with the median ratio of {rounds} (each a burst without and one with the page, adjacent; "
        f"ratios {' '.join(f'{r:.2f}' for r in ratios)}; the medians of all bursts: {overall:.2f}×); "
        f"{bursts}, over {concurrency} connections, every publish answered 2xx: {not any(errors)}; the page showed "
        f"{min(shown):,}-{max(shown):,} events per burst (the stream skips ahead under load, see server/feed.py)"
    )
    extra = {"without": without, "with": with_page, "ratios": ratios, "events_shown": shown}
    return Row(FIGURE, base, ours, "/s", "≥ 0.9× without", ok, note=note, extra=extra)


def _events_shown(browser: Any) -> int:
    text = browser.find_element("id", "stream-count").text
    return int(text.split()[0]) if text and text[0].isdigit() else 0


def _wait(fn: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not fn():
        if time.monotonic() > deadline:
            raise RuntimeError("the console page never went live")
        time.sleep(0.1)
