"""`qstash dev` and its data file: a damaged file at start is refused with one line and left byte for byte as it was;
a second server on the same file refuses to start (an exclusive lock), so no message is ever delivered twice by two
engines, and the lock goes with the process, also on SIGKILL; a full disk answers 507 and loses nothing accepted."""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import DevServer, free_port, start_dev_server
from tests.reliability.figures import record

DAMAGES = {
    "truncated to half": lambda b: b[: len(b) // 2],
    "truncated mid-page": lambda b: b[: len(b) // 2 + 1234],
    "truncated to 50 bytes": lambda b: b[:50],
    "a page zeroed": lambda b: b[:8192] + b"\0" * 4096 + b[12288:],
    "header overwritten": lambda b: b"SQLite format 9\x00" + b[16:],
    "not a database": lambda b: b"\x00garbage" * 1000,
}
_results: dict[str, int] = {}


def _run_server(data: Path, *extra: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "qstash_cli.server", "--port", str(free_port()), "--data", str(data), *extra]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def good_file(tmp_path_factory) -> bytes:
    """The bytes of a real data file holding messages, topics and logs."""
    where = tmp_path_factory.mktemp("good")
    server = start_dev_server(where, quiet=True)
    with server.client() as c:
        for i in range(200):
            r = c.post(f"/v2/publish/http://127.0.0.1:1/x{i}", content=b"x" * 300, headers={"Upstash-Delay": "1h"})
            assert r.status_code == 200
        assert c.post("/v2/topics/grp/endpoints", json={"endpoints": [{"url": "http://127.0.0.1:1/a"}]}).is_success
    assert server.stop() == 0
    assert server.data_path is not None
    return server.data_path.read_bytes()


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_data_file_is_refused_and_left_untouched(tmp_path, good_file, damage) -> None:
    data = tmp_path / "dev.sqlite3"
    data.write_bytes(DAMAGES[damage](good_file))
    digest = hashlib.sha256(data.read_bytes()).hexdigest()
    done = _run_server(data)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1, done.stderr
    assert len(lines) == 1 and lines[0].startswith(f"Error: the data file {data} is damaged ("), done.stderr
    assert "left untouched" in lines[0] and "Traceback" not in done.stderr
    assert hashlib.sha256(data.read_bytes()).hexdigest() == digest, "the damaged file was modified"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.sqlite3", "dev.sqlite3.lock"]
    _results[damage] = done.returncode
    record("damaged_data_file", {"cases": len(_results), "refused_untouched": len(_results)})


def test_an_empty_file_is_a_new_data_file(tmp_path) -> None:
    data = tmp_path / "dev.sqlite3"
    data.write_bytes(b"")
    server = start_dev_server(tmp_path, data=data, quiet=True)
    try:
        with server.client() as c:
            assert c.get("/v2/topics").status_code == 200
    finally:
        assert server.stop() == 0


def test_second_server_on_one_data_file_refuses_and_nothing_is_delivered_twice(tmp_path, sink) -> None:
    first = start_dev_server(tmp_path, "first", quiet=True)
    assert first.data_path is not None
    try:
        with first.client() as c:
            ids = [c.post(f"/v2/publish/{sink.url}/d{i}", content=b"x").json()["messageId"] for i in range(20)]
            seconds = []
            for _ in range(3):  # each try while the first holds delivery of live messages
                later = c.post(f"/v2/publish/{sink.url}/late", content=b"y", headers={"Upstash-Delay": "2s"})
                ids.append(later.json()["messageId"])
                seconds.append(_run_server(first.data_path))
        for done in seconds:
            lines = done.stderr.strip().splitlines()
            assert done.returncode == 1, done.stderr
            assert lines == [
                f"Error: the data file {first.data_path} is in use by another qstash dev (pid {first.proc.pid}); "
                "stop it, or pass another --data"
            ], done.stderr
        got = sink.wait_for(len(ids), timeout=30)
        delivered = [r.header("upstash-message-id") for r in got]
        assert sorted(delivered) == sorted(ids), "a message was lost or delivered twice"
        record("two_servers_one_file", {"second_starts_tried": len(seconds), "refused": 3, "delivered_twice": 0})
    finally:
        first.kill()  # SIGKILL: the OS drops the lock with the process
    again = start_dev_server(tmp_path, "again", data=first.data_path, quiet=True)
    assert again.stop() == 0


# -- the disk filling up ---------------------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 1 MB tmpfs (root only), unmounted at the end."""
    where = tmp_path / "disk"
    where.mkdir()
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def test_disk_full_answers_507_and_every_accepted_publish_survives(tmp_path, small_disk) -> None:
    server = DevServer(free_port(), small_disk / "dev.sqlite3", tmp_path / "dev.log", {"quiet": True})
    accepted: list[str] = []
    refused: dict[int, int] = {}
    missing: list[str] = []
    try:
        server.start()
        with server.client() as c:
            streak = 0
            for _ in range(2000):  # bounded: 1 MB fills after ~100 of these
                r = c.post("/v2/publish/http://127.0.0.1:1/x", content=b"x" * 8000, headers={"Upstash-Delay": "1h"})
                if r.is_success:
                    accepted.append(r.json()["messageId"])
                    streak = 0
                    continue
                assert r.headers["content-type"].startswith("application/json"), r.text
                assert r.status_code == 507 and "full" in r.json()["error"], r.text
                refused[r.status_code] = refused.get(r.status_code, 0) + 1
                streak += 1
                if streak == 50:
                    break
            assert streak == 50, "the disk never filled"
            assert c.get("/v2/keys").status_code == 200  # still serving
            schedule = c.post("/v2/schedules/http://127.0.0.1:1/s", headers={"Upstash-Cron": "* * * * *"})
            assert schedule.status_code in (200, 507), schedule.text  # a small write may still fit: then it is kept
            schedule_id = schedule.json()["scheduleId"] if schedule.is_success else None
        server.stop()
        # room again (the user freed space): restart on the same file, everything that got a 2xx is there
        subprocess.run(["mount", "-o", "remount,size=32m", str(small_disk)], check=True)
        server.start()
        with server.client() as c:
            missing = [mid for mid in accepted if c.get(f"/v2/messages/{mid}").status_code != 200]
            if schedule_id is not None and c.get(f"/v2/schedules/{schedule_id}").status_code != 200:
                missing.append(schedule_id)
            assert c.post("/v2/publish/http://127.0.0.1:1/x", content=b"y", headers={"Upstash-Delay": "1h"}).is_success
    finally:
        server.kill()
    record(
        "disk_full",
        {"accepted": len(accepted), "refused_507": refused.get(507, 0), "accepted_then_lost": len(missing)},
    )
    assert accepted and not missing, f"{len(missing)} accepted messages lost"


def _fill(c, body: bytes) -> int:
    """Publish `body` until 50 refusals in a row (bounded); the number of refusals, all 507 JSON."""
    streak = refusals = 0
    for _ in range(3000):
        r = c.post("/v2/publish/http://127.0.0.1:1/x", content=body, headers={"Upstash-Delay": "1h"})
        if r.is_success:
            streak = 0
            continue
        assert r.status_code == 507 and "full" in r.json()["error"], r.text
        streak, refusals = streak + 1, refusals + 1
        if streak == 50:
            return refusals
    raise AssertionError("the disk never filled")


def test_disk_full_while_delivering_sends_each_message_once(tmp_path, small_disk, sink) -> None:
    """A delivery whose outcome cannot be stored (disk full) is not sent again: the outcome is kept and stored once
    there is room."""
    server = DevServer(free_port(), small_disk / "dev.sqlite3", tmp_path / "dev.log", {"backoff_scale": 0.001})
    try:
        server.start()
        with server.client() as c:
            mid = c.post(
                f"/v2/publish/{sink.url}/once", content=b"m", headers={"Upstash-Delay": "3s", "Upstash-Retries": "0"}
            ).json()["messageId"]
            _fill(c, b"x" * 8000)
            _fill(c, b"x")  # the last few pages too

            def states() -> set[str]:
                return {e["state"] for e in c.get("/v2/logs", params={"messageId": mid}).json()["logs"]}

            sink.wait_for(1, timeout=30, path="/once")
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # until it has failed to store the outcome 3 times (or stored it)
                if server.log().count(f"cannot store the outcome of {mid}") >= 3 or "DELIVERED" in states():
                    break
                time.sleep(0.2)
            held = server.log().count(f"cannot store the outcome of {mid}")
            sent_while_full = len([r for r in sink.requests if r.path == "/once"])
            subprocess.run(["mount", "-o", "remount,size=32m", str(small_disk)], check=True)  # room again, live
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and "DELIVERED" not in states():
                time.sleep(0.2)
            delivered = "DELIVERED" in states()
    finally:
        server.kill()
    sent = len([r for r in sink.requests if r.path == "/once"])
    record("disk_full_delivery", {"outcome_store_retries": held, "sent_while_full": sent_while_full, "sent": sent})
    assert sent_while_full == 1 and sent == 1, (sent_while_full, sent)
    assert delivered, "the outcome was never stored"


def test_a_schedule_that_cannot_fire_for_a_full_disk_is_tried_again(monkeypatch) -> None:
    """In process: the scheduler keeps a schedule whose firing failed with DiskFull and fires it again."""
    from qstash_cli.server import scheduler
    from qstash_cli.server.store import DiskFull

    monkeypatch.setattr(scheduler, "FIRE_RETRY_MS", 20)
    calls: list[tuple] = []

    class Store:
        async def run(self, fn, *args):
            calls.append((fn.__name__, args[:1]))
            if fn is scheduler.schedule_times:
                return [("scd_1", 0)]
            if len(calls) == 2:
                raise DiskFull("the disk holding the data file is full")
            return [], None

    class Engine:
        def add(self, deliveries) -> None:
            pass

    async def go() -> None:
        sched = scheduler.Scheduler(Store(), Engine())  # type: ignore[arg-type]
        await sched.start()
        for _ in range(200):  # bounded
            if len(calls) >= 3:
                break
            await asyncio.sleep(0.01)
        await sched.stop()

    asyncio.run(go())
    assert [name for name, _ in calls[:3]] == ["schedule_times", "fire", "fire"], calls
    assert calls[2][1] == ("scd_1",)
