"""The tally: the indicators (:mod:`.indicators`) counted from dated facts. Pure: no I/O.

Events reach reporting in any order and a phase may be opened after its
facts, so nothing is counted into a phase on arrival: a :class:`Tally` folds
facts in the order they were recorded and sorts them into *segments* of the
calendar cut at every phase boundary; a phase is read off its segment when
the report is asked for.

A tally's state is small (counters per segment and district, the OSVs
supported or out of contact, a few sets), can be saved as plain JSON and
folded on from where it stopped; what it knows of single members, projects
and OSVs is a cache that a restored tally recalls from the facts it meets.
That is what lets the read model keep checkpoints and answer "as of" without
replaying the log.

What a fact changes may reach back: a member who leaves the OSV, or an OSV
that dissolves, ends the participations and projects folded before; a merge
across districts moves every counted fact of the record merged away to the
survivor's district; a person's nationality or sex rectified moves what they
were counted under, in every phase, and a joining date corrected moves the joining to its segment (:mod:`.corrections`). For those a
tally asks ``history`` (:data:`History`)
for the earlier facts of the OSVs concerned: a restored tally learns the
members and projects it lacks from them, and a merge re-counts their figures
where they now belong.

A saved state stays good when a phase is opened after every day it counted
(the usual case: the next phase): the new boundaries only split its last,
open-ended segment, and :meth:`Tally.restore` re-cuts it (:func:`recuttable`)
instead of folding the log again. For that a tally keeps the latest day it
counted and, beside the counters, what is still open-ended (members taking
part, projects not closed) as ``open``: the new segments start with those.

:func:`report` and :func:`evidence` are the reference: they fold every fact
they are given. What the counters add up to (a report, one figure's evidence)
is read off by :mod:`.tallyreading`, the class's other half.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from services.reporting.domain.activities import Activities
from services.reporting.domain.corrections import CORRECTED, Corrections
from services.reporting.domain.countedonce import CountedOnce, OnceStep
from services.reporting.domain.daycut import DayCut
from services.reporting.domain.indicators import (
    UNKNOWN,
    ZONES,
    Breakdown,
    Fact,
    Phase,
    boundaries,
    nationality_group,
    phases_in,
)
from services.reporting.domain.meetings import FollowUpMeetings
from services.reporting.domain.membermerges import MemberMerges
from services.reporting.domain.merges import Merges
from services.reporting.domain.observations import RUOSObservations
from services.reporting.domain.participation import AgentsOfChange
from services.reporting.domain.tallyreading import EVER, Counter, TallyReading, Within
from services.reporting.domain.withdrawals import GrantWithdrawals

# --------------------------------------------------------------------------
# The tally
# --------------------------------------------------------------------------

Lookup = Callable[[str], "Fact | None"]
History = Callable[[frozenset[str], Fact], list[Fact]]
"""The facts recorded before a fact (by :attr:`Fact.order`) that name one of these OSVs (``osv_id``), with every fact
of the members and grants those name (by :data:`RECALLED`) and the mappings of the OSVs they name, in recorded order."""
RECALLED = {
    "osv": ("OSVMapped",),
    "member": ("ParticipantEnrolled", "ParticipantWithdrew", "MemberLeft", *CORRECTED),
    "grant": ("FundGranted", "GrantClosed", "GrantWithdrawn"),
}
"""What a restored tally may need to recall about an entity, by the subject of these events."""



def _no_lookup(_: str) -> Fact | None:
    return None


def _no_history(_osvs: frozenset[str], _before: Fact) -> list[Fact]:
    return []


@dataclass
class Trace:
    """One counted step, kept only when a tally is asked to explain itself."""

    counter: Counter
    delta: int | Decimal
    fact: Fact
    at: Mapping[str, Any] | None = None
    """Where the change happened when not where ``fact`` names (``osv_id``, ``district``): the activity whose attendance a
    merge takes back, the OSV whose project an agent counted through (tester 239 F2)."""


class Tally(
    Merges, MemberMerges, Corrections, GrantWithdrawals, FollowUpMeetings, RUOSObservations, AgentsOfChange, Activities, CountedOnce, DayCut,
    TallyReading,
):
    """Everything the indicators need, folded fact by fact in recorded order.

    ``phases`` cut the calendar into segments; ``lookup`` finds an activity's
    report (by activity id) when its withdrawal is folded; ``history``
    (:data:`History`) the earlier facts of the OSVs a merge or a dissolution
    concerns; ``until``, a report's day, leaves out the facts dated after it
    (:mod:`.daycut`: they count from their day on).

    Counters and a few small sets are its state (:meth:`state`). What it knows
    of single OSVs, members and projects is a cache: a tally restored from a
    checkpoint starts without it, says which entities the next facts need
    (:meth:`missing`) and is told their earlier facts (:meth:`recall`).
    """

    def __init__(self, phases: Sequence[Phase], lookup: Lookup = _no_lookup, trace: bool = False, history: History = _no_history,
                 until: date | None = None) -> None:
        self.bounds = boundaries(phases)
        self.until = None if until is None else until.toordinal()  # never saved: a checkpoint counts every fact (:mod:`.daycut`)
        self.lookup = lookup
        self.history = history
        self.traces: list[Trace] | None = [] if trace else None
        self.restated_steps: dict[tuple[str, int, str], tuple[set[str], list[Trace]]] = {}  # when tracing (:mod:`.corrections`)
        self.counters: dict[Counter, int | Decimal] = defaultdict(int)
        self.zones: dict[str, str] = {}  # district -> zone
        self.supported: dict[str, list[Any]] = {}  # osv -> [district, {segment: first grant's event}]
        self.lost: dict[str, list[Any]] = {}  # osv -> [district, {segment: first ContactLost's event}]
        self.once_steps: list[OnceStep] | None = [] if trace else None  # each change to those two, when tracing (:mod:`.countedonce`)
        self.closures: dict[str, int] = {}  # every grant closed -> closed on (saved: a restored tally's agents end there)
        self.withdrawn: set[str] = set()  # activity ids
        self.grants_withdrawn: set[str] = set()  # grants withdrawn as entered in error: they count nowhere from then on
        self.pb_accepted: set[str] = set()
        self.pb_funded: set[str] = set()
        self.merged: dict[str, str] = {}  # osv merged away -> the OSV it was merged into
        self.members_merged: dict[str, str] = {}  # member record merged away -> the member it was merged into (:mod:`.membermerges`)
        self.dissolved: dict[str, int] = {}  # osv -> dissolved on (ordinal)
        self.reached: dict[str, list[Any]] = {}  # person -> [nationality group, sex, {"<group>|<segment>": activities}]
        self.listed: dict[str, dict[str, list[Any]]] = {}  # member record -> {activity listing it: how} (:mod:`.membermerges`)
        self.last: tuple[datetime, str, int, str] | None = None
        self.latest_day = 0  # the latest day (ordinal) any fact folded was counted on: new bounds after it only split the last segment
        self.open: dict[tuple[str, str], int] = defaultdict(int)  # (part, place) -> members/projects still open-ended there
        # The cache (complete when folded from the first fact).
        self.complete = True
        self.places: dict[str, str] = {}  # osv -> district
        self.members: dict[str, list[Any]] = {}  # member -> [nationality, sex, [[grant, district, from, to|None, osv], ...], [[osv, left on], ...]]
        self.projects: dict[str, list[Any]] = {}  # seed-fund grant -> [district, granted on, closed on|None, osv]
        self.projects_of: dict[str, set[str]] = defaultdict(set)  # osv (as the grant names it) -> its seed-fund grants
        self.agents_of: dict[str, set[str]] = defaultdict(set)  # osv (as the enrolment names it) -> the members who took part there

    # -- folding ------------------------------------------------------------

    @property
    def last_segment(self) -> int:
        return len(self.bounds)

    def fold(self, facts: Iterable[Fact]) -> Tally:
        for fact in facts:
            self.add(fact)
        return self

    def add(self, fact: Fact) -> None:
        handler = _HANDLERS.get(fact.type)
        if handler is not None:
            day = fact.occurred_on.toordinal()
            if self.until is None or day <= self.until:  # one dated after the day the tally is cut at has not happened yet
                handler(self, fact)
                if day > self.latest_day:
                    self.latest_day = day
        self.last = fact.order

    def missing(self, facts: Iterable[Fact]) -> dict[str, set[str]]:
        """The OSVs, members and grants these facts speak of that a restored tally has not seen yet."""
        out: dict[str, set[str]] = {"osv": set(), "member": set(), "grant": set()}
        if self.complete:
            return out
        facts = list(facts)
        for fact in facts:
            for named in (fact.data.get("osv_id"), fact.data.get("into_osv_id")):
                if named is not None:
                    out["osv"].update(osv for osv in (str(named), self._same(named)) if osv not in self.places)
        out["member"] = self._members_missing(facts, self.members, RECALLED["member"])  # every record of the person
        for fact in facts:
            if fact.type in ("GrantClosed", "GrantWithdrawn") and fact.subject not in self.projects:
                out["grant"].add(fact.subject)
        return out

    def recall(self, facts: Iterable[Fact]) -> None:
        """Learn, without counting them again, earlier facts of the entities :meth:`missing` named (in recorded order, the
        OSVs' mappings first: a participation or project counts in its OSV's district as the merges known now place it)."""
        for fact in sorted((f for f in facts if self.happened(f)), key=lambda f: (f.type != "OSVMapped", f.order)):
            if fact.type == "OSVMapped":
                self._place(fact)
            elif fact.type == "ParticipantEnrolled":
                self._enrol(fact)
            elif fact.type == "ParticipantWithdrew":
                self._withdraw(fact)
            elif fact.type == "MemberLeft":
                self._leave(fact)
            elif fact.type in CORRECTED:
                self._recall_correction(fact)
            elif fact.type == "FundGranted" and fact.data.get("kind") == "seed_fund" and self._grant_id(fact) not in self.grants_withdrawn:
                self._new_project(fact, self.closures.get(self._grant_id(fact)))
            elif fact.type == "GrantWithdrawn":
                self._forget_project(self._grant_id(fact))
            elif fact.type == "GrantClosed" and self._grant_id(fact) not in self.closures:
                self._close(self._grant_id(fact), fact.occurred_on.toordinal())

    def _recall_unknown(self, facts: Iterable[Fact]) -> None:
        """:meth:`recall` the facts of the OSVs, members and grants this tally does not know yet (a restored one); those it
        knows it knows whole."""
        osvs, members, grants = set(self.places), set(self.members), set(self.projects)
        self.recall(
            f for f in facts
            if (f.type == "OSVMapped" and str(f.data.get("osv_id")) not in osvs)
            or (f.type in RECALLED["member"] and self._person(f.data.get("member_id")) not in members)
            or (f.type in RECALLED["grant"] and self._grant_id(f) not in grants)
        )

    def _count(self, part: str, fact: Fact, delta: int | Decimal = 1, *, osv: str | None = None, district: str | None = None,
               day: date | None = None, segment: int | None = None, at: Mapping[str, Any] | None = None) -> None:
        if not delta:
            return
        if day is not None and not self._counted_on(day):  # a day a fact names, not its own (:mod:`.daycut`)
            return
        place = district if district is not None else self.places.get(self._same(osv), UNKNOWN)
        counter = (part, self.segment(day or fact.occurred_on) if segment is None else segment, place)
        self.counters[counter] += delta
        if self.traces is not None:
            self.traces.append(Trace(counter, delta, fact, at))

    def _place(self, fact: Fact) -> str:
        district = str(fact.data.get("district") or UNKNOWN)
        self.places[str(fact.data["osv_id"])] = district
        self.zones[district] = str(fact.data.get("zone") or UNKNOWN)
        return district

    def _osv_mapped(self, fact: Fact) -> None:
        self._count("osvs_identified/value", fact, district=self._place(fact))

    def _dissolved_on(self, osv: str) -> int | None:
        """The day (ordinal) the OSV, or the one it was merged into, dissolved; None if neither did."""
        return min((self.dissolved[o] for o in self._chain(osv) if o in self.dissolved), default=None)

    def _registered(self, fact: Fact) -> None:
        self._count("osvs_registered_ruos/value", fact, osv=fact.data.get("osv_id"))

    # Agents of change (their participations: :class:`~.participation.AgentsOfChange`) --------------------------

    def _took_part(self, fact: Fact) -> None:
        change = self._enrol if fact.type == "ParticipantEnrolled" else self._withdraw
        self._refigure(fact, (), [self._person(fact.data.get("member_id"))], lambda: change(fact))

    def _member_left(self, fact: Fact) -> None:
        _membership("members_left")(self, fact)
        self._refigure(fact, (), [self._person(fact.data.get("member_id"))], lambda: self._leave(fact))

    def _refigure(self, fact: Fact, grants: Iterable[str], members: Iterable[str], change: Callable[[], Any]) -> None:
        """Make a change to projects and members (ending, moving, starting them) and count what it changed, as ``fact``'s."""
        projects = {grant: self._project_counts(grant) for grant in grants}
        people = {m: (self._active(self.members[m]), self._open_groups(self.members[m]), [list(p) for p in self.members[m][2]])
                  if m in self.members else ({}, set(), []) for m in members}
        change()
        for grant, (counted, open_before) in projects.items():
            now, open_now = self._project_counts(grant)
            for (district, segment), delta in [*((c, 1) for c in now - counted), *((c, -1) for c in counted - now)]:
                self._count("projects_active/value", fact, delta, district=district, segment=segment)
            if open_before != open_now:
                for place, delta in ((open_before, -1), (open_now, 1)):
                    if place is not None:
                        self.open[("projects_active/value", place)] += delta
        for member_id, (before, open_before, took_part) in people.items():
            member = self.members.get(member_id)
            if member is not None:
                self._agent_changed(member, before, open_before, fact, took_part)

    # Projects: a seed-fund grant counts in every segment from its grant to its closure, or its OSV's dissolution.

    @staticmethod
    def _grant_id(fact: Fact) -> str:
        return str(fact.data.get("grant_id") or fact.subject)

    def _project_counts(self, grant: str) -> tuple[set[tuple[str, int]], str | None]:
        """Where and in which segments a project counts (its total, :data:`EVER`, included), and where it is still open-ended."""
        project = self.projects.get(grant)
        if project is None:
            return set(), None
        district, start, closed, osv = project
        ends = [day for day in (closed, self._dissolved_on(osv)) if day is not None]
        end = min(ends, default=None)
        if end is not None and end < start:
            return {(district, EVER)}, None
        last = self.segment(end) if end is not None else self.last_segment
        return {(district, EVER), *((district, s) for s in range(self.segment(start), last + 1))}, (district if end is None else None)

    def _new_project(self, fact: Fact, closed: int | None) -> None:
        grant, osv = self._grant_id(fact), str(fact.data["osv_id"])
        self.projects[grant] = [self.places.get(self._same(osv), UNKNOWN), fact.occurred_on.toordinal(), closed, osv]
        self.projects_of[osv].add(grant)

    def _support(self, fact: Fact) -> None:
        """The OSV was granted support, was paid a tranche or handed goods: supported in the segment of that day."""
        osv = self._same(fact.data["osv_id"])
        before = self._once_before("osvs_supported", (osv,))
        self.supported.setdefault(osv, [self.places.get(osv, UNKNOWN), {}])[1].setdefault(self.segment(fact.occurred_on), fact.event_id)
        self._once_changed("osvs_supported", fact, before)

    def _granted(self, fact: Fact) -> None:
        d = fact.data
        if self._grant_id(fact) in self.grants_withdrawn:  # never in recorded order (the withdrawal comes after): defensive
            return
        self._support(fact)
        if d.get("kind") != "seed_fund":
            return
        district, amount, currency = self.places.get(self._same(d["osv_id"]), UNKNOWN), Decimal(str(d.get("amount", "0"))), d.get("currency")
        closed = self.closures.get(self._grant_id(fact))
        self._refigure(fact, [self._grant_id(fact)], (), lambda: self._new_project(fact, closed))
        self._count("projects_new/value", fact, district=district)
        if currency in ("PEN", "USD"):
            self._count(f"seed_funds_granted_{currency.lower()}/value", fact, amount, district=district)

    def _grant_closed(self, fact: Fact) -> None:
        """End the project that day, and its agents' participations in it (:mod:`.participation`)."""
        grant, closed = self._grant_id(fact), fact.occurred_on.toordinal()
        if grant in self.closures:  # closed once
            return
        project = self.projects.get(grant)
        if project is None:  # goods, a grant withdrawn: no project, no one taking part in it is counted (a seed fund's
            self._close(grant, closed)  # grant is folded before its closure, or recalled first by a restored tally)
            return
        self._refigure(fact, [grant], self._enrolled_in(grant, project[3], fact), lambda: self._close(grant, closed))

    def _close(self, grant: str, closed: int) -> None:
        self.closures[grant] = closed
        if grant in self.projects:
            self.projects[grant][2] = closed

    def _contact_lost(self, fact: Fact) -> None:
        osv = self._same(fact.data["osv_id"])
        before = self._once_before("osvs_contact_lost", (osv,))
        self.lost.setdefault(osv, [self.places.get(osv, UNKNOWN), {}])[1].setdefault(self.segment(fact.occurred_on), fact.event_id)
        self._once_changed("osvs_contact_lost", fact, before)

    def _dissolved(self, fact: Fact) -> None:
        """Count the dissolution, and end the OSV's projects and its agents' participations that day (records merged into it included)."""
        osv, day = str(fact.data.get("osv_id")), fact.occurred_on.toordinal()
        self._count("osvs_dissolved/value", fact, osv=osv)
        if self.dissolved.get(osv, day + 1) <= day:
            return
        group = self._group(osv)
        if not self.complete:
            self._recall_unknown(self._earlier(frozenset(group), fact))
        grants, members = self._of(group)
        self._refigure(fact, grants, members, lambda: self.dissolved.__setitem__(osv, day))

    def _pb_submitted(self, fact: Fact) -> None:
        self._count("participatory_budget/submitted", fact, osv=fact.data.get("osv_id"))

    def _pb_decided(self, fact: Fact) -> None:
        d = fact.data
        submission, osv, outcome = str(d.get("submission_id")), d.get("osv_id"), d.get("outcome")
        if outcome in ("accepted", "funded") and submission not in self.pb_accepted:
            self.pb_accepted.add(submission)
            self._count("participatory_budget/accepted", fact, osv=osv)
        if outcome == "funded" and submission not in self.pb_funded:
            self.pb_funded.add(submission)
            self._count("participatory_budget/funded", fact, osv=osv)
            currency = d.get("currency")
            if currency in ("PEN", "USD") and d.get("amount_funded") is not None:  # each currency apart, as seed funds are (tester 208 F2)
                self._count(f"participatory_budget/amount_funded_{currency.lower()}", fact, Decimal(str(d["amount_funded"])), osv=osv)

    # -- saving -------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything folded so far but the cache, as plain JSON values (for a checkpoint)."""
        return {
            "bounds": self.bounds,
            "counters": [[p, s, d, str(v) if isinstance(v, Decimal) else v] for (p, s, d), v in self.counters.items() if v],
            "zones": self.zones,
            "supported": {osv: [d, list(segs.items())] for osv, (d, segs) in self.supported.items()},
            "lost": {osv: [d, list(segs.items())] for osv, (d, segs) in self.lost.items()},
            "closures": self.closures,
            "withdrawn": sorted(self.withdrawn),
            "grants_withdrawn": sorted(self.grants_withdrawn),
            "pb_accepted": sorted(self.pb_accepted),
            "pb_funded": sorted(self.pb_funded),
            "merged": self.merged,
            "members_merged": self.members_merged,
            "dissolved": self.dissolved,
            "reached": self.reached,
            "listed": self.listed,
            "last": None if self.last is None else [self.last[0].isoformat(), *self.last[1:]],
            "latest_day": self.latest_day,
            "open": [[part, place, n] for (part, place), n in self.open.items() if n],
        }

    @classmethod
    def restore(cls, state: Mapping[str, Any], phases: Sequence[Phase], lookup: Lookup = _no_lookup, until: date | None = None) -> Tally:
        """A tally that goes on from a saved state, cut by ``phases`` (and at ``until``, as :class:`Tally` is: a state that
        counted nothing after that day).

        ``phases`` must cut the calendar as they did then, or only add
        boundaries after every day the state counted (:func:`recuttable`):
        then the state's last segment is split, and each new segment starts
        with the members and projects still open. Raises ValueError otherwise.
        """
        tally = cls(phases, lookup, until=until)
        saved = list(state["bounds"])
        recut = saved != tally.bounds
        if recut and not recuttable(saved, state.get("latest_day"), tally.bounds, "open" in state):
            raise ValueError("the saved tally was cut by other phases, with days counted after the new ones")
        tally.complete = False
        tally.counters.update({(p, s, d): Decimal(v) if v.__class__ is str else v for p, s, d, v in state["counters"]})
        tally.zones = dict(state["zones"])
        tally.supported = {osv: [d, {int(s): e for s, e in segs}] for osv, (d, segs) in state["supported"].items()}
        tally.lost = {osv: [d, {int(s): e for s, e in segs}] for osv, (d, segs) in state["lost"].items()}
        tally.closures = dict(state["closures"])
        tally.withdrawn = set(state["withdrawn"])
        tally.grants_withdrawn = set(state.get("grants_withdrawn", ()))  # none in a checkpoint of a version before withdrawals
        tally.pb_accepted = set(state["pb_accepted"])
        tally.pb_funded = set(state["pb_funded"])
        tally.merged = dict(state.get("merged", {}))
        tally.members_merged = dict(state.get("members_merged", {}))  # none in a checkpoint of a version before member merges
        tally.dissolved = {osv: int(day) for osv, day in state.get("dissolved", {}).items()}
        tally.reached = {p: [n, s, dict(seen)] for p, (n, s, seen) in state.get("reached", {}).items()}
        tally.listed = {record: {a: list(how) for a, how in activities.items()} for record, activities in state.get("listed", {}).items()}
        last = state.get("last")
        tally.last = None if last is None else (datetime.fromisoformat(last[0]), last[1], int(last[2]), last[3])
        tally.latest_day = int(state.get("latest_day") or 0)
        for part, place, n in state.get("open", []):
            tally.open[(part, place)] = n
        if recut:
            for segment in range(len(saved) + 1, tally.last_segment + 1):
                for (part, place), n in tally.open.items():
                    tally.counters[(part, segment, place)] += n
        return tally


