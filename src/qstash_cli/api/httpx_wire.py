"""The httpx wire: every request but a single publish goes through one `httpx.Client` (keep-alive, proxies from the
environment, TLS with certifi's CA bundle). Failures become `WireError`s the transport maps to one error line.

With api/stdlib_wire.py, the only modules that import an HTTP client.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from qstash_cli.api.wire import MAX_ANSWER_SIZE, USER_AGENT, Answer, BadURL, Timeout, WireError, too_large

# httpx's own command-line tool (httpx._main) imports click, rich and pygments when they are installed (they are,
# for us): ~70 ms of every command that talks HTTP. httpx imports it in a try/except ImportError; skip it.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def _import_httpx_without_trio() -> None:
    """Import httpx and httpcore with `trio` hidden, unless something imported trio already.

    httpcore tries `import trio` (in a try/except ImportError) to support trio event loops, which the CLI never runs;
    trio is often installed (selenium pulls it in) and costs ~65 ms of every command that talks HTTP. It is hidden
    only while these two import: afterwards `import trio` works as usual (only httpcore's async API then lacks trio
    support; asyncio — anyio — is untouched).
    """
    hide = "trio" not in sys.modules
    if hide:
        sys.modules["trio"] = None  # type: ignore[assignment]
    try:
        import httpcore  # noqa: F401 - httpx imports it lazily, when the first client is made
        import httpx  # noqa: F401
    finally:
        if hide and sys.modules.get("trio", 0) is None:
            del sys.modules["trio"]


_import_httpx_without_trio()

import httpx  # noqa: E402


def make_client(base_url: str) -> httpx.Client:
    """The default httpx client. For a plain-http base URL (the local server) no CA bundle is loaded (~25 ms of
    start-up): the TLS context given trusts no certificate at all, so that client could never make an unverified
    https connection either."""
    tls: dict[str, Any] = {}
    if base_url.startswith("http://"):
        import ssl

        tls["verify"] = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verification on, no CA: https fails closed
    timeout = httpx.Timeout(30.0, connect=5.0)  # each request sets its own, within its deadline
    return httpx.Client(base_url=base_url, timeout=timeout, headers={"User-Agent": USER_AGENT}, **tls)


class Wire:
    """Requests over the client `client()` returns (made on first use; tests install a MockTransport there)."""

    def __init__(self, client: Callable[[], httpx.Client]) -> None:
        self._client = client

    def build(
        self, method: str, path: str, params: Any, content: bytes | None, headers: list[tuple[str, str]]
    ) -> httpx.Request:
        """The request (BadURL if httpx cannot send to that URL). Header values go as UTF-8 (e.g. IDN URLs)."""
        try:
            return self._client().build_request(
                method, path, params=params, content=content, headers=httpx.Headers(headers, encoding="utf-8")
            )
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise BadURL(str(exc)) from None

    @staticmethod
    def describe(request: httpx.Request) -> tuple[str, str, list[tuple[str, str]]]:
        return request.method, str(request.url), list(request.headers.items())

    def exchange(self, request: httpx.Request, timeout: Timeout) -> Answer:
        """Send and read the whole answer (at most MAX_ANSWER_SIZE bytes, decoded)."""
        request.extensions["timeout"] = httpx.Timeout(timeout.read, connect=timeout.connect).as_dict()
        try:
            response = self._client().send(request, stream=True)
            try:
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER_SIZE:
                        raise too_large(request.url.path, response.status_code)
                    chunks.append(chunk)
            finally:
                response.close()
        except httpx.HTTPError as exc:
            raise _wire_error(exc) from None
        path = response.request.url.path if response.request else request.url.path
        return Answer(response.status_code, response.reason_phrase, response.headers, b"".join(chunks), path)

    def close(self) -> None:
        pass  # the transport closes the client it made


def _wire_error(exc: httpx.HTTPError) -> WireError:
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return WireError("timeout", name)
    if isinstance(exc, httpx.ConnectError):
        return WireError("connect", name)
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return WireError("broke", name)
    return WireError("other", name)
