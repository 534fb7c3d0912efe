"""A grant withdrawn as entered in error in the tally (funding's ``GrantWithdrawn``, tester 177 F1): it counts nowhere from
the withdrawal on. Pure: no I/O.

A grant withdrawn was no project as recorded: the agents of change enrolled in it count no more from the withdrawal on
(their participation there is forgotten; one who also takes part in another project counts through that one), and an
enrolment in it recorded after the withdrawal (engagement heard of it late) counts nowhere. Engagement keeps those
enrolments as recorded; staff enrol the people in the grant made in its place, if any.

A mixin of :class:`~.tally.Tally`, which keeps ``grants_withdrawn``, ``places``, ``projects``, ``projects_of``,
``members``, ``agents_of``, ``supported`` and ``latest_day``, counts (``_count``), follows merge chains (``_same``,
``_group``), asks ``history`` for earlier facts and re-figures projects and members (``_refigure``). A tally restored from
a checkpoint recalls a withdrawn grant's facts as any grant's (:data:`~.tally.RECALLED`), the OSV's members as a
dissolution does, and never makes a project or a participation of a grant it knows withdrawn.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from services.reporting.domain.indicators import UNKNOWN, Fact


class GrantWithdrawals:
    """What :class:`~.tally.Tally` does when funding withdraws a grant entered in error."""

    grants_withdrawn: set[str]
    places: dict[str, str]
    projects: dict[str, list[Any]]
    projects_of: dict[str, set[str]]
    members: dict[str, list[Any]]
    agents_of: dict[str, set[str]]
    complete: bool
    supported: dict[str, list[Any]]
    latest_day: int
    history: Callable[[frozenset[str], Fact], list[Fact]]
    # and, from the tally: _count, _same, _group, _grant_id, _refigure, _recall_unknown, segment, _once_before, _once_changed,
    # _earlier (``history``'s facts by the day the tally is cut at, :mod:`.daycut`)

    SUPPORTING = ("FundGranted", "DisbursementMade", "GoodsDelivered")
    """The facts that make an OSV supported in a segment (``Tally._support``)."""

    def _forget_project(self, grant: str) -> None:
        """Know the grant's project no more (a withdrawn grant was none)."""
        project = self.projects.pop(grant, None)
        if project is not None:
            self.projects_of[project[3]].discard(grant)

    def _enrolled_in(self, grant: str, osv: str, because: Fact) -> set[str]:
        """The members with a participation in the grant's project (enrolments name the grant's OSV as the grant does); a
        restored tally first recalls the members of the OSV's organisation it does not know (as a dissolution does)."""
        if not self.complete:
            self._recall_unknown(self._earlier(frozenset(self._group(self._same(osv))), because))
        return {m for m in self.agents_of.get(osv, ()) if m in self.members and any(p[0] == grant for p in self.members[m][2])}

    def _forget_participations(self, grant: str, members: set[str]) -> None:
        """The members took no part in the grant's project (a withdrawn grant was none)."""
        for member_id in members:
            participations = self.members[member_id][2]
            participations[:] = [p for p in participations if p[0] != grant]

    def _grant_withdrawn(self, fact: Fact) -> None:
        """Take back a grant entered in error (funding's ``GrantWithdrawn``, which repeats what its ``FundGranted`` said):
        its seed funds and its project (new in its grant's phase, active in every phase it spanned) count no more, nor do
        its agents of change (in no other project: each counts where their other participations make them), and its OSV
        counts as supported only where its other grants, tranches and goods make it. Withdrawn once; nothing had been
        paid out on it (funding refuses the withdrawal otherwise)."""
        d, grant = fact.data, self._grant_id(fact)
        if grant in self.grants_withdrawn:
            return
        members = self._enrolled_in(grant, str(d["osv_id"]), fact)  # first: a recalled enrolment in a grant withdrawn is none
        self.grants_withdrawn.add(grant)
        granted_on = date.fromisoformat(str(d["granted_on"]))
        self.latest_day = max(self.latest_day, granted_on.toordinal())

        def forget() -> None:
            self._forget_project(grant)
            self._forget_participations(grant, members)

        self._refigure(fact, [grant], members, forget)
        if d.get("kind") == "seed_fund":
            district = self.places.get(self._same(d["osv_id"]), UNKNOWN)
            self._count("projects_new/value", fact, -1, district=district, day=granted_on)
            if d.get("currency") in ("PEN", "USD"):
                amount = -Decimal(str(d.get("amount", "0")))
                self._count(f"seed_funds_granted_{str(d['currency']).lower()}/value", fact, amount, district=district, day=granted_on)
        self._support_again(self._same(d["osv_id"]), fact)

    def _support_again(self, osv: str, because: Fact) -> None:
        """Work out again in which segments the OSV (with the records merged into it) was supported, from its facts recorded
        before ``because`` (``history``), the grants withdrawn left out."""
        if osv not in self.supported:
            return
        group = self._group(osv)
        segments: dict[int, str] = {}
        for f in self._earlier(frozenset(group), because):
            if f.type in self.SUPPORTING and str(f.data.get("osv_id")) in group and self._grant_id(f) not in self.grants_withdrawn:
                segments.setdefault(self.segment(f.occurred_on), f.event_id)
        before = self._once_before("osvs_supported", (osv,))
        if segments:
            self.supported[osv][1] = segments
        else:
            del self.supported[osv]
        self._once_changed("osvs_supported", because, before)  # the evidence's line for the support taken back (tester 239 F3)

