"""`qstash dev` under abuse: a Hypothesis fuzzing pass over the routes (methods, paths, JSON, headers, tokens,
traversal, oversize), sinks that misbehave (slow, hanging, 500, refused, redirect) while the server stays responsive,
and the bind address (127.0.0.1 unless --host says otherwise, with a warning)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.live import DevServer, free_port, start_dev_server
from tests.reliability.faulty import refused_url
from tests.reliability.figures import record

FREE_MAX = 1024 * 1024  # --quota free: 1 MB messages

_stats = {"requests": 0, "statuses": {}}


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    server = start_dev_server(tmp_path_factory.mktemp("fuzz"), quota="free", quiet=True)
    yield server
    server.stop()


# -- fuzzing -----------------------------------------------------------------------------------------------------------

ROUTES = [  # (the method the route takes, its path)
    ("POST", "/v2/publish/{dest}"),
    ("POST", "/v2/enqueue/{id}/{dest}"),
    ("POST", "/v2/batch"),
    ("DELETE", "/v2/messages"),
    ("GET", "/v2/messages/{id}"),
    ("DELETE", "/v2/messages/{id}"),
    ("GET", "/v2/topics"),
    ("GET", "/v2/topics/{id}"),
    ("DELETE", "/v2/topics/{id}"),
    ("PATCH", "/v2/topics/{id}"),
    ("POST", "/v2/topics/{id}/endpoints"),
    ("DELETE", "/v2/topics/{id}/endpoints"),
    ("GET", "/v2/schedules"),
    ("GET", "/v2/schedules/{id}"),
    ("DELETE", "/v2/schedules/{id}"),
    ("PATCH", "/v2/schedules/{id}/pause"),
    ("POST", "/v2/schedules/{id}/resume"),
    ("POST", "/v2/schedules/{dest}"),
    ("POST", "/v2/queues"),
    ("GET", "/v2/queues/{id}"),
    ("DELETE", "/v2/queues/{id}"),
    ("GET", "/v2/dlq"),
    ("DELETE", "/v2/dlq"),
    ("GET", "/v2/dlq/{id}"),
    ("DELETE", "/v2/dlq/{id}"),
    ("POST", "/v2/dlq/retry"),
    ("POST", "/v2/dlq/retry/{id}"),
    ("GET", "/v2/events"),
    ("GET", "/v2/logs"),
    ("GET", "/v2/keys"),
    ("POST", "/v1/publish/{dest}"),
    ("GET", "/v1/topics"),
    ("POST", "/v1/topics"),
    ("GET", "/v1/topics/{id}"),
    ("PUT", "/v1/topics/{id}"),
    ("DELETE", "/v1/topics/{id}"),
    ("GET", "/v1/endpoints"),
    ("POST", "/v1/endpoints"),
    ("GET", "/v1/endpoints/{id}"),
    ("PUT", "/v1/endpoints/{id}"),
    ("DELETE", "/v1/endpoints/{id}"),
    ("GET", "/v1/messages"),
    ("GET", "/v1/messages/{id}"),
    ("DELETE", "/v1/messages/{id}"),
    ("GET", "/v1/messages/{id}/tasks"),
    ("GET", "/v1/messages/{id}/logs"),
    ("GET", "/v1/tasks/{id}"),
    ("GET", "/v1/tasks/{id}/logs"),
    ("GET", "/v1/schedules/{id}"),
    ("DELETE", "/v1/schedules/{id}"),
    ("GET", "/v1/quota"),
    ("GET", "/v1/logs"),
    ("GET", "/v1/events"),
    ("GET", "/{id}"),
    ("POST", "/v3/{id}"),
    ("GET", "/v2/{id}/{id}"),
]
IDS = st.one_of(
    st.sampled_from(
        ["..", "../..", "%2e%2e", "..%2f..%2fetc%2fpasswd", ".", "a/../../b", "%00", "x" * 300, "", "null"]
    ),
    st.text(st.characters(codec="utf-8", exclude_characters="/?#"), max_size=20).map(lambda s: quote(s, safe="")),
)
# destinations stay on loopback (never reach out to the internet)
DESTS = st.one_of(
    IDS,
    st.sampled_from(
        ["http://127.0.0.1:1/x", "https://127.0.0.1:1/", "ftp://127.0.0.1/x", "http://", "http:/x", "http://[::1"]
    ),
)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
FIELDS = st.sampled_from(
    [
        "destination",
        "url",
        "urls",
        "endpoints",
        "name",
        "body",
        "headers",
        "cron",
        "dlqIds",
        "messageIds",
        "parallelism",
    ]
)
BODIES = st.one_of(
    st.binary(max_size=100),
    JSONISH.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(FIELDS, JSONISH, max_size=4).map(lambda v: json.dumps(v).encode()),
    st.sampled_from([b"{", b'{"destination": ', b"[{]", b"\xff\xfe", b"null", b'{"endpoints": "x"}']),
)
HEADER_NAMES = st.sampled_from(
    [
        "Upstash-Delay",
        "Upstash-Not-Before",
        "Upstash-Retries",
        "Upstash-Timeout",
        "Upstash-Cron",
        "Upstash-Method",
        "Upstash-Callback",
        "Upstash-Deduplication-Id",
        "Upstash-Content-Based-Deduplication",
        "Upstash-Schedule-Id",
        "Upstash-Forward-X",
        "Content-Type",
        "Upstash-Retry-Delay",
        "Upstash-Queue-Name",
    ]
)
HEADER_VALUES = st.one_of(
    st.text(st.characters(codec="ascii", min_codepoint=32, max_codepoint=126), max_size=20),
    st.sampled_from(["-1", "1e99", "99999999999999999999", "abc", "1h1h", "* * *", "true", "", "http://127.0.0.1:1/"]),
)
AUTHS = st.sampled_from(
    ["good"] * 8 + ["none", "wrong", "Bearer", "Basic dXNlcjpwYXNz", "Bearer x y", "query", "query-wrong"]
)


@settings(
    max_examples=400,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    other_method=st.sampled_from([None] * 6 + ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE"]),
    route=st.sampled_from(ROUTES),
    ident=IDS,
    dest=DESTS,
    body=BODIES,
    headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES, max_size=4),
    auth=AUTHS,
    query=st.dictionaries(st.sampled_from(["cursor", "count", "messageId", "fromDate", "x"]), IDS, max_size=2),
)
def test_fuzz_routes_answer_json_4xx_or_2xx(fuzz_server, other_method, route, ident, dest, body, headers, auth, query):
    method = other_method or route[0]
    path = route[1].replace("{dest}", dest).replace("{id}", ident)
    assume(not path.endswith("/") and "//" not in path)  # trailing-slash redirects: see test_specific_bad_requests
    hdrs = dict(headers)
    params = dict(query)
    if auth == "good":
        hdrs["Authorization"] = f"Bearer {fuzz_server.token}"
    elif auth == "wrong":
        hdrs["Authorization"] = "Bearer not-the-token"
    elif auth == "query":
        params["qstash_token"] = fuzz_server.token
    elif auth == "query-wrong":
        params["qstash_token"] = "nope"
    elif auth != "none":
        hdrs["Authorization"] = auth
    with httpx.Client(base_url=fuzz_server.url, timeout=10) as c:
        try:
            request = c.build_request(method, path, content=body, headers=hdrs, params=params)
            # dot segments ("{id}" = "../..") are resolved by the client: `/` is the console's HTML page, not the API
            assume(request.url.path != "/" and not request.url.path.startswith("/console"))
            r = c.send(request)
        except (httpx.InvalidURL, httpx.LocalProtocolError):
            return  # the client itself refuses to send it
        _stats["requests"] += 1
        _stats["statuses"][r.status_code] = _stats["statuses"].get(r.status_code, 0) + 1
        assert r.status_code < 500, (method, path, hdrs, body, r.status_code, r.text[:300])
        assert "<html" not in r.text.lower()[:200], (method, path, r.text[:200])
        if method != "HEAD":
            if r.status_code >= 400:
                assert r.headers.get("content-type", "").startswith("application/json"), (method, path, r.headers)
                assert isinstance(r.json().get("error"), str), (method, path, r.text)
            elif r.content and r.headers.get("content-type", "").startswith("application/json"):
                r.json()
        if auth not in ("good", "query") and r.status_code < 400:
            pytest.fail(f"{method} {path} answered {r.status_code} without a valid token")


def test_fuzz_leaves_server_serving(fuzz_server) -> None:
    # runs after the fuzzing pass (same module server); also records its figures
    with fuzz_server.client() as c:
        assert c.get("/v2/keys").status_code == 200
    record(
        "fuzz",
        {"requests": _stats["requests"], "statuses": {str(k): v for k, v in sorted(_stats["statuses"].items())}},
    )
    assert fuzz_server.proc.poll() is None


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("POST", "/v2/publish/http://127.0.0.1:1/x", {"content": b"x" * (FREE_MAX + 1)}, 413),
        ("POST", "/v1/publish/http://127.0.0.1:1/x", {"content": b"x" * (FREE_MAX + 1)}, 413),
        ("GET", "/v2/keys", {"headers": {"X-Huge": "a" * 200_000}}, 431),
        ("GET", "/v2/messages/..%2F..%2Fkeys", {}, None),
        ("GET", "/v2/dlq/%2e%2e", {}, None),
        ("DELETE", "/v2/schedules/..%2Fkeys", {}, None),
        ("GET", "/v1/tasks/..", {}, None),
        ("GET", "/v2/topics/%2e%2e%2f%2e%2e%2fetc%2fpasswd", {}, None),
        ("POST", "/v2/topics/grp/endpoints", {"content": b"{not json"}, 400),
        ("POST", "/v2/topics/grp/endpoints", {"json": {"endpoints": "x"}}, 400),
        ("POST", "/v2/batch", {"json": {"destination": 5}}, 400),
        ("POST", "/v2/publish/http://127.0.0.1:1/x", {"headers": {"Upstash-Delay": "soon"}}, 400),
        ("POST", "/v2/publish/http://127.0.0.1:1/x", {"headers": {"Upstash-Retries": "many"}}, 400),
        ("POST", "/v2/schedules/http://127.0.0.1:1/x", {"headers": {"Upstash-Cron": "61 * * * *"}}, 400),
        # issue 10: limits of the request itself
        ("GET", "/v2/keys", {"headers": [(f"X-H{i}", "v") for i in range(1500)]}, 431),
        ("GET", "/v2/keys", {"headers": [("Upstash-Forward-X", "v")] * 1200}, 431),
        ("POST", "/v2/publish/http://127.0.0.1:1/x", {"content": iter([b"x" * 65536] * 40)}, 413),  # chunked
        ("POST", "/v2/enqueue/q/http://127.0.0.1:1/x", {"content": b"x" * (FREE_MAX + 1)}, 413),
        # a typo never widens a bulk operation
        ("DELETE", "/v2/dlq?labeel=x", {}, 400),
        ("DELETE", "/v2/messages?labeel=x", {}, 400),
        ("POST", "/v2/dlq/retry?labeel=x", {}, 400),
        ("DELETE", "/v2/workflows/runs?labeel=x", {}, 400),
        ("DELETE", "/v2/workflows/runs?workflowRunID=x", {}, 400),
        # the server's own URL: refused (no loop)
        ("POST", "/v2/publish/http://127.0.0.1:{own}/v2/publish/http://127.0.0.1:1/x", {}, 400),
        ("POST", "/v2/publish/http%3A%2F%2Flocalhost%3A{own}%2Fv2%2Fkeys", {}, 400),
        ("POST", "/v1/publish/http://127.0.0.1:{own}/v1/publish/x", {}, 400),
        ("POST", "/v2/batch", {"json": [{"destination": "http://[::1]:{own}/v2/batch"}]}, 400),
        ("POST", "/v2/schedules/http://0.0.0.0:{own}/x", {"headers": {"Upstash-Cron": "* * * * *"}}, 400),
        ("POST", "/v2/publish/http://127.0.0.1:1/x", {"headers": {"Upstash-Callback": "http://127.0.0.1:{own}/"}}, 400),
        (
            "POST",
            "/v2/publish/http://127.0.0.1:1/x",
            {"headers": {"Upstash-Failure-Callback": "http://localhost:{own}/v2/publish/y"}},
            400,
        ),
        ("GET", "/v2/nope", {}, 404),
        ("GET", "/v2/messages/", {}, 404),
        ("DELETE", "/v2/topics/", {}, 404),
        ("GET", "/etc/passwd", {}, 404),
    ],
)
def test_specific_bad_requests(fuzz_server, method, path, kwargs, status) -> None:
    own = str(fuzz_server.port)
    with fuzz_server.client() as c:
        r = c.request(method, path.replace("{own}", own), **_with_port(kwargs, own))
        if status is None:  # any 4xx will do: it must not resolve outside its segment
            assert 400 <= r.status_code < 500, r.text[:200]
        else:
            assert r.status_code == status, r.text[:200]
        assert isinstance(r.json()["error"], str)
        assert c.get("/v2/keys").status_code == 200


def _with_port(value, port: str):
    """`value` with "{own}" replaced by the server's port in every string inside it."""
    if isinstance(value, str):
        return value.replace("{own}", port)
    if isinstance(value, dict):
        return {k: _with_port(v, port) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_port(v, port) for v in value]
    return value


