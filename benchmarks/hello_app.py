"""The accept-path baselines: `python benchmarks/hello_app.py starlette PORT` serves a hello-world Starlette app with
the uvicorn settings `qstash dev` uses (uvloop, httptools, no access log, keep-alive 30 s, no server header);
`python benchmarks/hello_app.py floor PORT` answers every request with a fixed 200 straight from uvloop + httptools
(no ASGI, no framework): the ceiling of a Python HTTP server on this machine."""

from __future__ import annotations

import asyncio
import sys

BODY = b'{"messageId":"msg_hello"}'


def starlette(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    async def hello(request: Request) -> Response:
        await request.body()
        return Response(BODY, media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", hello, methods=["GET", "POST"])])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, loop="auto", http="httptools",
                lifespan="off", timeout_keep_alive=30, server_header=False)  # fmt: skip


class _Floor(asyncio.Protocol):
    def __init__(self) -> None:
        import httptools

        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_message_complete(self) -> None:
        assert self.transport is not None
        self.transport.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(BODY), BODY)
        )


def floor(port: int) -> None:
    import uvloop

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(_Floor, "127.0.0.1", port, backlog=2048)
        await server.serve_forever()

    uvloop.run(main())


if __name__ == "__main__":
    {"starlette": starlette, "floor": floor}[sys.argv[1]](int(sys.argv[2]))
