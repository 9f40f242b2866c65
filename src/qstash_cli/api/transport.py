"""The HTTP layer: base URL, auth, one deadline per request, 429 waits, bounded retries of safe requests, error mapping.

Requests go over httpx (api/httpx_wire.py); a single `qstash publish` to a plain-http server (`qstash dev`) goes over
a plain socket (api/stdlib_wire.py): importing httpx would be a third of that command's time. This module imports no
HTTP client itself; the api package is the only place that does.
"""

from __future__ import annotations

import json
import math
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qstash_cli.api.wire import Answer, BadURL, Timeout, WireError
from qstash_cli.errors import ApiError, AuthError, InputError, NetworkError, NotFound, QstashError, RateLimited
from qstash_cli.safe_text import redact, shown_url, url_password

if TYPE_CHECKING:
    import httpx

TIMEOUT = Timeout(30.0, connect=5.0)  # per socket operation, and never past the request's deadline
DEFAULT_DEADLINE = 60.0  # seconds for one request, its retries and 429 waits included (--timeout, QSTASH_TIMEOUT)
MAX_RATE_LIMIT_WAIT = 30.0  # seconds, per wait
RATE_LIMIT_TRIES = 3
TRANSIENT_TRIES = 3
TRANSIENT_STATUSES = (502, 503, 504)


def make_http_client(base_url: str) -> httpx.Client:
    """The httpx client every request but a one-shot publish goes through (tests replace this to install a
    MockTransport; a transport then sends everything through it)."""
    from qstash_cli.api.httpx_wire import make_client

    return make_client(base_url)


_DEFAULT_HTTP_CLIENT = make_http_client


