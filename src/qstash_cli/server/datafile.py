"""The data file before the store opens it: one server per file (an exclusive lock next to it) and a damaged file
refused as it is (never repaired, truncated or overwritten)."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import IO


class DataFileError(Exception):
    """The data file cannot be used; the message is one line for the user."""


def lock_path(path: str) -> Path:
    return Path(f"{path}.lock")


def lock(path: str) -> IO[str] | None:
    """Take the exclusive lock of `path` (`<path>.lock`, held as long as the returned file stays open: released by the
    OS when the process ends, also on SIGKILL). DataFileError when another process holds it."""
    if Path(path).is_dir():
        raise DataFileError(f"the data file {path} is a directory: pass a file path to --data")
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return None
    where = lock_path(path)
    handle = open(where, "a+", encoding="utf-8")  # noqa: SIM115 - kept open for the life of the server
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip()
        handle.close()
        who = f" (pid {holder})" if holder.isdigit() else ""
        raise DataFileError(
            f"the data file {path} is in use by another qstash dev{who}; stop it, or pass another --data"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


READ_AHEAD_CHUNK = 4 << 20


def read_ahead(path: Path) -> int:
    """Read `path` once from start to end (into the OS page cache), so that the page-by-page reads that follow
    (the integrity check reads every page of the file, in B-tree order) are served from memory. On a disk that is
    slow at random reads this is what makes a start with a large file not in the cache quick (a 71 MB file not in
    memory, on the VM the benchmarks ran on: 1.5 s to read sequentially, 29-60 s for the check page by page); on a
    file in the cache it is a memory copy. Returns the bytes read: 0 when the file is missing or unreadable (the
    check then says why)."""
    buffer, total = bytearray(READ_AHEAD_CHUNK), 0
    try:
        with open(path, "rb", buffering=0) as handle:
            while n := handle.readinto(buffer):
                total += n
    except OSError:
        pass
    return total


def check(path: str) -> None:
    """DataFileError when `path` exists but is not an intact SQLite database. Only reads the main file: a damaged one
    is left byte for byte as it was (the empty `-wal`/`-shm` side files SQLite may create are removed again)."""
    target = Path(path)
    if not target.exists() or target.stat().st_size == 0:
        return  # a new data file
    if not os.access(target, os.R_OK | os.W_OK):
        raise DataFileError(f"cannot read and write the data file {path}: check its permissions")
    sides = [Path(f"{path}-wal"), Path(f"{path}-shm")]
    existed = [side.exists() for side in sides]
    for name in (target, sides[0]):
        read_ahead(name)
    problem: str | None = None
    try:
        conn = sqlite3.connect(f"file:{target.resolve()}?mode=rw", uri=True, isolation_level=None)
        try:
            rows = conn.execute("PRAGMA quick_check(1)").fetchall()
            if rows != [("ok",)]:
                lines = [line for line in str(rows[0][0]).splitlines() if not line.startswith("***")] if rows else []
                problem = lines[0] if lines else "integrity check failed"
        finally:
            conn.close()
    except sqlite3.Error as exc:
        problem = str(exc)
    if problem is None:
        return
    wal, shm = sides
    if not existed[0] and wal.exists() and wal.stat().st_size == 0:
        wal.unlink()
    if not existed[1] and not wal.exists():
        shm.unlink(missing_ok=True)
    raise DataFileError(
        f"the data file {path} is damaged ({problem}); it was left untouched: move it away, or pass another --data"
    )
