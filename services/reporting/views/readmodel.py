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

The tables are declared in :mod:`.tables`; each OSV's last meeting, the
facts dated after a dissolution and those recorded after a merge, which the
follow-up alerts read, are kept by :mod:`.alertfacts`; the checkpoints are
saved, re-cut and chosen by :mod:`.checkpoints`: both are mixins of
:class:`ReadModel`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateIndex, DropIndex

from services.reporting.domain.indicators import (
    PHASE_TYPES,
    RELEVANT_TYPES,
    ZONES,
    Breakdown,
    Fact,
    Phase,
    indicator_named,
    phases_in,
    phases_withdrawn_in,
)
from services.reporting.domain.losses import LOST_TAIL, mark_lost
from services.reporting.domain.tally import RECALLED, Tally, evidence
from services.reporting.views.alertfacts import AlertFacts
from services.reporting.views.checkpoints import Checkpoints
from services.reporting.views.tables import (
    FACT_DISTRICTS,
    FACTS,
    LEDGER,
    MEETING,
    MEETING_WITHDRAWN,
    REVISION,
    REVISIONS,
    AfterDissolutionRow,
    AfterMergeRow,
    Base,
    ChainHeadRow,
    CheckpointRow,
    DatedAheadRow,
    FactDistrictRow,
    FactRow,
    LastMeetingRow,
    LookedBackRow,
    RevisionHeadRow,
    facts_osv_index,
    osv_of_fact,
    recorded_at,
    utc,
)
from shared.events import PROGRAMME_AUDIENCE, source_service
from shared.views import View, create_tables

CACHED_ANSWERS = 64
"""Answers kept at one revision at most (a dashboard page is about 200 kB)."""
KEPT_REVISIONS = 1_000
"""Revisions whose changes are kept: a cached tally more than this many revisions old is made again from a checkpoint."""
COLUMNS = (FACTS.c.event_id, FACTS.c.type, FACTS.c.subject, FACTS.c.occurred_on, FACTS.c.recorded_at, FACTS.c.data, FACTS.c.source, FACTS.c.position)
IN_ORDER = (FACTS.c.recorded_at, FACTS.c.source, FACTS.c.position)


def _fact(row: Any) -> Fact:
    """A fact from a row of :data:`COLUMNS` (unpacked by position: a report reads thousands)."""
    event_id, kind, subject, occurred_on, recorded, data, source, position = row
    recorded = recorded.replace(tzinfo=timezone.utc) if recorded.tzinfo is None else recorded.astimezone(timezone.utc)
    return Fact(event_id, kind, subject, occurred_on, recorded, data, source, position)


PROGRAMME_FACTS = frozenset({"ProposalSubmitted", "ProposalScored"})
"""The events no partner reads (``audience`` ``programme``) that reporting keeps as facts: funding's deliberation, which
the alerts judge after a dissolution or a merge (:data:`~services.reporting.domain.alerts.DATED_AFTER_DISSOLUTION`) and
an auditor's feed gives (``proposals:read``), so that a rebuild from that feed (``osv-replay``) holds what one from the
stream does. Named one by one: ``OSVDocumentsCounted`` (members by document type, which an auditor's feed leaves out)
and any other the services add stay out unless added here (tester 177 F2)."""


def kept(cloudevent: dict[str, Any]) -> bool:
    """Whether reporting keeps this event as a fact: every event partners read, and of the programme's own those of
    :data:`PROGRAMME_FACTS` (published before they were the programme's, they carry no ``audience`` and are kept too)."""
    return cloudevent.get("audience") != PROGRAMME_AUDIENCE or cloudevent.get("type") in PROGRAMME_FACTS


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
    until: date | None = None
    """The day the tally is cut at (:mod:`~services.reporting.domain.daycut`): another day's report makes another."""


