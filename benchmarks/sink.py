"""A fast delivery sink for the server benchmarks: raw asyncio HTTP/1.1 (keep-alive), records (arrival, message id).

    python benchmarks/sink.py --port P --out FILE

Every request is answered `200 ok` and recorded with `time.time()` and its Upstash-Message-Id header. `GET /__count`
answers the number recorded so far (not recorded itself). On SIGTERM/SIGINT the records are written to FILE as
"<unix seconds> <message id>" lines.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import time

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


class Sink:
    def __init__(self) -> None:
        self.records: list[tuple[float, str]] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                now = time.time()
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ", 2)[1] if " " in lines[0] else ""
                length, message_id = 0, ""
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    name = name.strip().lower()
                    if name == "content-length":
                        length = int(value)
                    elif name == "upstash-message-id":
                        message_id = value.strip()
                if length:
                    await reader.readexactly(length)
                if path == "/__count":
                    body = str(len(self.records)).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                else:
                    self.records.append((now, message_id))
                    writer.write(RESPONSE)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    sink = Sink()
    server = await asyncio.start_server(sink.handle, "127.0.0.1", a.port, backlog=2048)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    async with server:
        await stop.wait()
    with open(a.out, "w") as f:
        f.writelines(f"{t:.6f} {mid}\n" for t, mid in sink.records)


if __name__ == "__main__":
    asyncio.run(main())
