"""What the transport and its two wires (api/httpx_wire.py, api/stdlib_wire.py) share: the answer, the timeouts, and
the one error a wire raises when no complete answer came."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from qstash_cli import __version__
from qstash_cli.errors import ApiError

USER_AGENT = f"qstash-cli/{__version__}"
MAX_ANSWER_SIZE = 64 * 2**20  # bytes of one answer (a listing page is a few hundred kB at most)


@dataclass(frozen=True)
class Timeout:
    """Seconds per socket operation: `read` (also writes), `connect`; None = no limit."""

    read: float | None
    connect: float | None


@dataclass
class Answer:
    """A complete HTTP answer (body decoded), and the path of the request it answers."""

    status_code: int
    reason_phrase: str
    headers: Mapping[str, str]  # case-insensitive `get`
    content: bytes
    path: str


class WireError(Exception):
    """No complete answer. `kind`: connect, timeout, broke (mid-answer), overdue (the request's deadline) or other;
    `name`: what failed, in httpx's words (ConnectError, ReadTimeout, RemoteProtocolError, ...)."""

    def __init__(self, kind: str, name: str) -> None:
        super().__init__(f"{kind}: {name}")
        self.kind = kind
        self.name = name


def too_large(path: str, status: int) -> ApiError:
    return ApiError(
        f"unexpected answer from {path}: larger than {MAX_ANSWER_SIZE // 2**20} MiB",
        status=status,
        hint="is --url pointing at a QStash server?",
    )


class BadURL(Exception):
    """The request URL cannot be sent (httpx's reason as the message)."""
