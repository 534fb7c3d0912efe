"""What the follow-up alerts read, kept as facts arrive: each OSV's last meeting, the facts dated after the
dissolution that judges their OSV, and those recorded on a record after its merge (SQLAlchemy).

An alert needs only the last day each OSV was met (meetings are most of the
facts on a long log) and, of the grants, memberships and the rest, those
dated after a dissolution or recorded after a merge. :class:`AlertFacts`
keeps them in their own tables (:mod:`.tables`) as each batch is applied, and
reads them back; it is the other half of
:class:`~services.reporting.views.readmodel.ReadModel`, which inherits it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from operator import attrgetter
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.reporting.domain.alerts import (
    ALERT_TYPES,
    DATED_AFTER_DISSOLUTION,
    GONE_TYPES,
    REFUSED_ON_A_MERGED_RECORD,
    SUPERSEDED_BY,
    UNDOING,
    dated_after_dissolution,
    dated_after_merge,
    dissolutions,
    is_taken_back,
    merges,
    taken_back,
)
from services.reporting.domain.indicators import Fact
from services.reporting.views.tables import (
    AFTER_DISSOLUTION,
    AFTER_MERGE,
    AHEAD,
    DATED_AHEAD,
    EVERY_FACT_SEEN,
    FACTS,
    LAST_MEETINGS,
    LOOKED_BACK,
    MEETING,
    MEETING_WITHDRAWN,
    REVISIONS,
    LastMeetingRow,
    LookedBackRow,
    judged_by,
    utc,
)

JUDGED = judged_by([*DATED_AFTER_DISSOLUTION, *(f"merged:{kind}" for kind in REFUSED_ON_A_MERGED_RECORD)])
"""This version's row of ``dissolutions_looked_back``: every fact applied was judged by :data:`DATED_AFTER_DISSOLUTION`
and :data:`REFUSED_ON_A_MERGED_RECORD`."""
ABOUT = FACTS.c.data["osv_id"].as_string()
"""The OSV a fact's data names."""


def _dated_ahead(day: date, recorded: datetime) -> bool:
    """Dated further past the UTC day it was recorded than :data:`AHEAD` (see :class:`DatedAheadRow`)."""
    return day > recorded.date() + AHEAD


READ_AGAIN_FOR = frozenset({*GONE_TYPES, *UNDOING, *SUPERSEDED_BY})
"""The facts after which the latest alert facts are read in full again: a dissolution or a merge judges facts already
read, an undo takes one back, a correction supersedes one (:meth:`AlertFacts.latest_alert_facts`)."""

LATE_FOLDED_IN = timedelta(hours=1)
"""How long before the latest fact applied (of any type) a fact may have been recorded and still be folded into the
latest alert facts (:meth:`AlertFacts.latest_alert_facts`): the facts recorded since then are read again. One recorded
earlier (a relay held up for hours) has the alert facts read in full: reading every fact recorded since could cost more."""


@dataclass
class KeptAlertFacts:
    """:meth:`AlertFacts.alert_facts` of every fact at ``revision``, in its parts, carried forward as facts arrive.

    ``plain``: the facts of :data:`ALERT_TYPES` but meetings, in recorded
    order (``plain_ids`` their ids); ``meetings``: each OSV's last meeting,
    by OSV id; ``late``: the facts dated after a dissolution or recorded after
    a merge, and what takes them back or supersedes them. ``last``: the latest
    recorded time read (UTC). ``carried``: revisions carried forward since
    the parts were read in full.
    """

    revision: int
    last: datetime | None
    plain: list[Fact]
    plain_ids: set[str]
    meetings: dict[str, Fact]
    late: list[Fact]
    carried: int = 0

    def listed(self) -> list[Fact]:
        """The facts as :meth:`AlertFacts.alert_facts` lists them: ``plain``, the meetings in recorded order, ``late``."""
        return [*self.plain, *sorted(self.meetings.values(), key=attrgetter("order")), *self.late]


