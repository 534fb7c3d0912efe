"""A person's nationality or sex rectified (Ley 29733 art. 20), or a membership's joining date corrected, in the tally:
counted again under the corrected value, or on the corrected day, in every phase. Pure: no I/O.

Engagement publishes, per membership of the person, ``MemberNationalityCorrected`` or ``MemberSexCorrected`` with
the previous and the new value and the days its ``MemberJoined`` and ``MemberLeft`` were counted on (``joined_on``,
``left_on``). The value was wrong from the start, so the correction restates the past: from the moment it is recorded,
every phase counts the person as corrected, the phases before it included. A report as of a moment before it was
recorded still shows what was known then (its facts are folded in recorded order, and the correction is not among
them). What moves:

- ``members_joined`` and ``members_left`` (by nationality and by sex, tester 184 F5): the membership's joining, in the
  segment of ``joined_on``, and its departure, in that of ``left_on``, from the previous nationality group (or sex) to
  the new one, in the OSV's district (the survivor's, after a merge). A departure recorded after the correction carries
  the corrected value already.
- ``agents_of_change`` (by nationality and by sex): every segment, total and open-ended group the member is counted
  in, from the value the tally holds for them (``members``) to the new one. The first membership's correction moves
  them; the others find it done, and a district's or zone's evidence cites the correction of the membership there.
- ``beneficiaries_direct`` (by nationality and by sex): where the member, listed by their id at activities, was
  counted as a person reached (``reached``). An activity withdrawn later takes them back under the corrected value.

``attendances`` stay as each activity's report counted its rows: a report states who attended in its own rows, and
a withdrawal takes back exactly those rows.

Engagement publishes ``MemberJoiningDateCorrected`` when the day a membership began was recorded wrong (a year
mistyped, a paper list typed in with the typing day), with the previous and the corrected day and the nationality and
sex the joining is counted under now. The member always joined on the corrected day, so, as above, the past is
restated: ``members_joined`` (its total, its nationality group and its sex) moves from the segment of
``previous_joined_on`` to that of ``joined_on``, in the OSV's district (the survivor's, after a merge), and a report as
of before the correction shows it where it was. Nothing else moves: ``members_left`` counts on ``left_on``, and ``agents_of_change`` on the days of
the enrolments, never before joining (engagement refuses a joining date after them). The age band it may move is
``MemberAgeBandCorrected``'s, which no indicator counts.

Registry publishes ``OSVMappingDateCorrected`` and ``RUOSRegistrationCorrected`` when the day an OSV was mapped, or
registered in the RUOS, was recorded wrong: ``osvs_identified`` (and so ``ruos_registration_rate``'s denominator), or
``osvs_registered_ruos`` (and so its running sum and the rate's numerator), moves from the segment of the previous day
to that of the corrected one, in the OSV's district, the past restated as above.

A mixin of :class:`~.tally.Tally`, which keeps ``members``, ``reached``
and ``open`` and counts (``_count``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from services.reporting.domain.indicators import Fact, nationality_group
from services.reporting.domain.tallyreading import EVER

CORRECTED: Mapping[str, tuple[str, int]] = {
    "MemberNationalityCorrected": ("nationality", 0),
    "MemberSexCorrected": ("sex", 1),
}
"""Each correction's field, and where the tally keeps it for a member (``members[id][i]``) and a person reached
(``reached[id][i]``)."""


def corrected_value(fact: Fact) -> tuple[str, str, str]:
    """The part a correction moves (``by_nationality``, ``by_sex``), and the previous and the new value, as the tally
    counts them (a nationality as its group: VE, PE or other)."""
    field, _ = CORRECTED[fact.type]
    was, now = fact.data.get(f"previous_{field}"), fact.data.get(field)
    if field == "nationality":
        return "by_nationality", nationality_group(was), nationality_group(now)
    return "by_sex", str(was), str(now)


class Corrections:
    """What :class:`~.tally.Tally` does when a person's nationality or sex is rectified."""

    members: dict[str, list[Any]]
    reached: dict[str, list[Any]]
    open: dict[tuple[str, str], int]
    places: dict[str, str]
    traces: list[Any] | None
    restated_steps: dict[tuple[str, int, str], tuple[set[str], list[Any]]]
    """When tracing: per person, field and value restated to, the places claimed so far and the steps of the restatement."""
    # and, from the tally: _count, _active, _open_groups, _same, _person, _place, zone_of, segment, counts_on

    def _corrected(self, fact: Fact) -> None:
        """Count the membership's joining and departure, the member as an agent of change and as a person reached under
        the corrected value, in every segment they were counted in (see the module)."""
        part, was, now = corrected_value(fact)
        d = fact.data
        if was != now:
            for name, day in (("members_joined", d.get("joined_on")), ("members_left", d.get("left_on"))):
                if day is not None:
                    on = date.fromisoformat(str(day))
                    self._count(f"{name}/{part}.{was}", fact, -1, osv=d.get("osv_id"), day=on)
                    self._count(f"{name}/{part}.{now}", fact, 1, osv=d.get("osv_id"), day=on)
        member_id = self._person(d.get("member_id"))  # a record merged away is its survivor's person
        _, index = CORRECTED[fact.type]
        traces, first = self.traces, len(self.traces or ())
        member = self.members.get(member_id)
        if member is not None and member[index] != now:
            self._agent_restated(member, index, part, now, fact)
        person = self.reached.get(member_id)
        if person is not None and person[index] != now:
            self._reached_restated(person, index, part, now, fact)
        if traces is not None:
            self._cite_own_places(fact, (member_id, index, now), traces[first:])

    def _cite_own_places(self, fact: Fact, restated: tuple[str, int, str], made: list[Any]) -> None:
        """Have the evidence of each district and zone a person was restated in cite the correction of their membership
        there (only in a tally asked to explain itself, :attr:`traces`): its row names that OSV and district.

        The first membership's correction restates the person everywhere (``made``: the steps it counted); a later one
        of the same value finds it done and takes over those steps counted in its own OSV's district and zone, unless an
        earlier correction's OSV is there too. All of Lima (``@*``) keeps the first: the person is restated there once.
        """
        district = self.places.get(self._same(fact.data.get("osv_id")))
        own = set() if district is None else {f"@district:{district}", f"@zone:{self.zone_of(district)}"}
        if made:
            self.restated_steps[restated] = (own, made)
            return
        earlier = self.restated_steps.get(restated)
        if earlier is None:
            return
        claimed, steps = earlier
        for step in steps:
            if step.counter[2] in own - claimed:
                step.fact = fact
        claimed |= own

    def _joining_corrected(self, fact: Fact) -> None:
        """Count the membership's joining on the corrected day, no longer on the previous one (see the module); a tally cut
        at a day counts neither if it is later (:mod:`.daycut`: the joining had not happened, or has not yet)."""
        d = fact.data
        was, now = (date.fromisoformat(str(d.get(field))) for field in ("previous_joined_on", "joined_on"))
        if self.segment(was) == self.segment(now) and self.counts_on(was) == self.counts_on(now):
            return
        group = nationality_group(d.get("nationality"))
        for part in ("members_joined/total", f"members_joined/by_nationality.{group}", f"members_joined/by_sex.{d.get('sex')}"):
            self._count(part, fact, -1, osv=d.get("osv_id"), day=was)
            self._count(part, fact, 1, osv=d.get("osv_id"), day=now)

    def _mapping_date_corrected(self, fact: Fact) -> None:
        """Count the OSV as identified on the corrected day, no longer on the previous one (registry's correction carries
        both, and the district: nothing to recall); a tally cut at a day counts neither if it is later (:mod:`.daycut`)."""
        was, now = (date.fromisoformat(str(fact.data[field])) for field in ("previous_mapped_on", "mapped_on"))
        if self.segment(was) != self.segment(now) or self.counts_on(was) != self.counts_on(now):
            district = self._place(fact)
            self._count("osvs_identified/value", fact, -1, district=district, day=was)
            self._count("osvs_identified/value", fact, 1, district=district, day=now)

    def _registration_corrected(self, fact: Fact) -> None:
        """Count the OSV as registered in the RUOS on the corrected day, no longer on the previous one (registry's
        ``RUOSRegistrationCorrected`` carries both), in the OSV's district as the registration was (the survivor's, after a
        merge); a tally cut at a day counts neither if it is later (:mod:`.daycut`). A correction of the number, the
        resolution or the term alone moves nothing here."""
        if "registered_on" not in (fact.data.get("corrected") or ()):
            return
        was, now = (date.fromisoformat(str(fact.data[field])) for field in ("previous_registered_on", "registered_on"))
        if self.segment(was) != self.segment(now) or self.counts_on(was) != self.counts_on(now):
            osv = fact.data.get("osv_id")
            self._count("osvs_registered_ruos/value", fact, -1, osv=osv, day=was)
            self._count("osvs_registered_ruos/value", fact, 1, osv=osv, day=now)

    def _recall_correction(self, fact: Fact) -> None:
        """Learn a correction recalled for a member (see :meth:`~.tally.Tally.recall`), without counting it again."""
        _, _, now = corrected_value(fact)
        member = self.members.get(self._person(fact.data.get("member_id")))
        if member is not None:
            member[CORRECTED[fact.type][1]] = now

    def _agent_restated(self, member: list[Any], index: int, part: str, now: str, fact: Fact) -> None:
        """Move an agent of change's counts (each segment and total of each group, and what is open-ended) to ``now``."""
        old, new = f"agents_of_change/{part}.{member[index]}", f"agents_of_change/{part}.{now}"
        for group, segments in self._active(member).items():
            for segment in (*segments, EVER):
                self._count(old, fact, -1, district=group, segment=segment)
                self._count(new, fact, 1, district=group, segment=segment)
        for group in self._open_groups(member):
            self.open[(old, group)] -= 1
            self.open[(new, group)] += 1
        member[index] = now

    def _reached_restated(self, person: list[Any], index: int, part: str, now: str, fact: Fact) -> None:
        """Move a person reached (each group and segment an activity still lists them in) to ``now``."""
        old, new = f"beneficiaries_direct/{part}.{person[index]}", f"beneficiaries_direct/{part}.{now}"
        for key in person[2]:
            group, _, segment = key.rpartition("|")
            self._count(old, fact, -1, district=group, segment=int(segment))
            self._count(new, fact, 1, district=group, segment=int(segment))
        person[index] = now
