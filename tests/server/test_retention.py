"""Retention (`--retention`): finished messages, their tasks and logs, ended workflow runs and expired dedup ids are
pruned; pending messages, DLQ entries and runs still going stay; nothing accepted is lost while pruning runs."""

from __future__ import annotations

import sqlite3
import threading

import httpx

from qstash_cli.server import data, retention
from qstash_cli.server.ids import new_id, now_ms
from qstash_cli.server.models import MessageSpec, Target
from qstash_cli.server.store import SCHEMA, Store
from tests.server.helpers import dlq_entries, wait_until


def _count(path, sql: str, *args) -> int:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, args).fetchone()[0]
    finally:
        conn.close()


def test_finished_messages_go_pending_and_dlq_stay(dev_server_factory, sink):
    server = dev_server_factory(retention="0", message_grace="0", dedup_window=1)
    sink.respond(status=500, path="/fail")
    with server.client() as c:
        done = [c.post(f"/v2/publish/{sink.url}/ok", content=b"d").json()["messageId"] for _ in range(20)]
        failed = [
            c.post(f"/v2/publish/{sink.url}/fail", content=b"f", headers={"Upstash-Retries": "0"}).json()["messageId"]
            for _ in range(3)
        ]
        pending = [
            c.post(f"/v2/publish/{sink.url}/later", content=b"p", headers={"Upstash-Delay": "1h"}).json()["messageId"]
            for _ in range(5)
        ]
        cancelled = c.post(f"/v2/publish/{sink.url}/later", content=b"c", headers={"Upstash-Delay": "1h"})
        cancelled_id = cancelled.json()["messageId"]
        assert c.delete(f"/v2/messages/{cancelled_id}").status_code in (200, 202)
        dedup = c.post(f"/v2/publish/{sink.url}/ok", content=b"x", headers={"Upstash-Deduplication-Id": "once"})
        done.append(dedup.json()["messageId"])
        sink.wait_for(21, path="/ok")
        wait_until(lambda: len(dlq_entries(c)) == 3)

        gone = [*done, cancelled_id]
        marks = ",".join("?" * len(gone))
        wait_until(
            lambda: _count(server.data_path, f"SELECT COUNT(*) FROM messages WHERE id IN ({marks})", *gone) == 0,
            timeout=20,
        )
        wait_until(lambda: _count(server.data_path, "SELECT COUNT(*) FROM dedup") == 0, timeout=20)
        assert _count(server.data_path, f"SELECT COUNT(*) FROM logs WHERE message_id IN ({marks})", *gone) == 0
        assert _count(server.data_path, f"SELECT COUNT(*) FROM tasks WHERE message_id IN ({marks})", *gone) == 0
        assert c.get(f"/v2/events?messageId={done[0]}").json()["events"] == []

        for mid in pending:  # pending: untouched, still readable
            assert c.get(f"/v2/messages/{mid}").status_code == 200
        entries = dlq_entries(c)  # DLQ entries and their messages stay while in the DLQ
        assert sorted(e["messageId"] for e in entries) == sorted(failed)
        assert _count(server.data_path, "SELECT COUNT(*) FROM messages WHERE id IN (?, ?, ?)", *failed) == 3
        assert c.get(f"/v2/events?messageId={failed[0]}").json()["events"]

        assert c.delete(f"/v2/dlq/{entries[0]['dlqId']}").status_code in (200, 204)  # out of the DLQ: pruned too
        wait_until(
            lambda: (
                _count(server.data_path, "SELECT COUNT(*) FROM messages WHERE id = ?", entries[0]["messageId"]) == 0
            ),
            timeout=20,
        )
        assert _count(server.data_path, "SELECT COUNT(*) FROM messages") == 5 + 2


