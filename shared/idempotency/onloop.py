"""A keyed request's answer kept on the event loop, when the view database takes the write at once (issue 17).

The answer book's own thread (:meth:`~shared.idempotency.AnswerBook.keep_later`) keeps answers in batches, and the
response waits on the loop until it has. On an SQLite file, with four clients on a two-core machine, that hand-over
cost more than the keeping itself: the book's thread used 0.75-0.84 ms of CPU for each keyed ``POST /osvs`` (its
wake-ups, the loop's, and the two threads taking the GIL in turn), where keeping one answer takes 0.13-0.25 ms
(measured in process). Kept on the loop, a keyed registry command cost 2.6-2.7 ms of the service's CPU in place of
3.1-3.6 ms, and went from 169-195 to 250-266 commands/s (per-thread CPU under 4 httpx clients, one worker).

The loop must never wait, though (:mod:`shared.inplace`): its writes go through a connection of its own that waits for
the view database's lock at most :data:`~shared.inplace.LOOP_WAIT_SECONDS`, and a busy file raises
:class:`~shared.inplace.StoreBusyError` having kept nothing: the book's thread keeps it then, as before. The
once-a-minute purge is handed to the book's thread (a write that may wait).

One transaction on one connection, held between answers, with the driver's own cursor: the check against erasures is
made in it, before the answer's rows are written (an answer about someone forgotten since is not written at all). On an
SQLite file the write lock makes that check as good as the book's check after its commit: an erasure's tombstone either
committed before this transaction took the lock, and is read here, or comes after its commit, and the erasure's deletes
then find the answer. Through SQLAlchemy's pool, with the check in a read of its own after the commit, keeping one
answer took 188-215 µs of CPU in process, and 134-140 µs so (of which SQLite's own insert and commit are about 90).
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, exc

from shared.driversql import insert_sql, statement_sql
from shared.inplace import LOOP_WAIT_SECONDS, StoreBusyError, says_busy

if TYPE_CHECKING:
    from shared.idempotency import AnswerToKeep


class KeepsOnTheLoop:
    """:meth:`keep_now`, for :class:`~shared.idempotency.AnswerBook` (its ``engine``, clock, writer thread and rows)."""

    engine: Engine
    _clock: Callable[[], float]
    _writer: ThreadPoolExecutor
    if TYPE_CHECKING:
        def _purge_when_due(self, now: float, *, in_the_writer: bool = False) -> None: ...
        def _rows(self, answers: Sequence[AnswerToKeep], now: float) -> list[tuple[Any, dict[str, Any]]]: ...
        @staticmethod
        def _tombstones_of(subject_ids: Sequence[str]) -> tuple[Any, dict[str, str]]: ...
        @staticmethod
        def _forgotten_among(answers: Sequence[AnswerToKeep], tombstones: Any) -> list[AnswerToKeep]: ...

    @property
    def keeps_on_the_loop(self) -> bool:
        """Whether :meth:`keep_now` can keep an answer without waiting: the view database is an SQLite file (a server's
        statements are round trips, and an in-memory database is one connection's own)."""
        url = self.engine.url
        return url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")

    @functools.cached_property
    def _on_the_loop(self) -> Engine:
        """The view database's file, through connections that wait for its write lock at most ``LOOP_WAIT_SECONDS``,
        with the same ``synchronous`` as the book's engine (:func:`shared.views.make_engine`: a rebuildable file's
        commits do not wait for the disk)."""
        with self.engine.connect() as connection:
            synchronous = int(connection.exec_driver_sql("PRAGMA synchronous").scalar() or 2)
        engine = create_engine(self.engine.url)

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute(f"PRAGMA busy_timeout={int(1000 * LOOP_WAIT_SECONDS)}")
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.close()

        return engine

    @functools.cached_property
    def _loop_lock(self) -> threading.Lock:
        """Held while :meth:`keep_now` uses the loop's connection (one loop calls it; another caller finds it busy)."""
        return threading.Lock()

    def _loop_connection(self) -> Any:
        """The loop's own ``sqlite3`` connection (:attr:`_on_the_loop`'s, its pragmas set), opened once and held."""
        held = self.__dict__.get("_held")
        if held is None:
            held = self.__dict__["_held"] = self._on_the_loop.raw_connection()
        return held.driver_connection

    def keep_now(self, answer: AnswerToKeep) -> None:
        """Keep ``answer`` in the calling thread (the event loop), waiting for the view database at most
        ``LOOP_WAIT_SECONDS``; one kept already is left as it is, and one about someone forgotten since (an erasure
        raced the command) is not kept at all (its retry gets 409 ``idempotent_request_completed``, ``forgotten``).

        Raises :class:`~shared.inplace.StoreBusyError` having kept nothing when the file is busy (hand the answer to
        :meth:`~shared.idempotency.AnswerBook.keep_later`), and SQLAlchemy's errors for any other failure of the write
        (kept nothing either).
        """
        now = self._clock()
        statements = [insert_sql(self.engine, table, values) for table, values in self._rows([answer], now)]
        if not self._loop_lock.acquire(blocking=False):
            raise StoreBusyError("another thread keeps an answer on the loop's connection")
        try:
            self._keep_on(self._loop_connection(), answer, statements)
        finally:
            self._loop_lock.release()
            self._purge_when_due(now, in_the_writer=True)  # after the write: handed over before, it raced it for the lock

    def _keep_on(self, connection: sqlite3.Connection, answer: AnswerToKeep, statements: list[tuple[str, Any]]) -> None:
        """``statements`` (the answer's rows) in one transaction of ``connection``, unless the answer is about someone
        forgotten; whatever fails, the write lock is let go (the connection is held for the next answer)."""
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")  # the write lock first: the check below sees every erasure committed before
            if answer.subjects:
                cursor.execute(*statement_sql(self.engine, *self._tombstones_of(list(answer.subjects))))
                if self._forgotten_among([answer], dict(cursor.fetchall())):
                    return  # rolled back below: not written at all
            for statement in statements:
                cursor.execute(*statement)
            connection.commit()
        except sqlite3.IntegrityError:
            return  # kept already
        except sqlite3.Error as error:
            if isinstance(error, sqlite3.OperationalError) and says_busy(error):
                raise StoreBusyError(str(error)) from error
            raise exc.DBAPIError.instance(None, None, error, sqlite3.Error, hide_parameters=True, dialect=self.engine.dialect) from error
        finally:
            if connection.in_transaction:
                connection.rollback()
            cursor.close()

    def close_the_loop_engine(self) -> None:
        """Let go of :meth:`keep_now`'s connection (the book is closing)."""
        with self._loop_lock:
            held = self.__dict__.pop("_held", None)
            if held is not None:
                held.close()
            if "_on_the_loop" in self.__dict__:
                self.__dict__.pop("_on_the_loop").dispose()
