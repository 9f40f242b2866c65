"""`qstash dev`: a local QStash-compatible server (Starlette + uvicorn + SQLite). Never imports the CLI side."""