class ReadModel(Checkpoints, AlertFacts, View):
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
        self._keeping_alert_facts = threading.Lock()
        self._latest: Latest | None = None
        self._cached: dict[Hashable, bytes] = {}
        self._cached_revision = -1
        create_tables(Base.metadata, engine, [facts_osv_index(engine.dialect.name)])
        self._start_revisions()
        self._backfill_last_meetings()
        self._backfill_districts()
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
            # The programme's services' own events (`OSVDocumentsCounted`) count nothing here, and an auditor's feed
            # leaves them out: kept, a rebuild from it would hold other facts than one from the stream (tester 164 F4).
            # Funding's deliberation, no partner's since tester 177 F2, is kept: the alerts judge it, auditors read it.
            rows = [_row(cloudevent) for cloudevent in claimed if kept(cloudevent)]
            self._keep_heads(session, claimed)
            if rows:
                session.execute(insert(FACTS), rows)
                self._keep_last_meetings(session, [r for r in rows if r["type"] == MEETING])
                self._forget_withdrawn_meetings(session, [r for r in rows if r["type"] == MEETING_WITHDRAWN])
                self._keep_districts(session, {r["data"].get("district") for r in rows if r["type"] in self.PLACED_TYPES})
                opens_phase = any(r["type"] in PHASE_TYPES for r in rows)  # a phase opened or withdrawn cuts the calendar anew
                earliest = min(r["recorded_at"] for r in rows)
                # The revision's lock first, then the checkpoints this makes wrong (see _save_checkpoint). A phase
                # leaves the checkpoints: those it only re-cuts are re-cut as they are read (see _checkpoint).
                self._next_revision(session, earliest, reset=opens_phase)
                session.execute(delete(CheckpointRow).where(CheckpointRow.cut >= earliest))
                # After the revision's lock: a replica applying a dissolution at once has committed, and is seen here.
                self._keep_after_dissolution(session, rows)
                self._keep_after_merge(session, rows)
        return len(claimed)

    PLACED_TYPES = ("OSVMapped", "ActivityReported")
    """The facts that name a district (an OSV's mapping, where an activity was held): what reporting places by ubigeo."""

    def _keep_districts(self, session: Session, districts: set[Any]) -> None:
        """Keep the districts a batch's facts name (:class:`FactDistrictRow`); those kept already stay as they are."""
        names = sorted(str(d) for d in districts if d)
        if not names:
            return
        dialect = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}.get(session.get_bind().dialect.name)
        if dialect is None:  # another database: read, then write
            kept = set(session.scalars(select(FACT_DISTRICTS.c.district).where(FACT_DISTRICTS.c.district.in_(names))))
            names = [name for name in names if name not in kept]
            if names:
                session.execute(insert(FACT_DISTRICTS), [{"district": name} for name in names])
            return
        session.execute(dialect(FACT_DISTRICTS).on_conflict_do_nothing(index_elements=["district"]), [{"district": name} for name in names])

    def _backfill_districts(self) -> None:
        """A read model made before :class:`FactDistrictRow` existed fills it once from its facts (one ``SELECT DISTINCT``
        through the index by type: about half a second at 250,000 placed facts on SQLite)."""
        with Session(self.engine) as session, session.begin():
            if session.scalar(select(func.count()).select_from(FactDistrictRow)):
                return
            district = FACTS.c.data["district"].as_string()
            found = session.scalars(select(district).where(FACTS.c.type.in_(self.PLACED_TYPES)).distinct())
            self._keep_districts(session, set(found))

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
        """Move each source's known chain head to the highest position of the batch that carries a ``chainhash``, of
        an event reporting keeps (:func:`kept`), which an auditor's feed gives: not one for the programme's services
        alone (``OSVDocumentsCounted``), which it leaves out; its ``osv-replay`` gives the same heads."""
        highest: dict[str, tuple[int, str]] = {}
        for cloudevent in events:
            if cloudevent.get("chainhash") and kept(cloudevent):
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
    # -- reading ------------------------------------------------------------

    def report(
        self, as_of: datetime | None = None, by: Breakdown | None = None, within: frozenset[str] | None = None, today: date | None = None,
        zones: tuple[str, ...] = ZONES,
    ) -> dict[str, Any]:
        """Indicators per phase and in total from the facts recorded by ``as_of`` (all, if None); ``within``: those districts alone;
        ``today``: the cut's day in Lima, which gives each phase its status (one not started counts nothing; see
        :meth:`~services.reporting.domain.tallyreading.TallyReading.report`) and leaves out the facts dated after it (one in
        progress counts its days so far; :mod:`~services.reporting.domain.daycut`). Without ``today``, every fact counts.
        ``zones``: the programme's (its districts table's), each shown by zone counted in or not.

        The latest figures (no ``as_of``) are cached under the read model's
        revision, and their tally is folded on from the facts each later
        revision added (see :meth:`_latest_tally`).
        """
        if as_of is None:
            revision = self.revision()
            return self.cached(  # type: ignore[no-any-return]
                ("report", by, within, today, zones), lambda: self._latest_report(revision, by, within, today, zones), revision
            )
        cut = utc(as_of)
        with self.engine.connect() as connection:
            opened = self._phase_facts(connection)
            known = phases_in(f for f in opened if f.recorded_at <= cut)
            phases = phases_in(opened)
            if not {p.code for p in known} <= {p.code for p in phases}:
                # A phase known then was withdrawn since, and one may be open on its days now: the tally is cut by the
                # phases as they stood then (each phase one segment), and folded from a checkpoint so cut, if any.
                phases = known
            checkpoint = self._checkpoint(connection, phases, cut, today)
            tally = self._tally(connection, checkpoint, phases, today)
            tail = list(self._facts(connection, self._relevant(after=utc(checkpoint.cut) if checkpoint else None, upto=cut)))
            self._fold(connection, tally, tail)
        return tally.report(known, by, within, today, zones)

    def _latest_report(
        self, revision: int, by: Breakdown | None, within: frozenset[str] | None, today: date | None, zones: tuple[str, ...]
    ) -> dict[str, Any]:
        with self._caching_tally:
            latest = self._latest_tally(revision, today)
            return latest.tally.report(phases_in(latest.opened), by, within, today, zones)

    def _latest_tally(self, revision: int, until: date | None = None) -> Latest:
        """The tally of every fact at ``revision`` (or later), cut at ``until`` (the facts dated after it left out): the cached
        one folded on, or one made from the last checkpoint that counted nothing after ``until``.

        The cached tally is carried forward only when it is cut at the same day
        and every revision since added facts recorded after the last one it
        folded, and opened no phase; otherwise (another day, a late fact, a new
        phase, revisions no longer kept) it is made again from a checkpoint, as
        an as-of report is.
        """
        latest = self._latest if self._latest is not None and self._latest.until == until else None
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
            checkpoint = self._checkpoint(connection, phases, None, until)
            tally = self._tally(connection, checkpoint, phases, until)
            self._fold(connection, tally, list(self._facts(connection, self._relevant(after=utc(checkpoint.cut) if checkpoint else None, upto=None))))
        self._latest = Latest(revision, tally, opened, until)
        return self._latest

    def evidence(
        self, name: str, phase: str, group: str | None = None, as_of: datetime | None = None, within: frozenset[str] | None = None,
        today: date | None = None, zones: tuple[str, ...] = ZONES,
    ) -> dict[str, Any]:
        """The facts that make one figure, each with what it adds to it (see :func:`indicators.evidence`; ``today``, ``zones`` as in :meth:`report`),
        and ``lost_from_source`` where its service's store lost it in a restore an operator accepted (:func:`losses.mark_lost`)."""
        where = [FACTS.c.type.in_({*PHASE_TYPES, "OSVMapped", "OSVNameCorrected", *indicator_named(name).types})]
        if as_of is not None:
            where.append(FACTS.c.recorded_at <= utc(as_of))
        with self.engine.connect() as connection:
            facts = list(self._facts(connection, where))
            notices = list(self._facts(connection, [FACTS.c.type == LOST_TAIL]))  # whatever as_of: what the stores hold now
        found = evidence(facts, name, phase, group, within, today, zones)
        mark_lost(found["events"], notices)
        return found

    def facts(self, upto: datetime | None = None, types: Iterable[str] | None = None) -> list[Fact]:
        """Every fact (recorded by ``upto``, and of ``types``, if given), in recorded order."""
        with self.engine.connect() as connection:
            where = [] if upto is None else [FACTS.c.recorded_at <= utc(upto)]
            if types is not None:
                where.append(FACTS.c.type.in_(set(types)))
            return list(self._facts(connection, where))

    def districts(self) -> list[str]:
        """Every district a fact names (:data:`PLACED_TYPES`), each once, sorted: read from the few rows kept as facts
        arrive (:meth:`_keep_districts`), for the start-up check and ``/health``."""
        with self.engine.connect() as connection:
            return sorted(connection.scalars(select(FACT_DISTRICTS.c.district)))

    def phases(self, upto: datetime | None = None) -> list[Phase]:
        """The phases opened (recorded) by ``upto`` (all, if None) and not withdrawn by then, in date order."""
        with self.engine.connect() as connection:
            return phases_in(f for f in self._phase_facts(connection) if upto is None or f.recorded_at <= utc(upto))

    def phases_withdrawn(self, upto: datetime | None = None) -> dict[str, tuple[Phase, Fact]]:
        """The phases withdrawn as entered in error by ``upto`` (all, if None), by code, each with its withdrawal's fact."""
        with self.engine.connect() as connection:
            return phases_withdrawn_in(f for f in self._phase_facts(connection) if upto is None or f.recorded_at <= utc(upto))

    def positions(self) -> dict[str, int]:
        """Per source, the floor: every position at or below it is applied or holds nothing to apply."""
        return {source: floor for source, floor in self.floors().items() if floor}

    @contextlib.contextmanager
    def bulk_load(self) -> Iterator[None]:
        """For a rebuild (reporting stopped): ``ix_facts_osv`` is dropped for the block and made again, whole, at its
        end, whatever ends it. Kept while a million facts go in one by one, it halved the rebuild's rate (a random
        leaf of the index written per fact); made at the end from the table, it costs seconds. A block cut short
        leaves it made again by the service's next start all the same (:func:`~shared.views.create_tables`)."""
        index = facts_osv_index(self.engine.dialect.name)
        with self.engine.begin() as connection:
            connection.execute(DropIndex(index, if_exists=True))
        try:
            yield
        finally:
            with self.engine.begin() as connection:
                connection.execute(CreateIndex(index, if_not_exists=True))

    def clear(self) -> None:
        with Session(self.engine) as session, session.begin():
            session.execute(delete(FactRow))
            session.execute(delete(LEDGER.applied))
            session.execute(delete(LEDGER.floors_table))
            session.execute(delete(CheckpointRow))
            session.execute(delete(LastMeetingRow))
            session.execute(delete(FactDistrictRow))
            session.execute(delete(AfterDissolutionRow))
            session.execute(delete(AfterMergeRow))
            session.execute(delete(DatedAheadRow))
            session.execute(delete(LookedBackRow).where(LookedBackRow.event_id.not_like("*%")))  # the rows of every fact seen stay
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
        """Every phase opened and every one withdrawn, in recorded order: :func:`phases_in` reads the phases they leave."""
        return list(self._facts(connection, [FACTS.c.type.in_(PHASE_TYPES)]))

    def _fold(self, connection: Connection, tally: Tally, facts: list[Fact]) -> None:
        """Fold facts into a tally, first telling it what it needs and does not know (in a few queries, not one per fact).

        A restored tally learns the earlier facts of the members, grants and
        OSVs these facts speak of, recorded by its checkpoint; every tally is
        handed the reports of the activities these facts withdraw, and asks
        for the earlier facts of the OSVs a merge or a dissolution concerns
        (:meth:`_history`) as it folds them.
        """
        tally.history = lambda osvs, before: self._history(connection, osvs, before)
        if not tally.complete and tally.last is not None:
            cut = utc(tally.last[0])
            missing = tally.missing(facts)
            history = self._by_subject(connection, RECALLED["member"], missing["member"], cut)
            history += self._by_subject(connection, RECALLED["grant"], missing["grant"], cut)
            osvs = missing["osv"] | tally.missing(history)["osv"]
            tally.recall(self._by_subject(connection, ("OSVMapped",), osvs, cut) + history)
        withdrawn = {f.subject for f in facts if f.type == "ActivityWithdrawn"}
        reports = {f.subject: f for f in self._by_subject(connection, ("ActivityReported",), withdrawn, None)}
        tally.lookup = reports.get
        tally.fold(facts)

    def _history(self, connection: Connection, osvs: frozenset[str], before: Fact) -> list[Fact]:
        """The relevant facts recorded before ``before`` that name one of ``osvs``, with every fact of the members and grants
        those name and the mappings of the OSVs they name, in recorded order (:data:`~services.reporting.domain.tally.History`).

        For a merge or a dissolution: the OSVs' facts are read by ``ix_facts_osv`` (the ``osv_id`` their data names),
        their members' and grants' by type and subject.
        """
        upto = before.recorded_at

        def earlier(found: Iterable[Fact]) -> list[Fact]:
            return [f for f in found if f.order < before.order]

        osv_id = osv_of_fact(connection.dialect.name)
        named = sorted(osvs)
        about: list[Fact] = []
        for start in range(0, len(named), 500):
            # by ``ix_facts_osv``; ``type || ''`` keeps the planner off the type index (every fact of twenty types)
            where = [osv_id.in_(named[start:start + 500]), (FACTS.c.type + "").in_(RELEVANT_TYPES), FACTS.c.recorded_at <= upto]
            about += earlier(self._facts(connection, where))
        members = {str(f.data.get("member_id")) for f in about if f.type in RECALLED["member"]}
        grants = {Tally._grant_id(f) for f in about if f.type in RECALLED["grant"]}
        found = {f.event_id: f for f in about}
        for types, subjects in ((RECALLED["member"], members), (RECALLED["grant"], grants)):
            found.update((f.event_id, f) for f in earlier(self._by_subject(connection, types, subjects, upto)))
        # the mappings of the OSVs these name, and of those they were merged into (a participation counts in the survivor's district)
        into = {str(f.data.get("osv_id")): str(f.data.get("into_osv_id")) for f in earlier(self._facts(connection, [
            FACTS.c.type == "OSVMerged", FACTS.c.recorded_at <= upto]))}
        places = {str(f.data.get("osv_id")) for f in found.values()}
        for osv in list(places):
            while osv in into and into[osv] not in places:
                osv = into[osv]
                places.add(osv)
        places -= {str(f.data.get("osv_id")) for f in found.values() if f.type == "OSVMapped"}
        found.update((f.event_id, f) for f in earlier(self._by_subject(connection, RECALLED["osv"], places, upto)))
        return sorted(found.values(), key=lambda f: f.order)

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
