"""A merge in the tally: the record merged away stops counting as an OSV, and across districts all it counted moves
to the survivor's district. Pure: no I/O.

A mixin of :class:`~.tally.Tally`, which keeps ``merged``, ``places``, ``projects``, ``projects_of``, ``members``,
``agents_of``, ``supported``, ``lost`` and ``latest_day``, and counts (``_count``), follows merge chains (``_same``,
``_chain``), asks ``history`` for earlier facts and re-figures projects and agents (``_refigure``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from services.reporting.domain.indicators import UNKNOWN, Fact

MOVED_TYPES = frozenset({
    "RUOSRegistered", "RUOSApplicationObserved", "FundGranted", "GoodsDelivered", "DisbursementMade", "MemberJoined", "MemberLeft",
    "OSVDissolved", "FollowUpMeetingHeld", "ActionItemCompleted", "ParticipatoryBudgetSubmitted", "ParticipatoryBudgetDecided",
    "MemberNationalityCorrected", "MemberSexCorrected",  # what they restated of the record's joinings and departures moves with them
    "MemberJoiningDateCorrected",  # a joining moved to the segment of its corrected day moves with it
    "MembershipMerged",  # and a joining taken back, one stay recorded twice
    "RUOSRegistrationCorrected",  # so does a registration moved to the segment of its corrected day
    "GrantWithdrawn",  # what it took back of the record's grants moves with them
    "FollowUpMeetingWithdrawn",  # what it took back of the record's meetings moves with them
    "RUOSObservationWithdrawn",  # and what it took back of the record's observations
})
"""The facts whose counters a merge across districts moves to the survivor's district, as they were counted. Not moved:
the record's identification (the merge takes it back where it was counted), projects and agents of change (moved
with the cache, :meth:`Merges._osv_merged`), supported and out-of-contact OSVs (counted once per OSV), and activities,
which count where they were held."""
NOT_MOVED = frozenset({"osvs_identified", "projects_active", "agents_of_change"})


class Merges:
    """What :class:`~.tally.Tally` does when a duplicate record is merged into the OSV it duplicates."""

    merged: dict[str, str]
    places: dict[str, str]
    projects: dict[str, list[Any]]
    projects_of: dict[str, set[str]]
    members: dict[str, list[Any]]
    agents_of: dict[str, set[str]]
    supported: dict[str, list[Any]]
    lost: dict[str, list[Any]]
    latest_day: int
    complete: bool
    # and, from the tally: _earlier (history), bounds, until, _same, _chain, _recall_unknown, _refigure, _count, fold, traces,
    # _once_before, _once_changed

    def _osv_merged(self, fact: Fact) -> None:
        """One organisation recorded twice: take back the duplicate's identification, and count the rest of it as the survivor's.

        Its support and contact loss become the survivor's (each OSV counts
        once per phase). Across districts, every fact of the record (and of
        those merged into it before) counts in the survivor's district from
        the merge on: its projects and agents of change, and each counter its
        facts made (:data:`MOVED_TYPES`), moved as they were counted. Its
        activities stay where they were held. Facts recorded before the merge
        keep counting as they did (a report as of then shows what was known);
        from the merge on the organisation counts once.
        """
        d = fact.data
        duplicate, into = str(d["osv_id"]), str(d["into_osv_id"])
        survivor = self._same(into)
        if duplicate in self.merged or survivor == duplicate:
            return
        district = str(d.get("district") or self.places.get(duplicate, UNKNOWN))
        was, now = self.places.get(duplicate, district), self.places.get(survivor, UNKNOWN)
        moves = was != now
        group = self._group(duplicate)
        history = self._earlier(frozenset(group), fact) if moves else []
        if moves and not self.complete:
            self._recall_unknown(history)
        grants, members = self._of(group) if moves else (set(), set())

        def merge() -> None:
            self.merged[duplicate] = into
            for grant in grants:
                self.projects[grant][0] = now
            for member in members:
                for participation in self.members[member][2]:
                    if participation[4] in group:
                        participation[1] = now

        self._refigure(fact, grants, members, merge)
        mapped_on = date.fromisoformat(str(d["mapped_on"]))
        self.latest_day = max(self.latest_day, mapped_on.toordinal())
        self._count("osvs_identified/value", fact, -1, district=district, day=mapped_on)
        for once, name in ((self.supported, "osvs_supported"), (self.lost, "osvs_contact_lost")):
            before = self._once_before(name, (duplicate, survivor))
            taken = once.pop(duplicate, None)
            if taken is None:
                continue
            kept = once.setdefault(survivor, [self.places.get(survivor, taken[0]), {}])
            for segment, event in taken[1].items():
                kept[1].setdefault(segment, event)
            self._once_changed(name, fact, before)  # the evidence's line for two OSVs counted as one (:mod:`.countedonce`)
        if moves:
            self._move([f for f in history if str(f.data.get("osv_id")) in group], was, now)

    def _move(self, facts: Iterable[Fact], was: str, now: str) -> None:
        """Move what these facts (:data:`MOVED_TYPES`) counted from district ``was`` to ``now``, each step as its fact's."""
        alone = type(self)((), trace=True)
        alone.bounds, alone.until = self.bounds, self.until
        alone.fold(f for f in facts if f.type in MOVED_TYPES)
        for trace in alone.traces or []:
            part, segment, _ = trace.counter
            if part.partition("/")[0] in NOT_MOVED:
                continue
            self._count(part, trace.fact, -trace.delta, district=was, segment=segment)
            self._count(part, trace.fact, trace.delta, district=now, segment=segment)

    def _group(self, osv: str) -> set[str]:
        """The OSV and every record merged into it, directly or through others."""
        return {osv} | {other for other in self.merged if osv in self._chain(other)}

    def _of(self, osvs: Iterable[str]) -> tuple[set[str], set[str]]:
        """The seed-fund grants of these OSVs (as the grants name them), and the members who took part in a project there."""
        grants: set[str] = set()
        members: set[str] = set()
        for osv in osvs:
            grants |= self.projects_of.get(osv, set())
            members |= self.agents_of.get(osv, set())
        return grants, members
