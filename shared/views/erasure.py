"""Erasing rows so that no readable trace of their bytes is left: personal data's keys, answers about a person.

An erasure deletes rows (:func:`forget_rows`); the database would still
hold their bytes for a while: SQLite in the freed page and in the
write-ahead log's earlier frames, PostgreSQL in dead tuples. Here the page
is overwritten (``secure_delete``) and the log checkpointed and truncated
(:func:`truncate_log`), or the table vacuumed; a log that a long reader
keeps from being truncated is tried again by one thread per database file.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Engine

from shared.views import durably

log = logging.getLogger(__name__)

CHECKPOINT_WAIT_MS = 2000
"""How long an erasure's checkpoint waits for readers of an older snapshot (ms). It holds the database's write lock
meanwhile, and the key table shares the event store's file: commands wait at most ``SQLITE_LOCK_TIMEOUT`` (5 s)."""
RETRY_WAIT_MS = 100
"""How long each of the retry's checkpoints waits for the readers (ms): it holds the file's writers meanwhile (a retry
waiting the erasure's 2 s every 5 s held commands for seconds while a backup read the file), and it tries again anyway."""
TRUNCATE_RETRY_SECONDS = 5.0
TRUNCATE_RETRIES = 720
"""A log an erasure could not truncate is tried again every 5 s for an hour (then at the next start,
:func:`truncate_log`), by one thread per database file in each process, whichever erasures and tables wait on it."""


