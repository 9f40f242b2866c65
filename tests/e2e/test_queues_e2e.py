"""Queues and flow control against a real `qstash dev`, driven through the CLI."""

from __future__ import annotations


def test_queue_upsert_list_pause_resume_delete(live) -> None:
    created = live("queues", "upsert", "orders", "--parallelism", "3", "--json").json
    assert created["name"] == "orders" and created["parallelism"] == 3 and created["paused"] is False
    assert live("queues", "list", "-q").stdout == "orders\n"
    live("queues", "pause", "orders")
    assert live("queues", "get", "orders", "--json").json["paused"] is True
    live("queues", "resume", "orders")
    assert live("queues", "get", "orders", "--json").json["paused"] is False
    live("queues", "upsert", "orders", "--parallelism", "5")
    assert live("queues", "get", "orders", "--json").json["parallelism"] == 5
    live("queues", "delete", "orders", "--yes")
    assert live("queues", "list", "-q").stdout == ""
    live("queues", "get", "orders", code=3)


def test_global_parallelism_and_an_unknown_flow_control_key(live) -> None:
    figure = live("flow-control", "global", "--json").json
    assert isinstance(figure["parallelismMax"], int) and isinstance(figure["parallelismCount"], int)
    assert live("flow-control", "list", "--json").json == []
    live("flow-control", "get", "nobody", code=3)


def test_raw_api_requests_and_whoami(live, dev_server) -> None:
    live("api", "POST", "/v2/queues", "-d", '{"queueName": "raw", "parallelism": 4}')
    assert live("api", "GET", "/v2/queues/raw", "--json").json["parallelism"] == 4
    assert live("api", "GET", "/v2/queues", "-q").stdout == "raw\n"
    live("api", "GET", "/v2/queues/none", code=3)
    shown = live("whoami", "--check", "--json").json
    assert shown["status"] == "token accepted" and shown["url"] == dev_server.url
    assert dev_server.token not in live("auth", "status").stdout


def test_publish_settings_reach_qstash_dev_and_flow_control_shows_the_key(live, sink) -> None:
    mid = live(
        "publish", f"{sink.url}/fc", "-d", "hello", "--flow-control-key", "user-42", "--parallelism", "1",
        "--rate", "5", "--period", "1m", "--retry-delay", "100 * retried", "--redact", "header[X-Secret]",
        "-H", "X-Secret: s3cr3t", "-q",
    ).stdout.strip()  # fmt: skip
    [delivery] = sink.wait_for(1)
    assert delivery.path == "/fc" and delivery.body == b"hello" and delivery.header("X-Secret") == "s3cr3t"
    assert mid
    key = live("flow-control", "get", "user-42", "--json").json
    assert key["flowControlKey"] == "user-42" and key["parallelismMax"] == 1
    assert (key["rateMax"], key["ratePeriod"]) == (5, 60)
    assert "user-42" in live("flow-control", "list", "-q").stdout.split()


def test_dlq_retry_overrides_reach_the_new_delivery(live, sink) -> None:
    from tests.server.helpers import wait_until

    sink.respond(500, times=1, path="/dlq")
    live("publish", f"{sink.url}/dlq", "-d", "again", "--retries", "0", "-H", "X-Try: first")
    [dlq_id] = wait_until(lambda: live("dlq", "list", "-q").stdout.split(), timeout=30)
    live("dlq", "retry", dlq_id, "-H", "X-Try: manual", "--method", "PUT", "--retries", "0", "-q")
    first, second = sink.wait_for(2, timeout=30)
    assert (first.header("X-Try"), second.header("X-Try")) == ("first", "manual")
    assert second.method == "PUT" and second.body == b"again"


def test_flow_control_pause_resume_pin_unpin_reset_rate(live, sink) -> None:
    """Every flow-control action of the CLI against `qstash dev`'s routes, read back through `flow-control get`."""
    live("publish", f"{sink.url}/fc2", "-d", "x", "--flow-control-key", "acct-7", "--rate", "10", "-q")
    sink.wait_for(1)
    live("flow-control", "pause", "acct-7")
    assert live("flow-control", "get", "acct-7", "--json").json["isPaused"] is True
    live("flow-control", "resume", "acct-7")
    assert live("flow-control", "get", "acct-7", "--json").json["isPaused"] is False
    live("flow-control", "pin", "acct-7", "--parallelism", "3", "--rate", "20", "--period", "2m")
    pinned = live("flow-control", "get", "acct-7", "--json").json
    assert (pinned["parallelismMax"], pinned["rateMax"], pinned["ratePeriod"]) == (3, 20, 120)
    assert pinned["isPinnedParallelism"] and pinned["isPinnedRate"]
    live("flow-control", "unpin", "acct-7", "--parallelism")
    unpinned = live("flow-control", "get", "acct-7", "--json").json
    assert not unpinned["isPinnedParallelism"] and unpinned["isPinnedRate"]
    live("flow-control", "reset-rate", "acct-7")
    assert live("flow-control", "get", "acct-7", "--json").json["rateCount"] == 0
    live("flow-control", "pause", "nobody", code=3)
