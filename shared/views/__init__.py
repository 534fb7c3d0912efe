"""Local read tables built from other services' events (SQLAlchemy), and the ledger that applies each event once.

"Applied" is judged by an event's identity (its source service and its
position in that service's log), never by a high-water mark: the stream may
deliver out of order (a refused publish retried later, two replicas of a
consumer sharing its messages, redeliveries after a restart), and a
high-water mark would take an earlier event for one already applied.

A :class:`Ledger` keeps, per view and per source:

- one row per applied event (``source``, ``position``, ``previous``), whose
  primary key makes two replicas that apply the same event at once collide
  (one transaction rolls back and is retried, and then skips it);
- a *floor*: every position at or below it is settled, applied or known to
  hold nothing to apply (a private event, or a transaction that rolled back
  and left a gap in the log's ids). An event that arrives at a settled
  position without having been applied there is applied all the same: the
  source's log was put back from a backup and went on past its stream, at
  positions its feed had shown as private (:meth:`Ledger.claim`).

Each published event carries ``previousposition``, the position of the
previous public event in its service's log, so an applied event settles the
positions between it and its predecessor at once. A position above the floor
that no applied event accounts for is *missing*: the view's follower
(:mod:`shared.following`) fetches it from the source's ``GET /events`` feed,
or reports it in ``/health``. Nothing is skipped in silence.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.schema import CreateIndex

from shared.events import source_service, subject_of_cloudevent
from shared.files import private_sqlite

log = logging.getLogger(__name__)

_DIGITS_AS_ZEROS = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def has_long_number(text: str | bytes) -> bool:
    """Whether ``text`` holds a run of 19 digits or more anywhere (a number that may not fit in 64 bits).

    Every digit is mapped to ``0`` and the run looked for as a substring: about
    ten times faster than a regular expression's ``\\d{19}``, which cost more
    than orjson's reading of a whole event.
    """
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass")
    return _LONG_NUMBER in raw.translate(_DIGITS_AS_ZEROS)


def json_loads(text: str | bytes) -> Any:
    """JSON columns as read back: orjson, and the standard library for what orjson would not read exactly.

    orjson reads an integer past 64 bits as a float (and refuses a few texts
    the standard library reads): a text holding a run of 19 digits anywhere
    (:func:`has_long_number`), or that orjson refuses, is read by the
    standard library instead.
    """
    if has_long_number(text):
        return json.loads(text)
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def json_dumps(value: Any) -> bytes:
    """Compact JSON (UTF-8) with orjson, and the standard library for what orjson refuses (integers past 64 bits, lone surrogates)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value, separators=(",", ":"), ensure_ascii=True).encode()


def json_text(value: Any) -> str:
    """:func:`json_dumps` as text: how JSON columns are written (compact, UTF-8; the column's meaning, not its spacing, is kept)."""
    return json_dumps(value).decode()


def make_engine(url: str, *, rebuildable: bool = False) -> Engine:
    """An engine for a view database; SQLite files get WAL and a busy timeout; JSON columns are read with :func:`json_loads`
    and written with :func:`json_text` (orjson: the standard library's encoder was a sixth of a rebuild's apply).

    A server's connections are pinged when checked out (one broken by a server restart is replaced); a file's
    never go stale, and the ping cost about 0.1 ms of every checkout (several in each command).

    ``rebuildable``: the SQLite file holds only what can be had again (views of the event log, the answers kept
    for retries), so its commits do not wait for the disk (``synchronous=NORMAL``, where WAL's default ``FULL``
    waits on every commit): a crash of the process loses nothing; a power cut may roll back its last commits, which
    the views' ledger and follower apply again from the feeds, and after which a retry of a request whose answer was
    lost gets 409 ``idempotent_request_completed``, never a second run (the record is in the event store, which
    waits for the disk). An erasure's deletes still wait for it (:func:`durably`). A key table's engine
    (:func:`shared.sealing.key_engine`) is never rebuildable: the keys are what nothing else holds.
    """
    private_sqlite(url)  # folders 0700, the file (and so its WAL) 0600
    engine = create_engine(url, pool_pre_ping=not url.startswith("sqlite"), json_deserializer=json_loads, json_serializer=json_text)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            if rebuildable:
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


