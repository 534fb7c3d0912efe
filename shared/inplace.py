"""A command run on the event loop when the store can take its save at once; in a worker thread when it would wait.

A command route that hops to a worker thread (Starlette's ``run_in_threadpool``)
pays the hop and, above all, two threads of one process taking the GIL in
turn: in registry under 4 clients (``make bench QUICK=1``), ``POST /osvs``
cost 1.63-1.83 ms of service CPU and reached 510-534 commands/s in a thread,
1.27-1.40 ms and 679-695 commands/s on the loop (issue 17).

The loop must never wait, though: not for another process's write lock, not
for a commit under way in a thread of its own, not between the attempts of a
collision. So :func:`run_command` runs the command on the loop only on a store
that can say "busy" at once (:attr:`ChainedSQLiteApplicationRecorder.saves_without_waiting`,
the SQLite file), and with :func:`saving_without_waiting` true while it runs:
its save then takes the write lock without waiting, or raises
:class:`StoreBusyError` having stored nothing, and the command is run again in
a worker thread, where it waits as every command did. PostgreSQL's commands
always go to a thread: each statement is a round trip.

Once its save has committed, the command is never run again: what it reads
after (to make its answer) waits as in a thread (:func:`committed_so_may_wait`).

What still runs on the loop: the command's reads (SQLite's write-ahead log lets
them read beside a writer) and its commit's wait for the disk
(``synchronous=FULL``, as before); snapshots due after the save are written
from a thread (:meth:`ServiceApplication._take_snapshots`). A keyed request's
look-up of its key is read on the loop under the same bound
(:meth:`~shared.idempotency.middleware.IdempotencyMiddleware._earlier_answer`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from eventsourcing.persistence import ConnectionUnavailableError
from eventsourcing.sqlite import SQLiteConnection, SQLiteDatastore
from starlette.concurrency import run_in_threadpool

R = TypeVar("R")

LOOP_WAIT_SECONDS = 0.002
"""How long a save made on the event loop waits for the write lock, or for a commit of its process under way, before
:class:`StoreBusyError`: about one other commit's time, as long as a pass of the cycle collector."""

_without_waiting: ContextVar[bool] = ContextVar("saving_without_waiting", default=False)


class StoreBusyError(Exception):
    """A save made without waiting found the store busy (its write lock taken, a commit of this process under way, a
    collision to wait out): nothing was stored; the command runs again where it may wait."""


@contextmanager
def without_waiting_on_the_loop() -> Iterator[None]:
    """For the block, reads and writes made on an event loop's thread wait no more than a command's on the loop do
    (:func:`saving_without_waiting`): for work the loop does outside :func:`run_command`, such as a request's body
    checks, which has no thread to go to and does without its reads instead (:class:`StoreBusyError`)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # a thread of its own: it may wait
        yield
        return
    token = _without_waiting.set(True)
    try:
        yield
    finally:
        _without_waiting.reset(token)


@contextmanager
def views_busy_timeout(connection: Any) -> Iterator[None]:
    """On an SQLite views database, the block's statements wait for its write lock at most :data:`LOOP_WAIT_SECONDS`
    while :func:`saving_without_waiting` (:class:`StoreBusyError`), then as the engine set them to wait again."""
    if not saving_without_waiting() or connection.dialect.name != "sqlite":
        yield
        return
    was = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(1000 * LOOP_WAIT_SECONDS)}")
    try:
        yield
    except Exception as error:
        if says_busy(error):
            raise StoreBusyError(str(error)) from error
        raise
    finally:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(was)}")


def says_busy(error: Exception) -> bool:
    """Whether SQLite's error (as sqlite3 or SQLAlchemy raise it) is its ``SQLITE_BUSY`` or ``SQLITE_LOCKED``: the lock was taken."""
    return "locked" in str(error) or "busy" in str(error)


