"""v2 signing keys: read and rotate."""

from __future__ import annotations

from starlette.routing import Route

from qstash_cli.server.context import keys_of, rotate_keys
from qstash_cli.server.handlers import answer

ROUTES = [
    Route("/v2/keys", answer(keys_of), methods=["GET"]),
    Route("/v2/keys/rotate", answer(rotate_keys), methods=["POST"]),
    Route("/v2/rotate", answer(rotate_keys), methods=["POST"]),
]
