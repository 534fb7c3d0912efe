"""Agents of change in the tally: each member's participations in projects, and the segments they count in. Pure: no I/O.

A member counts in each segment one of their participations overlaps. A participation runs from its enrolment to the
first of: its withdrawal, the project's closure (``GrantClosed``: tester 247 F1, an agent of a project closed in one
phase counted in every phase after until they left the OSV), the member's leaving that OSV, the OSV's dissolution
(each day included); one in a grant
withdrawn as entered in error counts nowhere from the grant's withdrawal on (:mod:`.withdrawals`). A mixin of
:class:`~.tally.Tally`, which keeps ``members``, ``agents_of``, ``places`` and ``open`` and counts (``_count``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from services.reporting.domain.indicators import UNKNOWN, Fact, nationality_group
from services.reporting.domain.tallyreading import EVER


class AgentsOfChange:
    """The participations of each member (``members``: ``[nationality, sex, [[grant, district, from, to|None, osv], ...],
    [[osv, left on], ...]]``, days as ordinals) and what a change of them counts."""

    members: dict[str, list[Any]]
    closures: dict[str, int]
    agents_of: dict[str, set[str]]
    grants_withdrawn: set[str]
    places: dict[str, str]
    open: dict[tuple[str, str], int]
    traces: list[Any] | None
    # and, from the tally: _same, _person, _dissolved_on, segment, last_segment, zone_of, _count

    def _end_of(self, member: list[Any], participation: list[Any]) -> int | None:
        """The last day (ordinal) of a participation, or None while it goes on."""
        grant, _, start, end, osv = participation
        ends = [] if end is None else [end]
        closed = self.closures.get(grant)  # every closure folded, a restored tally's too (its projects may be unknown)
        if closed is not None:
            ends.append(closed)
        same = self._same(osv)
        ends.extend(day for where, day in member[3] if day >= start and self._same(where) == same)
        dissolved = self._dissolved_on(osv)
        if dissolved is not None:
            ends.append(dissolved)
        return min(ends, default=None)

    def _spans(self, member: list[Any]) -> Iterator[tuple[str, range]]:
        """Each participation's district and segments (open-ended: to the last one); one that ends before it starts has none."""
        for participation in member[2]:
            start, end = participation[2], self._end_of(member, participation)
            if end is not None and end < start:
                continue
            yield participation[1], range(self.segment(start), (self.segment(end) if end is not None else self.last_segment) + 1)

    def _open_groups(self, member: list[Any]) -> set[str]:
        """The groups (as :meth:`_active` names them) where the member still takes part, with no end yet."""
        return {
            group
            for participation in member[2]
            if self._end_of(member, participation) is None
            for group in ("@*", f"@zone:{self.zone_of(participation[1])}", f"@district:{participation[1]}")
        }

    def _active(self, member: list[Any]) -> dict[str, set[int]]:
        """Per group (``@*``, ``@zone:…``, ``@district:…``), the segments the member took part in."""
        out: dict[str, set[int]] = defaultdict(set)
        for district, span in self._spans(member):
            for group in ("@*", f"@zone:{self.zone_of(district)}", f"@district:{district}"):
                out[group].update(span)
        return out

    def _member(self, fact: Fact) -> list[Any]:
        d = fact.data
        return self.members.setdefault(self._person(d["member_id"]), [nationality_group(d.get("nationality")), str(d.get("sex")), [], []])

    def _enrol(self, fact: Fact) -> list[Any]:
        d = fact.data
        member = self._member(fact)
        grant, osv = str(d.get("grant_id")), str(d.get("osv_id"))
        if grant in self.grants_withdrawn:  # recorded after the withdrawal, before engagement heard of it: no project
            return member
        if not any(p[0] == grant and self._end_of(member, p) is None for p in member[2]):  # else: already taking part in that project
            member[2].append([grant, self.places.get(self._same(osv), UNKNOWN), fact.occurred_on.toordinal(), None, osv])
            self.agents_of[osv].add(self._person(d["member_id"]))
        return member

    def _withdraw(self, fact: Fact) -> list[Any] | None:
        member = self.members.get(self._person(fact.data["member_id"]))
        grant = str(fact.data.get("grant_id"))
        for participation in reversed(member[2] if member else []):
            if participation[0] == grant and participation[3] is None:
                participation[3] = fact.occurred_on.toordinal()
                break
        return member

    def _leave(self, fact: Fact) -> None:
        """The member left an OSV: their participations there end that day (:meth:`_end_of`)."""
        self._member(fact)[3].append([str(fact.data.get("osv_id")), fact.occurred_on.toordinal()])

    def _agent_changed(
        self, member: list[Any], before: dict[str, set[int]], open_before: set[str], fact: Fact, took_part: list[list[Any]] | None = None
    ) -> None:
        """Count a member's change of participation: the segments (and open-ended groups) gained and lost, and when they were new.
        ``took_part``: the member's participations before, for the evidence to name where each change happened."""
        after = self._active(member)
        parts = ("agents_of_change/total", f"agents_of_change/by_nationality.{member[0]}", f"agents_of_change/by_sex.{member[1]}")
        open_after = self._open_groups(member)
        for group in open_before ^ open_after:
            for part in parts:
                self.open[(part, group)] += 1 if group in open_after else -1
        for group in set(before) | set(after):
            was, now = before.get(group, set()), after.get(group, set())
            changes = [(s, 1) for s in now - was] + [(s, -1) for s in was - now] + ([(EVER, 1)] if now and not was else [])
            changes += [(EVER, -1)] if was and not now else []
            at = {1: self._taking_part_at(group, member[2], took_part or []), -1: self._taking_part_at(group, took_part or [], member[2])}
            for segment, delta in changes:
                for part in parts:
                    self._count(part, fact, delta, district=group, segment=segment, at=at[delta])
            # new in the phase: the member's first segment of the group (and, in the total, everyone once)
            first_was, first_now = min(was, default=None), min(now, default=None)
            if first_was != first_now:
                for segment, delta in ((first_was, -1), (first_now, 1)):
                    if segment is not None:
                        self._count("agents_of_change/new", fact, delta, district=group, segment=segment, at=at[delta])
            if bool(now) != bool(was):
                self._count("agents_of_change/new", fact, 1 if now else -1, district=group, segment=EVER, at=at[1 if now else -1])

    def _taking_part_at(self, group: str, these: list[list[Any]], others: list[list[Any]]) -> dict[str, Any] | None:
        """Where a member counted (or counts now) in a group, for the evidence (tester 239 F2): the OSV and district of one of
        ``these`` participations there, preferring one not among ``others`` (the one the change made or ended); None when
        not tracing or none is there (the fact's own OSV is named then)."""
        if self.traces is None:
            return None
        there = [p for p in these if group in ("@*", f"@zone:{self.zone_of(p[1])}", f"@district:{p[1]}")]
        changed = [p for p in there if p not in others] or there
        return None if not changed else {"osv_id": changed[0][4], "district": changed[0][1], "municipality_id": None}