@dataclass
class Reply:
    """A successful answer: status, headers and the parsed JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str]
    data: Any


class Transport:
    """Sends requests to one QStash base URL with one token.

    `one_shot=True` (a command that sends one request): the request goes over the stdlib wire when it can carry it
    exactly as httpx would (plain-http URL, no proxy; see api/stdlib_wire.py) and `make_http_client` is the
    default one; otherwise, and always without `one_shot`, over httpx.
    """

    def __init__(
        self,
        base_url: str,
        token: str | Callable[[], str],
        *,
        debug: bool = False,
        deadline: float = DEFAULT_DEADLINE,
        quiet: bool = False,
        one_shot: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.shown_url = shown_url(self.base_url)  # never echo a password given in --url
        if "@" in self.base_url.partition("//")[2].partition("/")[0]:  # httpx would send it as Basic auth instead
            raise InputError(
                f"invalid API URL {self.shown_url}: it must not carry user:password@",
                hint="QStash authenticates with the token (--token, QSTASH_TOKEN or `qstash login`)",
            )
        self._token_source = token
        self._resolved_token: str | None = None
        self.debug = debug
        self.deadline = deadline
        self.quiet = quiet
        self.one_shot = one_shot
        self._http: httpx.Client | None = None
        self._httpx_wire: Any = None
        self._stdlib_wire: Any = None
        self.sleep = _sleep

    @property
    def _secrets(self) -> list[str]:
        return [s for s in (self._resolved_token, url_password(self.base_url)) if s]

    @property
    def _token(self) -> str:
        """The token, resolved on the first request (so dialect checks fail before a missing token does)."""
        if self._resolved_token is None:
            source = self._token_source
            self._resolved_token = source() if callable(source) else source
        return self._resolved_token

    @property
    def http(self) -> httpx.Client:
        if self._http is None:
            self._http = make_http_client(self.base_url)
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send and return the parsed JSON body."""
        return self.send(method, path, **kwargs).data

    def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | list[tuple[str, str]] | None = None,
        idempotent: bool | None = None,
        expect_body: bool | None = None,
    ) -> Reply:
        """One API call, within one deadline (`self.deadline` seconds, retries and waits included). Safe methods (and
        callers that say `idempotent=True`) retry transient failures. A 1xx/3xx answer, or no body where one is
        expected (GETs, and callers that say `expect_body=True`), is an "unexpected answer" error."""
        try:
            return self._send(method, path, params, json_body, content, headers, idempotent, expect_body)
        except QstashError as exc:
            raise self._redacted(exc) from None

    def _send(
        self,
        method: str,
        path: str,
        params: Any,
        json_body: Any,
        content: bytes | None,
        headers: Any,
        idempotent: bool | None,
        expect_body: bool | None,
    ) -> Reply:
        retry_transient = method in ("GET", "HEAD") if idempotent is None else idempotent
        expect_body = method == "GET" if expect_body is None else expect_body
        hdrs = _header_list(headers)
        hdrs = [(k, v) for k, v in hdrs if k.lower() != "authorization"] + [("Authorization", f"Bearer {self._token}")]
        if json_body is not None:
            content = json.dumps(json_body).encode()
            if not any(k.lower() == "content-type" for k, _ in hdrs):
                hdrs.append(("Content-Type", "application/json"))
        deadline = time.monotonic() + self.deadline
        rate_tries = transient_tries = 0
        while True:
            started = time.perf_counter()
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise WireError("overdue", "deadline")
                timeout = Timeout(
                    min(TIMEOUT.read or remaining, remaining), connect=min(TIMEOUT.connect or remaining, remaining)
                )
                wire, request = self._build(method, path, params, content, hdrs)
                self._trace_request(wire, request)
                response = self._exchange(wire, request, timeout, remaining)
            except WireError as exc:
                self._trace(f"< {exc.name if exc.kind != 'overdue' else 'deadline'} after {_ms(started)} ms")
                transient_tries += 1
                retry = retry_transient and transient_tries < TRANSIENT_TRIES and exc.kind != "overdue"
                if retry and self._retry_wait(0.2 * 2**transient_tries, deadline, exc.name, transient_tries):
                    continue
                raise self._network_error(exc) from None
            self._trace(f"< {response.status_code} {response.reason_phrase} ({_ms(started)} ms)")
            status = response.status_code
            if status == 429:
                rate_tries += 1
                wait = rate_limit_wait(response.headers)
                if rate_tries < RATE_LIMIT_TRIES and wait is not None and wait < deadline - time.monotonic():
                    limit = rate_limit_name(response.headers)
                    self._notice(f"Rate limited ({limit}); waiting {wait:.1f}s before retrying")
                    self.sleep(wait)
                    continue
                error = _rate_limited(response)
                if wait is not None and rate_tries < RATE_LIMIT_TRIES:  # the wait alone would pass the deadline
                    error.hint = f"the API asks to wait {wait:.0f}s, more than is left of --timeout {self.deadline:g}s"
                raise error
            if status in TRANSIENT_STATUSES and retry_transient:
                transient_tries += 1
                wait = 0.2 * 2**transient_tries
                if transient_tries < TRANSIENT_TRIES and self._retry_wait(
                    wait, deadline, f"HTTP {status}", transient_tries
                ):
                    continue
            if status >= 400:
                raise api_error(response)
            if status < 200 or status >= 300:
                raise _unexpected(response, f"HTTP {status} {response.reason_phrase}".strip())
            if expect_body and not response.content.strip():
                raise _unexpected(response, f"HTTP {status} with no body")
            return Reply(status, response.headers, _parse_json(response))

    def _stdlib(self) -> Any:
        """The stdlib wire, if this transport may use it and it serves the base URL; else None."""
        if not self.one_shot or make_http_client is not _DEFAULT_HTTP_CLIENT:
            return None
        if self._stdlib_wire is None:
            from qstash_cli.api.stdlib_wire import Wire

            self._stdlib_wire = Wire.serving(self.base_url) or False
        return self._stdlib_wire or None

    def _build(self, method: str, path: str, params: Any, content: bytes | None, headers: list) -> tuple[Any, Any]:
        """(wire, request) for one attempt: the stdlib wire if it can carry it exactly as httpx would, else httpx."""
        stdlib = self._stdlib()
        if stdlib is not None:
            request = stdlib.build(method, path, params, content, headers)
            if request is not None:
                return stdlib, request
        if self._httpx_wire is None:
            from qstash_cli.api.httpx_wire import Wire

            self._httpx_wire = Wire(lambda: self.http)
        try:
            return self._httpx_wire, self._httpx_wire.build(method, path, params, content, headers)
        except BadURL as exc:
            raise InputError(f"invalid request URL {self.shown_url}{path}: {exc}") from None

    def _exchange(self, wire: Any, request: Any, timeout: Timeout, remaining: float) -> Answer:
        """Send and read the whole answer within `remaining` seconds. A read timeout restarts with every byte (a peer
        sending one byte every 2 s never trips it), so the exchange runs in a daemon thread and is abandoned at the
        deadline."""
        box: dict[str, Any] = {}

        def exchange() -> None:
            try:
                box["response"] = wire.exchange(request, timeout)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                box["error"] = exc

        worker = threading.Thread(target=exchange, name="qstash-request", daemon=True)
        worker.start()
        worker.join(remaining)
        if worker.is_alive():
            raise WireError("overdue", "deadline")
        if "error" in box:
            raise box["error"]
        return box["response"]

    def _retry_wait(self, wait: float, deadline: float, reason: str, tries: int) -> bool:
        """Wait before retry number `tries` (said on stderr), unless the wait would pass the deadline."""
        if wait >= deadline - time.monotonic():
            return False
        self._notice(f"Retrying in {wait:.1f}s ({reason}; attempt {tries + 1} of {TRANSIENT_TRIES})")
        self.sleep(wait)
        return True

    def _notice(self, line: str) -> None:
        """A note on stderr about a wait (silent with -q)."""
        if not self.quiet:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    def _network_error(self, exc: WireError) -> NetworkError:
        if exc.kind == "overdue":
            return NetworkError(
                f"no complete answer from {self.shown_url} within {self.deadline:g}s",
                hint="the deadline covers retries and waits; raise it with --timeout SECONDS or QSTASH_TIMEOUT",
            )
        return _network_error(exc, self.shown_url)

    def _redacted(self, error: QstashError) -> QstashError:
        """An error message may echo what was sent (e.g. "invalid token X", or part of it): never show a secret."""
        secrets = self._secrets
        message = redact(error.message, secrets)
        if message != error.message:
            error.message = message
            error.args = (message,)
        if error.hint:
            error.hint = redact(error.hint, secrets)
        return error

    # -- debug traces (stderr, token redacted) ---------------------------------------------------------------
    def _trace_request(self, wire: Any, request: Any) -> None:
        if not self.debug:
            return
        method, url, headers = wire.describe(request)
        self._trace(f"> {method} {shown_url(url)}")
        for name, value in headers:
            shown = value.split(" ", 1)[0] + " ***" if name.lower() == "authorization" else value
            self._trace(f">   {name}: {shown}")

    def _trace(self, line: str) -> None:
        if self.debug:
            from qstash_cli.safe_text import escape_controls

            sys.stderr.write("[debug] " + escape_controls(redact(line, self._secrets)) + "\n")


