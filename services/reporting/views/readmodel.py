"""Reporting's read model: every public event kept as a dated fact, and checkpoints of the tally (SQLAlchemy).

Each batch of events is applied in one transaction together with its ledger
(see :mod:`shared.views`), so an event is counted exactly once however often,
in whatever order and to whichever replica NATS delivers it, and an event the
stream lost is fetched from its service's feed.

A report is never a replay of the whole log. Every ``checkpoint_every``
facts (in recorded order) the tally of everything recorded so far is saved;
a report as of a moment restores the last checkpoint at or before it and folds
only the facts recorded since. A fact arriving with a recorded time at or
before a checkpoint's cut (a service whose relay was held up) drops the
checkpoints it invalidates, and they are made again from the facts.

A checkpoint is cut into segments by the phases known when it was made. A
phase opened after every day a checkpoint counted (the next phase, opened
as it starts or before) only splits its last segment: the checkpoint is
re-cut as it is restored (:func:`~services.reporting.domain.tally.recuttable`),
and saved re-cut as checkpoints are advanced, without folding the facts
again. A phase opened late (after facts dated in it) makes the checkpoints
that counted such facts useless; they are dropped and made again.
Checkpoints are made only for facts at least ``settle_seconds`` older than
the newest recorded one, so the usual small delays between services never
drop any.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import threading
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Engine,
    Index,
    Integer,
    LargeBinary,
    Row,
    String,
    Text,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.reporting.domain.alerts import ALERT_TYPES, DATED_AFTER_DISSOLUTION, GONE_TYPES, dated_after_dissolution, dissolutions
from services.reporting.domain.indicators import (
    RELEVANT_TYPES,
    Breakdown,
    Fact,
    Phase,
    boundaries,
    indicator_named,
    phases_in,
)
from services.reporting.domain.tally import Tally, evidence, recuttable
from shared.events import source_service
from shared.views import Ledger, View, create_tables, json_dumps, json_loads


class Base(DeclarativeBase):
    pass


LEDGER = Ledger(Base, "reporting")


class FactRow(Base):
    __tablename__ = "facts"
    __table_args__ = (
        Index("ix_facts_recorded_order", "recorded_at", "source", "position"),
        Index("ix_facts_type_subject", "type", "subject"),
    )

    # Two indexes besides the key serve every query (by recorded order; by type and subject): each more is
    # written with every fact. (Read models made before kept four more; they do no harm.)
    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(80))
    occurred_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


MEETING = "FollowUpMeetingHeld"


class LastMeetingRow(Base):
    """Each OSV's latest follow-up meeting, kept as facts arrive: the overdue alert reads this, not every meeting."""

    __tablename__ = "last_meetings"

    osv_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    held_on: Mapped[date] = mapped_column(Date)
    event_id: Mapped[str] = mapped_column(String(80))


class AfterDissolutionRow(Base):
    """A fact dated after the dissolution that judges its OSV (:func:`~services.reporting.domain.alerts.dated_after_dissolution`),
    kept as facts arrive: the alert reads these few, not every grant and membership."""

    __tablename__ = "after_dissolution"

    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)


class DatedAheadRow(Base):
    """A fact of a type the services refuse after a dissolution, dated more than :data:`AHEAD` after the (UTC) day it
    was recorded: what no service has taken since the date rule of 2026-12 (``shared/dates.py``), but one did before, or
    with its clock set ahead. Kept as facts arrive for the look-back from a dissolution (:meth:`ReadModel._look_back`),
    which otherwise reads only what was recorded from the dissolution's day on."""

    __tablename__ = "dated_ahead"

    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)


class LookedBackRow(Base):
    """A dissolution (its event id) whose OSV's facts applied before it were looked through for those dated after it;
    and :data:`EVERY_FACT_SEEN`, once the facts applied before these tables existed were gone through."""

    __tablename__ = "dissolutions_looked_back"

    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)


EVERY_FACT_SEEN = "*"
"""The row of ``dissolutions_looked_back`` that says every fact applied was gone through: no event's id is ``*``."""
AHEAD = timedelta(days=1)
"""How far past the UTC day it was recorded a fact may be dated: Lima's tomorrow, the latest day a service takes, is
never further."""


class CheckpointRow(Base):
    """The tally of every fact recorded at or before ``cut``, cut into segments by ``bounds`` (JSON, day ordinals).

    ``latest_day`` (a day ordinal) is the latest day it counted a fact on:
    whether phases opened since only split its last segment is known from
    this row alone, without reading ``state`` (zlib-compressed JSON).
    """

    __tablename__ = "tally_checkpoints"
    # Until 2026-12 they were kept in ``checkpoints``, without ``latest_day``: that table is left for replicas of
    # the earlier version still running on the same database, and can be dropped once none is.

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cut: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    bounds: Mapped[str] = mapped_column(Text)
    facts: Mapped[int] = mapped_column(Integer)
    latest_day: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(LargeBinary)



class RevisionHeadRow(Base):
    """The read model's revision: one more with every transaction that applies a new fact (or clears the facts).

    Its row is locked by each applying transaction until it commits, so
    revisions are numbered in commit order, across replicas sharing one
    database. What is computed from the latest facts is cached under it.
    """

    __tablename__ = "reporting_revision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    revision: Mapped[int] = mapped_column(Integer)