def test_grace_window_kept_and_retention_off(dev_server_factory, sink):
    graced = dev_server_factory(retention="0", message_grace=600, dedup_window=1)
    kept = dev_server_factory(retention="off", message_grace="0")
    ids = {}
    for server in (graced, kept):
        with server.client() as c:
            ids[server.port] = c.post(f"/v2/publish/{sink.url}/ok", content=b"d").json()["messageId"]
    with graced.client() as c:
        c.post(f"/v2/publish/{sink.url}/ok", content=b"x", headers={"Upstash-Deduplication-Id": "once"})
    sink.wait_for(3, path="/ok")
    # the dedup id expired and was pruned: pruning passes (one every 0.2 s at 0 s retention) have run since delivery
    wait_until(lambda: _count(graced.data_path, "SELECT COUNT(*) FROM dedup") == 0, timeout=20)
    wait_until(lambda: _count(graced.data_path, "SELECT COUNT(*) FROM dedup") == 0, timeout=20)
    with graced.client() as c:  # within its grace window: still readable, so still stored
        assert c.get(f"/v2/messages/{ids[graced.port]}").status_code == 200
    assert _count(graced.data_path, "SELECT COUNT(*) FROM messages") == 2
    assert _count(kept.data_path, "SELECT COUNT(*) FROM messages") == 1


def test_nothing_accepted_is_lost_while_pruning(dev_server_factory, sink):
    server = dev_server_factory(retention="0", message_grace="0", quiet=True)
    accepted: list[str] = []
    lock = threading.Lock()

    def publisher(n: int) -> None:
        with httpx.Client(base_url=server.url, headers=server.auth, timeout=10) as c:
            for i in range(150):
                r = c.post(f"/v2/publish/{sink.url}/load", content=f"{n}-{i}".encode())
                assert r.status_code == 200
                with lock:
                    accepted.append(r.json()["messageId"])

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(accepted) == 600
    wait_until(lambda: {r.header("upstash-message-id") for r in sink.requests} >= set(accepted), timeout=60)
    wait_until(lambda: _count(server.data_path, "SELECT COUNT(*) FROM messages") == 0, timeout=30)
    assert _count(server.data_path, "SELECT COUNT(*) FROM logs") == 0


def _run(conn, rid: str, state: str, completed: int | None, dlq: str | None = None) -> None:
    conn.execute(
        "INSERT INTO wf_runs (id, url, created_at, state, completed_at, dlq_id) VALUES (?, 'http://x', 1, ?, ?, ?)",
        (rid, state, completed, dlq),
    )
    conn.execute("INSERT INTO wf_steps VALUES (?, 1, ?, 'Run', x'00', 1)", (rid, "msg_" + rid))
    conn.execute("INSERT INTO wf_messages (message_id, run_id, kind) VALUES (?, ?, 'step')", ("msg_" + rid, rid))


def test_ended_workflow_runs_pruned_in_pages_running_and_dlq_kept():
    store = Store(None)
    try:

        def setup(conn):
            for i in range(250):
                _run(conn, f"wfr_old{i:03}", "RUN_SUCCESS", 10)
            _run(conn, "wfr_running", "RUN_STARTED", None)
            _run(conn, "wfr_recent", "RUN_SUCCESS", 5_000)
            _run(conn, "wfr_dlq", "RUN_FAILED", 10, "dlq_1")
            conn.execute("INSERT INTO dlq (id, seq, message_id, created_at) VALUES ('dlq_1', 1, 'msg_wfr_dlq', 10)")

        store.call(setup)
        pages, cursor, deleted = 0, (0, ""), 0
        while cursor is not None:
            page = store.call(retention.prune_runs, cursor, 1_000)
            deleted, cursor, pages = deleted + page.deleted, page.cursor, pages + 1
        assert pages == 3  # 100 runs looked at per job
        assert deleted == 250 * 3
        left = store.call(lambda conn: [r[0] for r in conn.execute("SELECT id FROM wf_runs ORDER BY id")])
        assert left == ["wfr_dlq", "wfr_recent", "wfr_running"]
        assert store.call(lambda conn: conn.execute("SELECT COUNT(*) FROM wf_messages").fetchone()[0]) == 3
    finally:
        store.close()