def _header_list(headers: Mapping[str, str] | list[tuple[str, str]] | None) -> list[tuple[str, str]]:
    if not headers:
        return []
    return list(headers.items()) if isinstance(headers, Mapping) else list(headers)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def _parse_json(response: Answer) -> Any:
    body = response.content
    if not body.strip():
        return None
    try:
        return json.loads(body, parse_constant=_no_constant, parse_float=_finite_float)
    except _OutOfRange as exc:
        raise _unexpected(response, f"the number {exc} is out of range") from None
    except RecursionError:
        raise _unexpected(response, "JSON nested too deep") from None
    except (ValueError, UnicodeDecodeError):
        ctype = response.headers.get("content-type", "unknown type")
        raise ApiError(
            f"unexpected non-JSON answer from {_where(response)} (HTTP {response.status_code}, {ctype})",
            status=response.status_code,
            hint="is --url pointing at a QStash server?",
        ) from None


class _OutOfRange(ValueError):
    """A JSON number a float cannot hold (1e999), or NaN / Infinity (not JSON at all)."""


def _no_constant(text: str) -> float:
    raise _OutOfRange(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _OutOfRange(text[:40])
    return value


def _where(response: Answer | httpx.Response) -> str:
    """The path the answer is for (httpx.Response too: tests build those)."""
    path = getattr(response, "path", None)
    if path is None:
        request = getattr(response, "_request", None)
        path = request.url.path if request is not None else "the API"
    return path


def _unexpected(response: Answer, what: str) -> ApiError:
    """A 2xx-or-other answer that is not what the call needs (redirect, no body, unparsable JSON)."""
    where = _where(response)
    location = response.headers.get("location")
    extra = f" (redirect to {location[:200]}; redirects are not followed)" if location else ""
    return ApiError(
        f"unexpected answer from {where}: {what}{extra}",
        status=response.status_code,
        hint="is --url pointing at a QStash server?",
    )


def error_text(response: Answer | httpx.Response) -> str:
    """The `{"error": ...}` message, else the start of the body, else the reason phrase."""
    try:
        data = json.loads(response.content)
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])[:1000]
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    text = response.content[:200].decode("utf-8", "replace").strip()
    return " ".join(text.split()) or response.reason_phrase or "no details"


