"""A grant withdrawn as entered in error in the tally (funding's ``GrantWithdrawn``, tester 177 F1): it counts nowhere from
the withdrawal on. Pure: no I/O.

A mixin of :class:`~.tally.Tally`, which keeps ``grants_withdrawn``, ``places``, ``projects``, ``projects_of``,
``supported`` and ``latest_day``, counts (``_count``), follows merge chains (``_same``, ``_group``), asks ``history`` for
earlier facts and re-figures projects (``_refigure``). A tally restored from a checkpoint recalls a withdrawn grant's facts
as any grant's (:data:`~.tally.RECALLED`), and never makes a project of a grant it knows withdrawn.
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
    supported: dict[str, list[Any]]
    latest_day: int
    history: Callable[[frozenset[str], Fact], list[Fact]]
    # and, from the tally: _count, _same, _group, _grant_id, _refigure, segment

    SUPPORTING = ("FundGranted", "DisbursementMade", "GoodsDelivered")
    """The facts that make an OSV supported in a segment (``Tally._support``)."""

    def _forget_project(self, grant: str) -> None:
        """Know the grant's project no more (a withdrawn grant was none)."""
        project = self.projects.pop(grant, None)
        if project is not None:
            self.projects_of[project[3]].discard(grant)

    def _grant_withdrawn(self, fact: Fact) -> None:
        """Take back a grant entered in error (funding's ``GrantWithdrawn``, which repeats what its ``FundGranted`` said):
        its seed funds and its project (new in its grant's phase, active in every phase it spanned) count no more, and its
        OSV counts as supported only where its other grants, tranches and goods make it. Withdrawn once; nothing had been
        paid out on it (funding refuses the withdrawal otherwise)."""
        d, grant = fact.data, self._grant_id(fact)
        if grant in self.grants_withdrawn:
            return
        self.grants_withdrawn.add(grant)
        granted_on = date.fromisoformat(str(d["granted_on"]))
        self.latest_day = max(self.latest_day, granted_on.toordinal())
        if d.get("kind") == "seed_fund":
            district = self.places.get(self._same(d["osv_id"]), UNKNOWN)
            self._refigure(fact, [grant], (), lambda: self._forget_project(grant))
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
        for f in self.history(frozenset(group), because):
            if f.type in self.SUPPORTING and str(f.data.get("osv_id")) in group and self._grant_id(f) not in self.grants_withdrawn:
                segments.setdefault(self.segment(f.occurred_on), f.event_id)
        if segments:
            self.supported[osv][1] = segments
        else:
            del self.supported[osv]