@contextmanager
def durably(connection: Connection) -> Iterator[Connection]:
    """``connection`` with its commits waiting for the disk (SQLite's ``synchronous=FULL``) until the block ends, then as it was.

    For what must outlast a power cut on a rebuildable database (:func:`make_engine`): an erasure's deletes and
    tombstones. In WAL, that commit's sync takes every earlier commit to the disk with it. A server's commits
    always wait (nothing to do). Call it outside a transaction: SQLite does not change the setting within one.
    """
    if connection.dialect.name != "sqlite":
        yield connection
        return
    was = connection.exec_driver_sql("PRAGMA synchronous").scalar()
    connection.exec_driver_sql("PRAGMA synchronous=FULL")
    connection.commit()
    try:
        yield connection
    finally:
        connection.rollback()  # a transaction left open by the block (refused) ends before the setting goes back
        connection.exec_driver_sql(f"PRAGMA synchronous={int(was)}")
        connection.commit()


SCHEMA_LOCK = 0x6F73765F736368  # "osv_sch": the advisory lock every process takes to create its tables


def create_tables(metadata: MetaData, engine: Engine, indexes: Iterable[Index] = (), columns: Iterable[Column[Any]] = ()) -> None:
    """Create ``metadata``'s missing tables, then any of ``indexes`` missing (an index added to a table made before:
    an upgraded read model gets it at its next start), then any of ``columns`` missing (a nullable column added to a
    table made before, by ``ALTER TABLE … ADD COLUMN``: its rows read null until the view fills them), one process at a time.

    PostgreSQL does not make two concurrent ``CREATE TABLE IF NOT EXISTS`` of
    one table safe: the second fails on the catalogue's unique index (two
    replicas starting at once on one database). The creation runs under a
    transaction-level advisory lock, so the second process waits and then
    finds the tables there. On SQLite ``create_all`` looks for each table,
    then creates it: two workers opening a fresh file at once both found
    none, and the second failed ("table … already exists"). The creation
    runs in a ``BEGIN IMMEDIATE`` transaction, which takes the file's write
    lock first: the second waits (the busy timeout), then finds the tables.
    SQLite may still answer "database is locked" at once where waiting could
    deadlock (a fresh file switching to WAL meanwhile): that is tried again,
    up to :data:`SCHEMA_ATTEMPTS` times.
    """
    for attempt in range(1, SCHEMA_ATTEMPTS + 1):
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
                elif engine.dialect.name == "sqlite":
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                metadata.create_all(connection)
                for index in indexes:  # IF NOT EXISTS: SQLite's reflection does not list an index on an expression
                    connection.execute(CreateIndex(index, if_not_exists=True))
                for column in columns:
                    _add_column(connection, column)
            return
        except OperationalError as error:
            if engine.dialect.name != "sqlite" or "locked" not in str(error) or attempt == SCHEMA_ATTEMPTS:
                raise
            time.sleep(0.1 * attempt)


def _add_column(connection: Connection, column: Column[Any]) -> None:
    """``ALTER TABLE <table> ADD COLUMN <column>`` if the table lacks it; only a nullable column without a default (the
    rows already there read null)."""
    table = column.table
    if column.name in {found["name"] for found in inspect(connection).get_columns(table.name)}:
        return
    if not column.nullable or column.server_default is not None:
        raise ValueError(f"{table.name}.{column.name}: only a nullable column without a default is added to a table made before")
    quote = connection.dialect.identifier_preparer.quote
    kind = column.type.compile(dialect=connection.dialect)
    connection.exec_driver_sql(f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}")
    log.info("view table %s: added the column %s (%s), null in the rows already there", table.name, column.name, kind)


SCHEMA_ATTEMPTS = 8
"""Tries at creating a view database's tables on SQLite while another process holds the file (see :func:`create_tables`)."""


def subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` stands for one token, a final ``>`` for one or more."""
    wanted, given = pattern.split("."), subject.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(given) > i
        if i >= len(given) or token not in ("*", given[i]):
            return False
    return len(wanted) == len(given)


def _first(pair: tuple[int, Any]) -> int:
    return pair[0]


def position_of(cloudevent: dict[str, Any]) -> int:
    return int(cloudevent["position"])


def previous_of(cloudevent: dict[str, Any]) -> int | None:
    """The position of the previous public event of the same log, if the event says (``previousposition``)."""
    value = cloudevent.get("previousposition")
    return None if value is None else int(value)


@dataclass(frozen=True)
class Missing:
    """Positions of one source's log that a view has not applied and that something says exist.

    ``first``..``last`` inclusive; ``last`` is the position of a public event
    (the predecessor named by an applied event), or the position before the
    next applied one when no predecessor is known.
    """

    source: str
    first: int
    last: int

    def as_list(self) -> list[int]:
        return [self.first, self.last]


class Ledger:
    """Which events of each source one view has applied, by identity; see the module docstring.

    Each view names its own two tables (``<name>_applied`` and
    ``<name>_floors``), so several views can share one database.
    """

    def __init__(self, base: type[DeclarativeBase], name: str) -> None:
        class Applied(base):  # type: ignore[valid-type, misc]
            __tablename__ = f"{name}_applied"
            source: Mapped[str] = mapped_column(String(50), primary_key=True)
            position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
            previous: Mapped[int | None] = mapped_column(Integer, nullable=True)

        class Floor(base):  # type: ignore[valid-type, misc]
            __tablename__ = f"{name}_floors"
            source: Mapped[str] = mapped_column(String(50), primary_key=True)
            floor: Mapped[int] = mapped_column(Integer, nullable=False)

        self.name = name
        self.applied = Applied.__table__
        self.floors_table = Floor.__table__

    # -- in the applying transaction ------------------------------------------

    def claim(self, session: Session, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """The events not applied before, in the order given, each recorded as applied in ``session``'s transaction.

        Call inside the transaction that applies them: the records commit (or
        roll back) with the view's rows. An event given twice in one batch is
        claimed once. Two transactions claiming the same event collide on the
        primary key; the loser rolls back and, retried, skips it.

        An event at or below the floor is skipped only when it was applied:
        one that was not is claimed, with a WARNING. The floor had stepped over
        its position as holding nothing to apply (the feed showed a private
        event there, or none), so the source's log now holds another event
        there: a store put back from an older backup went on at positions its
        feed had given out before (README, "Restoring a backup").
        """
        keyed = [(source_service(cloudevent), position_of(cloudevent), cloudevent) for cloudevent in events]  # each read once
        by_source: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for source, position, cloudevent in keyed:
            by_source.setdefault(source, []).append((position, cloudevent))
        rows: list[dict[str, Any]] = []
        keys: set[tuple[str, int]] = set()
        recorded: dict[str, list[tuple[int, int | None]]] = {}
        for source, batch in by_source.items():
            floor = self._floor(session, source)
            done = self._applied_among(session, source, sorted({position for position, _ in batch}))
            own = recorded[source] = []
            for position, cloudevent in batch:
                key = (source, position)
                if position in done or key in keys:
                    continue
                if position <= floor:
                    log.warning(
                        "view %s: %s's event at position %s (%s) was never applied, yet the floor (%s) had stepped over its "
                        "position as holding nothing to apply: the source's log holds a new event there (a store put back "
                        "from an older backup, README \"Restoring a backup\"): applied",
                        self.name, source, position, cloudevent.get("type"), floor,
                    )
                keys.add(key)
                previous = previous_of(cloudevent)
                rows.append({"source": source, "position": position, "previous": previous})
                own.append((position, previous))
        if rows:
            session.execute(insert(self.applied), rows)
            for source, positions in recorded.items():
                if positions:
                    positions.sort(key=_first)
                    self.advance(session, source, positions)
        claimed: list[dict[str, Any]] = []
        for source, position, cloudevent in keyed:
            key = (source, position)
            if key in keys:
                keys.discard(key)
                claimed.append(cloudevent)
        return claimed

    def settle(self, session: Session, source: str, upto: int) -> None:
        """Say that every position of ``source`` up to ``upto`` not applied holds nothing to apply (the feed says so)."""
        current = self._floor(session, source)
        if upto > current:
            self._set_floor(session, source, current, upto)
        self.advance(session, source)

    def advance(self, session: Session, source: str, recorded: Sequence[tuple[int, int | None]] = ()) -> int:
        """Move the source's floor over the applied events that follow it without a gap; return the new floor.

        ``recorded``: (position, previous) of the events this transaction has
        just recorded as applied, in position order. The floor walks over them
        without reading them back, once one count says no other applied event
        lies among the positions walked (a batch off the stream: one range
        count instead of reading back 2,000 rows); then over what follows, read
        from the table as always.
        """
        floor = start = self._floor(session, source)
        walked, among = floor, 0
        for position, previous in recorded:
            if position <= walked:
                continue
            if position != walked + 1 and (previous is None or previous > walked):
                break
            walked, among = position, among + 1
        if among and self._count_between(session, source, floor, walked) == among:
            floor = walked
        while True:
            rows = self._above(session, source, floor)
            moved = False
            for position, previous in rows:
                if position == floor + 1 or (previous is not None and previous <= floor):
                    floor, moved = position, True
                else:
                    break
            if not moved or len(rows) < 5000:
                break
        if floor > start:
            self._set_floor(session, source, start, floor)
        return floor

    # -- read by the follower and /health -------------------------------------

    def floors(self, session: Session) -> dict[str, int]:
        return {source: floor for source, floor in session.execute(select(self.floors_table.c.source, self.floors_table.c.floor))}

    def highest(self, session: Session, source: str) -> int:
        """The highest position of ``source`` applied (0 if none)."""
        top = session.scalar(
            select(self.applied.c.position).where(self.applied.c.source == source).order_by(self.applied.c.position.desc()).limit(1)
        )
        return max(int(top or 0), self._floor(session, source))

    def is_applied(self, session: Session, source: str, positions: Sequence[int]) -> set[int]:
        """Which of ``positions`` are settled: at or below the floor, or applied."""
        floor = self._floor(session, source)
        return {p for p in positions if p <= floor} | self._applied_among(session, source, [p for p in positions if p > floor])

    def missing(self, session: Session, source: str, limit: int = 20) -> list[Missing]:
        """The holes above the floor that applied events point across: positions known to exist and not applied."""
        floor = self._floor(session, source)
        rows = self._above(session, source, floor)
        holes: list[Missing] = []
        below = floor
        for position, previous in rows:
            if position != below + 1 and (previous is None or previous > below):
                holes.append(Missing(source, below + 1, previous if previous is not None else position - 1))
                if len(holes) >= limit:
                    break
            below = position
        return holes

    # -- helpers ----------------------------------------------------------------

    def _above(self, session: Session, source: str, floor: int) -> Sequence[Any]:
        """The first 5,000 applied events above the floor: (position, previous), in order."""
        return session.execute(
            select(self.applied.c.position, self.applied.c.previous)
            .where(self.applied.c.source == source, self.applied.c.position > floor)
            .order_by(self.applied.c.position)
            .limit(5000)
        ).all()

    def _count_between(self, session: Session, source: str, above: int, upto: int) -> int:
        """How many applied events of ``source`` lie in ``above < position <= upto`` (a count over the key's index)."""
        query = select(func.count()).select_from(self.applied).where(
            self.applied.c.source == source, self.applied.c.position > above, self.applied.c.position <= upto
        )
        return int(session.scalar(query) or 0)

    def _applied_among(self, session: Session, source: str, positions: Sequence[int]) -> set[int]:
        if positions and max(positions) - min(positions) < 4 * len(positions):  # a batch off a stream: one range query
            lowest, highest = min(positions), max(positions)
            query = select(self.applied.c.position).where(
                self.applied.c.source == source, self.applied.c.position >= lowest, self.applied.c.position <= highest
            )
            return set(session.scalars(query)) & set(positions)
        done: set[int] = set()
        for start in range(0, len(positions), 500):
            chunk = list(positions[start:start + 500])
            query = select(self.applied.c.position).where(self.applied.c.source == source, self.applied.c.position.in_(chunk))
            done.update(session.scalars(query))
        return done

    def _floor(self, session: Session, source: str) -> int:
        value = session.scalar(select(self.floors_table.c.floor).where(self.floors_table.c.source == source))
        return int(value or 0)

    def _set_floor(self, session: Session, source: str, current: int, new: int) -> None:
        """Raise the floor, never lower it: two replicas advancing it at once both leave the higher value.

        One upsert: two replicas (``make run``'s workers) making a source's
        first floor at once used to both find none and both insert it, and the
        second failed on the key.
        """
        table = self.floors_table
        upsert = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}.get(session.get_bind().dialect.name)
        if upsert is None:  # another database: read, then write
            exists = session.scalar(select(table.c.source).where(table.c.source == source))
            if exists is None:
                session.execute(insert(table).values(source=source, floor=new))
            else:
                session.execute(update(table).where(table.c.source == source, table.c.floor < new).values(floor=new))
            return
        statement = upsert(table).values(source=source, floor=new)
        session.execute(
            statement.on_conflict_do_update(index_elements=[table.c.source], set_={"floor": statement.excluded.floor},
                                            where=table.c.floor < statement.excluded.floor)
        )


def every_subject_of(source: str) -> str:
    """The filter of every event of a source's stream: ``*.<source>.>`` (``osv.<source>.>``, and the events no partner
    reads, ``osv-programme.<source>.>``): a view that follows them all gets each position of the source's log."""
    return f"*.{source}.>"


class View:
    """Base of every table a service builds from other services' events.

    A subclass names its ``sources`` (the services whose logs it follows),
    the ``subjects`` it needs from each (default: all), declares its own
    tables on its own declarative base, and implements :meth:`apply_event`.
    :meth:`apply` is its NATS consumer's handler and the follower's entry:
    each event is applied once, in one transaction with the ledger.
    """

    name: ClassVar[str]
    """The view's name: its ledger tables and its durable consumers' names derive from it."""
    sources: ClassVar[tuple[str, ...]]
    """The services whose events it applies."""
    subjects: ClassVar[dict[str, str]] = {}
    """Per source, the NATS subject filter (default ``*.<source>.>``, every event of the source's stream: ``osv.<source>.>``
    and ``osv-programme.<source>.>``; one type of every municipality: ``osv.<source>.*.<Type>``; an event no partner
    reads: ``osv-programme.<source>.<Type>``)."""

    def __init__(self, engine: Engine, ledger: Ledger, durable_prefix: str | None = None) -> None:
        self.engine = engine
        self.ledger = ledger
        self.durable_prefix = durable_prefix or self.name

    def subject_for(self, source: str) -> str:
        return self.subjects.get(source, every_subject_of(source))

    def takes(self, source: str, cloudevent: dict[str, Any]) -> bool:
        """Whether the view's consumer of ``source`` is delivered this event (its subject, ``osv.<source>.<municipality>.<type>``
        or ``osv-programme.<source>.<type>``, matches the filter)."""
        return subject_matches(self.subject_for(source), subject_of_cloudevent(source, cloudevent))

    def durable_for(self, source: str) -> str:
        return f"{self.durable_prefix}-{source}" if len(self.sources) > 1 else self.durable_prefix

    def apply(self, events: list[dict[str, Any]]) -> int:
        """Apply a batch once per event, in one transaction with the ledger; return how many were new.

        The stream's consumer and the feed's follower may apply one event at once: the transaction that records it
        second collides on the ledger's key (``IntegrityError``), rolls back, and is tried again at once, skipping
        what the other applied. A second collision is raised (the consumer holds the batch and retries it).
        """
        try:
            return self._apply_once(events)
        except IntegrityError:
            return self._apply_once(events)

    def _apply_once(self, events: list[dict[str, Any]]) -> int:
        with Session(self.engine) as session, session.begin():
            fresh = self.ledger.claim(session, events)
            self.apply_events(session, fresh)
        return len(fresh)

    def apply_events(self, session: Session, events: list[dict[str, Any]]) -> None:
        for cloudevent in events:
            self.apply_event(session, cloudevent)

    def apply_event(self, session: Session, cloudevent: dict[str, Any]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def refill_wanted(self, source: str) -> bool:
        """Whether rows lack what a column added since they were written holds (:func:`create_tables`'s ``columns``):
        the view's follower then reads ``source``'s feed once from its start, giving its events to :meth:`refill`."""
        return False

    def refill(self, events: list[dict[str, Any]]) -> int:
        """Fill, from events the ledger counts as applied, what their rows lack; return how many rows were filled.

        Outside the ledger (the events were applied before), and never over a value a row holds: a later event may have
        set it.
        """
        return 0

    def refilled(self, source: str) -> None:
        """``source``'s feed was read whole and given to :meth:`refill`: a view that keeps a mark of it (so as not to read
        the feed again at each start) sets it here. Nothing by default."""

    def settle(self, source: str, upto: int) -> None:
        """The feed says nothing of ``source`` up to ``upto`` is left to apply here (see :meth:`Ledger.settle`)."""
        with Session(self.engine) as session, session.begin():
            self.ledger.settle(session, source, upto)

    def advance(self) -> None:
        with Session(self.engine) as session, session.begin():
            for source in self.sources:
                self.ledger.advance(session, source)

    def floors(self) -> dict[str, int]:
        with Session(self.engine) as session:
            found = self.ledger.floors(session)
        return {source: found.get(source, 0) for source in self.sources}

    def missing(self) -> list[Missing]:
        with Session(self.engine) as session:
            return [hole for source in self.sources for hole in self.ledger.missing(session, source)]

    def applied_among(self, source: str, positions: Sequence[int]) -> set[int]:
        with Session(self.engine) as session:
            return self.ledger.is_applied(session, source, positions)

    def applied_position(self, source: str | None = None) -> int:
        """The highest position of ``source`` (the only source, if None) applied here."""
        with Session(self.engine) as session:
            return self.ledger.highest(session, source or self.sources[0])


ViewFactory = Callable[[Engine], View]