def api_error(response: Answer | httpx.Response) -> ApiError:
    """Map a non-2xx answer to the typed error that carries its exit code."""
    status = response.status_code
    text = error_text(response)
    what = f"HTTP {status}: {text}"
    if status in (401, 403):
        return AuthError(what, status=status, hint="check the token (qstash config show, qstash login)")
    if status == 404:
        return NotFound(what, status=status)
    if status == 412:
        return ApiError(what, status=status, hint="a plan limit was reached")
    if status == 413:
        return ApiError(what, status=status, hint="the message is larger than the plan allows")
    if status >= 500:
        return ApiError(what, status=status, hint="the server failed; try again later")
    return ApiError(what, status=status)


def rate_limit_name(headers: Mapping[str, str]) -> str:
    """Which limit a 429 names: chat, daily or burst (as the official SDKs decide)."""
    lower = {k.lower() for k in headers}
    if "x-ratelimit-limit-requests" in lower or "x-ratelimit-limit-tokens" in lower:
        return "chat rate limit"
    if "ratelimit-limit" in lower:
        return "daily message limit"
    return "burst rate limit"


def rate_limit_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait per Retry-After / Burst-RateLimit-Reset / RateLimit-Reset, or None if beyond the bound."""
    now = time.time() if now is None else now
    wait: float | None = None
    retry_after = headers.get("retry-after")
    if retry_after:
        wait = _seconds_or_date(retry_after, now)
    for name in ("burst-ratelimit-reset", "ratelimit-reset", "x-ratelimit-reset-requests"):
        if wait is None and headers.get(name):
            wait = _reset_to_wait(headers[name], now)
    if wait is None:
        wait = 1.0
    wait = max(0.0, wait)
    return wait if wait <= MAX_RATE_LIMIT_WAIT else None


def _seconds_or_date(value: str, now: float) -> float | None:
    try:
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None
    except ValueError:
        pass
    try:
        from email.utils import parsedate_to_datetime  # only for a Retry-After given as a date

        return parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def _reset_to_wait(value: str, now: float) -> float | None:
    try:
        reset = float(value)
    except ValueError:
        return _seconds_or_date(value, now)
    if not math.isfinite(reset):
        return None
    if reset > 1e12:  # milliseconds
        reset /= 1000
    return reset - now if reset > 1e9 else reset


def _rate_limited(response: Answer | httpx.Response) -> RateLimited:
    limit = rate_limit_name(response.headers)
    reset = response.headers.get("ratelimit-reset") or response.headers.get("burst-ratelimit-reset")
    hint = "wait and try again"
    if reset and len(reset) < 30 and reset.isascii() and reset.replace(".", "", 1).isdigit() and float(reset) > 1e9:
        secs = float(reset) / (1000 if float(reset) > 1e12 else 1) - time.time()
        hint = f"the limit resets in {math.ceil(max(secs, 0))}s"
    return RateLimited(f"rate limited: {limit} exceeded ({error_text(response)})", status=429, hint=hint)


def _network_error(exc: WireError, base_url: str) -> NetworkError:
    if exc.kind == "timeout":
        return NetworkError(f"request to {base_url} timed out", hint="check the network or try again")
    if exc.kind == "connect":
        hint = "start it with `qstash dev`" if "127.0.0.1" in base_url or "localhost" in base_url else None
        return NetworkError(f"cannot connect to {base_url}", hint=hint or "check --url and the network")
    if exc.kind == "broke":
        return NetworkError(f"connection to {base_url} broke off mid-answer ({exc.name})")
    return NetworkError(f"request to {base_url} failed: {exc.name}")
