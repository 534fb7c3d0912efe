"""Two records of one person merged, in the tally (engagement's ``MemberMerged``, tester 184 F3). Pure: no I/O.

A person registered twice counted as two people wherever the indicators count people: as an agent of change (by
nationality and sex) and as a person reached at activities (``beneficiaries_direct``). From the merge on, the record
merged away is its survivor's person: its participations and departures are the survivor's, and where both were
counted (a segment and group in which each took part, or was reached) the person counts once. A report as of a moment
before the merge still counts two, as it did then; a signed phase the merge changes shows a restatement naming it.
Engagement publishes one ``MemberMerged`` per OSV either record was a member of: the first is applied, the others find
it done. Later facts naming the record merged away (a departure from one of its memberships, an activity listing it,
a withdrawal of one that did) count as the survivor's.

An activity recorded listing both records (before the merge, or before engagement refused a merged record's place
among participants: tester 187 F1) listed the person twice: from the merge on it counts one attendance of theirs, not
two (``attendances``, and the 3W row's people reached: :func:`listed_again`), as ``beneficiaries_direct`` counts one
person. For that the tally keeps, of each member record an activity lists, where and when it was held and how it listed
them (``listed``, saved with the checkpoints); the attendance taken back is the one listed later of the two, under the
nationality and sex the activity listed it with (attendances stay as each activity's rows counted them). Withdrawing
the activity later takes back its rows less those listed again, so the two add up.

``members_joined`` and ``members_left`` count joinings and departures, one per stay in an OSV, not people: a person
who joined two OSVs joined twice, merged or not, so ``MemberMerged`` moves neither. One stay recorded twice (the person
registered again in the same OSV under a corrected document) was two joinings of one stay: engagement merges the
duplicate's stay into the person's with a ``MembershipMerged`` (helper 311), and the tally takes its joining back from
``members_joined`` (total, nationality group, sex), in the segment of its ``joined_on``, in the OSV's district (the
survivor's, after an OSV merge), as a corrected joining date moves one (:mod:`.corrections`): the past restated, a
signed phase showing a restatement naming it, a report as of before it still counting two. The merged stay never
leaves (engagement refuses its departure): the one stay ends once, with the survivor's ``MemberLeft``. A departure
recorded on the duplicate's stay before the merge refuses the merge, so ``members_left`` never counts one twice.

A mixin of :class:`~.tally.Tally`, which keeps ``members``, ``agents_of`` and ``reached`` and counts (``_count``,
``_refigure``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from typing import Any

from services.reporting.domain.indicators import Fact, nationality_group


def listed_again(participants: Sequence[Mapping[str, Any]], person: Callable[[object], str]) -> list[tuple[str, str]]:
    """The (nationality group, sex) of each participant an activity lists after another record of the same person (by
    ``person``, which follows merges): each an attendance its rows count that is none (see the module)."""
    seen: set[str] = set()
    again = []
    for listed in participants:
        who = person(listed.get("person_id"))
        if who in seen:
            again.append((nationality_group(listed.get("nationality")), str(listed.get("sex"))))
        seen.add(who)
    return again


class MemberMerges:
    """What :class:`~.tally.Tally` does when one member record is merged into another (see the module)."""

    members_merged: dict[str, str]
    """Member record merged away -> the member it was merged into (state: saved with the checkpoints)."""
    listed: dict[str, dict[str, list[Any]]]
    """Member record -> {activity listing it, not withdrawn: [district, day held (ordinal), place in the list, nationality
    group, sex]} (state: saved with the checkpoints)."""
    members: dict[str, list[Any]]
    agents_of: dict[str, set[str]]
    reached: dict[str, list[Any]]
    traces: list[Any] | None
    lookup: Callable[[str], Fact | None]
    # and, from the tally: _count, _refigure

    def _person(self, member_id: object) -> str:
        """The member a record was merged into, followed to the last (the record itself when never merged)."""
        person, seen = str(member_id), set()
        while person in self.members_merged and person not in seen:
            seen.add(person)
            person = self.members_merged[person]
        return person

    def _records_of(self, person: str) -> set[str]:
        """The person's records: the member and every record merged into it, directly or through others."""
        return {person} | {record for record in self.members_merged if self._person(record) == person}

    def _member_merged(self, fact: Fact) -> None:
        """Count the record merged away as its survivor's person from now on (see the module)."""
        d = fact.data
        duplicate, survivor = str(d.get("member_id")), self._person(d.get("into_member_id"))
        if duplicate in self.members_merged or survivor == duplicate:
            return  # one event per OSV of the two records: the first applies the merge
        twice = self._listed_both(self._records_of(duplicate), self._records_of(survivor))
        self.members_merged[duplicate] = str(d.get("into_member_id"))
        for activity, (district, day, _, nationality, sex) in twice:
            at = self._held_at(activity, district)
            for part in ("total", f"by_nationality.{nationality}", f"by_sex.{sex}"):
                self._count(f"attendances/{part}", fact, -1, district=district, day=date.fromordinal(day), at=at)
        if duplicate in self.members:
            self._refigure(fact, (), [duplicate, survivor], self._agents_joined(duplicate, survivor))
        self._reached_joined(duplicate, survivor, fact)

    def _membership_merged(self, fact: Fact) -> None:
        """Count the merged stay's joining no more, on the day it was counted (see the module); a tally cut at a day
        counts nothing for a joining after it (:mod:`.daycut`: it had not happened)."""
        d = fact.data
        joined_on = date.fromisoformat(str(d.get("joined_on")))
        group = nationality_group(d.get("nationality"))
        for part in ("total", f"by_nationality.{group}", f"by_sex.{d.get('sex')}"):
            self._count(f"members_joined/{part}", fact, -1, osv=d.get("osv_id"), day=joined_on)

    def _held_at(self, activity: str, district: str) -> dict[str, Any] | None:
        """Where an activity was held (its OSV and district, as its report names them), for the evidence to name the
        attendance a merge takes back there rather than the merge's OSV (tester 239 F2); None when not tracing."""
        if self.traces is None:
            return None
        report = self.lookup(activity)
        d = {} if report is None else report.data
        return {"osv_id": d.get("osv_id"), "district": district, "municipality_id": d.get("municipality_id")}

    def _listed_both(self, duplicate: set[str], survivor: set[str]) -> list[tuple[str, list[Any]]]:
        """Of each activity listing a record of both persons, the entry listed later of the first of each: the attendance
        the merge takes back (the module), with the activity's id."""
        firsts: dict[str, list[list[Any]]] = {}
        for records in (duplicate, survivor):
            entries: dict[str, list[Any]] = {}
            for record in records:
                for activity, entry in self.listed.get(record, {}).items():
                    if activity not in entries or entry[2] < entries[activity][2]:
                        entries[activity] = entry
            for activity, entry in entries.items():
                firsts.setdefault(activity, []).append(entry)
        return [(activity, max(both, key=lambda entry: entry[2])) for activity, both in firsts.items() if len(both) == 2]

    def _attended_once(self, activity: Fact, sign: int, because: Fact, district: str) -> None:
        """Count (sign 1) or take back (-1) an activity's participants as the person they are now: the rows counted a person
        listed by two records twice (:func:`listed_again`), who attended once; keep or forget where it lists members."""
        participants, activity_id = activity.data.get("participants") or [], str(activity.data.get("activity_id") or activity.subject)
        for nationality, sex in listed_again(participants, self._person):
            for part in ("total", f"by_nationality.{nationality}", f"by_sex.{sex}"):
                self._count(f"attendances/{part}", because, -sign, district=district, day=activity.occurred_on)
        for index, listed in enumerate(participants):
            if listed.get("member"):
                record = str(listed.get("person_id"))
                if sign > 0:
                    entry = [district, activity.occurred_on.toordinal(), index, nationality_group(listed.get("nationality")), str(listed.get("sex"))]
                    self.listed.setdefault(record, {})[activity_id] = entry
                elif self.listed.get(record, {}).pop(activity_id, None) is not None and not self.listed[record]:
                    del self.listed[record]

    def _agents_joined(self, duplicate: str, survivor: str) -> Callable[[], None]:
        """The change that makes the duplicate's participations and departures the survivor's (for ``_refigure``, which
        counts what it changed: the segments only the duplicate took part in stay, those both did count once)."""

        def change() -> None:
            record = self.members[duplicate]
            kept = self.members.setdefault(survivor, [record[0], record[1], [], []])
            kept[2].extend(record[2])
            kept[3].extend(record[3])
            for participation in record[2]:
                self.agents_of[participation[4]].add(survivor)
            record[2], record[3] = [], []

        return change

    def _reached_joined(self, duplicate: str, survivor: str, fact: Fact) -> None:
        """Where both records were reached (a group and segment), take the duplicate back: one person reached there."""
        record = self.reached.pop(duplicate, None)
        if record is None:
            return
        kept = self.reached.get(survivor)
        if kept is None:
            self.reached[survivor] = record
            return
        nationality, sex, seen = record
        for key, activities in seen.items():
            if kept[2].get(key, 0) > 0:
                group, _, segment = key.rpartition("|")
                for part in ("total", f"by_nationality.{nationality}", f"by_sex.{sex}"):
                    self._count(f"beneficiaries_direct/{part}", fact, -1, district=group, segment=int(segment))
            kept[2][key] = kept[2].get(key, 0) + activities

    def _members_missing(self, facts: Iterable[Fact], known: Iterable[str], types: Iterable[str]) -> set[str]:
        """The member records a restored tally must recall for these facts: for each fact about a member (of ``types``, or
        a merge, both its records), every record of the person it counts as, unless the tally knows the person."""
        known, types = set(known), set(types)
        out: set[str] = set()
        for fact in facts:
            if fact.type == "MemberMerged":
                named = [fact.data.get("member_id"), fact.data.get("into_member_id")]
            elif fact.type in types:
                named = [fact.subject]
            else:
                continue
            for member in named:
                person = self._person(member)
                if person not in known:
                    out |= self._records_of(person) | {str(member)}
        return out
