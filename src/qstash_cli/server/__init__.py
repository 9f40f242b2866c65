"""`qstash dev`: a local QStash-compatible server (Starlette + uvicorn + SQLite). Never imports the CLI side.

Layout: `run` (start-up, banner, uvicorn) → `app` (routes for /v1 and /v2; `http` does auth, JSON errors and the
request log) → `publishing` (publish headers → messages), `catalog` (topics/URL groups, endpoints, queues), `data`
(messages, tasks, logs, DLQ, dedup, keys), `queries` (paginated reads), `scheduler` (cron), all run as jobs on the
`store`'s single writer thread (SQLite WAL, group commit) → `engine` (due-queue and delivery workers: signing with
`qstash_cli.signing`, retries, backoff, callbacks, DLQ). `views` shapes stored rows for each dialect.
"""
