"""The delivery process: the deliveries' headers and HTTP exchanges in a child process, on a core of their own.

`qstash dev` keeps one event loop on one thread (the GIL): accepting a publish and delivering one share it. An
attempt's headers and signature and its exchange (encoding the request, the socket write with its loopback TCP work,
parsing the response) are most of a delivery's cost, so `Remote.attempt` hands them to a child process
(`python -m qstash_cli.server.deliverer FD`) that runs `attempt_headers` and `outbound.Client` on its own loop, and
gets back what `outbound.Client.request` returns or raises (the same Response, the same exception classes and
texts). Everything else — scheduling, retries, storing each attempt, callbacks, workflows — stays in the server.

The two talk over a socket pair: frames of a 4-byte length and a pickle, the frames of one loop turn in one write
(pickle, because both ends are this program: the pair is made by the server and handed to its own child, never a
network socket).
The child's first frame says it is ready. Request: (id, key, method, attempt_headers' arguments, connect timeout,
response limit, timeout). Answer: (id, headers as sent, True, (status, headers, body, truncated)) or (id, headers
as sent, False, exception). The child exits when the socket closes (the server stopped or died). When the child
dies, the attempts in flight fail with ConnectionError (the engine records a failed attempt and retries it, as for
any connection error) and the next attempt starts a new child. When no child can run (it cannot be started, or
exits before it is ready: nothing was sent), the attempts are made in the server process, as `--one-process` does.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

from qstash_cli.server import outbound
from qstash_cli.server.attempt_headers import attempt_headers

_LEN = 4
_READY = ("ready",)  # the child's first frame: imported and listening


class _Framed(asyncio.Protocol):
    """Length-prefixed pickles in both directions; the writes of one loop turn coalesced into one."""

    def __init__(self, on_frame: Callable[[Any], None]) -> None:
        self.on_frame = on_frame
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.out: list[bytes] = []
        self.lost: asyncio.Future | None = None
        self.ready = False  # the child said it is ready (parent side)
        self.sock: socket.socket | None = None  # the parent's end, shut at once by `Remote.close`

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.lost = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        buf = self.buffer
        buf += data
        pos, size = 0, len(buf)
        while size - pos >= _LEN:
            n = int.from_bytes(buf[pos : pos + _LEN], "big")
            end = pos + _LEN + n
            if end > size:
                break
            self.on_frame(pickle.loads(buf[pos + _LEN : end]))
            pos = end
        if pos:
            del buf[:pos]

    def send(self, message: Any) -> None:
        frame = pickle.dumps(message, pickle.HIGHEST_PROTOCOL)
        if not self.out:
            asyncio.get_running_loop().call_soon(self._flush)
        self.out.append(len(frame).to_bytes(_LEN, "big"))
        self.out.append(frame)

    def _flush(self) -> None:
        out, self.out = self.out, []
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(out))

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.lost is not None and not self.lost.done():
            self.lost.set_result(None)


def child_argv(fd: int, max_idle: int) -> list[str]:
    """The child's command line: this module, on this Python, given its end of the socket pair and how many idle
    connections per host its client keeps."""
    return [sys.executable, "-m", "qstash_cli.server.deliverer", str(fd), str(max_idle)]


class Spec(NamedTuple):
    """What an attempt needs: the signing key, the method, `attempt_headers`' arguments after the key (the URL and
    body first) and the exchange's limits."""

    key: str
    method: str
    header_args: tuple
    connect_timeout: float
    limit: int
    timeout: float | None


Result = tuple[list[tuple[str, str]] | None, "outbound.Response | BaseException"]


