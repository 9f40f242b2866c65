"""The console in a real browser: what a user sees and does, checked against the CLI and the sink."""

from __future__ import annotations

import base64
import json
import shlex

import pytest

pytest.importorskip("selenium", reason="browser tests need selenium (pip install '.[test]')")
from selenium.webdriver.common.by import By  # noqa: E402

from tests.server.helpers import dlq_entries, wait_until  # noqa: E402


def test_cli_publish_appears_in_the_live_stream_without_reload_and_shows_its_signed_attempt(console, live, sink):
    console.open("#/stream")
    console.wait_text("#status", "live")
    console.driver.execute_script("window.sameDocument = true")
    mid = live("publish", f"{sink.url}/hook", "-d", "hello console", "-q").stdout.strip()
    row = console.find(f'#stream-rows tr[data-message-id="{mid}"][data-state="DELIVERED"]')
    assert console.find(f'#stream-rows tr[data-message-id="{mid}"][data-state="CREATED"]')
    assert console.driver.execute_script("return window.sameDocument") is True  # no reload happened
    console.screenshot("stream")

    row.find_element(By.CSS_SELECTOR, "a").click()
    [delivered] = sink.wait_for(1, path="/hook")
    card = console.wait_text(".attempt", delivered.header("upstash-signature"))  # the request as delivered
    text = card.text
    assert "signature valid — valid with the current key" in text
    assert delivered.header("upstash-message-id") == mid
    assert "hello console" in text and "200" in text
    console.screenshot("message")
    assert not console.js_errors()


def test_stream_filters_like_qstash_logs(console, live, sink):
    console.open(f"#/stream?url={sink.url}/wanted")
    console.wait_text("#status", "live")
    other = live("publish", f"{sink.url}/other", "-d", "a", "-q").stdout.strip()
    sink.wait_for(1, path="/other")
    wanted = live("publish", f"{sink.url}/wanted", "-d", "b", "-q").stdout.strip()
    console.find(f'#stream-rows tr[data-message-id="{wanted}"][data-state="DELIVERED"]')
    rows = console.driver.find_elements(By.CSS_SELECTOR, "#stream-rows tr")
    assert {r.get_attribute("data-message-id") for r in rows} == {wanted}
    assert other not in console.text_of("#stream")
    assert console.find('#filters input[name="url"]').get_attribute("value") == f"{sink.url}/wanted"


def test_failing_sink_lands_in_the_dlq_page_and_a_retry_from_the_page_delivers_it(console, live, sink, dev_server):
    sink.respond(500, path="/flaky", times=1, body="boom")
    mid = live("publish", f"{sink.url}/flaky", "-d", "payload", "--retries", "0", "-q").stdout.strip()
    with dev_server.client() as api:
        [entry] = wait_until(lambda: [e for e in dlq_entries(api) if e["messageId"] == mid])
    console.open("#/dlq")
    row = console.find(f'#dlq tr[data-message-id="{mid}"]')
    assert "500" in row.text and entry["dlqId"] in row.text
    console.screenshot("dlq")
    row.find_element(By.CSS_SELECTOR, 'button[data-action="retry"]').click()
    assert console.confirm() == f"Retry DLQ entry {entry['dlqId']}?"
    done = console.wait_text(".notice", "Retried as")
    first, second = sink.wait_for(2, path="/flaky")
    assert (first.status, second.status) == (500, 200) and second.body == b"payload"
    assert second.header("upstash-message-id") in done.text
    console.find("#dlq-empty")
    with dev_server.client() as api:
        assert dlq_entries(api) == []


def test_bulk_delete_in_the_dlq_asks_first(console, live, sink, dev_server):
    sink.respond(500, path="/down")
    ids = [live("publish", f"{sink.url}/down", "-d", str(i), "--retries", "0", "-q").stdout.strip() for i in range(2)]
    with dev_server.client() as api:
        entries = wait_until(lambda: len(dlq_entries(api)) == 2 and dlq_entries(api))
    console.open("#/dlq")
    for mid in ids:
        console.find(f'#dlq tr[data-message-id="{mid}"]')
    console.click("#dlq-all")
    console.click("#dlq-delete-selected")
    question = console.find("#confirm[open] #confirm-question").text
    assert question.startswith("Delete DLQ entries ") and all(e["dlqId"] in question for e in entries)
    console.click("#confirm-no")  # said no: nothing is deleted
    with dev_server.client() as api:
        assert len(dlq_entries(api)) == 2
    console.click("#dlq-all")
    console.click("#dlq-delete-selected")
    console.confirm()
    console.wait_text(".notice", "Deleted 2 entries")
    with dev_server.client() as api:
        assert dlq_entries(api) == []


def test_pause_a_schedule_from_the_page_and_the_cli_reports_it_paused(console, live, sink):
    sid = live("publish", f"{sink.url}/cron", "--cron", "0 9 * * 1", "-q").stdout.strip().splitlines()[0]
    console.open("#/schedules")
    row = console.find(f'#schedules tr[data-schedule-id="{sid}"]')
    assert "active" in row.text and "0 9 * * 1" in row.text
    console.screenshot("schedules")
    row.find_element(By.CSS_SELECTOR, 'button[data-action="pause"]').click()
    console.wait_text(f'#schedules tr[data-schedule-id="{sid}"]', "paused")
    assert live("schedules", "get", sid, "--json").json["isPaused"] is True
    console.find(f'#schedules tr[data-schedule-id="{sid}"] button[data-action="resume"]').click()
    console.wait_text(f'#schedules tr[data-schedule-id="{sid}"]', "active")
    assert live("schedules", "get", sid, "--json").json["isPaused"] is False


