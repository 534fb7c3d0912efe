"""The tables of reporting's read model (SQLAlchemy): facts, the ledger, checkpoints, revisions, chain heads, and
what the follow-up alerts read, kept as facts arrive.

:class:`~services.reporting.views.readmodel.ReadModel` writes and reads
them; what the alerts read is kept by :mod:`.alertfacts`. Every time stored
here is UTC (:func:`utc`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    literal_column,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.views import Ledger


class Base(DeclarativeBase):
    pass


LEDGER = Ledger(Base, "reporting")


class FactRow(Base):
    __tablename__ = "facts"
    __table_args__ = (
        Index("ix_facts_recorded_order", "recorded_at", "source", "position"),
        Index("ix_facts_type_subject", "type", "subject"),
    )

    # Two indexes besides the key serve every query (by recorded order; by type and subject), and a third on the
    # ``osv_id`` the data names (:func:`facts_osv_index`, made at start): each more is written with every fact.
    # (Read models made before kept four more; they do no harm.)
    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    source: Mapped[str] = mapped_column(String(50))
    position: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(80))
    occurred_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


MEETING = "FollowUpMeetingHeld"
MEETING_WITHDRAWN = "FollowUpMeetingWithdrawn"


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


class AfterMergeRow(Base):
    """A fact recorded on an OSV record after its merge into another was (:func:`~services.reporting.domain.alerts.dated_after_merge`),
    kept as facts arrive: the alert reads these few, not every grant and membership."""

    __tablename__ = "after_merge"

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
    a merge (its event id) whose record's facts applied before it were looked through for those recorded after it; and
    :data:`EVERY_FACT_SEEN` and :func:`judged_by`'s row, once the facts applied before these tables existed (or before
    the types judged now were) were gone through."""

    __tablename__ = "dissolutions_looked_back"

    event_id: Mapped[str] = mapped_column(String(80), primary_key=True)


class FactDistrictRow(Base):
    """A district a fact names (an OSV's mapping, where an activity was held), kept as facts arrive: the districts
    reporting must find in its table to place them by ubigeo (the start-up check, ``/health``)."""

    __tablename__ = "fact_districts"

    district: Mapped[str] = mapped_column(String(100), primary_key=True)


EVERY_FACT_SEEN = "*"
"""The row of ``dissolutions_looked_back`` that says every fact applied was gone through: no event's id is ``*``.
(Kept for replicas of versions before :func:`judged_by`'s row; this version goes by that one.)"""


def judged_by(types: Iterable[str]) -> str:
    """The row of ``dissolutions_looked_back`` that says every fact applied was judged by these types (the facts the
    services refuse after a dissolution, and after a merge): ``*`` and a digest of their names. A version that judges
    one more type (as ``ProposalScored``, since 2026-12) finds no row of its own, and judges again the facts applied
    before it."""
    return "*" + hashlib.sha256(",".join(sorted(types)).encode()).hexdigest()[:32]
AHEAD = timedelta(days=1)
"""How far past the UTC day it was recorded a fact may be dated: Lima's tomorrow, the latest day a service takes, is
never further."""


class CheckpointRow(Base):
    """The tally of every fact recorded at or before ``cut``, cut into segments by ``bounds`` (JSON, day ordinals).

    ``latest_day`` (a day ordinal) is the latest day it counted a fact on:
    whether phases opened since only split its last segment is known from
    this row alone, without reading ``state`` (zlib-compressed JSON).
    """

    __tablename__ = "tally_checkpoints_9"
    # Until 2026-12 they were kept in ``checkpoints``, without ``latest_day``; then in ``tally_checkpoints``, counted
    # by the rules of their version (a state saved so would go on with its counts); then in ``tally_checkpoints_2``,
    # whose counters lack members_joined's and members_left's ``by_sex`` (tester 184 F5: a state restored from one would
    # count only the joinings folded after it by sex, and a sex correction would take a member back from a sex they were
    # never counted under); then in ``tally_checkpoints_3``, whose states lack ``listed`` (helper 189, tester 187 F1: a
    # state restored from one would not know which activities listed both records of a person merged after it, and count
    # that person's attendance there twice); then in ``tally_checkpoints_4``, whose counters lack a participatory budget's
    # amount funded in dollars (tester 208 F2: counted in no part, a state restored from one would leave out every such
    # amount decided before its cut); then in ``tally_checkpoints_5``, whose counters keep an agent of change counted
    # after their project closed (tester 247 F1: a state restored from one would go on counting them); then in
    # ``tally_checkpoints_6``, whose ``latest_day`` leaves out the days a fact names that it is not dated on (a joining or a
    # mapping corrected to a later day: tester 271 F2, a report of a day starts from a checkpoint that counted nothing
    # after it, and one that did, unsaid, would count it); then in ``tally_checkpoints_7``, made by versions that did not
    # read registry's ``RUOSRegistrationCorrected`` (tester t286 F1: a state saved by one after such a correction keeps
    # the registration in the phase of the day typed wrong, and a report restored from it would too); then in
    # ``tally_checkpoints_8``, made by versions that did not read registry's ``RUOSObservationWithdrawn`` (helper h293: a
    # state saved by one after such a withdrawal keeps counting the observation, and a report restored from it would too).
    # Those tables are left for replicas of the earlier versions still running on the same database, and can be dropped
    # once none is: this version makes its checkpoints again from the facts.

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


def osv_of_fact(dialect: str, facts: Table = FACTS) -> ColumnElement[str]:
    """The ``osv_id`` a fact's data names (a UUID string, or NULL), as the index :func:`facts_osv_index` holds it.

    Written out per dialect with the path as a literal: SQLite's planner uses
    an index on an expression only for the very same expression, and
    SQLAlchemy's ``data["osv_id"]`` sends the path as a bound parameter.
    """
    if dialect == "postgresql":
        return facts.c.data.op("->>", return_type=String)(literal_column("'osv_id'"))
    return func.json_extract(facts.c.data, literal_column("'$.osv_id'"), type_=String)


def facts_osv_index(dialect: str) -> Index:
    """``ix_facts_osv``: the facts by the OSV their data names. A merge or a dissolution reads an OSV's earlier facts
    through it (without it, every fact of the indicators' types up to then: 0.35 s at 200,000 events, seconds at a
    million, on an as-of report past one). Created at start when missing (:func:`~shared.views.create_tables`), on
    a table object of its own: one dialect's expression never joins the metadata ``create_all`` makes for another."""
    facts = Table("facts", MetaData(), Column("data", JSON))
    return Index("ix_facts_osv", osv_of_fact(dialect, facts))


CHECKPOINTS = CheckpointRow.__table__
LAST_MEETINGS = LastMeetingRow.__table__
AFTER_DISSOLUTION = AfterDissolutionRow.__table__
AFTER_MERGE = AfterMergeRow.__table__
DATED_AHEAD = DatedAheadRow.__table__
LOOKED_BACK = LookedBackRow.__table__
FACT_DISTRICTS = FactDistrictRow.__table__
REVISION = RevisionHeadRow.__table__
REVISIONS = RevisionRow.__table__


def utc(moment: datetime) -> datetime:
    """SQLite hands times back without a zone; every time here is UTC."""
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def recorded_at(text: str) -> datetime:
    return utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
