"""Terminal table layout: ids and URLs stay whole (copyable), other columns shrink with `…`; when even the whole
columns do not fit, each row becomes a key/value block. Pure text in, lines out (no Rich)."""

from __future__ import annotations

GAP = 2  # spaces between columns
MIN_SHRUNK = 6  # the narrowest a shrinkable column gets (beyond that: key/value blocks)


def _cell_lines(text: str) -> list[str]:
    return text.replace("\t", " ").split("\n") if text else [""]


def _first_word(values: list[str]) -> int:
    return max((len(line.split(" ", 1)[0]) for value in values for line in _cell_lines(value)), default=0)


def is_whole(values: list[str]) -> bool:
    """A column to keep whole: its values are single tokens (ids, URLs, names, numbers), none with a space."""
    return all(" " not in line for value in values for line in _cell_lines(value))


def widths(headers: list[str], rows: list[list[str]], width: int) -> list[int] | None:
    """Column widths that fit `width`, shrinking only the columns that are not whole; None when it cannot fit."""
    natural = [
        max([len(h)] + [len(line) for row in rows for line in _cell_lines(row[i])]) for i, h in enumerate(headers)
    ]
    room = width - GAP * (len(headers) - 1)
    if sum(natural) <= room:
        return natural
    whole = [is_whole([row[i] for row in rows]) for i in range(len(headers))]
    fixed = sum(n for n, w in zip(natural, whole, strict=True) if w)
    shrink = [i for i, w in enumerate(whole) if not w]
    left = room - fixed
    # a shrunk column keeps at least its header (up to 12) and each value's first word (up to 24: an ISO time)
    floors = {
        i: min(natural[i], max(MIN_SHRUNK, min(len(headers[i]), 12), min(_first_word([r[i] for r in rows]) + 2, 24)))
        for i in shrink
    }
    if not shrink or left < sum(floors.values()):
        return None
    result = list(natural)
    # water-filling: columns narrower than a fair share keep their width, the rest share what is left
    pending = sorted(shrink, key=lambda i: natural[i])
    while pending:
        share = left // len(pending)
        i = pending[0]
        if natural[i] <= share:
            result[i] = natural[i]
        else:
            for j in pending:
                result[j] = max(floors[j], left // len(pending))
            extra = left - sum(result[j] for j in pending)
            for j in pending[: max(extra, 0)]:
                result[j] += 1
            break
        left -= natural[i]
        pending.pop(0)
    return result


def _fit(text: str, width: int) -> str:
    """`text` cut to `width` with `…`, at a word boundary when the first word fits."""
    if len(text) <= width:
        return text
    cut = text[: max(width - 1, 0)]
    if " " in cut.rstrip():
        cut = cut.rstrip()
        cut = cut[: cut.rfind(" ") + 1]
    return cut + "…"


def table_lines(headers: list[str], rows: list[list[str]], width: int) -> tuple[str, list[str]] | None:
    """(header line, body lines) of an aligned table within `width` columns, or None when it cannot fit."""
    sizes = widths(headers, rows, width)
    if sizes is None:
        return None
    gap = " " * GAP

    def line(cells: list[str]) -> str:
        return gap.join(_fit(c, n).ljust(n) for c, n in zip(cells, sizes, strict=True)).rstrip()

    body = []
    for row in rows:
        split = [_cell_lines(c) for c in row]
        for k in range(max(len(s) for s in split)):
            body.append(line([s[k] if k < len(s) else "" for s in split]))
    return line(headers), body


def key_value_lines(pairs: list[tuple[str, str]]) -> list[str]:
    """`key  value` lines, keys aligned; a value's further lines are indented under it; values never cut."""
    pad = max((len(k) for k, _ in pairs), default=0) + GAP
    out = []
    for key, value in pairs:
        first, *rest = _cell_lines(value)
        out.append(f"{key.ljust(pad)}{first}".rstrip())
        out += [" " * pad + more for more in rest]
    return out
