"""The query filters a list or bulk route declares (query parameter → store column), turned into SQL here.

A declaration is also what refuses a parameter it does not name (`unknown filter: <name>`, 400), so a typo can
never widen a bulk operation. Within one parameter the values are OR'd (repeated or comma-separated), across
parameters AND'd; the ids parameters, when given, take precedence over every other filter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from qstash_cli.server.parse import BadValue

Params = Mapping[str, Sequence[str]]
STATE_ALIASES = {"CANCELED": ["CANCELLED"], "IN_PROGRESS": ["CREATED", "ACTIVE", "RETRY"]}
PAGING = frozenset({"cursor", "count", "order", "qstash_token"})  # allowed on every list and bulk route
# Accepted and ignored, as QStash does: `api` was a filter once; the official SDKs still let callers send it.
IGNORED = frozenset({"api"})
TIMES = (("fromDate", ">="), ("toDate", "<="))
# Virtual columns a declaration may name besides the table's own: a key of the message's JSON meta, the host or
# path of the destination URL, and the labels (stored comma-joined; a filter value matches one label exactly).
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
    """The filters one route accepts.

    `columns` maps a query parameter to a store column or a virtual column (parameters naming one column are
    OR'd together, e.g. `messageId` and `messageIds`); `ids` are the parameters that, when given, select by id
    alone; `fromDate`/`toDate` compare against `time` (None: not taken); `via` is the column linking a row to its
    message (for `meta.` columns of tables other than `messages`); `prefixes` admits further parameters by prefix
    (the `upstash-*` query form of publish headers, on a route that publishes)."""

    columns: Mapping[str, str]
    time: str | None = "created_at"
    ids: tuple[str, ...] = ()
    via: str | None = None
    prefixes: tuple[str, ...] = ()

    def check(self, params: Params) -> Params:
        """`params`, when every name is declared; BadValue (400) naming the first that is not."""
        for name in params:
            known = name in self.columns or name in PAGING or name in IGNORED
            known = known or (self.time is not None and name in dict(TIMES))
            if not known and not any(name.lower().startswith(p) for p in self.prefixes):
                raise BadValue(f"unknown filter: {name}")
            if name in self.columns and not values(params, name):  # `label=` must not read as "no filter"
                raise BadValue(f"empty filter: {name} (give a value, or leave the parameter out)")
        return params

    def where(self, params: Params) -> tuple[str, list]:
        """An SQL condition (empty for none) and its arguments."""
        by_column: dict[str, list[str]] = {}
        ids = [p for p in self.ids if values(params, p)]
        for param, col in self.columns.items():
            if ids and param not in ids:
                continue  # ids take precedence over every other filter
            found = values(params, param)
            if param == "state":
                found = [s for v in found for s in STATE_ALIASES.get(v.upper(), [v.upper()])]
            if found:
                by_column.setdefault(col, []).extend(found)
        clauses, args = [], []
        for col, found in by_column.items():
            clause, more = self._clause(col, found)
            clauses.append(clause)
            args += more
        for param, op in TIMES if self.time and not ids else ():
            found = values(params, param)
            if found:
                clauses.append(f"{self.time} {op} ?")
                args.append(integer(found[0], param))
        return " AND ".join(clauses), args

    def _clause(self, col: str, found: list[str]) -> tuple[str, list]:
        if col == LABEL:
            return "(" + " OR ".join("instr(',' || label || ',', ',' || ? || ',') > 0" for _ in found) + ")", found
        if col in (URL_HOST, URL_PATH):
            pattern = "%://{}%" if col == URL_HOST else "%{}%"
            return "(" + " OR ".join("url LIKE ?" for _ in found) + ")", [pattern.format(v) for v in found]
        marks = ",".join("?" * len(found))
        if not col.startswith(META):
            return f"{col} IN ({marks})", found
        meta = f"json_extract(meta, '$.{col[len(META) :]}') IN ({marks})"
        return (f"{self.via} IN (SELECT id FROM messages WHERE {meta})" if self.via else meta), found


NO_FILTERS = Filters({}, time=None)  # a list route that takes only paging parameters

# The log filters, shared by `/v2/logs` (routes/logs.py) and the console's live stream (routes/console.py).
LOG_FILTERS = Filters(
    {
        "messageId": "message_id",
        "messageIds": "message_id",
        "state": "state",
        "url": "url",
        "topicName": "topic_name",
        "scheduleId": "schedule_id",
        "queueName": "queue_name",
        "label": LABEL,
        "callerIp": META + "callerIP",
        "flowControlKey": META + "flowControlKey",
        "host": URL_HOST,
        "path": URL_PATH,
    },
    time="time",
    ids=("messageIds",),  # the SDKs send either `messageIds` or filters
    via="message_id",
)
