"""Exception types and the exit-code table: every failure the CLI reports maps to one of these."""

from __future__ import annotations

EXIT_OK = 0
EXIT_API = 1  # API or network error (also: confirmation declined)
EXIT_USAGE = 2  # bad usage or invalid input, caught before any request
EXIT_NOT_FOUND = 3
EXIT_AUTH = 4  # 401 / 403
EXIT_RATE_LIMIT = 5  # still rate limited after waiting
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success",
    EXIT_API: "API or network error (or confirmation declined)",
    EXIT_USAGE: "bad usage or invalid input (nothing was sent), or an operation the API dialect lacks",
    EXIT_NOT_FOUND: "not found (404)",
    EXIT_AUTH: "authentication failed (401/403) or no token configured",
    EXIT_RATE_LIMIT: "rate limited (429) after waiting and retrying",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}


class QstashError(Exception):
    """Base of every error the CLI reports as one `Error: ...` line."""

    exit_code = EXIT_API

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class InputError(QstashError):
    """The user's input is invalid; nothing was sent."""

    exit_code = EXIT_USAGE


class Unsupported(InputError):
    """The selected API dialect has no such operation."""


class ConfigError(InputError):
    """The config file is unreadable, corrupt, or names an unknown profile."""


class ApiError(QstashError):
    """A non-2xx answer from the API."""

    exit_code = EXIT_API

    def __init__(self, message: str, *, status: int | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class NotFound(ApiError):
    exit_code = EXIT_NOT_FOUND


class AuthError(ApiError):
    exit_code = EXIT_AUTH


class RateLimited(ApiError):
    exit_code = EXIT_RATE_LIMIT


class NetworkError(QstashError):
    """The request never got an HTTP answer (refused, reset, timed out)."""

    exit_code = EXIT_API


class Aborted(QstashError):
    """The user declined a confirmation."""

    exit_code = EXIT_API