def truncate_log(engine: Engine, *, wait_ms: int = CHECKPOINT_WAIT_MS) -> bool:
    """Checkpoint an SQLite database and truncate its write-ahead log (``wal_checkpoint(TRUNCATE)``), waiting at most
    ``wait_ms`` for readers of an older snapshot: True when done, False when a reader kept it (or not SQLite)."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as connection:
        waits = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
        connection.exec_driver_sql(f"PRAGMA busy_timeout={int(wait_ms)}")
        try:
            busy = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()[0]
            connection.commit()
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(waits or 0)}")  # the pool's connection as it was
    return not busy


def forget_rows(
    engine: Engine,
    table: str,
    delete: Callable[[Connection], bool],
    *,
    checkpoint_wait_ms: int = CHECKPOINT_WAIT_MS,
    retry_seconds: float = TRUNCATE_RETRY_SECONDS,
) -> None:
    """Delete rows so that no readable trace of their bytes is left (personal data's keys, answers about a person).

    ``delete`` runs the deletes on a connection of its own and says whether it
    deleted anything. SQLite overwrites deleted content (``secure_delete``)
    and its write-ahead log is checkpointed and truncated (:func:`truncate_log`);
    PostgreSQL vacuums ``table`` so the dead rows are pruned. A reader holding
    an older snapshot for over ``checkpoint_wait_ms`` (a long backup's read)
    keeps the log from being truncated: the deleted rows' earlier frames stay
    in it (and the database file keeps their page) until a checkpoint gets
    through. A warning says so (never the rows' content), and a thread tries
    again every ``retry_seconds`` (for :data:`TRUNCATE_RETRIES` tries), saying
    when it got through or gave up; each of its checkpoints waits
    :data:`RETRY_WAIT_MS` only. A database file has one such retry at a time
    in a process: an erasure while its file's retry is pending checkpoints
    without waiting, and if a reader still holds the log joins the retry (no
    thread, no warning; the retry's last word names every table that waited,
    with its count of erasures); one after the retry ended starts the next.
    The erasure itself never fails for the log.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection, durably(connection):  # an erasure outlasts a power cut, on a rebuildable file too
        if sqlite:
            connection.exec_driver_sql("PRAGMA secure_delete=ON")
        if not delete(connection):
            connection.rollback()
            return
        connection.commit()
    clear_traces(engine, table, checkpoint_wait_ms=checkpoint_wait_ms, retry_seconds=retry_seconds)


def clear_traces(
    engine: Engine,
    table: str,
    *,
    checkpoint_wait_ms: int = CHECKPOINT_WAIT_MS,
    retry_seconds: float = TRUNCATE_RETRY_SECONDS,
) -> None:
    """What :func:`forget_rows` does once its deletes are committed, for rows of ``table`` deleted in a transaction of
    someone else's (a command's, with its events: :mod:`shared.siderows`), with SQLite's ``secure_delete`` on: SQLite's
    write-ahead log checkpointed and truncated (retried as :func:`forget_rows` says), PostgreSQL's ``table`` vacuumed."""
    sqlite = engine.dialect.name == "sqlite"
    if sqlite and not truncate_log(engine, wait_ms=0 if _pending(engine) else checkpoint_wait_ms):
        _truncate_when_let(engine, table, checkpoint_wait_ms, retry_seconds)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.exec_driver_sql(f"VACUUM {table}")


@dataclass
class _PendingTruncation:
    """The one retry of a database file's log truncation under way, and the erasures waiting on it."""

    waiting: dict[str, int]
    """Per table, the erasures whose earlier frames the log still holds (table names only, never rows)."""
    joined: int = 0
    """Erasures that joined after the retry started: one that joins while an attempt runs is tried for again."""


_pending_truncations: dict[str, _PendingTruncation] = {}
"""Per database file (:func:`_log_file`), its pending retry; guarded by :data:`_pending_truncations_lock`."""
_pending_truncations_lock = threading.Lock()


def _log_file(engine: Engine) -> str:
    """The SQLite database file whose write-ahead log ``engine`` writes (its real path), or its URL when in memory."""
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return str(engine.url)
    return os.path.realpath(database)


def _pending(engine: Engine) -> bool:
    """Whether the file's retry is pending: a reader held its log a moment ago, so an erasure's checkpoint does not wait
    for it (holding the file's writers meanwhile) before joining the retry; a reader gone by then, it goes through."""
    with _pending_truncations_lock:
        return _log_file(engine) in _pending_truncations


def _truncate_when_let(engine: Engine, table: str, wait_ms: int, retry_seconds: float) -> None:
    """Have the log truncated once its readers let go: join the file's pending retry, or start it (and warn, once)."""
    file = _log_file(engine)
    with _pending_truncations_lock:
        pending = _pending_truncations.get(file)
        if pending is not None:
            pending.waiting[table] = pending.waiting.get(table, 0) + 1
            pending.joined += 1
            log.debug(
                "erased rows of %s in %s: joined the pending retry of the write-ahead log's truncation",
                table, engine.url.database,
            )
            return
        pending = _pending_truncations[file] = _PendingTruncation(waiting={table: 1})
    log.warning(
        "erased rows of %s in %s: a reader held an older snapshot for over %s ms, so the write-ahead log still holds "
        "their earlier frames; trying again every %s s",
        table, engine.url.database, wait_ms, retry_seconds,
    )
    retry = threading.Thread(
        target=_truncate_later, args=(engine, file, pending, wait_ms, retry_seconds), name=f"truncate-log {file}",
        daemon=True,
    )
    try:
        retry.start()
    except RuntimeError:  # no thread to be had: the erasure is done all the same, and the next start truncates
        with _pending_truncations_lock:
            del _pending_truncations[file]
        log.warning(
            "erased rows of %s in %s: no thread to retry the write-ahead log's truncation; the next start does it",
            table, engine.url.database,
        )


def _truncate_later(engine: Engine, file: str, pending: _PendingTruncation, wait_ms: int, retry_seconds: float) -> None:
    """The file's pending retry: every ``retry_seconds``, :data:`TRUNCATE_RETRIES` tries, then one word either way."""
    for _ in range(TRUNCATE_RETRIES):
        time.sleep(retry_seconds)
        with _pending_truncations_lock:
            joined = pending.joined
        try:
            truncated = truncate_log(engine, wait_ms=min(wait_ms, RETRY_WAIT_MS))
        except Exception:  # noqa: BLE001, S112 - the database closed or away for a moment: tried again
            continue
        if not truncated:
            continue
        with _pending_truncations_lock:
            if pending.joined != joined:  # an erasure joined during the attempt: its commit may have come after it
                continue
            del _pending_truncations[file]
        log.warning(  # the all-clear of the warning that started the retry, at its level: a service's console shows no less
            "erased rows of %s in %s: the write-ahead log is truncated now", _tables_waiting(pending), engine.url.database
        )
        return
    with _pending_truncations_lock:
        del _pending_truncations[file]
    log.warning(
        "erased rows of %s in %s: the write-ahead log could not be truncated; the next start does it",
        _tables_waiting(pending), engine.url.database,
    )


def _tables_waiting(pending: _PendingTruncation) -> str:
    """``data_keys (3 erasures), kept_answers``: the tables whose erasures waited, in the order they came."""
    return ", ".join(table if count == 1 else f"{table} ({count} erasures)" for table, count in pending.waiting.items())