def recuttable(saved: Sequence[int], latest_day: int | None, bounds: Sequence[int], keeps_open: bool = True) -> bool:
    """Whether a tally saved cut at ``saved`` (day ordinals) can be re-cut at ``bounds`` without folding again.

    It can when ``bounds`` only add boundaries after ``latest_day``, the latest
    day it counted anything on (and the state says what is still open): every
    fact keeps its segment, and only the last, open-ended one is split.
    """
    saved, bounds = list(saved), list(bounds)
    return (
        keeps_open
        and latest_day is not None
        and len(bounds) > len(saved)
        and bounds[: len(saved)] == saved
        and latest_day < bounds[len(saved)]
    )


def _money_moved(name: str, amount_field: str) -> Callable[[Tally, Fact], None]:
    """Sum an amount into ``<name>_pen`` or ``<name>_usd`` by its currency; the OSV that received it was supported that day."""

    def handle(tally: Tally, fact: Fact) -> None:
        tally._support(fact)
        currency = fact.data.get("currency")
        if currency in ("PEN", "USD"):
            amount = Decimal(str(fact.data.get(amount_field, "0")))
            tally._count(f"{name}_{currency.lower()}/value", fact, amount, osv=fact.data.get("osv_id"))

    return handle


def _membership(name: str) -> Callable[[Tally, Fact], None]:
    """Count a member joining or leaving, by nationality and sex (and reason, when leaving)."""

    def handle(tally: Tally, fact: Fact) -> None:
        d = fact.data
        osv = d.get("osv_id")
        for part in ("total", f"by_nationality.{nationality_group(d.get('nationality'))}", f"by_sex.{d.get('sex')}"):
            tally._count(f"{name}/{part}", fact, osv=osv)
        if name == "members_left":
            tally._count(f"members_left_by_reason/{d.get('reason')}", fact, osv=osv)

    return handle


