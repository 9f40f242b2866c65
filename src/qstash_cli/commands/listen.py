"""`qstash listen`: a local receiver that prints each delivery with its signature verdict, answers with a chosen
status (to watch retries) or relays to a local app. The HTTP server is the standard library's."""

from __future__ import annotations

import base64
import sys
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import typer

from qstash_cli.errors import InputError, QstashError
from qstash_cli.output import JSON, QUIET, Output
from qstash_cli.safe_text import escape_controls
from qstash_cli.settings import settings_from

LOOPBACK = ("127.0.0.1", "localhost", "::1")
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
}
SHOWN_HEADERS = ("content-type",)  # shown in text mode besides the Upstash-* headers


@dataclass
class Delivery:
    """One request received, and what was answered."""

    method: str
    path: str
    headers: list[tuple[str, str]]
    body: bytes
    received: datetime
    status: int = 0
    signature: dict[str, Any] = field(default_factory=dict)
    forwarded_to: str | None = None
    error: str | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def to_json(self) -> dict[str, Any]:
        try:
            text, encoding = self.body.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(self.body).decode(), "base64"
        data: dict[str, Any] = {
            "time": self.received.isoformat().replace("+00:00", "Z"),
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "body": text,
            "bodyEncoding": encoding,
            "bodySize": len(self.body),
            "signature": self.signature,
            "status": self.status,
        }
        if self.forwarded_to:
            data["forwardedTo"] = self.forwarded_to
        if self.error:
            data["error"] = self.error
        return data


def preview(body: bytes, limit: int) -> str:
    """The body on one line: text (escaped newlines, cut at `limit` characters) or a size for binary data."""
    if not body:
        return "(empty)"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return f"({len(body)} bytes, binary)"
    cut = text[:limit].replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")
    return cut + (f"… ({len(body)} bytes)" if len(text) > limit else "")


def signature_verdict(
    token: str | None, body: bytes, keys: list[tuple[str, str]], url: str, tolerance: int
) -> dict[str, Any]:
    """{valid, key, failure, detail, checks, claims}; valid is None when nothing could be checked."""
    if not token:
        return {"valid": False, "failure": "unsigned", "detail": "no Upstash-Signature header"}
    if not keys:
        return {"valid": None, "failure": "no-keys", "detail": "no signing keys to check with"}
    from qstash_cli.signing import verify

    claims_sub = _claimed_subject(token)
    if claims_sub is not None and claims_sub != url and _same_destination(claims_sub, url):
        url = claims_sub  # 127.0.0.1 vs localhost, or a bare origin for path "/"
    verdict = verify(token, body, keys, url=url, clock_tolerance=tolerance)
    checks = [{"key": c.name, "ok": c.ok, "failure": c.failure, "detail": c.detail} for c in verdict.checks]
    result: dict[str, Any] = {"valid": verdict.valid, "url": url, "checks": checks, "claims": verdict.claims}
    if verdict.valid:
        result["key"] = next(c.name for c in verdict.checks if c.ok)
    else:  # the most telling failure: past the HMAC if any key got there
        best = next((c for c in verdict.checks if c.failure != "signature"), verdict.checks[0])
        result["failure"], result["detail"] = best.failure, f"{best.name} key: {best.detail}"
    return result


def _claimed_subject(token: str) -> str | None:
    from qstash_cli.signing import decode_unverified

    claims = decode_unverified(token) or {}
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def _same_destination(sub: str, url: str) -> bool:
    """Loopback aliases and `http://host:port` vs `http://host:port/` name the same local destination."""
    from urllib.parse import urlsplit

    try:
        a, b = urlsplit(sub), urlsplit(url)
        ports = (a.port or 80, b.port or 80)
    except ValueError:
        return False
    hosts_ok = a.hostname == b.hostname or (a.hostname in LOOPBACK and b.hostname in LOOPBACK)
    return (
        a.scheme == b.scheme
        and hosts_ok
        and ports[0] == ports[1]
        and (a.path or "/") == (b.path or "/")
        and a.query == b.query
    )


