"""`qstash dev`: a local QStash-compatible server (Starlette + uvicorn + SQLite). Never imports the CLI side.

Layout: `run` (start-up, banner, uvicorn) → `app` (assembles the route tables of `routes/`, one module per resource,
behind `routes/publish.FastPath`, the accept path's bare-ASGI lane; `http` does auth, JSON errors and the request
log) → `context` (the `Server` a route reads), `intake` (the accept pipeline: destination, targets, prepare/commit,
schedules), `handlers` (handlers of one shape), `shapes` (JSON shapes shared by resources), `filters` (declared
query filters → SQL) → `publishing` (publish headers → messages), `catalog` (topics/URL groups, endpoints, queues),
`data` (messages, tasks, logs, DLQ, dedup, keys), `queries` (paginated reads), `scheduler` (cron), all run as jobs
of the `store` (SQLite WAL, one group commit per turn of the event loop) → `engine` (due-queue and delivery workers:
signing with `qstash_cli.signing`, retries, backoff, callbacks, DLQ). See docs/architecture.md.
"""