_HANDLERS: dict[str, Callable[[Tally, Fact], None]] = {
    "OSVMapped": Tally._osv_mapped,
    "OSVMappingDateCorrected": Tally._mapping_date_corrected,
    "RUOSRegistered": Tally._registered,
    "RUOSRegistrationCorrected": Tally._registration_corrected,
    "RUOSApplicationObserved": Tally._observed,
    "RUOSObservationWithdrawn": Tally._observation_withdrawn,
    "ParticipantEnrolled": Tally._took_part,
    "ParticipantWithdrew": Tally._took_part,
    "FundGranted": Tally._granted,
    "GrantClosed": Tally._grant_closed,
    "GrantWithdrawn": Tally._grant_withdrawn,
    "GoodsDelivered": _money_moved("goods_delivered", "total_value"),
    "DisbursementMade": _money_moved("disbursed", "amount"),
    "ActivityReported": Tally._activity_reported,
    "ActivityWithdrawn": Tally._activity_withdrawn,
    "MemberJoined": _membership("members_joined"),
    "MemberLeft": Tally._member_left,
    "MemberNationalityCorrected": Tally._corrected,
    "MemberSexCorrected": Tally._corrected,
    "MemberJoiningDateCorrected": Tally._joining_corrected,
    "ContactLost": Tally._contact_lost,
    "OSVDissolved": Tally._dissolved,
    "OSVMerged": Tally._osv_merged,
    "MemberMerged": Tally._member_merged,
    "MembershipMerged": Tally._membership_merged,
    "FollowUpMeetingHeld": Tally._meeting,
    "ActionItemCompleted": Tally._action_completed,
    "FollowUpMeetingWithdrawn": Tally._meeting_withdrawn,
    "ParticipatoryBudgetSubmitted": Tally._pb_submitted,
    "ParticipatoryBudgetDecided": Tally._pb_decided,
}


