"""The query filters a list or bulk route declares (query parameter → store column), turned into SQL here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qstash_cli.server.parse import BadValue

Params = Mapping[str, Sequence[str]]
STATE_ALIASES = {"CANCELED": ["CANCELLED"], "IN_PROGRESS": ["CREATED", "ACTIVE", "RETRY"]}
# Virtual columns a declaration may name besides the table's own: a key of the message's JSON meta, the host or
# path of its URL, and its labels.
META = "meta."
URL_HOST, URL_PATH, LABEL = "url.host", "url.path", "label"


def values(params: Params, name: str) -> list[str]:
    """Every value of a parameter, comma-separated lists split and blanks dropped."""
    out = []
    for raw in params.get(name, []):
        out += [v.strip() for v in raw.split(",") if v.strip()]
    return out


def integer(value: str, name: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadValue(f"invalid {name} {value!r}: want an integer") from None


@dataclass(frozen=True)
class Filters:
    """The filters one route accepts: `columns` maps a query parameter to a store column (or a virtual column
    above); `fromDate`/`toDate` compare against `time`."""

    columns: Mapping[str, str]
    time: str = "created_at"

    def where(self, params: Params) -> tuple[str, list]:
        """An SQL condition (empty for none) and its arguments."""
        clauses, args = [], []
        for param, col in self.columns.items():
            found = values(params, param)
            if param == "state":
                found = [s for v in found for s in STATE_ALIASES.get(v.upper(), [v.upper()])]
            if param == "messageIds":
                found += values(params, "messageId")
            if not found:
                continue
            if col == LABEL:
                clauses.append("(" + " OR ".join(f"{col} LIKE ?" for _ in found) + ")")
                args += [f"%{v}%" for v in found]
            elif col in (URL_HOST, URL_PATH):
                clauses.append("(" + " OR ".join("url LIKE ?" for _ in found) + ")")
                args += [("%://{}%" if col == URL_HOST else "%{}%").format(v) for v in found]
            else:
                sql = f"json_extract(meta, '$.{col[len(META) :]}')" if col.startswith(META) else col
                clauses.append(f"{sql} IN ({','.join('?' * len(found))})")
                args += found
        for param, op in (("fromDate", ">="), ("toDate", "<=")):
            found = values(params, param)
            if found:
                clauses.append(f"{self.time} {op} ?")
                args.append(integer(found[0], param))
        return " AND ".join(clauses), args
