"""Topics and URL groups against a real `qstash dev` + a real sink, driven through the CLI in both dialects.

A v2 URL group is a v1 topic in our server, so what one dialect creates the other lists.
"""

from __future__ import annotations


def _paths(sink, n: int) -> list[str]:
    return sorted(r.path for r in sink.wait_for(n))


def test_v1_topic_with_endpoints_fans_out_to_each(live, dev_server, sink) -> None:
    created = live("--api", "v1", "topics", "create", "orders", "-e", f"{sink.url}/a", "-e", f"{sink.url}/b", "--json")
    topic = created.json
    assert topic["topicId"].startswith("tpc_") and topic["name"] == "orders"
    assert sorted(e["url"] for e in topic["endpoints"]) == [f"{sink.url}/a", f"{sink.url}/b"]

    assert live("--api", "v1", "topics", "list", "-q").stdout == f"{topic['topicId']}\n"
    assert live("--api", "v1", "topics", "get", topic["topicId"], "-q").stdout == f"{topic['topicId']}\n"
    plain = live("--api", "v1", "topics", "list").stdout.splitlines()
    assert plain[0] == "name\tid\tendpoints\tcreated\tupdated" and plain[1].startswith(
        f"orders\t{topic['topicId']}\t2\t"
    )
    ids = live("--api", "v1", "endpoints", "list", "--topic", "orders", "-q").stdout.split()
    assert len(ids) == 2 and all(i.startswith("ept_") for i in ids)

    # the same topic seen as a v2 URL group
    group = live("topics", "get", "orders", "--json").json
    assert sorted(e["url"] for e in group["endpoints"]) == [f"{sink.url}/a", f"{sink.url}/b"]
    assert live("endpoints", "list", "-q").stdout.split() == [e["url"] for e in group["endpoints"]]

    with dev_server.client() as http:
        assert http.post("/v1/publish/orders", content=b"hello").status_code in (200, 201, 202)
    deliveries = sink.wait_for(2)
    assert sorted(r.path for r in deliveries) == ["/a", "/b"]
    assert all(r.body == b"hello" for r in deliveries)

    live("--api", "v1", "topics", "update", topic["topicId"], "--name", "orders-eu")
    assert live("--api", "v1", "topics", "get", "orders-eu", "-q").stdout == f"{topic['topicId']}\n"
    live("--api", "v1", "topics", "delete", "orders-eu", "--yes")
    live("--api", "v1", "topics", "get", "orders-eu", code=3)
    assert len(sink.requests) == 2  # exactly one delivery per endpoint, no late duplicate


def test_v2_group_created_and_edited_through_the_cli(live, dev_server, sink) -> None:
    a, b, c = f"{sink.url}/a", f"{sink.url}/b", f"{sink.url}/c"
    live("topics", "create", "orders", "--endpoint", a)
    live("endpoints", "create", b, "--topic", "orders", "--name", "billing")
    assert live("endpoints", "get", "orders", "--name", "billing", "--json").json == {
        "topicName": "orders",
        "name": "billing",
        "url": b,
    }
    assert live("endpoints", "list", "--topic", "orders").stdout.splitlines() == [
        "topic\tname\turl",
        f"orders\t\t{a}",
        f"orders\tbilling\t{b}",
    ]
    assert live("topics", "list", "-q").stdout == "orders\n"

    # the group seen as a v1 topic
    v1 = live("--api", "v1", "topics", "get", "orders", "--json").json
    assert v1["topicId"].startswith("tpc_") and sorted(e["url"] for e in v1["endpoints"]) == [a, b]

    with dev_server.client() as http:
        reply = http.post("/v2/publish/orders", content=b"one")
        assert reply.status_code in (200, 201, 202) and len(reply.json()) == 2
    assert _paths(sink, 2) == ["/a", "/b"]

    live("endpoints", "update", "orders", c, "--name", "billing")
    assert live("endpoints", "get", "orders", "--name", "billing", "-q").stdout == f"{c}\n"
    live("endpoints", "get", "orders", "--endpoint", b, code=3)
    sink.reset()
    with dev_server.client() as http:
        http.post("/v2/publish/orders", content=b"two").raise_for_status()
    assert _paths(sink, 2) == ["/a", "/c"]

    live("endpoints", "delete", "orders", "--endpoint", a, "-y")
    assert live("endpoints", "list", "-q").stdout == f"{c}\n"
    live("topics", "update", "orders", "--name", "x", code=2)
    live("topics", "delete", "orders", "-y")
    live("topics", "get", "orders", code=3)
    assert live("topics", "list", "--json").json == []
    assert sorted(r.path for r in sink.requests) == ["/a", "/c"]  # one delivery per endpoint, no late duplicate


def test_v1_endpoints_crud(live, sink) -> None:
    topic = live("--api", "v1", "topics", "create", "jobs", "--json").json
    ept = live("--api", "v1", "endpoints", "create", f"{sink.url}/x", "--topic-id", topic["topicId"], "--json").json
    assert ept["endpointId"].startswith("ept_") and ept["topicId"] == topic["topicId"]
    by_name = live("--api", "v1", "endpoints", "create", f"{sink.url}/y", "--topic", "jobs", "-q").stdout.strip()
    live("--api", "v1", "endpoints", "update", ept["endpointId"], f"{sink.url}/z")
    got = live("--api", "v1", "endpoints", "get", ept["endpointId"]).stdout.splitlines()
    assert got == [f"id\t{ept['endpointId']}", f"topic\t{topic['topicId']}", f"url\t{sink.url}/z"]
    live("--api", "v1", "endpoints", "delete", ept["endpointId"], "-y")
    live("--api", "v1", "endpoints", "get", ept["endpointId"], code=3)
    assert live("--api", "v1", "endpoints", "list", "-q").stdout == f"{by_name}\n"


def test_bad_token_is_exit_4(live, monkeypatch) -> None:
    monkeypatch.setenv("QSTASH_TOKEN", "not-the-token")
    r = live("topics", "list", code=4)
    assert r.stderr.startswith("Error: HTTP 401")
