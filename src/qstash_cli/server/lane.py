"""The accept path's lane (issue 12): the commonest publish answered from the HTTP protocol's own callbacks.

A `POST /v2/publish/<url>` whose headers say it needs nothing looked up (`intake.prepare_direct`) is taken before
uvicorn starts an ASGI cycle for it: no task, no scope-to-app hand-off, no receive/send coroutines. Its body is
collected by the parser as usual; once complete, the message is prepared and joins the lane's publishes of this turn
of the loop, all stored by one job of the next group commit (`Batch`, one statement per table); each answer is
written when that commit is done — durable exactly as on the ASGI path.

The lane takes only what it can answer exactly as the ASGI path would, and hands anything else to that path
untouched (`super()._start_asgi_task`): other routes and methods, enqueue, url groups, workflow and hop headers,
`Expect: 100-continue`, chunked or large bodies, proxy headers, oversize header sets, a wrong token, and every
request whose preparation raises (the ASGI path then answers the error, with the same pipeline). Nothing has been
stored by then. The answer's bytes are the ASGI path's (`tests/server/test_lane.py` holds the two side by side).

It needs uvicorn's httptools protocol (its `_start_asgi_task` and cycle objects: `has_lane`); with `--http h11`, or a
uvicorn without them, every publish takes the ASGI path.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from qstash_cli.server import data, intake
from qstash_cli.server.context import Server
from qstash_cli.server.http import MAX_HEADER_BYTES, MAX_HEADER_COUNT, access_line, bearer, failure
from qstash_cli.server.ids import now_ms
from qstash_cli.server.publishing import header_bag, is_url
from qstash_cli.server.wire import compact

PREFIX = "/v2/publish/"
MAX_BODY = 64 * 1024  # uvicorn stops reading past this until an app asks for more: larger bodies take the ASGI path
EXCLUDED = frozenset(
    (b"transfer-encoding", b"expect", b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host")
    + tuple(name.encode() for name in intake.DIRECT_EXCLUDED)
)
Done = Callable[[Exception | None, Any], None]  # told (error, stored) once a publish's group commit is done


@functools.lru_cache(maxsize=64)
def _status_line(status: int) -> bytes:
    return b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode())


def has_lane(base: type) -> bool:
    """Whether `base` (a uvicorn HTTP protocol class) is one the lane can be put on."""
    return hasattr(base, "_start_asgi_task") and hasattr(base, "on_message_complete")


def laned(base: type, server: Callable[[], Server | None], log_enabled: Callable[[], bool]) -> type:
    """`base` (uvicorn's httptools protocol, or a subclass) with the lane; `server()` is the running `Server`
    (None before the lifespan has started), `log_enabled()` whether access lines are written."""

    batch = Batch()

    class Laned(base):  # type: ignore[misc, valid-type]
        _lane_wait: Any = None  # the cycle whose body the lane is waiting for

        def _start_asgi_task(self, cycle: Any, app: Any) -> None:
            srv = server()
            taken = srv is not None and self._lane_take(srv, cycle)
            if not taken:
                super()._start_asgi_task(cycle, app)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            cycle = self._lane_wait
            if cycle is not None and cycle is self.cycle and not cycle.more_body:
                self._lane_wait = None
                self._lane_run(cycle)

        # -- the lane -----------------------------------------------------------------------------------------

        def _lane_take(self, srv: Server, cycle: Any) -> bool:
            """Take `cycle` when the lane can answer it; run it now when its body is complete, else at the end
            of its body."""
            scope = cycle.scope
            if scope["method"] != "POST" or not scope["path"].startswith(PREFIX) or cycle.waiting_for_100_continue:
                return False
            headers = scope["headers"]
            if len(headers) > MAX_HEADER_COUNT:
                return False
            length = authorization = None
            size = 0
            for name, value in headers:
                size += len(name) + len(value)
                if name == b"content-length":
                    length = value
                elif name == b"authorization":
                    authorization = value
                elif name in EXCLUDED:
                    return False
            if size > MAX_HEADER_BYTES or length is None or not length.isdigit() or int(length) > MAX_BODY:
                return False
            query_string = scope["query_string"]
            if query_string and (b"qstash_token" in query_string or b"upstash-" in query_string.lower()):
                return False  # the token or publish settings in the query: the ASGI path reads them
            if authorization is None or bearer(authorization.decode("latin-1"), lambda: "") != srv.token:
                return False
            cycle.lane = time.perf_counter()
            if cycle.more_body:
                self._lane_wait = cycle
            else:
                self._lane_run(cycle)
            return True

        def _lane_run(self, cycle: Any) -> None:
            srv = server()
            if cycle.disconnected:
                return
            if srv is None:  # shutting down meanwhile: the ASGI path answers as it answers then
                base._start_asgi_task(self, cycle, self.app)
                return
            scope = cycle.scope
            now = now_ms()
            try:
                destination = intake.destination_of(scope, 3)
                if not is_url(destination):
                    raise LookupError("a url group: the ASGI path resolves it")
                prepared = intake.prepare_direct(
                    srv,
                    header_bag(scope["headers"], {}),
                    bytes(cycle.body),
                    destination,
                    caller_ip=self.client[0] if self.client else "127.0.0.1",
                    now=now,
                )
            except Exception:  # noqa: BLE001 - the ASGI path answers it, errors included; nothing is stored yet
                base._start_asgi_task(self, cycle, self.app)
                return
            batch.add(srv, self.loop, prepared, now, functools.partial(self._lane_stored, cycle, srv, prepared))

        def _lane_stored(self, cycle: Any, srv: Server, prepared: Any, error: Exception | None, stored: Any) -> None:
            if error is None:
                status, payload, headers = intake.answers(srv, [prepared], [stored])[0]
            else:
                (status, payload), headers = failure(error, f"POST {cycle.scope['path']}"), {}
            self._lane_answer(cycle, status, payload, headers)

        def _lane_answer(self, cycle: Any, status: int, payload: Any, headers: dict[str, str]) -> None:
            """Write the answer as uvicorn writes an ASGI app's, then let the protocol go on as it does after one."""
            if cycle.disconnected or self.transport.is_closing():
                return
            body = compact(payload)
            out = [_status_line(status)]
            out += [b"%s: %s\r\n" % pair for pair in self.server_state.default_headers]
            out.append(b"content-length: %d\r\ncontent-type: application/json\r\n" % len(body))
            out += [b"%s: %s\r\n" % (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            if not cycle.keep_alive:
                out.append(b"connection: close\r\n")
            out += [b"\r\n", body]
            self.transport.write(b"".join(out))
            cycle.response_started = cycle.response_complete = True
            if log_enabled():
                sys.stderr.write(access_line("POST", cycle.scope["raw_path"], status, time.perf_counter() - cycle.lane))
            if not cycle.keep_alive:
                self.transport.close()
            self.on_response_complete()

    Laned.__name__ = f"Laned{base.__name__}"
    return Laned


class Batch:
    """The lane's publishes waiting for the next group commit: all of them stored by one database job
    (`data.publish_many`, one statement per table), each told its own result once that job has committed."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, Done]] | None = None

    def add(self, srv: Server, loop: Any, prepared: Any, now: int, done: Done) -> None:
        """Store `prepared` (one publish) with the others of this turn; `done(error, stored)` once committed."""
        if self.items is None:
            items: list[tuple[Any, Done]] = []
            self.items = items
            future = srv.store.later(loop, self._store, items, now + srv.dedup_window_ms, now)
            future.add_done_callback(functools.partial(self._tell, items))
        self.items.append((prepared, done))

    def _store(self, conn: Any, items: list, expires_at: int, now: int) -> list:
        """The database job: from now on, new publishes go to the next job."""
        if self.items is items:
            self.items = None
        return data.publish_many(conn, [(p.specs, p.key, p.response) for p, _ in items], expires_at, now)

    @staticmethod
    def _tell(items: list, future: Any) -> None:
        error = future.exception()
        results = future.result() if error is None else [None] * len(items)
        for (_, done), stored in zip(items, results, strict=True):
            done(error, stored)
