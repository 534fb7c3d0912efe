"""Tamper evidence: a hash chain over every stored event of a service's log, kept in the same transaction as the insert.

Each stored event (at notification id ``position``) gets

    digest = SHA-256( len-prefixed originator id, version, topic, stored state bytes )
    hash   = SHA-256( "osv-chain:v1:" previous hash ":" position ":" digest )

with ``previous hash`` the hash of the stored event before it (64 zeros for
the first). The state bytes are what the store holds: compressed and, in
engagement, encrypted, so forgetting a person (deleting their key) leaves the
chain valid. Private events are chained too: the chain is the store's, not
the feed's.

**Where it is computed.** In the event store's own recorder, atomically with
the insert (:class:`ChainedSQLiteApplicationRecorder`, and the PostgreSQL
recorder in :mod:`shared.postgres`): the library already serialises inserts
(SQLite's single writer; PostgreSQL's ``LOCK TABLE … IN EXCLUSIVE MODE``), so
reading the last hash and writing the new ones inside that transaction makes
the chain follow commit order, which is notification-id order. Every event
has its hash the moment it is committed, on every replica, whether NATS is up
or not and whichever replica holds the relay's lease; ``GET /events``, the
relay and ``GET /chain`` only read it. (Chaining in the relay, as it reads the
log in order, would leave a window in which committed events are unchained,
stall while the relay waits for its lease or NATS, and let the feed show
events without their hash.) The cost is one indexed read and one insert per
transaction; on SQLite, saves made at the same moment share one transaction
(group commit, :class:`ChainedSQLiteApplicationRecorder`), chained in
notification-id order before its one commit. A store written before the chain existed is chained from the
start by the first insert that finds events without a hash.

A chain in the same database can be rewritten by whoever can rewrite the
events; what makes a rewrite visible is the heads given out meanwhile: the
relay publishes the head to a JetStream key-value bucket within a minute of
the store moving (:class:`shared.chainheads.HeadPublisher`; an idle store's head
is not put again), each CloudEvent carries its ``chainhash``,
and reporting's exports and as-of reports carry the heads it knows.
:func:`shared.chaincheck.verify` checks a log against them (``osv-verify``, ``GET /verify``).
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    ApplicationRecorder,
    DatabaseError,
    DataError,
    IntegrityError,
    InterfaceError,
    InternalError,
    Notification,
    NotSupportedError,
    OperationalError,
    PersistenceError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteApplicationRecorder,
    SQLiteCursor,
    SQLiteDatastore,
    SQLiteFactory,
)

from shared.inplace import (
    LOOP_WAIT_SECONDS,
    LoopBoundedSQLiteDatastore,
    StoreBusyError,
    begin_immediate,
    saving_without_waiting,
)

log = logging.getLogger(__name__)

GENESIS = "0" * 64
CHAIN_SUFFIX = "_chain"
"""The chain's table is named after the events table: ``stored_events_chain`` (SQLite), ``registry_events_chain`` (PostgreSQL)."""


def record_digest(originator_id: UUID | str, version: int, topic: str, state: bytes | str) -> str:
    """SHA-256 (hex) of one stored event's columns, each length-prefixed so no two records share their bytes.

    The recorders store ``state`` as bytes; one read back as text was edited behind their back (SQLite's ``||`` and
    ``substr`` leave a BLOB column TEXT: tester 245 F3): its digest is taken over the text marked as such, and the
    check names its position instead of failing on it."""
    stored = bytes(state) if not isinstance(state, str) else b"\x00text:" + state.encode("utf-8", "surrogatepass")
    sha = hashlib.sha256()
    for part in (str(originator_id).encode(), str(version).encode(), topic.encode(), stored):
        sha.update(len(part).to_bytes(8, "big"))
        sha.update(part)
    return sha.hexdigest()


def _as_stored(originator_id: UUID | str) -> str:
    """An originator id as the SQLite recorder writes it (a UUID as its 32 hex digits)."""
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


def link(previous: str, position: int, digest: str) -> str:
    """The chain's hash at ``position``, given the hash before it and the stored event's :func:`record_digest`."""
    return hashlib.sha256(f"osv-chain:v1:{previous}:{position}:{digest}".encode()).hexdigest()


# The recorders ----------------------------------------------------------------------------