# -- misbehaving sinks ---------------------------------------------------------------------------------------------


def _dlq_ids(c: httpx.Client) -> set[str]:
    return {m["messageId"] for m in c.get("/v2/dlq").json().get("messages", [])}


def test_misbehaving_sinks_retry_to_dlq_while_server_stays_live(dev_server, sink) -> None:
    sink.respond(status=200, path="/slow", delay=3)  # past the 1 s timeout
    sink.respond(status=200, path="/hang", delay=30)
    sink.respond(status=500, path="/fail")
    sink.respond(status=302, path="/redirect", headers={"Location": f"{sink.url}/target"})
    sink.respond(status=503, path="/flaky", times=2)  # then 200
    refused = refused_url()
    cases = {
        "slow": f"{sink.url}/slow",
        "hang": f"{sink.url}/hang",
        "fail": f"{sink.url}/fail",
        "redirect": f"{sink.url}/redirect",
        "refused": f"{refused}/x",
        "flaky": f"{sink.url}/flaky",
    }
    retries = 2
    ids: dict[str, list[str]] = {k: [] for k in cases}
    liveness: list[float] = []
    with dev_server.client() as c:
        for _ in range(5):
            for name, url in cases.items():
                r = c.post(
                    f"/v2/publish/{url}",
                    content=name.encode(),
                    headers={"Upstash-Retries": str(retries), "Upstash-Timeout": "1s"},
                )
                assert r.status_code < 300, r.text
                ids[name].append(r.json()["messageId"])
        failing = {m for k in ("slow", "hang", "fail", "redirect", "refused") for m in ids[k]}
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            started = time.monotonic()
            r = c.get("/v2/keys", timeout=5)  # liveness during the storm
            liveness.append(time.monotonic() - started)
            assert r.status_code == 200
            if failing <= _dlq_ids(c):
                break
            time.sleep(0.3)
        in_dlq = _dlq_ids(c)
    flaky_ok = {r.header("upstash-message-id") for r in sink.requests if r.path == "/flaky" and r.status == 200}
    attempts = {k: sum(1 for r in sink.requests if r.path == v.removeprefix(sink.url)) for k, v in cases.items()}
    record(
        "misbehaving_sinks",
        {
            "messages": sum(len(v) for v in ids.values()),
            "in_dlq": len(in_dlq & failing),
            "expected_in_dlq": len(failing),
            "flaky_delivered": len(flaky_ok & set(ids["flaky"])),
            "attempts_per_kind": attempts,
            "liveness_checks": len(liveness),
            "slowest_liveness_ms": int(max(liveness) * 1000) if liveness else None,
        },
    )
    assert failing <= in_dlq, f"not in the DLQ: {failing - in_dlq}"
    assert set(ids["flaky"]) <= flaky_ok and not set(ids["flaky"]) & in_dlq
    for kind in ("slow", "hang", "fail", "redirect"):  # 1 try + `retries` retries each, no more
        assert attempts[kind] == 5 * (retries + 1), (kind, attempts)
    assert not any(r.path == "/target" for r in sink.requests), "a redirect was followed"
    assert liveness and max(liveness) < 2.0, liveness  # a liveness bound, not a benchmark