class AlertFacts:
    """The alerts' half of :class:`~services.reporting.views.readmodel.ReadModel`: each OSV's last meeting, the
    facts dated after a dissolution and those recorded after a merge, kept as batches are applied
    (:meth:`_keep_last_meetings`, :meth:`_keep_after_dissolution`, :meth:`_keep_after_merge`) and read by
    :meth:`alert_facts`.

    Relies on the read model for ``engine`` and for reading facts:
    ``_facts`` (rows of the facts table, in recorded order) and
    ``_by_subject`` (by the type-and-subject index).
    """

    engine: Engine
    _kept_alert_facts: KeptAlertFacts | None = None
    """What :meth:`latest_alert_facts` read and carries forward (each process its own)."""
    _keeping_alert_facts: threading.Lock

    if TYPE_CHECKING:

        def revision(self, connection: Connection | None = None) -> int: ...

        def facts(self, upto: datetime | None = None, types: Iterable[str] | None = None) -> list[Fact]: ...

        @staticmethod
        def _facts(connection: Connection, where: Iterable[Any]) -> Iterator[Fact]: ...

        def _by_subject(self, connection: Connection, types: tuple[str, ...], subjects: set[str], upto: datetime | None) -> list[Fact]: ...

        @staticmethod
        def _next_revision(session: Session, earliest: datetime | None, reset: bool) -> int: ...

    # -- keeping, as facts arrive ---------------------------------------------

    def _backfill_last_meetings(self) -> None:
        """A read model made before the last-meetings table existed fills it once from its facts."""
        with Session(self.engine) as session, session.begin():
            if session.scalar(select(func.count()).select_from(LastMeetingRow)):
                return
            meetings = session.execute(select(FACTS.c.event_id, FACTS.c.occurred_on, FACTS.c.data).where(FACTS.c.type == MEETING))
            self._keep_last_meetings(session, [row._asdict() for row in meetings])
            withdrawn = session.execute(select(FACTS.c.subject, FACTS.c.data).where(FACTS.c.type == MEETING_WITHDRAWN))
            self._forget_withdrawn_meetings(session, [row._asdict() for row in withdrawn])

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

    def _forget_withdrawn_meetings(self, session: Session, withdrawals: list[dict[str, Any]]) -> None:
        """A meeting withdrawn as recorded by mistake is no OSV's last meeting: each OSV a batch's ``withdrawals`` name has
        its last meeting found again among its meetings not withdrawn, or none kept if it has none left (the alert then
        counts from its mapping). A meeting and its withdrawal have the OSV's follow-up as subject: read by the
        type-and-subject index, a few facts per OSV; withdrawals are rare."""
        if not withdrawals:
            return
        osvs = {str(w["data"]["osv_id"]) for w in withdrawals}
        facts = self._by_subject(session.connection(), (MEETING, MEETING_WITHDRAWN), {str(w["subject"]) for w in withdrawals}, None)
        undone = taken_back(facts)
        latest: dict[str, Fact] = {}
        for meeting in facts:  # in recorded order: the later of two on one day, as _keep_last_meetings keeps
            osv_id = str(meeting.data["osv_id"])
            if meeting.type == MEETING and osv_id in osvs and not is_taken_back(meeting, undone):
                if osv_id not in latest or meeting.occurred_on >= latest[osv_id].occurred_on:
                    latest[osv_id] = meeting
        session.execute(delete(LAST_MEETINGS).where(LAST_MEETINGS.c.osv_id.in_(sorted(osvs))))
        if latest:
            session.execute(insert(LastMeetingRow), [{"osv_id": o, "held_on": m.occurred_on, "event_id": m.event_id} for o, m in latest.items()])

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

    def _keep_after_merge(self, session: Session, rows: list[dict[str, Any]]) -> None:
        """Keep the facts of a batch recorded on a record after its merge was, and, for a merge in it, those applied
        before it that were recorded after it.

        As :meth:`_keep_after_dissolution`: the subjects of every merge come
        from the type-and-subject index alone, and only a fact about one of them
        is judged; a merge (delivered after facts recorded later than it, its
        relay held up) looks back once (:meth:`_look_back_from_merges`).
        """
        connection = session.connection()
        refused = [row for row in rows if row["type"] in REFUSED_ON_A_MERGED_RECORD and row["data"].get("osv_id")]
        late: list[Fact] = []
        about = {str(row["data"]["osv_id"]) for row in refused}
        if about:
            merged_ids = set(connection.scalars(select(FACTS.c.subject).where(FACTS.c.type == "OSVMerged")))
            if hit := about & merged_ids:
                merged = merges(self._by_subject(connection, ("OSVMerged",), hit, None))
                late += dated_after_merge([Fact(**row) for row in refused if str(row["data"]["osv_id"]) in hit], merged)
        merged_here = [row for row in rows if row["type"] == "OSVMerged" and row["data"].get("osv_id")]
        if merged_here:
            late += self._look_back_from_merges(connection, {str(row["data"]["osv_id"]) for row in merged_here})
            self._insert_new(session, LOOKED_BACK, [row["event_id"] for row in merged_here])
        self._insert_new(session, AFTER_MERGE, [f.event_id for f in late])

    def _look_back_from_merges(self, connection: Connection, records: set[str]) -> list[Fact]:
        """The facts applied so far recorded on these records after their merges were: those recorded from the earliest
        merge's time on (by the recorded-time index), as a merge delivered a day late reads a day's facts."""
        merged = merges(self._by_subject(connection, ("OSVMerged",), records, None))
        if not merged:
            return []
        since = min(merge.recorded_at for merge in merged.values())
        chunked = sorted(merged)
        found: list[Fact] = []
        for start in range(0, len(chunked), 500):
            # ``type || ''``, as in _relevant: the recorded-time index, not every fact of eight types.
            where = [FACTS.c.recorded_at > since, (FACTS.c.type + "").in_(REFUSED_ON_A_MERGED_RECORD), ABOUT.in_(chunked[start:start + 500])]
            found += self._facts(connection, where)
        return dated_after_merge(found, merged)

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
        found: list[Fact] = []
        for start in range(0, len(records), 500):
            chunk = records[start:start + 500]
            # ``type || ''``, as in _relevant: the recorded-time index, not every fact of fourteen types.
            found += self._facts(connection, [FACTS.c.recorded_at >= since, (FACTS.c.type + "").in_(DATED_AFTER_DISSOLUTION), ABOUT.in_(chunk)])
            found += self._facts(connection, [FACTS.c.event_id.in_(select(DATED_AHEAD.c.event_id)), ABOUT.in_(chunk)])
        return dated_after_dissolution(found, judged) if found else []

    def _look_back_at_start(self) -> None:
        """A read model made before these tables, or before a type of :data:`DATED_AFTER_DISSOLUTION` or
        :data:`REFUSED_ON_A_MERGED_RECORD` was judged (its :data:`JUDGED` row missing), goes through its facts once for
        those dated ahead, and looks back from every dissolution and merge again; otherwise every dissolution and merge
        not looked back from yet is.

        Rows found for the alerts move the read model's revision in the same transaction (a reset: every replica
        reads its alert facts again), so a replica already serving, e.g. the version before during a rolling
        upgrade, does not keep answering the alerts it cached without them (tester 170)."""
        found: list[str] = []
        with Session(self.engine) as session, session.begin():
            dissolutions = select(FACTS.c.event_id, FACTS.c.subject).where(FACTS.c.type == "OSVDissolved")
            merged = select(FACTS.c.event_id, FACTS.c.subject).where(FACTS.c.type == "OSVMerged")
            if session.get(LookedBackRow, JUDGED) is None:
                rows = session.execute(
                    select(FACTS.c.event_id, FACTS.c.occurred_on, FACTS.c.recorded_at)
                    .where(FACTS.c.type.in_(DATED_AFTER_DISSOLUTION))
                    .execution_options(yield_per=5000)
                )
                ahead = [event_id for event_id, day, recorded in rows if _dated_ahead(day, utc(recorded))]
                self._insert_new(session, DATED_AHEAD, ahead)
                found += ahead
                self._insert_new(session, LOOKED_BACK, [EVERY_FACT_SEEN, JUDGED])
                pending = session.execute(dissolutions).all()
                pending_merges = session.execute(merged).all()
            else:
                pending = session.execute(dissolutions.where(FACTS.c.event_id.not_in(select(LOOKED_BACK.c.event_id)))).all()
                pending_merges = session.execute(merged.where(FACTS.c.event_id.not_in(select(LOOKED_BACK.c.event_id)))).all()
            if pending_merges:
                late = self._look_back_from_merges(session.connection(), {subject for _, subject in pending_merges})
                self._insert_new(session, AFTER_MERGE, [f.event_id for f in late])
                found += [f.event_id for f in late]
                self._insert_new(session, LOOKED_BACK, [event_id for event_id, _ in pending_merges])
            if pending:
                late = self._look_back(session.connection(), {subject for _, subject in pending})
                self._insert_new(session, AFTER_DISSOLUTION, [f.event_id for f in late])
                self._insert_new(session, LOOKED_BACK, [event_id for event_id, _ in pending])
                found += [f.event_id for f in late]
            if found:
                self._next_revision(session, None, reset=True)

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

    # -- reading ------------------------------------------------------------

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

    def after_merge(self, upto: datetime | None = None) -> list[Fact]:
        """The facts recorded on a record after its merge was (recorded by ``upto``, if given: the merge was, then, too),
        in recorded order."""
        where = [FACTS.c.event_id.in_(select(AFTER_MERGE.c.event_id))]
        if upto is not None:
            where.append(FACTS.c.recorded_at <= utc(upto))
        with self.engine.connect() as connection:
            return list(self._facts(connection, where))

    def taking_back(self, facts: list[Fact], upto: datetime | None = None) -> list[Fact]:
        """The facts (recorded by ``upto``, if given) that take one of ``facts`` back (:data:`UNDOING`: an activity's
        withdrawal), by the type-and-subject index: an undo's subject is that of the fact it takes back (the activity, the
        grant; a meeting's withdrawal, the OSV's follow-up, as the meeting's: its other meetings' withdrawals come too,
        and take back none of ``facts``)."""
        found: list[Fact] = []
        with self.engine.connect() as connection:
            for undo, (undone, _) in UNDOING.items():
                subjects = {f.subject for f in facts if f.type == undone}
                if subjects:
                    found += self._by_subject(connection, (undo,), subjects, None if upto is None else utc(upto))
        return found

    def alert_facts(self, upto: datetime | None = None) -> list[Fact]:
        """What the follow-up alerts read: a few facts per OSV and municipality, each OSV's last meetings only, the
        facts dated after their OSV's dissolution or recorded on a record after its merge, and what took one of those
        back.

        Meetings are most of these facts on a long log; an alert only needs the
        last day each OSV was met. Cut at ``upto`` (facts recorded by then), the
        last meeting kept is not known, so every meeting recorded by then is read.
        Grants, memberships and the rest are read only where they are dated
        after a dissolution (:meth:`after_dissolution`) or recorded after their
        record's merge (:meth:`after_merge`), with the withdrawals of
        those that are activities (:meth:`taking_back`), recorded by ``upto``
        too: as of a moment before its withdrawal, an activity is listed. Each
        fact comes once.
        """
        if upto is not None:
            facts = self.facts(upto=upto, types=ALERT_TYPES)
        else:
            facts = self.facts(types=ALERT_TYPES - {MEETING}) + self.last_meetings()
        return facts + self._late({f.event_id for f in facts}, upto)

    def latest_alert_facts(self) -> list[Fact]:
        """:meth:`alert_facts` of every fact (no cut), carried forward from the last read as facts arrive: read in full
        once, then only the facts recorded after the latest one read, as the latest tally is folded on.

        A late fact (recorded before the latest fact applied: one service's
        feed behind another's) is folded in with every fact recorded since it
        (:data:`LATE_FOLDED_IN`, an hour at most). Read in full again
        (:meth:`_read_alert_facts`) when a revision since is not kept, cleared
        the facts, or added a fact recorded earlier than that; and when the
        facts read hold a dissolution, a merge, an undo or a correction
        (:data:`READ_AGAIN_FOR`), or one dated after a dissolution or recorded
        on a merged record: the facts they judge, take back or supersede may be
        any already read.
        Made afresh on a million events, the full read was a third of
        ``GET /dashboard``'s 230 ms; carried forward, a few queries.
        """
        with self._keeping_alert_facts:
            revision = self.revision()
            kept = self._kept_alert_facts
            if kept is None or (kept.revision < revision and not self._carried_forward(kept, revision)):
                kept = self._kept_alert_facts = self._read_alert_facts(revision)
            return kept.listed()

    def _read_alert_facts(self, revision: int) -> KeptAlertFacts:
        with self.engine.connect() as connection:  # first: a fact applied while the parts are read is read again, once
            last = connection.scalar(select(func.max(FACTS.c.recorded_at)))
        plain = self.facts(types=ALERT_TYPES - {MEETING})
        meetings = {str(f.data["osv_id"]): f for f in self.last_meetings()}
        late = self._late({f.event_id for f in plain} | {f.event_id for f in meetings.values()}, None)
        return KeptAlertFacts(revision, None if last is None else utc(last), plain, {f.event_id for f in plain}, meetings, late)

    def _carried_forward(self, kept: KeptAlertFacts, revision: int) -> bool:
        """Fold the facts of the revisions after ``kept``'s up to ``revision`` into it, if none was recorded more than
        :data:`LATE_FOLDED_IN` before the latest one it read and none needs a read in full (see :meth:`latest_alert_facts`)."""
        with self.engine.connect() as connection:
            changes = connection.execute(
                select(REVISIONS.c.earliest, REVISIONS.c.reset).where(REVISIONS.c.revision > kept.revision, REVISIONS.c.revision <= revision)
            ).all()
            if len(changes) != revision - kept.revision or any(reset or earliest is None for earliest, reset in changes):
                return False
            # Every fact not read yet was applied by one of these revisions: it was recorded at or after the earliest
            # time they name. A late one (recorded before the latest read, its service's feed behind another's) is
            # read with those recorded since; the ones read already are skipped (plain facts by id, meetings by OSV).
            since = min(utc(earliest) for earliest, _ in changes)
            if kept.last is not None and since < kept.last - LATE_FOLDED_IN:
                return False
            # ``type || ''`` keeps the planner on the recorded-time index, as the latest tally's read does.
            where = [(FACTS.c.type + "").in_(ALERT_TYPES | READ_AGAIN_FOR), FACTS.c.recorded_at >= since]
            new = list(self._facts(connection, where))
            if any(f.type in READ_AGAIN_FOR for f in new) or self._late_since(connection, since):
                return False
            osvs = {str(f.data["osv_id"]) for f in new if f.type == MEETING}
            latest = select(LAST_MEETINGS.c.event_id).where(LAST_MEETINGS.c.osv_id.in_(osvs))
            meetings = list(self._facts(connection, [FACTS.c.event_id.in_(latest)])) if osvs else []
            # The latest fact of any type, as a read in full takes it: the bound on a late fact counts from it, not from
            # the latest alert fact (a RUOS registration three days older than the grants since was folded in: tester 170 F2).
            last = connection.scalar(select(func.max(FACTS.c.recorded_at)))
        plain = [f for f in new if f.type != MEETING and f.event_id not in kept.plain_ids]
        if plain and kept.plain and plain[0].order < kept.plain[-1].order:  # a late fact, or one read again after a race
            kept.plain = sorted([*kept.plain, *plain], key=attrgetter("order"))  # in recorded order, as the queries give
        else:
            kept.plain += plain
        kept.plain_ids.update(f.event_id for f in plain)
        kept.meetings.update((str(f.data["osv_id"]), f) for f in meetings)
        if last is not None:
            kept.last = max(utc(last), kept.last) if kept.last is not None else utc(last)
        kept.revision, kept.carried = revision, kept.carried + 1
        return True

    @staticmethod
    def _late_since(connection: Connection, since: datetime) -> bool:
        """Whether a fact recorded at or after ``since`` is dated after a dissolution or recorded on a merged record."""
        for table in (AFTER_DISSOLUTION, AFTER_MERGE):
            query = select(table.c.event_id).join(FACTS, FACTS.c.event_id == table.c.event_id).where(FACTS.c.recorded_at >= since).limit(1)
            if connection.scalar(query) is not None:
                return True
        return False

    def _late(self, read: set[str], upto: datetime | None) -> list[Fact]:
        """The facts dated after a dissolution or recorded after a merge (recorded by ``upto``, if given), with what takes
        one of them back or supersedes it: those of :meth:`alert_facts` beside its facts of :data:`ALERT_TYPES`, the ids
        of which are ``read`` (each fact comes once)."""
        late: list[Fact] = []
        for fact in self.after_dissolution(upto) + self.after_merge(upto):
            if fact.event_id not in read:
                read.add(fact.event_id)
                late.append(fact)
        for fact in self.taking_back(late, upto) + self.superseding(late, upto):
            if fact.event_id not in read:
                read.add(fact.event_id)
                late.append(fact)
        return late

    def superseding(self, facts: list[Fact], upto: datetime | None = None) -> list[Fact]:
        """The facts (recorded by ``upto``, if given) that may supersede one of ``facts`` (:data:`SUPERSEDED_BY`: a joining
        date corrected since), by the type-and-subject index: their subject is the member."""
        found: list[Fact] = []
        with self.engine.connect() as connection:
            for kind, (_, replaced, subject_field) in SUPERSEDED_BY.items():
                subjects = {str(f.data[subject_field]) for f in facts if f.type in replaced and f.data.get(subject_field)}
                if subjects:
                    found += self._by_subject(connection, (kind,), subjects, None if upto is None else utc(upto))
        return found
