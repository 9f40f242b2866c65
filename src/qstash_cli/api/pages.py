"""Cursor pagination shared by every listing: `--limit N` and `--all`, streamed page by page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

Page = tuple[list[dict[str, Any]], Any]  # (items, next cursor or None)
DEFAULT_LIMIT = 20  # what a listing shows on a terminal without --limit (a screenful); --all for everything


def page_limit(limit: int | None, all_: bool, terminal: bool) -> int | None:
    """The entries a listing shows: --limit N; on a terminal DEFAULT_LIMIT unless --all; piped, None (the API's
    first page, or everything with --all; a one-piece listing: everything)."""
    if limit:
        return limit
    return DEFAULT_LIMIT if terminal and not all_ else None


def note_more(out: Any, shown: int, limit: int | None, all_: bool, total: int | None = None) -> None:
    """On a terminal, when the default limit cut a listing short: say so, and how to see the rest (stderr)."""
    if limit or all_ or out.mode != "table" or shown < DEFAULT_LIMIT or (total is not None and total <= shown):
        return
    more = f"{shown} of {total}" if total is not None else f"the first {shown}"
    out.info(f"({more} shown; --limit N or --all for more)")


def iterate(fetch: Callable[[Any], Page], *, limit: int | None = None, follow: bool = False) -> Iterator[dict]:
    """Yield items from `fetch(cursor)` pages: the first page only, up to `limit` items, or all with `follow`."""
    cursor: Any = None
    seen = 0
    while True:
        previous = cursor
        items, cursor = fetch(cursor)
        if not isinstance(items, list):
            from qstash_cli.output import unexpected_shape

            raise unexpected_shape("a list", items)
        for item in items:
            if limit is not None and seen >= limit:
                return
            yield item
            seen += 1
        if not cursor or not items or cursor == previous:  # a repeated cursor would loop forever
            return
        if not follow and (limit is None or seen >= limit):
            return


def next_cursor(data: dict[str, Any]) -> Any:
    """The cursor of a page, normalising 0 / "" / missing to None."""
    cursor = data.get("cursor")
    return cursor if cursor not in (None, "", 0, "0") else None
