"""A lean load generator for the server figures: raw asyncio HTTP/1.1 keep-alive connections, so the measurement is
the server's speed, not a client library's. Each publish is recorded as (start, end, status, message id)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Sent:
    start: float  # time.time() before the request was written
    end: float  # time.time() after the response was read
    status: int
    message_id: str


def publish_request(
    port: int, token: str, destination: str, body: bytes, headers: dict[str, str] | None = None
) -> bytes:
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    return (
        f"POST /v2/publish/{destination} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n{extra}\r\n"
    ).encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, body
    return status, (await reader.readexactly(length) if length else b"")


async def _worker(
    port: int, request: bytes, count: int, out: list[Sent], pace: float | None, t0: float, index: int, stride: int
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for i in range(count):
            if pace:  # open-loop pacing: this worker's i-th request is due at t0 + (i*stride + index) / rate
                due = t0 + (i * stride + index) / pace
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            start = time.time()
            writer.write(request)
            status, body = await _read_response(reader)
            message_id = ""
            if 200 <= status < 300:
                with contextlib.suppress(ValueError, AttributeError):
                    message_id = json.loads(body).get("messageId", "")
            out.append(Sent(start, time.time(), status, message_id))
    finally:
        writer.close()


async def publish_many(
    port: int,
    token: str,
    destination: str,
    n: int,
    *,
    concurrency: int = 32,
    body: bytes = b"hello",
    rate: float | None = None,
    headers: dict[str, str] | None = None,
) -> list[Sent]:
    """Publish `n` messages to `destination` over `concurrency` connections (paced at `rate`/s when given)."""
    request = publish_request(port, token, destination, body, headers)
    out: list[Sent] = []
    per, extra = divmod(n, concurrency)
    t0 = time.time()
    await asyncio.gather(
        *(
            _worker(port, request, per + (1 if i < extra else 0), out, rate, t0, i, concurrency)
            for i in range(concurrency)
        )
    )
    return out


def run_publish_many(*args, **kwargs) -> list[Sent]:
    return asyncio.run(publish_many(*args, **kwargs))


def has_wrk() -> bool:
    """wrk is installed: the compiled generator, so the generator is not the limit."""
    return shutil.which("wrk") is not None


def run_wrk(
    port: int, token: str, path: str, seconds: int, workdir: Path, *, connections: int, delayed: bool
) -> tuple[float, int, int]:
    """(requests/s, requests, non-2xx + socket errors) of one wrk run: one thread, `connections` keep-alive
    connections, `POST path` with body "x" (and `Upstash-Delay: 1h` when `delayed`)."""
    script = workdir / f"publish-{'delayed' if delayed else 'now'}.lua"
    script.write_text(
        f'wrk.method = "POST"\nwrk.path = "{path}"\nwrk.body = "x"\n'
        f'wrk.headers["Authorization"] = "Bearer {token}"\nwrk.headers["Content-Type"] = "text/plain"\n'
        + ('wrk.headers["Upstash-Delay"] = "1h"\n' if delayed else "")
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "-s", str(script), f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    bad = sum(int(x) for x in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        bad += sum(int(x) for x in m.groups())
    return rate, total, bad