# --------------------------------------------------------------------------
# The reference: fold everything
# --------------------------------------------------------------------------


def activities_in(facts: Iterable[Fact]) -> Lookup:
    """Find an activity's report among ``facts`` by its id."""
    reports = {str(f.data.get("activity_id") or f.subject): f for f in facts if f.type == "ActivityReported"}
    return reports.get


def histories_in(facts: Iterable[Fact]) -> History:
    """:data:`History` among ``facts``: what the read model's query finds, from a list."""
    ordered = sorted(facts, key=lambda f: f.order)

    def history(osvs: frozenset[str], before: Fact) -> list[Fact]:
        earlier = [f for f in ordered if f.order < before.order]
        about = [f for f in earlier if str(f.data.get("osv_id")) in osvs]
        members = {str(f.data.get("member_id")) for f in about if f.type in RECALLED["member"]}
        grants = {Tally._grant_id(f) for f in about if f.type in RECALLED["grant"]}
        found = [
            f for f in earlier
            if str(f.data.get("osv_id")) in osvs
            or (f.type in RECALLED["member"] and str(f.data.get("member_id")) in members)
            or (f.type in RECALLED["grant"] and Tally._grant_id(f) in grants)
        ]
        named, ids = {str(f.data.get("osv_id")) for f in found}, {f.event_id for f in found}
        return [f for f in earlier if f.event_id in ids or (f.type == "OSVMapped" and str(f.data.get("osv_id")) in named)]

    return history


