"""`datafile.read_ahead`: the data file is read once from start to end before its integrity check reads it page by
page (the check itself, and what it refuses, is in tests/reliability/test_reliability_dev_data.py)."""

from __future__ import annotations

from qstash_cli.server import datafile


def test_read_ahead_reads_the_whole_file_in_chunks(tmp_path, monkeypatch):
    path = tmp_path / "data.sqlite3"
    path.write_bytes(bytes(range(256)) * 40_000)  # ~10 MB: several chunks, the last one partial
    monkeypatch.setattr(datafile, "READ_AHEAD_CHUNK", 1 << 20)
    assert datafile.read_ahead(path) == path.stat().st_size


def test_read_ahead_of_a_missing_or_unreadable_file_reads_nothing(tmp_path):
    assert datafile.read_ahead(tmp_path / "missing.sqlite3") == 0
    assert datafile.read_ahead(tmp_path) == 0  # a directory: the check says what is wrong with it
