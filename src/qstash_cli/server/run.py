"""Start the server: open the store, bind the socket, print the credentials, run uvicorn until Ctrl-C/SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from qstash_cli import devcreds

DEFAULT_DEDUP_WINDOW = 600.0
DEFAULT_MESSAGE_GRACE = 600.0  # seconds a delivered message stays readable by GET /v2/messages/{id}
DEFAULT_RETENTION = 7 * 86400.0  # seconds finished messages, their logs and ended workflow runs are kept


@dataclass
class Options:
    """`qstash dev` settings (see `qstash dev --help`)."""

    port: int = devcreds.DEV_PORT
    host: str = "127.0.0.1"
    data: str | None = None
    memory: bool = False
    token: str = devcreds.DEV_TOKEN
    quota: str = "payg"
    dedup_window: float = DEFAULT_DEDUP_WINDOW
    message_grace: float = DEFAULT_MESSAGE_GRACE
    retention: float | None = DEFAULT_RETENTION  # None: keep everything
    backoff_scale: float = 1.0
    sync: str = "normal"
    workers: int = 128  # deliveries in flight at once
    quiet: bool = False
    console: bool = True
    max_connections: int = 1000
    header_timeout: float = 10.0
    idle_timeout: int = 30
    http: str = "auto"  # uvicorn's HTTP implementation: auto, httptools or h11
    one_process: bool = False  # deliver from this process, not from a child process (deliverer.py)
    due_window: int = 5000  # pending tasks read per page of the due-queue (tests make it small)
    due_horizon: float = 60.0  # seconds: a page holds no task due later than this from now
    current_key: str = devcreds.DEV_CURRENT_SIGNING_KEY
    next_key: str = devcreds.DEV_NEXT_SIGNING_KEY


def default_data_path() -> Path:
    """The SQLite file used when neither --data nor --memory is given."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("qstash")) / "dev.sqlite3"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _say(line: str) -> None:
    sys.stderr.write(line + "\n")
    sys.stderr.flush()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited by accepted sockets (Linux)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _raise_file_limit(wanted: int) -> None:
    """Raise the soft limit of open files towards `wanted` (never above the hard limit)."""
    try:
        import resource
    except ImportError:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def banner(opts: Options, url: str, keys: tuple[str, str], where: str) -> list[str]:
    """The start-up lines: where it runs, the credentials as export lines, and how to use it."""
    lines = [
        f"qstash dev: local QStash server running at {url} ({where}, quota {opts.quota})",
        "",
        f"export QSTASH_URL={url}",
        f"export QSTASH_TOKEN={opts.token}",
        f"export QSTASH_CURRENT_SIGNING_KEY={keys[0]}",
        f"export QSTASH_NEXT_SIGNING_KEY={keys[1]}",
        "",
        "In another terminal:  qstash -p dev publish http://127.0.0.1:9000/ -d hello",
    ]
    if opts.console:
        ask = "" if is_loopback(opts.host) else " (it asks for the token)"
        lines.insert(1, f"Console: {url}/{ask}")
    if url != devcreds.DEV_URL or opts.token != devcreds.DEV_TOKEN:
        lines.append("(the built-in `dev` profile expects port 8080 and the default token; otherwise use the exports)")
    lines += ["Press Ctrl-C to stop.", ""]
    return lines