class RevisionRow(Base):
    """What one revision changed, as much as the cached latest tally needs: the earliest recorded time of its facts,
    and whether it opened a phase or cleared the facts (then nothing cached before it can be carried forward)."""

    __tablename__ = "reporting_revisions"

    revision: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    earliest: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    reset: Mapped[bool] = mapped_column(Boolean)


class ChainHeadRow(Base):
    """Per source, the highest position applied that carried its log's hash chain (``chainhash``): the head reporting knows."""

    __tablename__ = "chain_heads"

    source: Mapped[str] = mapped_column(String(50), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


FACTS = FactRow.__table__
CHECKPOINTS = CheckpointRow.__table__
LAST_MEETINGS = LastMeetingRow.__table__
AFTER_DISSOLUTION = AfterDissolutionRow.__table__
DATED_AHEAD = DatedAheadRow.__table__
LOOKED_BACK = LookedBackRow.__table__
REVISION = RevisionHeadRow.__table__
REVISIONS = RevisionRow.__table__
CACHED_ANSWERS = 64
"""Answers kept at one revision at most (a dashboard page is about 200 kB)."""
KEPT_REVISIONS = 1_000
"""Revisions whose changes are kept: a cached tally more than this many revisions old is made again from a checkpoint."""
COLUMNS = (FACTS.c.event_id, FACTS.c.type, FACTS.c.subject, FACTS.c.occurred_on, FACTS.c.recorded_at, FACTS.c.data, FACTS.c.source, FACTS.c.position)
IN_ORDER = (FACTS.c.recorded_at, FACTS.c.source, FACTS.c.position)


def utc(moment: datetime) -> datetime:
    """SQLite hands times back without a zone; every time here is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def recorded_at(text: str) -> datetime:
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def saved(tally: Tally) -> bytes:
    """A tally's state as a checkpoint keeps it: compact JSON (:func:`~shared.views.json_dumps`), zlib-compressed (level 1: a checkpoint is written far more than read back)."""
    return zlib.compress(json_dumps(tally.state()), 1)


def state_of(checkpoint: Row[Any]) -> dict[str, Any]:
    """A checkpoint's saved state (see :func:`saved`)."""
    return json_loads(zlib.decompress(checkpoint.state))  # type: ignore[no-any-return]


class _Fits:
    """Whether a checkpoint cut by ``bounds`` (its JSON) with this latest day serves a report cut by ``cut_by``, as is or re-cut."""

    def __init__(self, cut_by: list[int]) -> None:
        self.cut_by, self.text = cut_by, json.dumps(cut_by)
        self.known: dict[str, list[int]] = {}

    def __call__(self, bounds: str, latest_day: int) -> bool:
        if bounds == self.text:
            return True
        old = self.known.get(bounds)
        if old is None:
            old = self.known[bounds] = json.loads(bounds)
        return recuttable(old, latest_day, self.cut_by)


def _dated_ahead(day: date, recorded: datetime) -> bool:
    """Dated further past the UTC day it was recorded than :data:`AHEAD` (see :class:`DatedAheadRow`)."""
    return day > recorded.date() + AHEAD


def _fact(row: Any) -> Fact:
    """A fact from a row of :data:`COLUMNS` (unpacked by position: a report reads thousands)."""
    event_id, kind, subject, occurred_on, recorded, data, source, position = row
    recorded = recorded.replace(tzinfo=timezone.utc) if recorded.tzinfo is None else recorded.astimezone(timezone.utc)
    return Fact(event_id, kind, subject, occurred_on, recorded, data, source, position)


def _row(cloudevent: dict[str, Any]) -> dict[str, Any]:
    data = cloudevent.get("data") or {}
    return {
        "event_id": cloudevent["id"],
        "source": source_service(cloudevent),
        "position": int(cloudevent["position"]),
        "type": cloudevent["type"],
        "subject": str(cloudevent.get("subject", "")),
        "occurred_on": date.fromisoformat(data.get("occurred_on") or cloudevent["time"][:10]),
        "recorded_at": recorded_at(cloudevent["time"]),
        "data": data,
    }


@dataclass
class Latest:
    """The tally of every fact of the read model at ``revision``, with the phases it was cut by; folded on as facts arrive."""

    revision: int
    tally: Tally
    opened: list[Fact]


class ReadModel(View):
    """Facts, the ledger and checkpoints; :meth:`apply` is the consumers' and the follower's handler."""

    name = "reporting"
    sources = ("registry", "funding", "engagement")

    STEP = 8
    """Checkpoints made at most per applied batch, so remaking them all (after a phase opens) never stalls the consumer long."""

    def __init__(self, engine: Engine, checkpoint_every: int = 500, settle_seconds: float = 60.0) -> None:
        super().__init__(engine, LEDGER)
        self.checkpoint_every = checkpoint_every
        self.settle_delay = timedelta(seconds=settle_seconds)
        self._checkpointing = threading.Lock()
        self._caching = threading.Lock()
        self._caching_tally = threading.Lock()
        self._latest: Latest | None = None
        self._cached: dict[Hashable, bytes] = {}
        self._cached_revision = -1
        create_tables(Base.metadata, engine)
        self._start_revisions()
        self._backfill_last_meetings()
        self._look_back_at_start()

    # -- writing ------------------------------------------------------------

    def apply(self, events: list[dict[str, Any]], *, checkpoint: bool = True) -> int:
        """Apply a batch once; return how many events were new. Then make any checkpoint now due.

        A collision on the ledger's key (the follower applied one of the events as the stream delivered it) is tried
        again at once by :meth:`shared.views.View.apply`, which runs this class's :meth:`_apply_once`.
        """
        new = super().apply(events)
        if new and checkpoint:
            self.advance_checkpoints(self.STEP, recut=False)  # re-cutting is left to the background: reports re-cut as they read
        return new

    def _apply_once(self, events: list[dict[str, Any]]) -> int:
        with Session(self.engine) as session, session.begin():
            claimed = self.ledger.claim(session, events)
            rows = [_row(cloudevent) for cloudevent in claimed]
            self._keep_heads(session, claimed)
            if rows:
                session.execute(insert(FACTS), rows)
                self._keep_last_meetings(session, [r for r in rows if r["type"] == MEETING])
                opens_phase = any(r["type"] == "PhaseOpened" for r in rows)
                earliest = min(r["recorded_at"] for r in rows)
                # The revision's lock first, then the checkpoints this makes wrong (see _save_checkpoint). A phase
                # leaves the checkpoints: those it only re-cuts are re-cut as they are read (see _checkpoint).
                self._next_revision(session, earliest, reset=opens_phase)
                session.execute(delete(CheckpointRow).where(CheckpointRow.cut >= earliest))
                # After the revision's lock: a replica applying a dissolution at once has committed, and is seen here.
                self._keep_after_dissolution(session, rows)
        return len(rows)

    # -- revisions: what the cache of the latest figures is keyed by -------------

    def _start_revisions(self) -> None:
        """Make the revision's one row if this database has none yet (two replicas starting at once: one of them does)."""
        dialect = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}.get(self.engine.dialect.name)
        with Session(self.engine) as session, session.begin():
            if session.get(RevisionHeadRow, 1) is None:
                first = {"id": 1, "revision": 0}
                session.execute(dialect(REVISION).values(first).on_conflict_do_nothing() if dialect else insert(REVISION).values(first))

    @staticmethod
    def _next_revision(session: Session, earliest: datetime | None, reset: bool) -> int:
        """Number this transaction's change (locking the revision's row until commit) and say what it changed."""
        session.execute(update(REVISION).where(REVISION.c.id == 1).values(revision=REVISION.c.revision + 1))
        revision = int(session.scalar(select(REVISION.c.revision).where(REVISION.c.id == 1)) or 0)
        session.execute(insert(REVISIONS).values(revision=revision, earliest=earliest, reset=reset))
        session.execute(delete(REVISIONS).where(REVISIONS.c.revision <= revision - KEPT_REVISIONS))
        return revision

    def revision(self, connection: Connection | None = None) -> int:
        """The read model's revision: it changes with every transaction that applies a new fact, here or at another replica."""
        if connection is None:
            with self.engine.connect() as own:
                return self.revision(own)
        return int(connection.scalar(select(REVISION.c.revision).where(REVISION.c.id == 1)) or 0)

    def cached(self, key: Hashable, compute: Callable[[], Any], revision: int | None = None) -> Any:
        """``compute()``, or a copy of what it gave at the read model's current revision for the same ``key``.

        For what is computed from the latest facts (no as-of cut). Any applied
        fact moves the revision and empties the cache; the key must hold
        everything else the answer depends on (breakdown, the districts of a
        municipal scope, the day). Each caller gets its own copy.
        """
        revision = self.revision() if revision is None else revision
        with self._caching:
            if self._cached_revision != revision:
                self._cached, self._cached_revision = {}, revision
            kept = self._cached.get(key)
        if kept is not None:
            return pickle.loads(kept)
        value = compute()
        with self._caching:
            if self._cached_revision == revision:
                while len(self._cached) >= CACHED_ANSWERS:  # the oldest first: a quiet day's pages, minute by minute
                    del self._cached[next(iter(self._cached))]
                self._cached[key] = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        return value

    @staticmethod
    def _keep_heads(session: Session, events: list[dict[str, Any]]) -> None:
        """Move each source's known chain head to the highest position of the batch that carries a ``chainhash``."""
        highest: dict[str, tuple[int, str]] = {}
        for cloudevent in events:
            if cloudevent.get("chainhash"):
                source, position = source_service(cloudevent), int(cloudevent["position"])
                if position > highest.get(source, (0, ""))[0]:
                    highest[source] = (position, str(cloudevent["chainhash"]))
        for source, (position, hash_) in highest.items():
            known = session.get(ChainHeadRow, source)
            if known is None:
                session.add(ChainHeadRow(source=source, position=position, hash=hash_))
            elif known.position < position:
                known.position, known.hash = position, hash_

    def heads(self) -> dict[str, dict[str, Any]]:
        """Per source, the chain head reporting knows: ``{"position", "hash"}`` (see ``osv-verify --heads``)."""
        with Session(self.engine) as session:
            return {row.source: {"position": row.position, "hash": row.hash} for row in session.scalars(select(ChainHeadRow).order_by(ChainHeadRow.source))}

    def _backfill_last_meetings(self) -> None:
        """A read model made before the last-meetings table existed fills it once from its facts."""
        with Session(self.engine) as session, session.begin():
            if session.scalar(select(func.count()).select_from(LastMeetingRow)):
                return
            meetings = session.execute(select(FACTS.c.event_id, FACTS.c.occurred_on, FACTS.c.data).where(FACTS.c.type == MEETING))
            self._keep_last_meetings(session, [row._asdict() for row in meetings])

    @staticmethod
    def _keep_last_meetings(session: Session, meetings: list[dict[str, Any]]) -> None:
        """Move each OSV's last meeting forward with a batch's meetings: one read and two bulk writes per batch."""
        latest: dict[str, tuple[date, str]] = {}
        for meeting in meetings:
            osv_id, held = str(meeting["data"]["osv_id"]), (meeting["occurred_on"], meeting["event_id"])
            if osv_id not in latest or held[0] >= latest[osv_id][0]:
                latest[osv_id] = held
        if not latest:
            return
        query = select(LastMeetingRow.osv_id, LastMeetingRow.held_on).where(LastMeetingRow.osv_id.in_(list(latest)))
        known: dict[str, date] = {osv_id: held_on for osv_id, held_on in session.execute(query)}
        rows = [{"osv_id": osv_id, "held_on": day, "event_id": event_id} for osv_id, (day, event_id) in latest.items()]
        new = [row for row in rows if row["osv_id"] not in known]
        later = [row for row in rows if row["osv_id"] in known and row["held_on"] >= known[row["osv_id"]]]
        if new:
            session.execute(insert(LastMeetingRow), new)
        if later:  # by primary key, one executemany (the ORM's bulk update by key did the same at twice the cost)
            session.execute(
                update(LAST_MEETINGS).where(LAST_MEETINGS.c.osv_id == bindparam("key")).values(held_on=bindparam("day"), event_id=bindparam("event")),
                [{"key": row["osv_id"], "day": row["held_on"], "event": row["event_id"]} for row in later],
            )

    def _keep_after_dissolution(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Keep the facts of a batch dated after the dissolution that judges their OSV, and, for a dissolution or a merge
        in it, those applied before it.

        The batch's facts are judged by the dissolutions and merges of their
        OSVs, whose subject is the OSV's id: the subjects of every dissolution
        and merge are read from the type-and-subject index alone (a few hundred
        entries), and only a fact about one of them is judged. A dissolution
        (or a merge into a dissolved OSV, delivered late) looks back once
        through what was applied before it (:meth:`_look_back`).
        """
        connection = session.connection()
        dated = [row for row in rows if row["type"] in DATED_AFTER_DISSOLUTION and row["data"].get("osv_id")]
        self._insert_new(session, DATED_AHEAD, [row["event_id"] for row in dated if _dated_ahead(row["occurred_on"], row["recorded_at"])])
        late: list[Fact] = []
        about = {str(row["data"]["osv_id"]) for row in dated}
        if about:
            gone_ids = set(connection.scalars(select(FACTS.c.subject).where(FACTS.c.type.in_(GONE_TYPES))))
            if hit := about & gone_ids:
                judged = [Fact(**row) for row in dated if str(row["data"]["osv_id"]) in hit]
                late += dated_after_dissolution(self._gone_about(connection, hit) + judged)
        touched = {str(row["data"]["osv_id"]) for row in rows if row["type"] in GONE_TYPES and row["data"].get("osv_id")}
        if touched:
            late += self._look_back(connection, touched)
            self._insert_new(session, LOOKED_BACK, [row["event_id"] for row in rows if row["type"] == "OSVDissolved"])
        self._insert_new(session, AFTER_DISSOLUTION, [f.event_id for f in late])

    def _gone_about(self, connection: Connection, osv_ids: set[str]) -> list[Fact]:
        """The dissolutions and merges of these OSVs and of those they were merged into, merges followed to the last."""
        found: list[Fact] = []
        asked: set[str] = set()
        ask = set(osv_ids)
        while ask:
            asked |= ask
            more = self._by_subject(connection, GONE_TYPES, ask, None)
            found += more
            ask = {str(f.data["into_osv_id"]) for f in more if f.type == "OSVMerged" and f.data.get("into_osv_id")} - asked
        return found

    def _look_back(self, connection: Connection, osv_ids: set[str]) -> list[Fact]:
        """The facts applied so far dated after the dissolution that judges these OSVs, about them or any OSV that
        dissolution judges (the records merged into it).

        A fact dated after ``dissolved_on`` was recorded on that day or later,
        unless it is dated ahead of its recording (:class:`DatedAheadRow`):
        the facts recorded from the earliest of those days on are read (by the
        recorded-time index), and those dated ahead. A dissolution recorded
        soon after it happened reads a few days of facts; one recorded a year
        late, a year's.
        """
        gone = list(self._facts(connection, [FACTS.c.type.in_(GONE_TYPES)]))  # a few: OSVs dissolve and merge rarely
        judged = dissolutions(gone)
        by = {judged[osv_id][0] for osv_id in osv_ids if osv_id in judged}
        records = sorted(record for record, (dissolved, _) in judged.items() if dissolved in by)
        if not records:
            return []
        since = datetime.combine(min(judged[record][1] for record in records), datetime.min.time(), timezone.utc)
        about = FACTS.c.data["osv_id"].as_string()
        found: list[Fact] = []
        for start in range(0, len(records), 500):
            chunk = records[start:start + 500]
            # ``type || ''``, as in _relevant: the recorded-time index, not every fact of thirteen types.
            found += self._facts(connection, [FACTS.c.recorded_at >= since, (FACTS.c.type + "").in_(DATED_AFTER_DISSOLUTION), about.in_(chunk)])
            found += self._facts(connection, [FACTS.c.event_id.in_(select(DATED_AHEAD.c.event_id)), about.in_(chunk)])
        return dated_after_dissolution(gone + found) if found else []

    def _look_back_at_start(self) -> None:
        """A read model made before these tables goes through its facts once for those dated ahead; then every
        dissolution not looked back from yet (all of them, the first time) is."""
        with Session(self.engine) as session, session.begin():
            if session.get(LookedBackRow, EVERY_FACT_SEEN) is None:
                rows = session.execute(
                    select(FACTS.c.event_id, FACTS.c.occurred_on, FACTS.c.recorded_at)
                    .where(FACTS.c.type.in_(DATED_AFTER_DISSOLUTION))
                    .execution_options(yield_per=5000)
                )
                self._insert_new(session, DATED_AHEAD, [event_id for event_id, day, recorded in rows if _dated_ahead(day, utc(recorded))])
                self._insert_new(session, LOOKED_BACK, [EVERY_FACT_SEEN])
            pending = session.execute(
                select(FACTS.c.event_id, FACTS.c.subject).where(
                    FACTS.c.type == "OSVDissolved", FACTS.c.event_id.not_in(select(LOOKED_BACK.c.event_id))
                )
            ).all()
            if pending:
                late = self._look_back(session.connection(), {subject for _, subject in pending})
                self._insert_new(session, AFTER_DISSOLUTION, [f.event_id for f in late])
                self._insert_new(session, LOOKED_BACK, [event_id for event_id, _ in pending])

    def _insert_new(self, session: Session, table: Any, event_ids: list[str]) -> None:
        """Rows keyed by these event ids, those already there left alone (a fact judged twice, two replicas starting at once)."""
        if not event_ids:
            return
        rows = [{"event_id": event_id} for event_id in dict.fromkeys(event_ids)]
        dialect = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}.get(self.engine.dialect.name)
        if dialect is not None:
            session.execute(dialect(table).on_conflict_do_nothing(), rows)
            return
        known = set(session.scalars(select(table.c.event_id).where(table.c.event_id.in_([r["event_id"] for r in rows]))))
        if fresh := [r for r in rows if r["event_id"] not in known]:
            session.execute(insert(table), fresh)

    def advance_checkpoints(self, limit: int | None = None, recut: bool = True) -> int:
        """Save the tally every ``checkpoint_every`` settled facts past the last checkpoint (at most ``limit`` times); return how many were saved.

        Checkpoints cut by earlier phases that the phases known now cannot re-cut
        are dropped first; with ``recut``, the others are saved re-cut (see
        :meth:`_recut_checkpoints`), counting towards ``limit``.
        """
        with self._checkpointing:
            return self._advance_checkpoints(limit, recut)

    def _advance_checkpoints(self, limit: int | None, recut: bool) -> int:
        with self.engine.connect() as connection:
            since = self.revision(connection)  # before anything is read: a checkpoint is saved only if no fact before its cut came since
            phases = phases_in(self._phase_facts(connection))
            bounds = json.dumps(boundaries(phases))
            written = self._recut_checkpoints(connection, phases, limit if recut else 0, since)
            if limit is not None and written >= limit:
                return written
            newest = connection.scalar(select(func.max(FACTS.c.recorded_at)))
            if newest is None:
                return written
            settled = utc(newest) - self.settle_delay
            checkpoint = self._checkpoint(connection, phases, None)
            tally: Tally | None = None  # restored only once a checkpoint is due: most batches make none
            cut = utc(checkpoint.cut) if checkpoint else None
            folded = checkpoint.facts if checkpoint else 0
            while limit is None or written < limit:
                relevant = self._relevant(after=cut, upto=settled)
                nth = connection.scalar(
                    select(FACTS.c.recorded_at).where(*relevant).order_by(FACTS.c.recorded_at).offset(self.checkpoint_every - 1).limit(1)
                )
                if nth is None:
                    break
                nth = utc(nth)
                facts = list(self._facts(connection, self._relevant(after=cut, upto=nth)))
                if tally is None:
                    tally = self._tally(connection, checkpoint, phases)
                self._fold(connection, tally, facts)
                folded += len(facts)
                connection.commit()  # the read ends: the save takes the revision's lock afresh
                if not self._save_checkpoint(connection, since, {"cut": nth, "bounds": bounds, "facts": folded, "latest_day": tally.latest_day},
                                             saved(tally)):
                    break  # a fact recorded by then was applied meanwhile: the tally lacks it; the next round starts again
                cut, written = nth, written + 1
        return written

    def _save_checkpoint(self, connection: Connection, since: int, row: dict[str, Any], state: bytes, replacing: int | None = None) -> bool:
        """Save a checkpoint (in place of checkpoint ``replacing``, if given) unless a fact recorded by its cut was applied
        after revision ``since`` (or that one is gone); say whether it was saved.

        It takes the revision's row lock first, as every applying transaction
        does before it drops the checkpoints a late fact makes wrong: either
        that transaction committed first and is seen here, or it waits and
        then drops this checkpoint too.
        """
        connection.execute(update(REVISION).where(REVISION.c.id == 1).values(revision=REVISION.c.revision))
        changes = connection.execute(select(REVISIONS.c.earliest).where(REVISIONS.c.revision > since)).all()
        stale = len(changes) != self.revision(connection) - since or any(
            earliest is None or utc(earliest) <= utc(row["cut"]) for (earliest,) in changes
        )
        if not stale and replacing is not None:
            stale = not connection.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.id == replacing)).rowcount
        if stale:
            connection.rollback()
            return False
        connection.execute(insert(CHECKPOINTS).values(**row, state=state))
        connection.commit()
        return True

    def _recut_checkpoints(self, connection: Connection, phases: list[Phase], limit: int | None, since: int) -> int:
        """Save re-cut by ``phases`` (at most ``limit``) the checkpoints cut by earlier phases that only need their last segment split.

        Those the phases cut anywhere else (a phase opened after facts dated
        in it were counted) are dropped: they are made again by folding.
        Returns how many were saved re-cut.
        """
        cut_by = boundaries(phases)
        bounds = json.dumps(cut_by)
        others = connection.execute(
            select(CHECKPOINTS.c.id, CHECKPOINTS.c.bounds, CHECKPOINTS.c.latest_day).where(CHECKPOINTS.c.bounds != bounds).order_by(CHECKPOINTS.c.cut)
        ).all()
        fits = _Fits(cut_by)
        useless = [id_ for id_, old, latest_day in others if not fits(old, latest_day)]
        for start in range(0, len(useless), 500):
            connection.execute(delete(CHECKPOINTS).where(CHECKPOINTS.c.id.in_(useless[start:start + 500])))
        connection.commit()
        written = 0
        for id_, old, latest_day in others:
            if limit is not None and written >= limit:
                break
            if not fits(old, latest_day):
                continue
            row = connection.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.id == id_)).first()
            if row is None:  # dropped meanwhile (a late fact)
                continue
            tally = Tally.restore(state_of(row), phases)
            connection.commit()
            recut = {"cut": row.cut, "bounds": bounds, "facts": row.facts, "latest_day": row.latest_day}
            if self._save_checkpoint(connection, since, recut, saved(tally), replacing=id_):
                written += 1
        return written

    # -- reading ------------------------------------------------------------

    def report(self, as_of: datetime | None = None, by: Breakdown | None = None, within: frozenset[str] | None = None) -> dict[str, Any]:
        """Indicators per phase and in total from the facts recorded by ``as_of`` (all, if None); ``within``: those districts alone.

        The latest figures (no ``as_of``) are cached under the read model's
        revision, and their tally is folded on from the facts each later
        revision added (see :meth:`_latest_tally`).
        """
        if as_of is None:
            revision = self.revision()
            return self.cached(("report", by, within), lambda: self._latest_report(revision, by, within), revision)  # type: ignore[no-any-return]
        cut = utc(as_of)
        with self.engine.connect() as connection:
            opened = self._phase_facts(connection)
            phases = phases_in(opened)
            checkpoint = self._checkpoint(connection, phases, cut)
            tally = self._tally(connection, checkpoint, phases)
            tail = list(self._facts(connection, self._relevant(after=utc(checkpoint.cut) if checkpoint else None, upto=cut)))
            self._fold(connection, tally, tail)
        known = phases_in(f for f in opened if f.recorded_at <= cut)
        return tally.report(known, by, within)

    def _latest_report(self, revision: int, by: Breakdown | None, within: frozenset[str] | None) -> dict[str, Any]:
        with self._caching_tally:
            latest = self._latest_tally(revision)
            return latest.tally.report(phases_in(latest.opened), by, within)

    def _latest_tally(self, revision: int) -> Latest:
        """The tally of every fact at ``revision`` (or later): the cached one folded on, or one made from the last checkpoint.

        The cached tally is carried forward only when every revision since
        added facts recorded after the last one it folded, and opened no phase;
        otherwise (a late fact, a new phase, revisions no longer kept) it is
        made again from the last checkpoint, as an as-of report is.
        """
        latest = self._latest
        with self.engine.connect() as connection:
            if latest is not None and latest.revision >= revision:
                return latest
            if latest is not None and latest.revision < revision:
                changes = connection.execute(
                    select(REVISIONS.c.earliest, REVISIONS.c.reset).where(REVISIONS.c.revision > latest.revision, REVISIONS.c.revision <= revision)
                ).all()
                last = utc(latest.tally.last[0]) if latest.tally.last is not None else None
                if len(changes) == revision - latest.revision and not any(
                    reset or earliest is None or (last is not None and utc(earliest) <= last) for earliest, reset in changes
                ):
                    self._fold(connection, latest.tally, list(self._facts(connection, self._relevant(after=last, upto=None))))
                    latest.revision = revision
                    return latest
            opened = self._phase_facts(connection)
            phases = phases_in(opened)
            checkpoint = self._checkpoint(connection, phases, None)
            tally = self._tally(connection, checkpoint, phases)
            self._fold(connection, tally, list(self._facts(connection, self._relevant(after=utc(checkpoint.cut) if checkpoint else None, upto=None))))
        self._latest = Latest(revision, tally, opened)
        return self._latest

    def evidence(
        self, name: str, phase: str, group: str | None = None, as_of: datetime | None = None, within: frozenset[str] | None = None
    ) -> dict[str, Any]:
        """The facts that make one figure, each with what it adds to it (see :func:`indicators.evidence`)."""
        where = [FACTS.c.type.in_({"PhaseOpened", "OSVMapped", *indicator_named(name).types})]
        if as_of is not None:
            where.append(FACTS.c.recorded_at <= utc(as_of))
        with self.engine.connect() as connection:
            facts = list(self._facts(connection, where))
        return evidence(facts, name, phase, group, within)

    def facts(self, upto: datetime | None = None, types: Iterable[str] | None = None) -> list[Fact]:
        """Every fact (recorded by ``upto``, and of ``types``, if given), in recorded order."""
        with self.engine.connect() as connection:
            where = [] if upto is None else [FACTS.c.recorded_at <= utc(upto)]
            if types is not None:
                where.append(FACTS.c.type.in_(set(types)))
            return list(self._facts(connection, where))

    def phases(self, upto: datetime | None = None) -> list[Phase]:
        """The phases opened (recorded) by ``upto`` (all, if None), in date order."""
        with self.engine.connect() as connection:
            return phases_in(f for f in self._phase_facts(connection) if upto is None or f.recorded_at <= utc(upto))

    def last_meetings(self) -> list[Fact]:
        """Each OSV's latest meeting (the earlier ones cannot matter to an alert)."""
        latest = select(LastMeetingRow.event_id)
        with self.engine.connect() as connection:
            return list(self._facts(connection, [FACTS.c.event_id.in_(latest)]))

    def after_dissolution(self, upto: datetime | None = None) -> list[Fact]:
        """The facts dated after the dissolution that judges their OSV (recorded by ``upto``, if given), in recorded order.

        Judged against every dissolution applied: cut at ``upto``, one recorded
        after it is among them, and the alert, given the dissolutions recorded by
        then, judges again.
        """
        where = [FACTS.c.event_id.in_(select(AFTER_DISSOLUTION.c.event_id))]
        if upto is not None:
            where.append(FACTS.c.recorded_at <= utc(upto))
        with self.engine.connect() as connection:
            return list(self._facts(connection, where))

    def alert_facts(self, upto: datetime | None = None) -> list[Fact]:
        """What the follow-up alerts read: a few facts per OSV and municipality, each OSV's last meetings only, and the
        facts dated after their OSV's dissolution.

        Meetings are most of these facts on a long log; an alert only needs the
        last day each OSV was met. Cut at ``upto`` (facts recorded by then), the
        last meeting kept is not known, so every meeting recorded by then is read.
        Grants, memberships and the rest are read only where they are dated
        after a dissolution (:meth:`after_dissolution`). Each fact comes once.
        """
        if upto is not None:
            facts = self.facts(upto=upto, types=ALERT_TYPES)
        else:
            facts = self.facts(types=ALERT_TYPES - {MEETING}) + self.last_meetings()
        read = {f.event_id for f in facts}
        return facts + [f for f in self.after_dissolution(upto) if f.event_id not in read]

    def positions(self) -> dict[str, int]:
        """Per source, the floor: every position at or below it is applied or holds nothing to apply."""
        return {source: floor for source, floor in self.floors().items() if floor}

    def checkpoints(self) -> list[tuple[datetime, int, list[int]]]:
        """Each checkpoint's cut, how many facts it folded and the phase bounds that cut it, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(CheckpointRow.cut, CheckpointRow.facts, CheckpointRow.bounds).order_by(CheckpointRow.cut))
            return [(utc(cut), facts, json.loads(bounds)) for cut, facts, bounds in rows]

    def clear(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(FactRow))
            session.execute(delete(LEDGER.applied))
            session.execute(delete(LEDGER.floors_table))
            session.execute(delete(CheckpointRow))
            session.execute(delete(LastMeetingRow))
            session.execute(delete(AfterDissolutionRow))
            session.execute(delete(DatedAheadRow))
            session.execute(delete(LookedBackRow).where(LookedBackRow.event_id != EVERY_FACT_SEEN))
            session.execute(delete(ChainHeadRow))
            session.execute(delete(REVISIONS))
            self._next_revision(session, None, reset=True)

    def digest(self) -> str:
        """A SHA-256 over every fact: equal digests, equal read models (checkpoints are a cache, left out)."""
        sha = hashlib.sha256()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(FACTS.c.event_id, FACTS.c.type, FACTS.c.occurred_on, FACTS.c.data)
                .order_by(FACTS.c.source, FACTS.c.position)
                .execution_options(yield_per=5000)
            )
            for event_id, kind, occurred_on, data in rows:
                sha.update(json.dumps([event_id, kind, occurred_on.isoformat(), data], sort_keys=True).encode())
        return sha.hexdigest()

    # -- helpers ------------------------------------------------------------

    @staticmethod
    def _relevant(after: datetime | None, upto: datetime | None) -> list[Any]:
        # ``type || ''`` keeps the planner on the recorded-time index: the tail after a checkpoint is
        # a narrow range of times, while an index on type would scan every fact of twenty types.
        where: list[Any] = [(FACTS.c.type + "").in_(RELEVANT_TYPES)]
        if after is not None:
            where.append(FACTS.c.recorded_at > after)
        if upto is not None:
            where.append(FACTS.c.recorded_at <= upto)
        return where

    @staticmethod
    def _facts(connection: Connection, where: Iterable[Any]) -> Iterator[Fact]:
        rows = connection.execute(select(*COLUMNS).where(*where).order_by(*IN_ORDER).execution_options(yield_per=5000))
        return (_fact(row) for row in rows)

    def _phase_facts(self, connection: Connection) -> list[Fact]:
        return list(self._facts(connection, [FACTS.c.type == "PhaseOpened"]))

    @staticmethod
    def _checkpoint(connection: Connection, phases: list[Phase], upto: datetime | None) -> Row[Any] | None:
        """The latest checkpoint at or before ``upto`` that these phases cut, or only re-cut (see :func:`recuttable`).

        Only the chosen one's state is read; ``_tally`` re-cuts it as it restores it.
        """
        cut_by = boundaries(phases)
        bounds = json.dumps(cut_by)
        query = select(CHECKPOINTS.c.id, CHECKPOINTS.c.bounds, CHECKPOINTS.c.latest_day)
        if upto is not None:
            query = query.where(CHECKPOINTS.c.cut <= upto)
        own = connection.execute(query.where(CHECKPOINTS.c.bounds == bounds).order_by(CHECKPOINTS.c.cut.desc()).limit(1)).first()
        if own is not None:
            query = query.where(CHECKPOINTS.c.cut > select(CHECKPOINTS.c.cut).where(CHECKPOINTS.c.id == own.id).scalar_subquery())
        fits = _Fits(cut_by)
        later = next((row.id for row in connection.execute(query.order_by(CHECKPOINTS.c.cut.desc())) if fits(row.bounds, row.latest_day)), None)
        chosen = later if later is not None else (own.id if own is not None else None)
        return None if chosen is None else connection.execute(select(CHECKPOINTS).where(CHECKPOINTS.c.id == chosen)).first()

    @staticmethod
    def _tally(connection: Connection, checkpoint: Row[Any] | None, phases: list[Phase]) -> Tally:
        if checkpoint is None:
            return Tally(phases)
        return Tally.restore(state_of(checkpoint), phases)

    def _fold(self, connection: Connection, tally: Tally, facts: list[Fact]) -> None:
        """Fold facts into a tally, first telling it what it needs and does not know (in a few queries, not one per fact).

        A restored tally learns the earlier facts of the members, grants and
        OSVs these facts speak of, recorded by its checkpoint; every tally is
        handed the reports of the activities these facts withdraw.
        """
        if not tally.complete and tally.last is not None:
            cut = utc(tally.last[0])
            missing = tally.missing(facts)
            history = self._by_subject(connection, ("ParticipantEnrolled", "ParticipantWithdrew"), missing["member"], cut)
            history += self._by_subject(connection, ("FundGranted", "GrantClosed"), missing["grant"], cut)
            osvs = missing["osv"] | tally.missing(history)["osv"]
            tally.recall(self._by_subject(connection, ("OSVMapped",), osvs, cut) + history)
        withdrawn = {f.subject for f in facts if f.type == "ActivityWithdrawn"}
        reports = {f.subject: f for f in self._by_subject(connection, ("ActivityReported",), withdrawn, None)}
        tally.lookup = reports.get
        tally.fold(facts)

    def _by_subject(self, connection: Connection, types: tuple[str, ...], subjects: set[str], upto: datetime | None) -> list[Fact]:
        """Facts of these types about these subjects (recorded by ``upto``), by the type-and-subject index, 500 subjects a query."""
        found: list[Fact] = []
        ordered = sorted(subjects)
        for start in range(0, len(ordered), 500):
            where = [FACTS.c.type.in_(types), FACTS.c.subject.in_(ordered[start:start + 500])]
            if upto is not None:
                where.append(FACTS.c.recorded_at <= upto)
            found.extend(self._facts(connection, where))
        return found
