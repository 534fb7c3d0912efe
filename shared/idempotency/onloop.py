"""A keyed request's answer kept on the event loop, when the view database takes the write at once (issue 17).

The answer book's own thread (:meth:`~shared.idempotency.AnswerBook.keep_later`) keeps answers in batches, and the
response waits on the loop until it has. On an SQLite file, with four clients on a two-core machine, that hand-over
cost more than the keeping itself: the book's thread used 0.75-0.84 ms of CPU for each keyed ``POST /osvs`` (its
wake-ups, the loop's, and the two threads taking the GIL in turn), where keeping one answer takes 0.13-0.25 ms
(measured in process). Kept on the loop, a keyed registry command cost 2.6-2.7 ms of the service's CPU in place of
3.1-3.6 ms, and went from 169-195 to 250-266 commands/s (per-thread CPU under 4 httpx clients, one worker).

The loop must never wait, though (:mod:`shared.inplace`): its writes go through an engine of their own whose
connections wait for the view database's lock at most :data:`~shared.inplace.LOOP_WAIT_SECONDS`, and a busy file
raises :class:`~shared.inplace.StoreBusyError` having kept nothing: the book's thread keeps it then, as before.
The once-a-minute purge, and the drop of an answer about someone an erasure forgot meanwhile, are handed to the
book's thread (they are durable deletes that may wait).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import IntegrityError
from sqlalchemy import Engine, create_engine, event, exc

from shared.inplace import LOOP_WAIT_SECONDS, StoreBusyError, says_busy

if TYPE_CHECKING:
    from shared.idempotency import AnswerToKeep


class KeepsOnTheLoop:
    """:meth:`keep_now`, for :class:`~shared.idempotency.AnswerBook` (its ``engine``, clock, writer thread, rows and checks)."""

    engine: Engine
    _clock: Callable[[], float]
    _writer: ThreadPoolExecutor
    if TYPE_CHECKING:
        def _purge_when_due(self, now: float, *, in_the_writer: bool = False) -> None: ...
        def _write(self, answers: Sequence[AnswerToKeep], now: float, engine: Engine) -> None: ...
        def _drop_the_forgotten(self, answers: Sequence[AnswerToKeep]) -> None: ...
        @staticmethod
        def _tombstoned(answers: Sequence[AnswerToKeep], engine: Engine) -> list[AnswerToKeep]: ...

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

    def keep_now(self, answer: AnswerToKeep) -> Future[None] | None:
        """Keep ``answer`` in the calling thread (the event loop), waiting for the view database at most
        ``LOOP_WAIT_SECONDS``; one kept already is left as it is.

        Raises :class:`~shared.inplace.StoreBusyError` having kept nothing when the file is busy (hand the answer to
        :meth:`~shared.idempotency.AnswerBook.keep_later`), and SQLAlchemy's errors for any other failure of the write.
        Returns a future of the book's thread when the answer is about someone forgotten since (an erasure raced the
        command: the thread drops it, durably) or the check could not be made (the thread makes it): the answer
        should go out once it is done. None when nothing is left to do.
        """
        now = self._clock()
        self._purge_when_due(now, in_the_writer=True)
        try:
            self._write([answer], now, self._on_the_loop)
        except IntegrityError:
            return None  # kept already
        except exc.OperationalError as error:
            if says_busy(error):
                raise StoreBusyError(str(error)) from error
            raise
        if not answer.subjects:
            return None
        try:
            if not self._tombstoned([answer], self._on_the_loop):
                return None
        except exc.SQLAlchemyError:
            pass  # checked again in the book's thread
        with contextlib.suppress(RuntimeError):  # the book is closed: the next retry's look-up checks expiry only
            return self._writer.submit(self._drop_the_forgotten, [answer])
        return None

    def close_the_loop_engine(self) -> None:
        """Let go of :meth:`keep_now`'s connections (the book is closing)."""
        if "_on_the_loop" in self.__dict__:
            self.__dict__.pop("_on_the_loop").dispose()
