"""An erasure's checkpoint on SQLite, with a reader holding an older snapshot: bounded, and never silent."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from shared.views import forget_rows, make_engine

SECRET = b"wrapped-key-of-zoraida-perez-0123456789"


def test_a_reader_of_an_older_snapshot_keeps_the_log_and_the_erasure_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The key table now shares the event store's file, which readers use all the time. The checkpoint waited the
    engine's whole busy timeout (10 s) holding the store's write lock (commands wait 5 s for it), then left the
    deleted key's frames in the write-ahead log without a word."""
    path = tmp_path / "events.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE data_keys (owner_id TEXT PRIMARY KEY, wrapped BLOB)"))
        connection.execute(text("INSERT INTO data_keys VALUES ('p-1', :wrapped)"), {"wrapped": SECRET})
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM data_keys").fetchone()  # a long read (a backup's) holds this snapshot

    def delete_key(connection: Connection) -> bool:
        return bool(connection.execute(text("DELETE FROM data_keys WHERE owner_id = 'p-1'")).rowcount)

    caplog.set_level(logging.INFO, logger="shared.views")  # the retries' word comes from their own thread, later
    forget_rows(engine, "data_keys", delete_key, checkpoint_wait_ms=50, retry_seconds=0.05)

    assert any("write-ahead log still holds" in record.getMessage() and "data_keys" in record.getMessage() for record in caplog.records)
    assert SECRET.decode() not in caplog.text
    with engine.connect() as connection:  # the pool's connection waits as long as before for the next command
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
    assert SECRET in path.read_bytes() + wal_of(path).read_bytes()  # not yet: the reader holds the log
    reader.execute("ROLLBACK")
    reader.close()

    # Nothing else is erased, nobody restarts: the erasure's own retries truncate the log once the reader is gone.
    deadline = time.monotonic() + 60
    while "the write-ahead log is truncated now" not in caplog.text:
        assert time.monotonic() < deadline, "the erasure's log was never truncated after its reader ended"
        time.sleep(0.05)
    assert SECRET not in path.read_bytes() + wal_of(path).read_bytes()
    engine.dispose()


def wal_of(path: Path) -> Path:
    """The database's write-ahead log file (it may have been removed: then an empty file beside it)."""
    wal = path.with_name(path.name + "-wal")
    if not wal.exists():
        wal = path.with_name("no-wal")
        wal.touch()
    return wal