MAX_SAVES_PER_COMMIT = 64
"""At most this many saves share one SQLite transaction (``SQLITE_MAX_SAVES_PER_COMMIT``; 1: a commit per save, the library's way)."""


def _taken_lock() -> Any:
    """A lock already held: acquiring it waits until someone releases it (lighter than a ``threading.Event``)."""
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass(eq=False)
class _Save:
    """One caller's ``insert_events``, waiting for the commit that holds it."""

    stored_events: Sequence[StoredEvent]
    kwargs: dict[str, Any]
    ids: Sequence[int] | None = None
    error: BaseException | None = None
    done: bool = False
    woken: Any = field(default_factory=_taken_lock)
    """Released once by a leader (the caller waits by acquiring it): this save is done, or its caller is to lead the next commit."""


_SAVEPOINT = "osv_save"


def _persistence_error(error: sqlite3.Error) -> PersistenceError:
    """The library's error for a ``sqlite3`` one, as its own transactions convert them (an ``IntegrityError`` stays one)."""
    for raw, ours in (
        (sqlite3.IntegrityError, IntegrityError),
        (sqlite3.InterfaceError, InterfaceError),
        (sqlite3.DataError, DataError),
        (sqlite3.OperationalError, OperationalError),
        (sqlite3.InternalError, InternalError),
        (sqlite3.ProgrammingError, ProgrammingError),
        (sqlite3.NotSupportedError, NotSupportedError),
        (sqlite3.DatabaseError, DatabaseError),
    ):
        if isinstance(error, raw):
            converted = ours(error)
            break
    else:
        converted = PersistenceError(error)
    converted.__cause__ = error
    return converted


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, writing each inserted event's chain hash in the same transaction, with group commit.

    **Group commit.** On an SQLite file each commit waits for the write-ahead
    log to reach the disk (``synchronous=FULL``); the library commits once per
    save, one save at a time. Here saves made at the same moment by different
    threads share one transaction and so one fsync:

    - the first caller to find no commit under way *leads*: it takes every
      save waiting (at most :data:`MAX_SAVES_PER_COMMIT`, oldest first, its
      own among them), and the others wait for it. A caller alone leads at
      once: no wait is ever added to make a batch (a batch is whoever arrived
      during the previous commit). Each waiting caller is woken once, by
      itself: when its save is done, or when the leader, its own save done,
      hands the lead on to the oldest caller still waiting;
    - each save is inserted in a ``SAVEPOINT`` of its own: one that the store
      refuses (:class:`~eventsourcing.persistence.IntegrityError`: a version
      another save took, an idempotency record that exists) is rolled back
      alone and its error reaches only its caller, who retries as ever; the
      others go on. An error that undoes the whole transaction fails its own
      save and runs the others again in the next transaction;
    - the chain is computed once for the batch, in notification-id order, then
      one ``COMMIT``; only then are the batch's callers released, each with
      its own notification ids or error. No caller returns before the commit
      holding its events, so the application notifies (``_notify``, the
      relay's wake-up) only of what is on disk; an error at ``BEGIN``,
      in the chain or at ``COMMIT`` fails every save of the batch, none of
      which was stored.

    A crash mid-batch loses the whole transaction, whose callers were never
    answered: SQLite commits a transaction whole or not at all.
    """

    max_saves_per_commit = MAX_SAVES_PER_COMMIT

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events") -> None:
        super().__init__(datastore, events_table_name)
        self._waiting: deque[_Save] = deque()
        self._turn = threading.Lock()
        self._leading = False
        self._in_flight = 0
        self.saves_without_waiting = not datastore.pool.is_sqlite_memory_mode
        """A save made on the event loop (:func:`shared.inplace.saving_without_waiting`) takes the write lock only if free at
        once and joins no commit under way, else :class:`~shared.inplace.StoreBusyError`, nothing stored. Not in memory,
        where the library's pool makes a writer wait for every reader."""
        self.commits = 0
        """Transactions committed by :meth:`insert_events` (with :attr:`saves_committed`: the mean batch)."""
        self.saves_committed = 0

    @property
    def chain_table(self) -> str:
        return self.events_table_name + CHAIN_SUFFIX

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.chain_table} (position INTEGER PRIMARY KEY, hash TEXT NOT NULL)",
        ]

    def saves_pending(self) -> int:
        """How many saves are not committed yet: those waiting and those in the transaction under way."""
        with self._turn:
            return len(self._waiting) + self._in_flight

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Store the events in one transaction shared with the saves made meanwhile; returns once it is committed.

        Returns the events' notification ids; raises this save's own error
        (:class:`~eventsourcing.persistence.IntegrityError` when the store
        refuses it), or the batch's error when its transaction failed.
        """
        save = _Save(stored_events, kwargs)
        if saving_without_waiting():
            return self._insert_without_waiting(save)
        with self._turn:
            self._waiting.append(save)
            leads = not self._leading
            self._leading = True
        if not leads:
            save.woken.acquire()  # the leader wakes this caller once: its save committed (or failed), or its turn to lead
            if save.done:
                return self._answer(save)
        try:
            while not save.done:
                with self._turn:
                    batch = [self._waiting.popleft() for _ in range(min(len(self._waiting), self.max_saves_per_commit))]
                    self._in_flight = len(batch)
                retry = self._commit_batch(batch)
                with self._turn:
                    self._in_flight = 0
                    self._waiting.extendleft(reversed(retry))
                finished = [each for each in batch if each not in retry]
                for each in finished:
                    each.done = True
                for each in finished:
                    if each is not save:
                        each.woken.release()
        finally:
            with self._turn:  # the oldest caller still waiting leads next; none: the next to come leads
                if self._waiting:
                    self._waiting[0].woken.release()
                else:
                    self._leading = False
        return self._answer(save)

    def _insert_without_waiting(self, save: _Save) -> Sequence[int] | None:
        """:meth:`insert_events` for a caller that must not wait: alone in its transaction, led at once or not at all."""
        deadline = time.monotonic() + LOOP_WAIT_SECONDS
        while True:
            with self._turn:
                if not self._leading:
                    self._leading, self._in_flight = True, 1
                    break
            if time.monotonic() > deadline:
                raise StoreBusyError("a commit of this process is under way")
            time.sleep(LOOP_WAIT_SECONDS / 10)
        try:
            self._commit_batch([save], wait=False)
        finally:
            with self._turn:  # as a leader: the oldest caller that came meanwhile leads next
                self._in_flight = 0
                if self._waiting:
                    self._waiting[0].woken.release()
                else:
                    self._leading = False
        return self._answer(save)

    @staticmethod
    def _answer(save: _Save) -> Sequence[int] | None:
        if save.error is not None:
            raise save.error
        return save.ids

    def _commit_batch(self, batch: list[_Save], *, wait: bool = True) -> list[_Save]:
        """Insert each save of the batch in its savepoint, chain, commit; set each save's ids or error. Returns saves to run again.

        ``wait`` False: the write lock is taken only if free at once, else each save's error is :class:`StoreBusyError`.
        """
        retry: list[_Save] = []
        try:
            with self.datastore.get_connection(commit=True) as connection:
                raw = connection._sqlite_conn  # noqa: SLF001 - the library's connection offers no savepoints
                cursor = connection.cursor()
                try:
                    lock_timeout = self.datastore.pool.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT
                    begin_immediate(cursor, None if wait else LOOP_WAIT_SECONDS, lock_timeout)
                    stored: list[_Save] = []
                    alone = len(batch) == 1  # a lone save needs no savepoint: if refused, the whole transaction is undone
                    for position, save in enumerate(batch):
                        if not alone:
                            cursor.execute(f"SAVEPOINT {_SAVEPOINT}")
                        try:
                            save.ids = self._insert_events(cursor, save.stored_events, chained=False, **save.kwargs)
                        except sqlite3.Error as error:
                            save.ids, save.error = None, _persistence_error(error)
                            if raw.in_transaction:
                                if not alone:
                                    cursor.execute(f"ROLLBACK TO {_SAVEPOINT}")
                                    cursor.execute(f"RELEASE {_SAVEPOINT}")
                                continue
                            # SQLite undid the whole transaction: this save fails, the others run again.
                            retry = batch[:position] + batch[position + 1 :]
                            for other in retry:
                                other.ids = None
                            return retry
                        if not alone:
                            cursor.execute(f"RELEASE {_SAVEPOINT}")
                        stored.append(save)
                    if not stored:
                        connection.rollback()
                        return []
                    self._chain(cursor, [(i, event) for save in stored for i, event in zip(save.ids or (), save.stored_events, strict=True)])
                    connection.commit()
                    self.commits += 1
                    self.saves_committed += len(stored)
                except BaseException:
                    if raw.in_transaction:
                        connection.rollback()
                    raise
                finally:
                    cursor.sqlite_cursor.close()
        except BaseException as error:  # BEGIN, the chain or COMMIT failed: nothing of the batch was stored
            for save in batch:
                if save.error is None:  # each caller raises an error of its own (one instance's traceback is not shared)
                    save.ids, save.error = None, _persistence_error(error) if isinstance(error, sqlite3.Error) else error
        return retry

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], *, chained: bool = True, **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert of the events (and whatever a subclass inserts with them); chained at once unless
        ``chained`` is False (a group commit chains its whole batch once, :meth:`_commit_batch`)."""
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids and chained:
            self._chain(c, list(zip(ids, stored_events, strict=True)))
        return ids

    def _chain(self, c: SQLiteCursor, inserted: list[tuple[int, StoredEvent]]) -> None:
        """Chain every event after the last chained one up to the new ones (inside the insert's transaction).

        ``inserted``: the transaction's new events with their notification
        ids. When they follow the chain's head with no gap (as a rule: every
        writer of this file chains what it inserts), they are hashed as held
        in memory; otherwise every event after the head is read back first.
        """
        c.execute(f"SELECT position, hash FROM {self.chain_table} ORDER BY position DESC LIMIT 1")
        row = c.fetchone()
        position, previous = (int(row[0]), str(row[1])) if row else (0, GENESIS)
        if [rowid for rowid, _ in inserted] == list(range(position + 1, position + 1 + len(inserted))):
            records = [(rowid, _as_stored(e.originator_id), e.originator_version, e.topic, e.state) for rowid, e in inserted]
        else:
            c.execute(
                f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} WHERE rowid > ? ORDER BY rowid",
                (position,),
            )
            records = c.fetchall()
        rows = []
        for rowid, originator_id, version, topic, state in records:
            previous = link(previous, rowid, record_digest(self.convert_originator_id(originator_id), version, topic, state))
            rows.append((rowid, previous))
        c.executemany(f"INSERT INTO {self.chain_table} (position, hash) VALUES (?, ?)", rows)

    def select_events(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Sequence[StoredEvent]:
        """The library's read of an aggregate's events, as one statement without its ``BEGIN`` and ``ROLLBACK``.

        The connection is in autocommit mode: a lone ``SELECT`` is a read
        transaction of its own, seeing one committed state, as the library's
        explicit one does. Every command reads an aggregate or two this way;
        the two statements and the transaction's wrapper around them were a
        tenth of a millisecond of each read.
        """
        statement = self.select_events_statement
        params: list[Any] = [originator_id.hex if isinstance(originator_id, UUID) else originator_id]
        if gt is not None:
            statement += "AND originator_version>? "
            params.append(gt)
        if lte is not None:
            statement += "AND originator_version<=? "
            params.append(lte)
        statement += "ORDER BY originator_version DESC " if desc else "ORDER BY originator_version ASC "
        if limit is not None:
            statement += "LIMIT ? "
            params.append(limit)
        convert = self.convert_originator_id
        return [
            StoredEvent(convert(row["originator_id"]), row["originator_version"], row["topic"], row["state"])
            for row in self._select(statement, params)
        ]

    def _select(self, statement: str, params: Sequence[Any]) -> list[Any]:
        """The rows of one ``SELECT``, run alone in autocommit mode: a read transaction of its own, one committed state.

        The library wraps each read in ``BEGIN`` … ``ROLLBACK``; for a single
        statement they add nothing but two statements and a context manager's
        work (about 0.05 ms of every read: aggregates, the relay's batches).
        """
        try:
            with self.datastore.get_connection(commit=False) as connection:
                cursor = connection._sqlite_conn.execute(statement, params)  # noqa: SLF001 - the library's connection, one statement
                try:
                    return cursor.fetchall()
                finally:
                    cursor.close()
        except sqlite3.Error as error:
            raise _persistence_error(error) from error

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's read of the log (from ``start``, at most ``limit``), as one statement (:meth:`_select`)."""
        conditions: list[str] = []
        params: list[Any] = []
        if start is not None:
            conditions.append("rowid>=? " if inclusive_of_start else "rowid>? ")
            params.append(start)
        if stop is not None:
            conditions.append("rowid<=? ")
            params.append(stop)
        if topics:
            conditions.append(f"topic IN ({','.join('?' * len(topics))}) ")
            params.extend(topics)
        where = ("WHERE " + "AND ".join(conditions)) if conditions else ""
        params.append(limit)
        statement = f"SELECT rowid, * FROM {self.events_table_name} {where}ORDER BY rowid LIMIT ?"
        convert = self.convert_originator_id
        return [
            Notification(
                id=row["rowid"],
                originator_id=convert(row["originator_id"]),
                originator_version=row["originator_version"],
                topic=row["topic"],
                state=row["state"],
            )
            for row in self._select(statement, params)
        ]

    def select_chain(self, after: int, limit: int, stop: int | None = None) -> list[tuple[int, str]]:
        """Chain rows after ``after`` (up to ``stop``), in order, at most ``limit``."""
        rows = self._select(
            f"SELECT position, hash FROM {self.chain_table} WHERE position > ? AND position <= ? ORDER BY position LIMIT ?",
            (after, stop if stop is not None else 2**62, limit),
        )
        return [(int(p), str(h)) for p, h in rows]

    def chain_head(self) -> tuple[int, str] | None:
        rows = self._select(f"SELECT position, hash FROM {self.chain_table} ORDER BY position DESC LIMIT 1", ())
        return (int(rows[0][0]), str(rows[0][1])) if rows else None


CLOSE_WAIT_SECONDS = 5.0
"""How long closing an SQLite store waits for the threads still using a connection to give it back, in seconds."""


class ChainedSQLiteFactory(SQLiteFactory):
    """``PERSISTENCE_MODULE=shared.chain:ChainedSQLiteFactory``: the library's SQLite store with the hash chain and group commit.

    ``SQLITE_MAX_SAVES_PER_COMMIT`` (default :data:`MAX_SAVES_PER_COMMIT`)
    bounds a group commit; 1 commits each save alone. ``SQLITE_COMMANDS_ON_THE_LOOP=0`` runs every command in a worker
    thread (:mod:`shared.inplace`): for a disk whose fsync is slow enough that the loop should not wait for it.
    """

    SQLITE_MAX_SAVES_PER_COMMIT = "SQLITE_MAX_SAVES_PER_COMMIT"
    SQLITE_COMMANDS_ON_THE_LOOP = "SQLITE_COMMANDS_ON_THE_LOOP"
    application_recorder_class = ChainedSQLiteApplicationRecorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.datastore.__class__ = LoopBoundedSQLiteDatastore  # the library builds its own: only get_connection differs

    def application_recorder(self) -> ApplicationRecorder:
        recorder = super().application_recorder()
        if isinstance(recorder, ChainedSQLiteApplicationRecorder):
            setting = (self.env.get(self.SQLITE_MAX_SAVES_PER_COMMIT) or "").strip()
            if setting:
                recorder.max_saves_per_commit = max(1, int(setting))
            if (self.env.get(self.SQLITE_COMMANDS_ON_THE_LOOP) or "").strip() in ("0", "false", "no"):
                recorder.saves_without_waiting = False
        return recorder

    def close(self) -> None:
        """Close the store once no thread reads or writes through it any more (:data:`CLOSE_WAIT_SECONDS` at most).

        The library's pool closes the connections in use as well as the idle ones, and an SQLite connection closed
        under a thread still stepping a statement on it takes the whole process down (a segmentation fault, seen
        when a service stopped while its relay's batch read was still running in a worker thread). A thread that
        asks for a connection after the close gets the library's ``ConnectionPoolClosedError``, an exception.
        """
        pool = self.datastore.pool
        deadline = time.monotonic() + CLOSE_WAIT_SECONDS
        while pool.num_in_use and time.monotonic() < deadline:
            time.sleep(0.005)
        if pool.num_in_use:
            log.warning("closing an SQLite store with %d connection(s) still in use after %s s", pool.num_in_use, CLOSE_WAIT_SECONDS)
        super().close()