def answer_headers(status: int, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers to answer with; a 489 carries `Upstash-NonRetryable-Error: true` unless given otherwise."""
    if status == 489 and not any(k.lower() == "upstash-nonretryable-error" for k, _ in headers):
        return [*headers, ("Upstash-NonRetryable-Error", "true")]
    return headers


def render_text(d: Delivery, limit: int) -> str:
    when = d.received.astimezone().strftime("%H:%M:%S")
    arrow = f"→ {d.status}" + (f" (from {d.forwarded_to})" if d.forwarded_to else "")
    lines = [f"{when} {d.method} {d.path} {arrow}"]
    for name, value in d.headers:
        low = name.lower()
        if low.startswith("upstash-") or low in SHOWN_HEADERS:
            shown = value if low != "upstash-signature" or len(value) <= 40 else value[:40] + "…"
            lines.append(f"  {name}: {shown}")
    lines.append(f"  body: {preview(d.body, limit)}")
    sig = d.signature
    if sig.get("valid"):
        verdict = f"valid ({sig['key']} key)"
    elif sig.get("valid") is None:
        verdict = f"not checked: {sig['detail']}"
    else:
        verdict = f"INVALID: {sig['failure']} — {sig['detail']}"
    lines.append(f"  signature: {verdict}")
    if d.error:
        lines.append(f"  error: {d.error}")
    return "\n".join(lines)


class Receiver:
    """Shared state of the handler threads: settings for the answer, the output lock, the request count."""

    def __init__(
        self,
        out: Output,
        keys: list[tuple[str, str]],
        *,
        url_base: str | None,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        forward: str | None,
        tolerance: int,
        count: int | None,
        limit: int,
    ) -> None:
        self.out, self.keys, self.url_base = out, keys, url_base
        self.status, self.headers, self.body = status, headers, body
        self.forward, self.tolerance, self.count, self.limit = forward, tolerance, count, limit
        self.lock = threading.Lock()
        self.seen = 0
        self.done = threading.Event()
        self.ready = threading.Event()  # set once the socket is bound and the receiver fully set up
        self.http: Any = None  # httpx.Client when forwarding
        self.default_base = ""

    def url_for(self, path: str, host_header: str | None) -> str:
        if self.url_base:
            return self.url_base.rstrip("/") + path
        return f"http://{host_header}{path}" if host_header else self.default_base + path

    def answer(self, d: Delivery) -> tuple[int, list[tuple[str, str]], bytes]:
        if not self.forward:
            return self.status, self.headers, self.body
        target = self.forward.rstrip("/") + d.path
        d.forwarded_to = target
        try:
            reply = self.http.request(
                d.method,
                target,
                headers=[(k, v) for k, v in d.headers if k.lower() not in HOP_BY_HOP],
                content=d.body,
            )
        except Exception as exc:  # noqa: BLE001 - any transport failure becomes a 502 to QStash
            d.error = f"cannot forward to {target}: {type(exc).__name__}: {exc}"
            return 502, [("Content-Type", "text/plain")], f"qstash listen: {d.error}\n".encode()
        skip = HOP_BY_HOP | {"content-encoding"}  # httpx hands back the decoded body
        return reply.status_code, [(k, v) for k, v in reply.headers.items() if k.lower() not in skip], reply.content

    def record(self, d: Delivery) -> None:
        """Print one delivery (before it is answered: when the sender has the answer, the line is out)."""
        with self.lock:
            if self.out.mode == JSON:
                self.out.json_line(d.to_json())
            elif self.out.mode == QUIET:
                self.out.line(escape_controls(d.header("Upstash-Message-Id") or "-"))
            else:  # path, headers and body come from the network: control characters escaped, line by line
                self.out.line("\n".join(escape_controls(line) for line in render_text(d, self.limit).split("\n")))

    def answered(self) -> None:
        """Count one answered request; the --count-th stops the server."""
        with self.lock:
            self.seen += 1
            if self.count is not None and self.seen >= self.count:
                self.done.set()


def _handler_class(receiver: Receiver) -> type:
    from http.server import BaseHTTPRequestHandler

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "qstash-listen"
        timeout = 60

        def _read_body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                chunks = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length > 0 else b""

        def _handle(self) -> None:
            if receiver.done.is_set():  # past --count: refuse, so the sender retries later
                self.send_error(503, "qstash listen is stopping")
                return
            d = Delivery(self.command, self.path, list(self.headers.items()), b"", datetime.now(tz=UTC))
            try:
                d.body = self._read_body()
            except (ValueError, OSError) as exc:
                self.send_error(400, f"bad request body: {exc}")
                return
            url = receiver.url_for(self.path, self.headers.get("Host"))
            d.signature = signature_verdict(
                d.header("Upstash-Signature"), d.body, receiver.keys, url, receiver.tolerance
            )
            status, headers, payload = receiver.answer(d)
            d.status = status
            receiver.record(d)
            try:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                self.wfile.flush()
            except OSError as exc:
                receiver.out.warn(f"could not answer {d.method} {d.path}: {exc}")
            receiver.answered()

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
            pass

    return Handler


def listen(
    ctx: typer.Context,
    port: int = typer.Option(9000, "--port", min=0, max=65535, help="Port to listen on (0 = any free port)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (anything but loopback is reachable)."),
    status: int = typer.Option(
        200,
        "--status",
        help="Status to answer with, e.g. 500 to watch retries, 489 + "
        "Upstash-NonRetryable-Error (added automatically) to stop them.",
    ),
    response_header: list[str] = typer.Option(
        [], "--response-header", "-H", help="Header to answer with, 'Name: value' (repeatable)."
    ),
    response_body: str = typer.Option("", "--response-body", help="Body to answer with: TEXT or @file."),
    forward: str | None = typer.Option(
        None,
        "--forward",
        help="Relay each request (method, headers, body) to this base URL + the request path, "
        "and answer with its response (502 when it cannot be reached).",
    ),
    url_base: str | None = typer.Option(
        None,
        "--url-base",
        help="Public base URL for the `sub` check (e.g. a tunnel) [default: http:// + the request's Host header].",
    ),
    count: int | None = typer.Option(None, "--count", "-n", min=1, help="Exit after N requests."),
    current_key: str | None = typer.Option(None, "--current-key", help="Signing key [default: env, profile]."),
    next_key: str | None = typer.Option(None, "--next-key", help="Next signing key [default: env, profile]."),
    clock_tolerance: str = typer.Option("0", "--clock-tolerance", help="Allowed clock skew for exp/nbf, e.g. 30s."),
    preview_chars: int = typer.Option(200, "--preview", min=0, help="Characters of the body to show (text mode)."),
) -> None:
    """Receive deliveries locally: print each (method, path, Upstash-* headers, body preview, signature verdict).

    Answers every request with --status (default 200), or relays it to a local app with --forward. Signatures are
    checked with --current-key/--next-key, else QSTASH_CURRENT_SIGNING_KEY/QSTASH_NEXT_SIGNING_KEY, else the
    profile (`-p dev` has the local server's keys). With --json: one JSON object per line (headers, body as text
    or base64, signature {valid, key, failure, detail, checks}). Ctrl-C stops it (exit 0).

    \b
    Example:
      qstash -p dev listen --port 9000
      qstash -p dev publish http://127.0.0.1:9000/hook -d hello     (in another terminal, with `qstash dev`)
      qstash listen --status 500 --count 3 --json
      qstash listen --forward http://127.0.0.1:3000
    """
    from qstash_cli.commands.verify import signing_keys as _keys
    from qstash_cli.inputs import parse_duration, parse_header, read_body, validate_url

    s = settings_from(ctx)
    if not 100 <= status <= 599:
        raise InputError(f"invalid --status {status}: use an HTTP status between 100 and 599")
    headers = answer_headers(status, [parse_header(h) for h in response_header])
    body = read_body(response_body) or b""
    if forward:
        validate_url(forward, what="--forward URL")
    if url_base:
        validate_url(url_base, what="--url-base")
    tolerance = parse_duration(clock_tolerance, what="--clock-tolerance")
    try:
        keys = _keys(s, current_key, next_key)
    except InputError:
        keys = []
        s.out.warn(
            "no signing keys: signatures are not checked (pass --current-key, set QSTASH_CURRENT_SIGNING_KEY, "
            "or use -p dev)"
        )

    receiver = Receiver(
        s.out,
        keys,
        url_base=url_base,
        status=status,
        headers=headers,
        body=body,
        forward=forward,
        tolerance=tolerance,
        count=count,
        limit=preview_chars,
    )
    serve(receiver, host, port)


def serve(receiver: Receiver, host: str, port: int) -> None:
    """Run the server until --count requests were handled or Ctrl-C."""
    from http.server import ThreadingHTTPServer

    class Server(ThreadingHTTPServer):
        daemon_threads = True  # idle keep-alive connections must not hold up the exit
        block_on_close = False

    if ":" in host:
        import socket

        Server.address_family = socket.AF_INET6
    try:
        server = Server((host, port), _handler_class(receiver))
    except OSError as exc:
        raise QstashError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}", hint="choose another --port"
        ) from None
    err = sys.stderr
    try:
        _announce_and_serve(receiver, server, host)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if receiver.http is not None:
            receiver.http.close()
    err.write(f"Stopped after {receiver.seen} request(s).\n")


def _announce_and_serve(receiver: Receiver, server: Any, host: str) -> None:
    if receiver.forward:
        from qstash_cli.api.forward import forwarder

        receiver.http = forwarder()
    shown_host = f"[{host}]" if ":" in host else host
    receiver.default_base = f"http://{shown_host}:{server.server_address[1]}"
    err = sys.stderr
    if host not in LOOPBACK:
        err.write(f"Warning: listening on {host}: reachable from other machines\n")
    what = f"relaying to {receiver.forward}" if receiver.forward else f"answering {receiver.status}"
    keys = ", ".join(n for n, _ in receiver.keys) or "none"
    err.write(f"Listening on {receiver.default_base} ({what}; signature keys: {keys}). Ctrl-C to stop.\n")
    err.write(f"Try: qstash -p dev publish {receiver.default_base}/ -d hello   (with `qstash dev` running)\n")
    err.flush()
    threading.Thread(target=_stop_when_done, args=(receiver, server), daemon=True).start()
    receiver.ready.set()
    server.serve_forever(poll_interval=0.1)


def _stop_when_done(receiver: Receiver, server: Any) -> None:
    receiver.done.wait()
    server.shutdown()


def register(root: typer.Typer) -> None:
    root.command("listen")(listen)
