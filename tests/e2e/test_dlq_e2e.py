"""`qstash dlq` against a real `qstash dev` and a sink that fails: a message exhausts its retries, lands in the
DLQ, is listed, retried (now delivered) and deleted."""

from __future__ import annotations

from tests.e2e.test_messages_e2e import eventually, states


def dlq_entry(live, message_id: str) -> dict | None:
    rows = live("dlq", "list", "--message-id", message_id, "--json").json
    return rows[0] if rows else None


def test_failed_message_goes_to_the_dlq_and_is_retried(live, sink) -> None:
    sink.respond(status=500)
    mid = live("publish", f"{sink.url}/hook", "-d", "payload", "--retries", "1", "-q").stdout.strip()
    entry = eventually(lambda: dlq_entry(live, mid), what="the DLQ entry")
    assert (entry["url"], entry["responseStatus"]) == (f"{sink.url}/hook", 500)
    assert len(sink.requests) == 2 and states(live, mid)[-1] == "FAILED"

    dlq_id = entry["dlqId"]
    assert live("dlq", "list", "-q").stdout.split() == [dlq_id]
    plain = live("dlq", "list", "--endpoint", f"{sink.url}/hook", "--status", "500").stdout.splitlines()
    assert plain[0] == "id\tmessage\tdestination\tstatus\tcreated\terror" and plain[1].startswith(f"{dlq_id}\t{mid}\t")
    assert live("dlq", "list", "--status", "404", "-q").stdout == ""
    assert live("dlq", "get", dlq_id, "--json").json["messageId"] == mid
    live("--api", "v1", "dlq", "list", code=2)

    sink.reset()  # the sink answers 200 again
    new_id = live("dlq", "retry", dlq_id, "-q").stdout.strip()
    assert new_id and new_id != mid
    delivered = sink.wait_for(1)[0]
    assert delivered.body == b"payload" and delivered.path == "/hook"
    assert eventually(lambda: "DELIVERED" in states(live, new_id), what="the retried message's DELIVERED")
    assert live("dlq", "list", "-q").stdout == ""  # retried entries leave the DLQ
    live("dlq", "get", dlq_id, code=3)


def test_dlq_delete_by_id_and_in_bulk(live, sink) -> None:
    sink.respond(status=500)
    mids = [live("publish", f"{sink.url}/h{i}", "-d", str(i), "--retries", "0", "-q").stdout.strip() for i in range(3)]
    entries = [eventually(lambda m=m: dlq_entry(live, m), what=f"DLQ entry of {m}") for m in mids]
    ids = [e["dlqId"] for e in entries]

    live("dlq", "delete", ids[0], code=2)  # no terminal, no --yes
    assert live("dlq", "delete", ids[0], "--yes", "-q").stdout == "1\n"
    live("dlq", "get", ids[0], code=3)

    live("dlq", "delete", code=2)  # neither ids nor --all
    live("dlq", "delete", "--all", code=2)  # --all without --yes
    assert live("dlq", "delete", "--all", "--endpoint", f"{sink.url}/h1", "--yes", "--json").json == {"deleted": 1}
    assert live("dlq", "list", "-q").stdout.split() == [ids[2]]
    assert live("dlq", "delete", "--all", "--yes", "-q").stdout == "1\n"
    assert live("dlq", "list", "--all", "--json").json == []


def test_dlq_bulk_retry_with_a_filter(live, sink) -> None:
    sink.respond(status=500, times=2)
    a = live("publish", f"{sink.url}/a", "-d", "a", "--retries", "0", "-q").stdout.strip()
    b = live("publish", f"{sink.url}/b", "-d", "b", "--retries", "0", "-q").stdout.strip()
    eventually(lambda: dlq_entry(live, a) and dlq_entry(live, b), what="both DLQ entries")
    live("dlq", "retry", "--all", code=2)
    retried = live("dlq", "retry", "--all", "--endpoint", f"{sink.url}/b", "--yes", "--json").json
    assert len(retried) == 1 and retried[0]["messageId"]
    assert [r.path for r in sink.wait_for(3)][2:] == ["/b"]
    assert [e["messageId"] for e in live("dlq", "list", "--json").json] == [a]
