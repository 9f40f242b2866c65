"""A real Upstash Workflow app written with the official Python SDK (`upstash-workflow`), served on 127.0.0.1.

It counts how many times each step body runs, so a test can assert "exactly once" at the app, and records what the
steps saw (the sleep's wall-clock gap, the call's result, the failure function's arguments).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from qstash import QStash, Receiver
from upstash_workflow import WorkflowContext, serve
from upstash_workflow.workflow_types import _SyncRequest


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # not the default listen backlog of 5: no connects dropped and retried seconds later


class Headers(dict):
    """Request headers as web frameworks hand them to the SDK: looked up without regard to case."""

    def __init__(self, items: Any) -> None:
        super().__init__((k.lower(), v) for k, v in items)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __getitem__(self, key: str) -> Any:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


class App:
    """The workflow endpoints plus a third-party endpoint for `context.call`."""

    def __init__(self, qstash_url: str, token: str, current_key: str, next_key: str) -> None:
        self.runs: Counter[str] = Counter()
        self.seen: dict[str, Any] = {}
        self.boom_fails = True  # the "boom" step of /failing fails while this is set
        self.lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        client = QStash(token, base_url=qstash_url)
        receiver = Receiver(current_signing_key=current_key, next_signing_key=next_key)
        options = {"qstash_client": client, "receiver": receiver}
        self.routes = {
            "/steps": serve(self.steps, **options)["handler"],
            "/failing": serve(self.failing, retries=0, failure_function=self.on_failure, **options)["handler"],
            "/long": serve(self.long, **options)["handler"],
            "/durable": serve(self.durable, **options)["handler"],
        }
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> App:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def count(self, name: str) -> None:
        with self.lock:
            self.runs[name] += 1

    # -- workflows ----------------------------------------------------------------------------------------------

    def steps(self, context: WorkflowContext[dict]) -> None:
        """Three `run` steps, a sleep, a `call` to a local endpoint."""
        payload = context.request_payload

        def first() -> str:
            self.count("first")
            return f"hello {payload['name']}"

        def second() -> dict:
            self.count("second")
            return {"n": 2, "before": greeting}

        greeting = context.run("first", first)
        data = context.run("second", second)
        context.run("stamp", lambda: self._stamp("before_sleep"))
        context.sleep("nap", 2)
        response = context.call("lookup", url=f"{self.url}/third-party?q=1", method="POST", body={"ask": "x"})

        def third() -> str:
            self.count("third")
            self.seen["after_sleep"] = time.time()
            self.seen["call"] = {"status": response.status, "body": response.body}
            self.seen["data"] = data
            return "done"

        context.run("third", third)

    def _stamp(self, key: str) -> float:
        self.count("stamp")
        self.seen[key] = time.time()
        return self.seen[key]

    def failing(self, context: WorkflowContext[str]) -> None:
        def ok() -> str:
            self.count("ok")
            return "fine"

        def boom() -> str:
            self.count("boom")
            if self.boom_fails:
                raise ValueError("the step broke on purpose")
            return "mended"

        context.run("ok", ok)
        context.run("boom", boom)

    def on_failure(self, context: WorkflowContext, status: int, message: str, headers: dict) -> None:
        self.count("failure_function")
        self.seen["failure"] = {"status": status, "message": message, "run": context.workflow_run_id}

    def long(self, context: WorkflowContext[str]) -> None:
        def begin() -> str:
            self.count("begin")
            return "started"

        def after() -> str:
            self.count("after")
            return "never"

        context.run("begin", begin)
        context.sleep("long-nap", 3600)
        context.run("after", after)

    def durable(self, context: WorkflowContext[str]) -> None:
        """Five steps around a sleep: a test kills the server between them."""
        for name in ("s1", "s2"):
            context.run(name, lambda name=name: self._once(name))
        context.sleep("pause", 4)
        for name in ("s3", "s4", "s5"):
            context.run(name, lambda name=name: self._once(name))

    def _once(self, name: str) -> str:
        self.count(name)
        return name

    # -- HTTP -----------------------------------------------------------------------------------------------------

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length).decode()
                path = self.path.split("?")[0]
                if path == "/third-party":
                    app.count("third_party")
                    self._answer(200, '{"answer": 42}', {"Content-Type": "application/json"})
                    return
                handler = app.routes.get(path)
                if handler is None:
                    self._answer(404, "no such route", {})
                    return
                request = _SyncRequest(
                    body=body,
                    headers=Headers(self.headers.items()),
                    method="POST",
                    url=f"{app.url}{self.path}",
                )
                response = handler(request)
                self._answer(response.status, response.body, response.headers or {})

            def _answer(self, status: int, body: str, headers: dict[str, str]) -> None:
                data = body.encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