def committed_so_may_wait() -> None:
    """The command being run on the loop has committed: from now on its reads and locks wait as a thread's do.

    :class:`StoreBusyError` has the command run again in a worker thread, which is right only while it has stored
    nothing; after its commit, a second run would store its fact twice (a second grant; a second mapping refused as a
    duplicate of the first). Called by the store once a save committed; the loop may then wait, rarely and briefly,
    for what the command reads to make its answer.
    """
    if _without_waiting.get():
        _without_waiting.set(False)


def saving_without_waiting() -> bool:
    """Whether the command being run is on the event loop: its save must not wait (:class:`StoreBusyError` instead)."""
    return _without_waiting.get()


class LoopBoundedSQLiteDatastore(SQLiteDatastore):
    """The library's SQLite datastore, whose connections a command on the event loop waits for at most
    :data:`LOOP_WAIT_SECONDS`, else :class:`StoreBusyError`: the pool hands out one writer's connection at a time, and
    a thread holding it (a command run again in a thread, the relay recording its position, a snapshot) may be
    waiting for another process's lock; a reader queues behind whoever waits for it (found by tester 38: a worker's
    loop held 5-6 s, `/health` unanswered)."""

    @contextmanager
    def get_connection(self, *, commit: bool) -> Iterator[SQLiteConnection]:
        if not saving_without_waiting():
            with super().get_connection(commit=commit) as connection:
                yield connection
            return
        try:
            connection = self.pool.get_connection(timeout=LOOP_WAIT_SECONDS, is_writer=commit)
        except ConnectionUnavailableError as error:
            raise StoreBusyError(str(error)) from error
        try:
            yield connection
        finally:
            self.pool.put_connection(connection)


@contextmanager
def waited_for(lock: Any) -> Iterator[None]:
    """``lock`` (a :class:`threading.Lock`), held for the block: waited for as long as it takes in a thread, at most
    :data:`LOOP_WAIT_SECONDS` by a command on the event loop (:class:`StoreBusyError`): the thread holding it may be
    waiting for the store (tester 38b: a kept aggregate's lock, held by a thread queued for a connection)."""
    if not lock.acquire(timeout=LOOP_WAIT_SECONDS if saving_without_waiting() else -1):
        raise StoreBusyError("another thread holds a lock this command needs")
    try:
        yield
    finally:
        lock.release()


class InBackground:
    """``work`` done in a thread of its own for what a command on the loop leaves behind it (the snapshots due after its
    save, whose write may wait for the lock): the thread starts with the first :meth:`submit`; :meth:`close` waits for it."""

    def __init__(self, work: Callable[..., Any], name: str) -> None:
        self.work, self.name = work, name
        self._thread: ThreadPoolExecutor | None = None

    def submit(self, *args: Any) -> None:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self.name)
        self._thread.submit(self.work, *args)

    def close(self) -> None:
        if self._thread is not None:
            self._thread.shutdown(wait=True)


def begin_immediate(cursor: Any, waiting_at_most: float | None, lock_timeout: float) -> None:
    """``BEGIN IMMEDIATE`` on an SQLite cursor: the write lock, waited for up to the store's ``lock_timeout`` (seconds), or
    with ``waiting_at_most`` seconds for a save that must not wait, past which :class:`StoreBusyError`."""
    if waiting_at_most is None:
        cursor.execute("BEGIN IMMEDIATE")
        return
    cursor.execute(f"PRAGMA busy_timeout = {int(1000 * waiting_at_most)}")
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        if says_busy(error):
            raise StoreBusyError(str(error)) from error
        raise
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {int(1000 * lock_timeout)}")


async def run_command(application: Any, function: Callable[..., R], *args: Any) -> R:
    """``function(*args)`` (a command and its answer) on the event loop if ``application``'s store can take it without
    waiting, else (or once it found the store busy) in a worker thread. ``function`` must be safe to run again after
    :class:`StoreBusyError`, as after a collision: it stored nothing."""
    if getattr(application.recorder, "saves_without_waiting", False):
        token = _without_waiting.set(True)
        try:
            return function(*args)
        except StoreBusyError:
            pass
        finally:
            _without_waiting.reset(token)
    return await run_in_threadpool(function, *args)
