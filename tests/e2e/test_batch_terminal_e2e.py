"""`qstash publish --batch FILE > results.jsonl` typed in a terminal (stdin and stderr a pseudo-terminal, stdout a
file): every result lands in the file, the progress display stays on the terminal and shows no results."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
import threading


def test_batch_results_go_to_the_redirected_stdout_not_the_terminal(dev_server, sink, tmp_path) -> None:
    lines = 300
    source = tmp_path / "messages.jsonl"
    source.write_text(
        "".join(json.dumps({"destination": f"{sink.url}/m", "body": str(i)}) + "\n" for i in range(lines))
    )
    results = tmp_path / "results.jsonl"
    master, slave = pty.openpty()
    screen = bytearray()

    def read_screen() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:  # the slave side closed
                return
            if not data:
                return
            screen.extend(data)

    reader = threading.Thread(target=read_screen, daemon=True)
    reader.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSTASH_")}
    env.update(dev_server.env, TERM="xterm", COLUMNS="80", QSTASH_CONFIG=str(tmp_path / "c.toml"))
    env.pop("NO_COLOR", None)
    with results.open("wb") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "qstash_cli", "publish", "--batch", str(source), "--json"],
            stdin=slave,
            stdout=out,
            stderr=slave,
            env=env,
            timeout=120,
        )
    os.close(slave)
    reader.join(timeout=10)
    os.close(master)
    shown = screen.decode("utf-8", "replace")
    assert proc.returncode == 0, shown
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["line"] for r in rows] == list(range(1, lines + 1))
    assert all(r["messageId"] for r in rows)
    assert '"messageId"' not in shown and rows[0]["messageId"] not in shown  # no result on the terminal
    assert len(sink.wait_for(lines, timeout=60)) == lines