def test_old_pending_index_is_rebuilt_on_next_at_and_id(tmp_path):
    """A data file from before the (next_at, id) pending index is brought up to it when opened."""
    path = tmp_path / "old.sqlite3"
    store = Store(str(path))
    store.call(lambda conn: conn.execute("DROP INDEX tasks_pending"))
    store.call(lambda conn: conn.execute("CREATE INDEX tasks_pending ON tasks(next_at) WHERE state = 'CREATED'"))
    store.close()
    store = Store(str(path))
    try:
        sql = store.call(
            lambda conn: conn.execute("SELECT sql FROM sqlite_master WHERE name = 'tasks_pending'").fetchone()
        )
        assert "tasks(next_at, id)" in sql[0]
    finally:
        store.close()


def _spec(url: str) -> MessageSpec:
    now = now_ms()
    meta = {"method": "POST", "header": {}, "notBefore": now, "api": "v2", "callerIP": "127.0.0.1"}
    return MessageSpec(
        id=new_id("msg"), created_at=now, not_before=now, max_retries=0, meta=meta, body=b"x", targets=[Target(url)]
    )


def _seqs(store: Store) -> list[int]:
    return [r[0] for r in store.call(lambda conn: conn.execute("SELECT seq FROM logs ORDER BY seq").fetchall())]


def test_a_log_seq_is_never_given_twice_after_the_newest_rows_are_pruned(tmp_path):
    """The writer numbers log rows itself (no AUTOINCREMENT): pruning every row, even across a restart, does not
    make an earlier seq come back (the console's stream and the log cursors go by seq)."""
    path = str(tmp_path / "seq.sqlite3")
    store = Store(path)
    specs = [_spec("http://127.0.0.1:9/x") for _ in range(3)]
    store.call(data.insert_messages, specs)
    store.call(data.cancel_messages, [s.id for s in specs], now_ms())
    before = _seqs(store)
    assert before == sorted(set(before)) and len(before) == 6  # CREATED and CANCELLED of each
    page = store.call(retention.prune_messages, (0, ""), now_ms() + 1_000)
    assert page.deleted == 12 and _seqs(store) == []
    store.close()
    store = Store(path)  # the table is empty: only the remembered seq says where numbering stands
    try:
        store.call(data.insert_messages, [_spec("http://127.0.0.1:9/y")])
        assert _seqs(store)[0] > max(before)
    finally:
        store.close()


def test_a_data_file_with_autoincrement_logs_and_a_task_index_still_numbers_on(tmp_path):
    """A data file written before: `logs.seq` AUTOINCREMENT, a `logs_task` index and a `done` column on messages.
    It opens, the index goes, new rows continue after the old ones, and the message is pruned once done."""
    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    old = SCHEMA.replace("seq INTEGER PRIMARY KEY, time", "seq INTEGER PRIMARY KEY AUTOINCREMENT, time")
    old = old.replace("body BLOB NOT NULL);", "body BLOB NOT NULL, done INTEGER NOT NULL DEFAULT 0);", 1)
    assert old.count("AUTOINCREMENT") == 1 and "done INTEGER" in old
    conn.executescript(old + "CREATE INDEX logs_task ON logs(task_id);")
    conn.execute("INSERT INTO logs (seq, time, message_id, state) VALUES (41, 1, 'msg_old', 'CREATED')")
    conn.commit()
    conn.close()
    store = Store(str(path))
    try:
        spec = _spec("http://127.0.0.1:9/z")
        store.call(data.insert_messages, [spec])
        assert _seqs(store) == [41, 42]
        index = store.call(lambda c: c.execute("SELECT 1 FROM sqlite_master WHERE name = 'logs_task'").fetchone())
        assert index is None
        store.call(data.cancel_messages, [spec.id], now_ms())
        assert store.call(retention.prune_messages, (0, ""), now_ms() + 1_000).deleted == 4
    finally:
        store.close()
