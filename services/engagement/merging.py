"""Two records of one person merged (the :class:`Engagement` application's; tester 184 F3).

Kept apart from :mod:`services.engagement.application` by concern, as :mod:`.forgetting` is: the merge itself, what
follows a merged record to the member it went into (reads, enrolments, meetings, activities), and an erasure that
forgets both.
The rules are the domain's (:mod:`services.engagement.domain.merges`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from services.engagement.domain.memberrules import MembershipNotFoundError, SeveralActiveMembershipsError
from services.engagement.domain.members import Member, Membership
from services.engagement.domain.merges import DuplicateMemberNotFoundError, MergeRefusedError
from services.engagement.domain.roster import Holder, OSVRoster, PresidentSeatTakenError
from shared.preconditions import check_version
from shared.store import retried_on_collision


def held_through(membership: Membership, stays: Mapping[UUID, Membership], *, from_the_later_joining: bool = False) -> Membership:
    """``membership`` as the days it was held: itself, or, merged into another of the person's stays (in ``stays``, by
    id), until that stay's departure, which ends both; ``from_the_later_joining``: from the later of the two joinings
    (the days that bound a change to that stay: :meth:`Merging.stays_bounding`)."""
    into = stays.get(membership.merged_into) if membership.merged_into is not None else None
    if into is None:
        return membership
    joined_on = max(membership.joined_on, into.joined_on) if from_the_later_joining else membership.joined_on
    return dataclasses.replace(membership, joined_on=joined_on, left_on=into.left_on, merged_into=None)


class Merging:
    """:class:`~services.engagement.application.Engagement`'s merges of members (a mixin: ``self`` is the application)."""

    @retried_on_collision
    def merge_members(self, survivor_id: UUID, duplicate_id: UUID, expected: frozenset[int] | None = None) -> Member:
        """The member ``survivor_id``, with the record ``duplicate_id`` of the same person merged into it, today in Lima
        (:meth:`~services.engagement.domain.merges.MemberMerges.merge_into`: ``MemberMerged`` on the duplicate, public,
        one per OSV either was a member of; ``DuplicateMergedIn`` on the survivor, private). A stay of the duplicate
        merged into the person's same stay (``MembershipMerged``) frees its seat in its OSV's roster, saved with the rest
        (``OSVDocumentsCounted``): the roster seats the person once.

        The duplicate's document entry leads to the survivor from then on (a lookup or a registration by its document
        finds the survivor); its personal data stays sealed under its own key, forgotten when the survivor is erased.
        Nothing personal is read out: no access log records it. 404 for an unknown ``survivor_id`` (``member_id``) or
        ``duplicate_id``; 412 ``current_version`` when ``expected`` (an ``If-Match``'s versions) does not name the
        survivor's version (:meth:`version_of`); the domain's 409s and 422.
        """
        survivor = self.get_member(survivor_id)  # type: ignore[attr-defined]
        check_version("the member", self.version_of(survivor), expected)
        duplicate = self.load(duplicate_id, Member, DuplicateMemberNotFoundError)  # type: ignore[attr-defined]
        through = self.merged_records(survivor)
        osv_now = {  # two records of one organisation are one OSV (tester 317 F1)
            m.osv_id: self.osvs.now_in(m.osv_id)  # type: ignore[attr-defined]
            for record in (duplicate, survivor, *through) for m in record.memberships.values()
        }
        attended = self._meetings_attended(duplicate)  # type: ignore[attr-defined]  # before the merge: the duplicate's own
        same_stays = duplicate.merge_into(survivor, self.today(), through, osv_now)  # type: ignore[attr-defined]
        self._check_not_merged_past_its_meetings(same_stays, [survivor, *through], attended)
        saved: list[Any] = [duplicate, survivor]
        for membership in same_stays:  # the person sits once: the stay it went into keeps its seat
            roster = self._roster_of(membership.osv_id)  # type: ignore[attr-defined]
            roster.unseat(membership, duplicate.id, duplicate.document_type, self.today())  # type: ignore[attr-defined]
            saved.append(roster)
        own, _ = self._document_index_of(duplicate)  # type: ignore[attr-defined]
        if own is not None:
            own.pass_to(survivor.id)
            saved.append(own)
        self.save(*saved)  # type: ignore[attr-defined]
        return survivor

    def _check_not_merged_past_its_meetings(
        self, merged: list[Membership], records: list[Member], attended: dict[UUID, list[date]]
    ) -> None:
        """409 ``stays_apart`` when a stay of the duplicate merged into one of the person's that has ended was named at a
        meeting of its OSV (``attended``: the duplicate's, before the merge) after that departure: the person was still
        its member then, and merged into the stay that ended they would be none (tester 321 N1: her current membership
        left the roster, no departure counted, and nothing could bring it back)."""
        stays = {m.membership_id: m for record in records for m in record.memberships.values()}
        for mine in merged:
            into = stays.get(mine.merged_into) if mine.merged_into is not None else None
            if into is None or into.left_on is None:
                continue
            organisation = self.osvs.now_in(mine.osv_id)  # type: ignore[attr-defined]
            later = sorted(day for osv, days in attended.items() if self.osvs.now_in(osv) == organisation  # type: ignore[attr-defined]
                           for day in days if day > into.left_on)
            if later:
                raise MergeRefusedError(
                    f"membership {mine.membership_id} of the duplicate is active, and a meeting of its OSV on {later[-1]} named "
                    f"the duplicate after membership {into.membership_id} of member {mine.merged_into_member}, the same stay, "
                    f"ended on {into.left_on}: merged into it, the person would have been no member then. The two records "
                    "say different things of one stay; leave them as they are (a departure is recorded for good)",
                    "stays_apart",
                )

    def merged_records(self, member: Member) -> list[Member]:
        """The records merged into ``member``, in the order they were merged (none for most)."""
        return [self.get_member(duplicate_id) for duplicate_id in member.merged_from]  # type: ignore[attr-defined]

    def version_of(self, member: Member) -> int:
        """The version the member's ``ETag`` gives (``version`` in their read): the events they recorded and those of the
        records merged into them, whose memberships and participations their read shows. It was the member's own alone,
        and stood still when a withdrawal, a role or a departure recorded on a merged record changed what the read shows
        (helper 194). Each of those records only grows, so the sum moves with any change to what the read shows: a tag
        is given to one state only; and since a record merged in adds its own events, none given before the merge
        matches after it."""
        return member.version + sum(record.version for record in self.merged_records(member))

    def membership_recorded_on(self, member: Member, membership_id: UUID) -> Membership:
        """The member's own membership; 404 ``known_membership`` otherwise, naming the record merged into them that holds
        it when one does: the survivor's read lists it (with ``recorded_on``), and a change sent through the survivor was
        told only that it is "not one of this member's" (tester 206)."""
        try:
            return member.membership(membership_id)
        except MembershipNotFoundError:
            holder = next((record.id for record in self.merged_records(member) if membership_id in record.memberships), None)
            raise MembershipNotFoundError(membership_id, holder) from None

    def only_active_membership(self, member: Member) -> tuple[Member, Membership] | None:
        """The person's only active membership and the record it is recorded on: ``member``'s own, or one of a record
        merged into them, as their read lists it; None when ``member`` has none of their own and no record merged into
        them has one (the member's own departure answers). 409 ``one_active_membership`` for a person active in several
        OSVs, counting those of the records merged into them: a departure without its membership closed the member's own
        while the merged record's stayed active, whichever OSV the read showed (tester 232 F3). It lists each, with the
        record it is recorded on when a merged one: it named none, and staff read the member to find them (tester 239 F5)."""
        active = [(record, m) for record in (member, *self.merged_records(member)) for m in record.active_memberships]
        if len(active) > 1:
            raise SeveralActiveMembershipsError(member.id, [(m, None if record is member else record.id) for record, m in active])
        return active[0] if active else None

    def check_seat(self, roster: OSVRoster, membership: Membership) -> None:
        """:meth:`~services.engagement.domain.roster.OSVRoster.check_seat`, its 409 ``one_president`` naming the person:
        a president's membership recorded on a record merged into another is named by the member it went into, with the
        record its role change or departure is sent to (:class:`~services.engagement.domain.roster.Holder`). The 409
        named the merged record as "this OSV's president" (tester 239 F4). Reads the holder only when refused."""
        try:
            roster.check_seat(membership.membership_id, membership.role)
        except PresidentSeatTakenError as taken:
            record = self.find(taken.holder, Member)  # type: ignore[attr-defined]
            if record is None or record.merged_into is None:
                raise
            raise PresidentSeatTakenError(Holder.of(record, taken.membership_id)) from None

    def as_held(self, member: Member, memberships: list[Membership]) -> list[Membership]:
        """``memberships`` (of ``member`` and the records merged into them) as the days they were held: a stay merged into
        another of the person's (one stay recorded twice) was held from its joining until that stay's departure, which
        ends both; on its own it never ends, and a survivor who left was a member on every later day through it (helper
        311). The person's records are read only when one of them is merged."""
        if all(m.merged_into is None for m in memberships):
            return memberships
        person = self.person_of(member)
        stays = {m.membership_id: m for record in (person, *self.merged_records(person)) for m in record.memberships.values()}
        return [held_through(m, stays) for m in memberships]

    def records_of_person(self, member: Member) -> list[Member]:
        """``member``'s person's records: the member a record was merged into (or ``member``) and the records merged into
        it, ``member`` itself as it stands (changed and not saved yet)."""
        person = self.person_of(member)
        return [member if record.id == member.id else record for record in (person, *self.merged_records(person))]

    def stays_bounding(self, records: Sequence[Member], osv_id: UUID) -> list[Membership]:
        """The stays of ``records`` (one person's, :meth:`records_of_person`) that count as the OSV ``osv_id``'s (its own and
        those of an OSV merged into it), as the days that bound a change to one of them: a stay merged into another of the
        person's is held on the days that one is, from the later of the two joinings until its departure. So a meeting
        naming the duplicate bounds the departure and the joining day of the stay it went into, as one naming the survivor
        does (tester 317 F2: a departure before it, or a joining after it, was taken)."""
        stays = {m.membership_id: m for record in records for m in record.memberships.values()}
        counted = [m for m in stays.values() if m.osv_id == osv_id or self.osvs.now_in(m.osv_id) == osv_id]  # type: ignore[attr-defined]
        return [held_through(m, stays, from_the_later_joining=True) for m in counted]

    def merged_memberships(self, member: Member) -> list[Membership]:
        """The memberships of the records merged into ``member``: the person's too, recorded where they were."""
        return [m for record in self.merged_records(member) for m in record.memberships.values()]

    def check_attendees_not_merged(
        self, attendee_member_ids: Sequence[UUID], found: Mapping[UUID, Member | None], known: Collection[UUID]
    ) -> None:
        """409 ``member_not_merged`` on the first of a meeting's attendees merged into another record (tester 187 F5): the
        person is named by the member it went into, as for any new record of them. One erased or being erased is left
        to the meeting's 422 ``known_member``, which tells nothing of them. ``found``: the attendees as read
        (:meth:`~services.engagement.application.Engagement.members_by_id`); ``known``: those who count
        (:meth:`~services.engagement.application.Engagement.members_of`).

        In the list's order, as an activity's participants are: an attendee before it that the meeting refuses (not
        ``known``, or named twice) leaves the 409 to wait, and the meeting's 422 names every attendee it refuses. A
        merged record was answered 409 wherever it stood, a stranger before it unsaid (tester 196 F4)."""
        named: set[UUID] = set()
        merged = self.merged_among(found)
        for index, member_id in enumerate(attendee_member_ids):
            member = found.get(member_id)
            if member is not None and member_id in merged:
                member.check_not_merged(f"attendee_member_ids.{index}", f"member {member_id}", "name member {into} instead")
            if member_id not in known or member_id in named:
                return  # the meeting's 422 (Fieldwork.hold_meeting), as an activity's participants' (Fieldwork._participants)
            named.add(member_id)

    @staticmethod
    def merged_among(found: Mapping[UUID, Member | None]) -> set[UUID]:
        """Those of the members ``found`` merged into another record, and neither erased nor being erased: a meeting's
        attendees answered 409 ``member_not_merged`` (:meth:`check_attendees_not_merged`), never 422 ``known_member``."""
        return {
            member_id for member_id, member in found.items()
            if member is not None and member.merged_into is not None and member.erased_on is None and member.erasure_begun_on is None
        }

    def person_of(self, member: Member) -> Member:
        """The member a record was merged into, or the record itself: whose person a read shows."""
        return member if member.merged_into is None else self.get_member(member.merged_into)  # type: ignore[attr-defined]

    def erase_personal_data(self, member_id: UUID, erased_on: date) -> Member:
        """As :meth:`~services.engagement.forgetting.Forgetting.erase_personal_data`, for the person: the records merged
        into the member are erased first (each dated no earlier than its first joining), then the member, so that an
        erasure cut short is finished by asking again. A record merged into another is 409 ``member_not_merged``: erase
        the member it went into, which forgets both."""
        member = self.get_member(member_id)  # type: ignore[attr-defined]
        member.check_not_merged()
        if member.erased_on is None:
            self.check_erased_by_today(erased_on)  # type: ignore[attr-defined]
            member.check_erasure_date(erased_on)  # a refused erasure deletes nothing, the duplicates' included
            for record in self.merged_records(member):
                if record.erased_on is None:
                    first_joined = min(m.joined_on for m in record.memberships.values())
                    super().erase_personal_data(record.id, max(erased_on, first_joined))  # type: ignore[misc]
        return super().erase_personal_data(member_id, erased_on)  # type: ignore[misc]