def tally_of(facts: Iterable[Fact], trace: bool = False, until: date | None = None) -> tuple[Tally, list[Phase]]:
    ordered = sorted(facts, key=lambda f: f.order)
    phases = phases_in(ordered)
    return Tally(phases, activities_in(ordered), trace, histories_in(ordered), until).fold(ordered), phases


def report(
    facts: Iterable[Fact], by: Breakdown | None = None, within: Within = None, today: date | None = None, zones: Sequence[str] = ZONES
) -> dict[str, Any]:
    """Indicators per phase (by the date things happened) and over everything, from every fact given (``within``: those districts';
    ``today``: the cut's day, which gives each phase its status, and leaves out the facts dated after it, :mod:`.daycut`;
    ``zones``: the programme's, each shown by zone counted in or not)."""
    tally, phases = tally_of(facts, until=today)
    return tally.report(phases, by, within, today, zones)


def evidence(
    facts: Iterable[Fact], name: str, phase_code: str, group: str | None = None, within: Within = None, today: date | None = None,
    zones: Sequence[str] = ZONES,
) -> dict[str, Any]:
    """The facts that make one figure (a phase's or the total, optionally one zone's or district's; ``within``: those districts';
    ``today``: a phase not started by then has none, and no fact dated after it makes one; ``zones``: the programme's)."""
    facts = list(facts)
    tally, phases = tally_of(facts, trace=True, until=today)
    return tally.evidence(phases, name, phase_code, group, {f.event_id: f for f in facts}, within, today, zones)