def test_send_form_delivers_and_its_cli_line_sends_the_same(console, live, sink):
    console.open("#/send")
    form = console.find("#send")
    form.find_element(By.NAME, "destination").send_keys(f"{sink.url}/sent")
    form.find_element(By.NAME, "contentType").clear()
    form.find_element(By.NAME, "contentType").send_keys("application/json")
    form.find_element(By.NAME, "body").send_keys('{"it": "is me"}')
    form.find_element(By.NAME, "headers").send_keys("X-Team: data's")
    form.find_element(By.CSS_SELECTOR, 'button[type="submit"]').click()
    cli_line = console.find("#send-cli").text
    assert "#/message/msg_" in console.find("#send-result a").get_attribute("href")
    assert console.text_of("#send-curl").startswith("curl -X POST")
    console.screenshot("send")
    [sent] = sink.wait_for(1, path="/sent")
    args = shlex.split(cli_line)
    assert args[0] == "qstash"
    live(*args[1:], "-q")
    first, second = sink.wait_for(2, path="/sent")
    for r in (first, second):
        assert r.body == b'{"it": "is me"}'
        assert r.header("x-team") == "data's" and r.header("content-type") == "application/json"


def test_every_page_shows_the_store(console, live, sink, dev_server):
    live("topics", "create", "orders", "-e", f"{sink.url}/orders")
    with dev_server.client() as api:
        api.post("/v2/queues", json={"queueName": "emails", "parallelism": 2}).raise_for_status()
    before = live("keys", "get", "--json").json
    for page, expect in (("topics", "orders"), ("queues", "emails"), ("keys", before["current"])):
        console.open(f"#/{page}")
        console.wait_text("main", expect)
        console.screenshot(page)
    console.click("#rotate")
    assert console.confirm() == "Rotate the signing keys (the old current key is retired)?"
    console.wait_text(".notice", "Keys rotated")
    after = live("keys", "get", "--json").json
    assert after["current"] == before["next"] and console.text_of("#key-current") == after["current"]
    assert not console.js_errors()


def test_a_page_asked_for_by_another_host_name_asks_for_the_token(console, live, sink, dev_server):
    from tests.browser.conftest import FAKE_HOST

    console.open("#/stream", host=FAKE_HOST)
    console.find("#login")
    assert '"token": null' in console.driver.page_source
    assert not console.driver.find_elements(By.CSS_SELECTOR, "#stream")
    console.screenshot("login")
    console.find("#token").send_keys("wrong")
    console.click('#login button[type="submit"]')
    console.wait_text("#login", "refused")
    console.find("#token").send_keys(dev_server.token)
    console.click('#login button[type="submit"]')
    console.wait_text("#status", "live")
    mid = live("publish", f"{sink.url}/x", "-d", "y", "-q").stdout.strip()
    console.find(f'#stream-rows tr[data-message-id="{mid}"]')


def test_cancel_a_waiting_message_from_its_page(console, live, sink, dev_server):
    mid = live("publish", f"{sink.url}/later", "-d", "z", "--delay", "1h", "-q").stdout.strip()
    console.open(f"#/message/{mid}")
    console.wait_text("h1", "CREATED")
    console.click("#cancel")
    assert console.confirm() == f"Cancel message {mid}?"
    console.wait_text("h1", "CANCEL")
    assert not console.driver.find_elements(By.CSS_SELECTOR, "#cancel")
    with dev_server.client() as api:
        assert api.get(f"/v2/messages/{mid}").status_code == 404
        states = [e["state"] for e in api.get("/v2/logs", params={"messageId": mid}).json()["logs"]]
    assert states[0] == "CANCELED"


def test_a_workflow_runs_steps_in_order_notify_and_cancel_from_the_page(console, live, sink, dev_server):
    from tests.e2e.test_workflow_e2e import run_of, step, trigger

    url = f"{sink.url}/api/wf"
    run_id = trigger(dev_server, url, label="console")
    sink.wait_for(1, path="/api/wf")
    step(dev_server, url, run_id, 1, "charge", {"paid": True})
    step(dev_server, url, run_id, 2, "ship", {"carrier": "dhl"})
    sink.wait_for(3, path="/api/wf")
    wait = {"url": url, "timeout": "1h", "step": {"stepId": 3, "stepName": "delivered", "stepType": "Wait"}}
    headers = {**dev_server.auth, "Upstash-Workflow-RunId": run_id, "Upstash-Workflow-Url": url}
    with dev_server.client() as api:
        api.post("/v2/wait/parcel-delivered", headers=headers, json=wait).raise_for_status()

    console.open("#/workflows")
    card = console.find(f'.run[data-run-id="{run_id}"]')
    names = [li.get_attribute("data-step-name") for li in card.find_elements(By.CSS_SELECTOR, ".timeline li")]
    assert [n for n in names if n] == ["init", "charge", "ship"]
    assert "RUN_STARTED" in card.text and '{"carrier": "dhl"}' in card.text
    console.screenshot("workflows")

    sink.reset()
    console.find("#notify-event").send_keys("parcel-delivered")
    console.find("#notify-data").send_keys('{"signed": "yes"}')
    console.click('#notify button[type="submit"]')
    console.wait_text(".notice", "notified 1 waiter")
    [delivery] = sink.wait_for(1, path="/api/wf")
    result = json.loads(base64.b64decode(json.loads(delivery.body)[-1]["body"]))  # the wait step's result, to the run
    assert (result["stepName"], base64.b64decode(result["out"])) == ("delivered", b'{"signed": "yes"}')

    console.find(f'.run[data-run-id="{run_id}"] button.danger').click()
    assert console.confirm() == f"Cancel workflow run {run_id}?"
    console.wait_text(f'.run[data-run-id="{run_id}"]', "RUN_CANCELED")
    assert run_of(live, run_id)["workflowState"] == "RUN_CANCELED"
