"""The rows a command writes beside its events (new data keys, document-index entries), stored with them; and the rows
it deletes with them (a re-keyed document's old entries and their key).

:class:`SideWritingEventStore` is the event store every :class:`~shared.store.ServiceApplication`
builds; :class:`SideRowsInTransaction` and :class:`SideRowsInSQLiteTransaction` are the recorder
mixins that put those rows in the events' own transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import EventStore, Mapper, Notification, Recording
from sqlalchemy import Connection, Engine, Table

from shared.actors import Actor, ActorBook
from shared.driversql import delete_of, delete_sql, insert_sql, write_rows
from shared.sealing import SealingMapper, side_writes
from shared.views.erasure import clear_traces, forget_rows


class SideRowsInTransaction:
    """A recorder mixin: the rows a command writes beside its events (:class:`~shared.sealing.SideWrites`) go in the events' transaction.

    The rows come as ``side_rows``, each an SQL statement in the store's own
    dialect with its parameters as its driver takes them
    (:func:`~shared.driversql.insert_sql`, or :func:`~shared.driversql.delete_sql`
    for a row it deletes, the deletes first). They are run in the library's
    hook for "other things" inside the events' transaction (``_insert_events``,
    before it locks the events table and inserts them): all or nothing with
    the events. A row that is already there (two commands sealing under one
    new key at once) fails the save as the library's ``IntegrityError``
    before any event is inserted, and the command runs again. No two saves
    wait on each other in a cycle: every save writes its rows before it
    takes the events table's lock (PostgreSQL), its deletes in one order, or
    inside the one write lock of the file (SQLite).

    This class is PostgreSQL's (:class:`SideRowsInSQLiteTransaction`,
    SQLite's): its rows are synced at once (left unsynced, a failure would
    surface on the library's next statement as psycopg's "pipeline aborted",
    which reads as a database out of reach).
    """

    def _insert_events(self, curs: Any, stored_events: Any, **kwargs: Any) -> Any:
        side_rows = kwargs.get("side_rows", ())
        if side_rows:
            self._insert_side_rows(curs, side_rows)
        return super()._insert_events(curs, stored_events, **kwargs)  # type: ignore[misc]

    def _insert_side_rows(self, curs: Any, side_rows: Sequence[tuple[str, Any]]) -> None:
        with curs.connection.pipeline():  # nested in the library's pipeline: synced on leaving
            for statement, parameters in side_rows:
                curs.execute(statement, parameters)


class SideRowsInSQLiteTransaction(SideRowsInTransaction):
    """:class:`SideRowsInTransaction` for the SQLite store (:class:`~shared.chain.ChainedSQLiteApplicationRecorder`).

    The rows' statements take ``?`` parameters in order, as ``sqlite3`` does.
    A group commit inserts each save's rows with its events in that save's
    savepoint: a save the store refuses takes its rows back with it, and the
    others of the batch keep theirs.
    """

    def _insert_side_rows(self, curs: Any, side_rows: Sequence[tuple[str, Any]]) -> None:
        for statement, parameters in side_rows:
            curs.execute(statement, parameters)  # an error is raised here, in the save's savepoint (or its lone transaction)


class SideWritingEventStore(EventStore):
    """The library's event store; a save writes the command's new keys and entries, and who made it, with its events.

    Each stored event also gets its actor's row (:mod:`shared.actors`: who
    made the command), in the events' transaction when that table is in the
    store's database, else written just after the events (a refused save
    leaves no actor behind).

    Where the key table lives in the store's own database (as every service's
    bootstrap wires it, :meth:`~shared.settings.ServiceSettings.key_url`: the
    PostgreSQL database, or the SQLite store's file) they go in the events'
    transaction (:class:`SideRowsInTransaction`): all or nothing, one commit.
    Where they live apart (a key ring given another database, an in-memory
    store), they are written in one transaction just before the events, so
    that no event is ever stored without its key. If the store then refuses
    the events (a collision: the command runs again) they stay, as when a
    process is killed between the two: a key that seals nothing, and an entry
    that leads to an index never saved, which the next registration of that
    document opens (the command's own run again, as a rule). They are never
    deleted again: between the two writes a concurrent registration of the
    same document may have found that entry and saved its index on it, and
    deleting it would let the refused command, run again, open a second
    entry: one document, two people.

    The rows a command deletes (:meth:`~shared.sealing.KeyRing.forget_on_save`)
    go the same way: in the events' transaction, SQLite overwriting what they
    freed, and once the events are stored their traces cleared as an
    erasure's are (:func:`~shared.views.erasure.clear_traces`); a save the store
    refuses deletes none (tester 233 F1). Where they live apart, they are
    deleted just after the events (:func:`~shared.views.erasure.forget_rows`).
    """

    def __init__(
        self,
        mapper: Mapper[UUID],
        recorder: Any,
        *,
        in_transaction: Callable[[Engine], bool],
        actors: ActorBook | None = None,
        system: Actor | None = None,
    ) -> None:
        super().__init__(mapper, recorder)
        self.in_transaction = in_transaction
        self.actors = actors
        """Where each saved event's actor is recorded (:mod:`shared.actors`), or None (an application without a key ring)."""
        self.system = system or Actor.system("unnamed")
        """The actor of a save made while nobody said who acts (:func:`~shared.actors.current_actor` is None)."""

    def get(
        self, originator_id: UUID, *, gt: int | None = None, lte: int | None = None, desc: bool = False, limit: int | None = None
    ) -> Iterator[Any]:
        """The library's read of an aggregate's events, mapped together: with a sealing mapper, the keys their sealed
        fields need are read in one query (:meth:`~shared.sealing.SealingMapper.to_domain_events`), not one per event."""
        stored = self.recorder.select_events(originator_id=originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
        if isinstance(self.mapper, SealingMapper):
            return iter(self.mapper.to_domain_events(stored))
        return map(self.mapper.to_domain_event, stored)

    def put(self, domain_events: Sequence[Any], **kwargs: Any) -> list[Recording]:
        stored_events = [self.mapper.to_stored_event(e) for e in domain_events]  # seals: may make keys
        side = side_writes()
        rows = side.take() if side is not None else []
        removed = sorted(side.take_removed(), key=_in_lock_order) if side is not None else []
        actor_rows = self.actors.rows_for(stored_events, self.system) if self.actors is not None else []
        if actor_rows and self.in_transaction(self.actors.engine):  # who made the command, beside each event (never in it)
            rows.extend(actor_rows)
            actor_rows = []
        inside = [row for row in rows if self.in_transaction(row[0])]
        apart = [row for row in rows if not self.in_transaction(row[0])]
        gone = [row for row in removed if self.in_transaction(row[0])]
        gone_apart = [row for row in removed if not self.in_transaction(row[0])]
        if inside or gone:
            inserts = [insert_sql(engine, table, values) for engine, table, values in inside]
            kwargs["side_rows"] = _deletes_sql(gone) + inserts
        if apart:
            write_rows(apart)
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        if actor_rows:  # a table apart (an in-memory store): after the events, so that a refused save leaves none
            write_rows(actor_rows)
        for engine, table in dict.fromkeys((engine, table) for engine, table, _ in gone):
            clear_traces(engine, table.name)  # deleted with the events: their bytes' traces go as an erasure's do
        if gone_apart:  # a table apart: after the events, so that a refused save deletes none
            _forget_apart(gone_apart)
        if not notification_ids:
            return []
        return [
            Recording(d, Notification(originator_id=s.originator_id, originator_version=s.originator_version, topic=s.topic, state=s.state, id=n))
            for d, s, n in zip(domain_events, stored_events, notification_ids, strict=True)
        ]


SECURE_DELETE = ("PRAGMA secure_delete=ON", ())
"""SQLite overwrites what the save's deletes free (:func:`~shared.views.erasure.forget_rows`'s setting, on the store's
connection: its bytes do not stay in the file's free space)."""


def _in_lock_order(row: tuple[Engine, Table, dict[str, Any]]) -> tuple[str, list[tuple[str, str]]]:
    """Saves delete their rows in one order (PostgreSQL's row locks: no two wait on each other in a cycle)."""
    _, table, key = row
    return table.name, sorted((name, str(value)) for name, value in key.items())


def _deletes_sql(gone: list[tuple[Engine, Table, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """The DELETEs of ``gone`` (rows in the store's own database), before the save's inserts; on SQLite after
    :data:`SECURE_DELETE`."""
    if not gone:
        return []
    statements = [delete_sql(engine, table, key) for engine, table, key in gone]
    return [SECURE_DELETE, *statements] if gone[0][0].dialect.name == "sqlite" else statements


def _forget_apart(gone: list[tuple[Engine, Table, dict[str, Any]]]) -> None:
    """Delete rows of tables outside the store's database, each table's in a transaction of its own, as an erasure deletes
    them (:func:`~shared.views.erasure.forget_rows`)."""
    for engine, table in dict.fromkeys((engine, table) for engine, table, _ in gone):
        keys = [key for row_engine, row_table, key in gone if row_engine is engine and row_table is table]

        def delete_rows(connection: Connection, table: Table = table, keys: list[dict[str, Any]] = keys) -> bool:
            for key in keys:
                connection.execute(delete_of(table, tuple(key)), key)
            return True

        forget_rows(engine, table.name, delete_rows)