# -- bind address ----------------------------------------------------------------------------------------------------


def _listen_addresses(port: int) -> set[str]:
    """Local addresses of LISTEN sockets on `port`, from /proc/net/tcp{,6} (Linux)."""
    found = set()
    for name in ("tcp", "tcp6"):
        try:
            lines = Path(f"/proc/net/{name}").read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            addr, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                if len(addr) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1]))
                else:
                    raw = b"".join(bytes.fromhex(addr[i : i + 8])[::-1] for i in range(0, 32, 8))
                    found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


class CliDevServer(DevServer):
    """`qstash dev` through the real CLI entry point (not `python -m qstash_cli.server`)."""

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "qstash_cli", "dev", "--port", str(self.port), "--memory"]
        for key, value in self.flags.items():
            cmd += ["--" + key.replace("_", "-"), str(value)]
        return cmd


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc/net/tcp")
@pytest.mark.parametrize(("flags", "addr", "warns"), [({}, "127.0.0.1", False), ({"host": "0.0.0.0"}, "0.0.0.0", True)])
def test_binds_loopback_unless_told(tmp_path, flags, addr, warns) -> None:
    server = CliDevServer(free_port(), None, tmp_path / "dev.log", flags)
    try:
        server.start()
        assert _listen_addresses(server.port) == {addr}
        time.sleep(0.2)
        log = server.log()
        assert ("Warning: listening on 0.0.0.0" in log) is warns, log
    finally:
        server.stop()
    assert server.proc is not None and server.proc.returncode is not None


def test_dev_help_documents_the_host_default() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qstash_cli", "dev", "--help"], capture_output=True, text=True, timeout=30
    ).stdout
    assert "--host" in out and "127.0.0.1" in out
