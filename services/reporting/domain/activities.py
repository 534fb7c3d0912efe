"""Activities in the tally: each activity's beneficiaries and outputs, in its own phase and district. Pure: no I/O.

Engagement's ``ActivityReported`` counts its rows of ``direct_beneficiaries`` as ``attendances`` and, when it lists its
``participants``, each person once per phase and group as ``beneficiaries_direct`` (an activity that gave only counts
adds them as they are, and to the ``aggregate`` part); its indirect beneficiaries and outputs (murals, public spaces
recovered) too. ``ActivityWithdrawn`` takes its report back (less a person it listed twice, counted once:
:mod:`.membermerges`). An activity counts where it was held, whatever its OSV: a merge never moves it.

A mixin of :class:`~.tally.Tally`, which keeps ``withdrawn``, ``reached``, ``zones`` and ``counters``, finds a report
by its activity's id (``lookup``) and counts (``_count``, ``_attended_once``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from services.reporting.domain.indicators import UNKNOWN, Fact, nationality_group
from services.reporting.domain.tallyreading import EVER


class Activities:
    """What :class:`~.tally.Tally` does with an activity reported or withdrawn."""

    withdrawn: set[str]
    reached: dict[str, list[Any]]
    zones: dict[str, str]
    lookup: Callable[[str], Fact | None]
    # and, from the tally: counters, traces, _count, _person, segment, zone_of, happened, _attended_once

    def _activity_reported(self, fact: Fact) -> None:
        if str(fact.data.get("activity_id") or fact.subject) not in self.withdrawn:
            self._activity(fact, 1, fact)

    def _activity_withdrawn(self, fact: Fact) -> None:
        activity_id = str(fact.data.get("activity_id") or fact.subject)
        if activity_id in self.withdrawn:
            return
        self.withdrawn.add(activity_id)
        reported = self.lookup(activity_id)
        if reported is not None and reported.order < fact.order and self.happened(reported):  # already counted: take it back
            self._activity(reported, -1, fact)

    def _activity(self, activity: Fact, sign: int, because: Fact) -> None:
        """Count (sign 1) or take back (sign -1) an activity's beneficiaries and outputs, in its own phase and district.

        Every row of ``direct_beneficiaries`` is attendances. People reached
        count each person once per phase (and once in the total) when the
        activity lists its ``participants``; an activity that gave only counts
        adds them as they are, and also to the ``aggregate`` part.
        """
        d = activity.data
        district = str(d.get("district") or UNKNOWN)
        self.zones.setdefault(district, str(d.get("zone") or UNKNOWN))
        here = self.segment(activity.occurred_on)
        where = {"district": district, "segment": here}
        groups = ("@*", f"@zone:{self.zone_of(district)}", f"@district:{district}")
        segments = (here, EVER)
        participants = d.get("participants") or []
        for row in d.get("direct_beneficiaries") or []:
            n = sign * int(row.get("count", 0))
            parts = ("total", f"by_nationality.{nationality_group(row.get('nationality'))}", f"by_sex.{row.get('sex')}")
            for part in parts:
                self._count(f"attendances/{part}", because, n, **where)
            if not participants and n:
                names = [f"beneficiaries_direct/{part}" for part in (*parts, "aggregate")]
                if self.traces is None:  # the common case, 24 counters per row: straight to them
                    counters = self.counters
                    for group in groups:
                        for segment in segments:
                            for counted in names:
                                counters[(counted, segment, group)] += n
                    continue
                for group in groups:
                    for segment in segments:
                        for counted in names:
                            self._count(counted, because, n, district=group, segment=segment)
        for person in participants:
            self._reach(person, sign, groups, segments, because)
        self._attended_once(activity, sign, because, district)  # a person listed by two records attended once (:mod:`.membermerges`)
        self._count("beneficiaries_indirect/value", because, sign * int(d.get("indirect_beneficiaries") or 0), **where)
        for output in d.get("outputs") or []:
            part = {"mural": "murals/value", "public_space_recovered": "public_spaces_recovered/value"}.get(output.get("kind"))
            if part:
                self._count(part, because, sign * int(output.get("count", 0)), **where)

    def _reach(self, person: Mapping[str, Any], sign: int, groups: Sequence[str], segments: Sequence[int], because: Fact) -> None:
        """A listed participant: counted when first reached in a group and segment, taken back when no activity there lists them any more."""
        pid = self._person(person.get("person_id"))  # a member's record merged away is its survivor's person
        reached = self.reached.setdefault(pid, [nationality_group(person.get("nationality")), str(person.get("sex")), {}])
        nationality, sex, seen = reached
        for group in groups:
            for segment in segments:
                key = f"{group}|{segment}"
                before = seen.get(key, 0)
                seen[key] = before + sign
                if (before == 0 and sign > 0) or (before == 1 and sign < 0):
                    for part in ("total", f"by_nationality.{nationality}", f"by_sex.{sex}"):
                        self._count(f"beneficiaries_direct/{part}", because, sign, district=group, segment=segment)
                if not seen[key]:
                    del seen[key]