class Remote:
    """Attempts made by a child process. One per engine, on one event loop. When no child can run (it cannot be
    started, or exits before it is ready), the attempts are made here instead, with a line in the log."""

    def __init__(
        self, log: Callable[[str], None] = lambda line: None, max_idle: int = outbound.MAX_IDLE_PER_HOST
    ) -> None:
        self.log = log
        self.max_idle = max_idle
        self.local: outbound.Client | None = None  # set when no child can run
        self._link: _Framed | None = None
        self._child: subprocess.Popen | None = None
        self._waiting: dict[int, tuple[asyncio.Future, tuple]] = {}
        self._next = 0
        self._starting: asyncio.Future | None = None
        self.exit_code: int | None = None  # the last child's, once `close` has stopped it

    async def start(self) -> None:
        """Start the child now (it imports while the server starts), not at the first delivery."""
        await self._ready()

    async def _ready(self) -> _Framed | None:
        """The link to a child, started by the first caller (the others wait for the same start); None: run here."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._spawn())
        starting = self._starting
        try:
            return await asyncio.shield(starting)
        finally:
            if self._starting is starting and starting.done():
                self._starting = None

    async def _spawn(self) -> _Framed | None:
        ours, theirs = socket.socketpair()
        package_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(outbound.__file__))))
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": package_root + (os.pathsep + path if path else "")}  # this qstash_cli
        try:
            self._child = subprocess.Popen(
                child_argv(theirs.fileno(), self.max_idle),
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,  # stderr stays the server's: a crash is seen
                env=env,
            )
        except (OSError, ValueError) as exc:  # ValueError: no pass_fds on this platform
            ours.close()
            self._run_here(f"cannot start the delivery process ({exc})")
            return None
        finally:
            theirs.close()
        _, link = await asyncio.get_running_loop().connect_accepted_socket(lambda: _Framed(self._answered), ours)
        link.sock = ours
        assert link.lost is not None
        link.lost.add_done_callback(lambda _: self._gone(link))
        self._link = link
        return link

    def _run_here(self, why: str) -> None:
        import ssl

        if self.local is None:
            self.log(f"qstash dev: {why}; delivering from the server process")
            self.local = outbound.Client(ssl.create_default_context(), self.max_idle)

    @property
    def pid(self) -> int | None:
        """The running child's process id, if one runs."""
        return self._child.pid if self._child is not None else None

    def _gone(self, link: _Framed) -> None:
        """The child exited. Before it was ready, nothing was sent: its attempts are made here. After, each attempt
        in flight fails as a connection error (it may have been sent), and the next attempt starts a new child."""
        if self._link is link:
            self._link = None
        code = None
        if self._child is not None:
            with contextlib.suppress(OSError):
                self._child.kill()
            code = self._child.wait()
            self._child = None
        waiting, self._waiting = self._waiting, {}
        if not link.ready:
            self._run_here(f"the delivery process exited before it was ready (exit code {code})")
        for future, message in waiting.values():
            if future.done():
                continue
            if link.ready:
                future.set_result((None, ConnectionError("the delivery process stopped")))
            else:
                asyncio.ensure_future(self._here(future, Spec(*message[1:])))

    async def _here(self, future: asyncio.Future, spec: Spec) -> None:
        assert self.local is not None
        result = await exchange(self.local, spec)
        if not future.done():
            future.set_result(result)

    def _answered(self, message: tuple) -> None:
        if message == _READY:
            assert self._link is not None
            self._link.ready = True
            return
        rid, sent, ok, value = message
        future, _ = self._waiting.pop(rid, (None, None))
        if future is not None and not future.done():
            future.set_result((sent, outbound.Response(*value) if ok else value))

    async def attempt(self, spec: Spec) -> Result:
        """One attempt, made by the child (`exchange`). Its headers are None when the child stopped first."""
        link = self._link
        if (link is None or link.transport is None) and self.local is None:
            link = await self._ready()
        if self.local is not None or link is None:
            assert self.local is not None
            return await exchange(self.local, spec)
        self._next += 1
        rid = self._next
        future = asyncio.get_running_loop().create_future()
        message = (rid, *spec)
        self._waiting[rid] = (future, message)
        link.send(message)
        return await future

    def close(self) -> None:
        """Stop the child: it exits when its socket closes."""
        link, self._link = self._link, None
        if link is not None and link.transport is not None:
            if link.sock is not None:  # now: the transport's own close waits for a turn of the loop
                with contextlib.suppress(OSError):
                    link.sock.shutdown(socket.SHUT_RDWR)
            link.transport.close()
        if self._child is not None:
            try:
                self.exit_code = self._child.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self.exit_code = self._child.wait()
            self._child = None
        if self.local is not None:
            self.local.close()


async def exchange(client: outbound.Client, spec: Spec) -> Result:
    """An attempt's headers (`attempt_headers(key, *header_args)`) and its exchange on `client`, as
    `outbound.Client.request` makes it: (headers as sent, the Response or the exception raised)."""
    key, method, header_args, connect_timeout, limit, timeout = spec
    sent = None
    try:
        sent = attempt_headers(key, *header_args)
        url, body = header_args[0], header_args[1]
        response = await client.request(
            method, url, sent, body, connect_timeout=connect_timeout, limit=limit, timeout=timeout
        )
    except Exception as exc:  # noqa: BLE001 - the exchange's outcome
        return sent, exc
    return sent, response


# -- the child ------------------------------------------------------------------------------------------------------


def _portable(exc: BaseException) -> BaseException:
    """The exception as it can cross to the server: itself when it pickles and unpickles, else an OSError/ValueError
    of the same text (the engine shows OSError's class name, and any other error's text)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - a class that does not round-trip
        return OSError(str(exc)) if isinstance(exc, OSError) else ValueError(str(exc))
    return exc


async def _serve(fd: int, max_idle: int) -> None:
    import ssl

    client = outbound.Client(ssl.create_default_context(), max_idle)
    link: _Framed | None = None
    tasks: set[asyncio.Task] = set()

    async def one(rid: int, *spec: Any) -> None:
        sent, r = await exchange(client, Spec(*spec))
        assert link is not None
        if isinstance(r, BaseException):
            link.send((rid, sent, False, _portable(r)))
        else:
            link.send((rid, sent, True, (r.status, r.headers, r.body, r.truncated)))

    def started(message: tuple) -> None:
        task = asyncio.get_running_loop().create_task(one(*message))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    sock = socket.socket(fileno=fd)
    _, link = await asyncio.get_running_loop().connect_accepted_socket(lambda: _Framed(started), sock)
    link.send(_READY)
    assert link.lost is not None
    await link.lost
    for task in tasks:
        task.cancel()
    client.close()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the server, which closes our socket
    serving = _serve(int(argv[0]), int(argv[1]))
    try:
        import uvloop
    except ImportError:
        asyncio.run(serving)
    else:
        uvloop.run(serving)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