class _Stopped(Exception):
    """SIGTERM, after uvicorn's graceful shutdown."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped


def _uvicorn_server() -> type:
    import uvicorn

    class Closing(uvicorn.Server):
        """Sets `closing` as shutdown begins, so long-lived responses (the console's event streams) end instead of
        holding the exit up for the whole graceful-shutdown timeout."""

        def __init__(self, config: uvicorn.Config, closing: asyncio.Event) -> None:
            super().__init__(config)
            self.closing = closing

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            self.closing.set()
            await super().shutdown(sockets)

    return Closing


def serve(opts: Options) -> int:
    """Run the server in the foreground; returns an exit code."""
    import uvicorn

    from qstash_cli.server import data, datafile
    from qstash_cli.server.app import build, front
    from qstash_cli.server.connections import MAX_HEAD_BYTES, base_protocol, guarded
    from qstash_cli.server.context import Server
    from qstash_cli.server.engine import Engine, KeyRing
    from qstash_cli.server.http import AccessLog
    from qstash_cli.server.intake import report_to_invoker
    from qstash_cli.server.lane import has_lane, laned
    from qstash_cli.server.quota import plan
    from qstash_cli.server.scheduler import Scheduler
    from qstash_cli.server.store import Store

    try:
        quota = plan(opts.quota)
    except ValueError as exc:
        _say(f"Error: {exc}")
        return 2
    if opts.memory:
        path, where = None, "in memory, nothing is kept"
    else:
        target = Path(opts.data).expanduser() if opts.data else default_data_path()
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            _say(f"Error: cannot create {target.parent}: {exc}")
            return 1
        path, where = str(target), f"data in {target}"
    held = None
    if path:
        try:
            held = datafile.lock(path)  # one server per data file: never two engines delivering the same messages
            datafile.check(path)
        except (datafile.DataFileError, OSError) as exc:
            if held is not None:
                held.close()
            _say(f"Error: {exc}" if isinstance(exc, datafile.DataFileError) else f"Error: cannot lock {path}: {exc}")
            return 1
    try:
        sock = _bind(opts.host, opts.port)
    except (OSError, OverflowError) as exc:
        if held is not None:
            held.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        _say(f"Error: cannot listen on {opts.host}:{opts.port}: {reason}")
        return 1
    try:
        store = Store(path, sync=opts.sync)
    except Exception as exc:  # noqa: BLE001 - an unreadable data file
        sock.close()
        if held is not None:
            held.close()
        _say(f"Error: cannot open the data file {path}: {' '.join(str(exc).split())}")
        return 1
    keys = KeyRing(*store.call(data.get_keys, opts.current_key, opts.next_key))
    log = None if opts.quiet else _say  # None: the engine does not even format its delivery lines
    engine = Engine(
        store,
        keys,
        backoff_scale=opts.backoff_scale,
        workers=opts.workers,
        default_timeout=float(quota.timeout),
        log=log,
        due_window=opts.due_window,
        due_horizon_ms=int(opts.due_horizon * 1000),
        remote=not opts.one_process,
    )
    sched = Scheduler(store, engine, log=log)
    srv = Server(store, engine, sched, keys, quota, opts.token, int(opts.dedup_window * 1000), is_loopback(opts.host))
    srv.message_grace_ms = int(opts.message_grace * 1000)
    srv.own_address = (opts.host, sock.getsockname()[1])
    reports: set[asyncio.Task] = set()
    serving: list[Server] = []  # the server, once the lifespan has started it (the lane waits for that)

    def run_failed(run_id: str) -> None:  # an invoked workflow run failed: its invoker hears of it
        task = asyncio.get_running_loop().create_task(report_to_invoker(srv, run_id))
        reports.add(task)
        task.add_done_callback(reports.discard)

    engine.run_failed = run_failed
    shown_host = f"[{opts.host}]" if ":" in opts.host else opts.host
    url = f"http://{shown_host}:{srv.own_address[1]}"

    from qstash_cli.server.retention import Retention

    retention = Retention(store, opts.retention, opts.message_grace)

    @contextlib.asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        app.state.srv = srv  # type: ignore[attr-defined]
        await engine.start()
        await sched.start()
        pruner = asyncio.create_task(retention.run_forever())
        serving.append(srv)
        for line in banner(opts, url, (keys.current, keys.next), where):
            _say(line)
        if not is_loopback(opts.host):
            _say(
                f"Warning: listening on {opts.host}, not only on this machine: anyone who can reach it and knows "
                "the token can publish through it."
            )
        try:
            yield
        finally:
            serving.clear()
            pruner.cancel()
            await sched.stop()
            await engine.stop()

    app = AccessLog(front(build(lifespan, console_on=opts.console)), enabled=lambda: not opts.quiet)
    _raise_file_limit(opts.max_connections + 1024)  # the connections, plus outbound deliveries and the data files
    protocol = guarded(
        base_protocol(opts.http),  # auto: httptools when installed, else h11
        header_timeout=opts.header_timeout,
        idle_timeout=opts.idle_timeout,
        max_connections=opts.max_connections,
    )
    if has_lane(protocol):  # the accept path's lane: the commonest publish answered without an ASGI cycle
        protocol = laned(protocol, lambda: serving[0] if serving else None, lambda: not opts.quiet)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        loop="auto",  # uvloop when installed (uvicorn[standard])
        http=protocol,
        lifespan="on",
        timeout_graceful_shutdown=3,
        timeout_keep_alive=opts.idle_timeout,
        h11_max_incomplete_event_size=4 * MAX_HEAD_BYTES,  # above ours, so the guard answers 431 JSON first
        server_header=False,
    )
    _Uvicorn = _uvicorn_server()  # noqa: N806 - a class
    previous = signal.signal(signal.SIGTERM, _stop)  # uvicorn re-raises the signal it handled, after shutting down
    try:
        _Uvicorn(config, srv.closing).run(sockets=[sock])
    except (KeyboardInterrupt, _Stopped):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        store.close()
        if held is not None:
            held.close()
        _say("qstash dev: stopped")
    return 0
