"""Engagement's domain: two records of one person merged (tester 184 F3). Pure.

A person registered twice (a Venezuelan registered with her PTP in one OSV and, after the PTP's renewal as a CPP, with
the CPP in another) is two :class:`~.members.Member` records. A merge makes them one person, as registry merges two
records of one OSV: both keep their history under their own ids (records stay where they were recorded), the
*duplicate* takes no new record of the person (a membership, an enrolment, a correction: 409 ``member_not_merged``
naming the *survivor*), and reads, lookups and reports follow the survivor.

A mixin of :class:`~.members.Member`, one of its direct bases: its events are the member's (``Member.MemberMerged``,
``Member.DuplicateMergedIn``). ``MemberMerged`` is public (pseudonymous ids, an OSV, a day: nothing personal), one per
OSV either record was ever a member of, each under that OSV's municipality, so every partner that received one of the
person's memberships learns of it (as an erasure's tombstones go out); ``DuplicateMergedIn`` is the survivor's side,
private.

The rules refuse rather than guess: no record is merged into itself, into a record merged away, nor when it has records
merged into it (no chains: merge into the one that stays); neither may be erased or being erased (nothing left to tell
it is the same person); both must give the same nationality and sex (the public terms every event of theirs was
counted under: correct the wrong one first); the merged person's stays in one OSV never overlap, and a project enrols
them once. No error repeats anyone's data.

One stay recorded twice (the person registered again in the same OSV under a corrected document: a Kobo form edited
with the DNI fixed, a typo'd registration) is the commonest duplicate. A duplicate's stay that overlaps one stay of the
person in that OSV (or in another record of it, merged in registry: one organisation) is *merged into* it
(``Member.MembershipMerged``, public: count this joining no more) when it is active and holds the plain member role:
it is no longer active, counts no departure (it never ended: it was the same stay) and frees its roster seat; the stay
it went into goes on, and ends, for both. Refused, ``stays_apart``: a duplicate's stay with a departure recorded
(counted in ``members_left`` for good), one overlapping two of the person's stays, or two of the duplicate's
overlapping one; ``no_board_role``: one holding a board role (the board's history is the RUOS's: its role change is
recorded first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from services.engagement.domain.memberrules import AlreadyEnrolledError
from shared.errors import ConflictError, NotFoundError, RuleViolationError

if TYPE_CHECKING:
    from services.engagement.domain.members import Member, Membership, Participation


class DuplicateMemberNotFoundError(NotFoundError):
    """404 for a ``duplicate_id`` naming no member (its field the body's, as the path's member is ``member_id``)."""

    def __init__(self, member_id: object) -> None:
        super().__init__(f"member {member_id} is not known to engagement", field="duplicate_id", rule="known_member")


class MergeWithItselfError(RuleViolationError):
    def __init__(self) -> None:
        super().__init__("a member cannot be merged into itself", field="duplicate_id", rule="another_member")


class MemberMergedError(ConflictError):
    """409 ``member_not_merged``: the record was merged into another, which takes the person's records now. ``advice``
    says what to do with the member it went into (``{into}`` stands for its id): record it there, list or name it."""

    def __init__(
        self, into_member_id: object, merged_on: date, *, field: str = "member_id", which: str = "this member",
        advice: str = "record it on member {into}",
    ) -> None:
        super().__init__(
            f"{which} was merged into member {into_member_id} on {merged_on.isoformat()} (one person recorded twice): "
            + advice.format(into=into_member_id),
            field=field,
            rule="member_not_merged",
        )
        self.into_member_id = into_member_id


class EnrolledThroughMergedRecordError(ConflictError):
    """409 ``enrol_once``: a record merged into the member was enrolled in the grant's project, so the person is."""

    def __init__(self, record_id: UUID, enrolled_on: date) -> None:
        super().__init__(
            f"member {record_id}, merged into this member, was enrolled in the grant's project on {enrolled_on.isoformat()}: "
            "a project enrols a person once (that enrolment stays where it was recorded, its withdrawal too)",
            field="grant_id",
            rule="enrol_once",
        )


class MergeRefusedError(ConflictError):
    """409: the two records cannot be merged as they stand (``rule`` says why, the message what to do first)."""

    def __init__(self, detail: str, rule: str, field: str = "duplicate_id") -> None:
        super().__init__(detail, field=field, rule=rule)


class StayMergedError(ConflictError):
    """409 ``stay_not_merged``: the membership was merged into another stay of the person (the same stay recorded twice),
    which takes its departure, its role and its joining day: send them there."""

    def __init__(self, membership: Membership) -> None:
        into = f"/members/{membership.merged_into_member}/memberships/{membership.merged_into}"
        merged_on = membership.merged_on.isoformat() if membership.merged_on is not None else "its merge"
        super().__init__(
            f"membership {membership.membership_id} was merged on {merged_on} into membership {membership.merged_into} "
            f"of member {membership.merged_into_member}, the same stay recorded twice: it neither ends nor changes on its "
            f"own; record its departure, role or joining day on that one ({into})",
            field="membership_id",
            rule="stay_not_merged",
        )


class LeftBeforeMergedStayJoinedError(RuleViolationError):
    """422 ``not_before_joined_on`` on ``left_on``: a departure dated before the joining of a stay merged into the one it
    ends (the same stay recorded twice, which ends with it): the person was a member through it from that day."""

    def __init__(self, left_on: date, merged: Membership) -> None:
        super().__init__(
            f"left_on {left_on.isoformat()} is before membership {merged.membership_id} joined on {merged.joined_on.isoformat()}: "
            "that stay was merged into this one (the same stay recorded twice) and ends with it, so the person was a member "
            f"through it from that day; the departure can be {merged.joined_on.isoformat()} at the earliest",
            field="left_on",
            rule="not_before_joined_on",
        )


def check_left_after_merged_stays(membership: Membership, left_on: date, stays: Iterable[Membership]) -> None:
    """422 ``not_before_joined_on`` (:class:`LeftBeforeMergedStayJoinedError`) when ``left_on``, a departure from
    ``membership``, is before the joining of one of ``stays`` (the person's, on any of their records) merged into it,
    naming the latest such joining. A merged stay ends with the one it went into: such a departure made it end before it
    began, and the person's later stay was lost (tester 317 F2)."""
    merged = [m for m in stays if m.merged_into == membership.membership_id and left_on < m.joined_on]
    if merged:
        raise LeftBeforeMergedStayJoinedError(left_on, max(merged, key=lambda m: m.joined_on))


class MemberMerges:
    """Two records of one person merged: a mixin of :class:`~.members.Member` (see the module)."""

    id: UUID
    nationality: str
    sex: str
    erased_on: date | None
    erasure_begun_on: date | None
    memberships: dict[UUID, Membership]
    participations: dict[UUID, Participation]

    merged_into: UUID | None = None
    """The member this record was merged into (it takes no new record of the person), or None."""
    merged_on: date | None = None
    merged_from: tuple[UUID, ...] = ()
    """The records merged into this one, in the order they were merged."""

    class MemberMerged(Aggregate.Event):
        """The duplicate's side of a merge (public): this record is member ``into_member_id``'s person from ``merged_on``.
        ``osv_id``: an OSV either record was a member of, whose municipality the event goes out under."""

        into_member_id: UUID
        osv_id: UUID
        merged_on: date

        def apply(self, aggregate: Any) -> None:
            aggregate.merged_into = self.into_member_id
            aggregate.merged_on = self.merged_on

    class MembershipMerged(Aggregate.Event):
        """The duplicate's stay ``membership_id`` and the person's stay ``into_membership_id`` (recorded on member
        ``into_member_id``: the survivor, or a record merged into it before) in the OSV ``osv_id`` are one stay recorded
        twice: merged into it on ``merged_on`` (public). ``osv_id`` is the duplicate's stay's, where its joining was
        counted: a record of the organisation merged into the other stay's in registry, when it is (tester 317 F1), as
        reporting moves that joining with the OSV merge. ``joined_on``, ``nationality``, ``sex``, ``age_band``: the terms
        its joining is counted under, so a reader takes it back without looking it up."""

        membership_id: UUID
        into_member_id: UUID
        into_membership_id: UUID
        osv_id: UUID
        joined_on: date
        nationality: str
        sex: str
        age_band: str
        merged_on: date

        def apply(self, aggregate: Any) -> None:
            membership = aggregate.memberships[self.membership_id]
            membership.merged_into = self.into_membership_id
            membership.merged_into_member = self.into_member_id
            membership.merged_on = self.merged_on

    class DuplicateMergedIn(Aggregate.Event):
        """The survivor's side of a merge (private): ``duplicate_id``'s records are this person's from ``merged_on``."""

        duplicate_id: UUID
        merged_on: date

        def apply(self, aggregate: Any) -> None:
            aggregate.merged_from = (*aggregate.merged_from, self.duplicate_id)

    def check_not_merged(self, field: str = "member_id", which: str = "this member", advice: str = "record it on member {into}") -> None:
        """409 ``member_not_merged`` (naming the member it went to) once this record was merged into another: a new record
        of the person (a membership, an enrolment, a correction, an erasure, a place among an activity's participants or a
        meeting's attendees) goes to that member. What the record holds is still wound down and corrected where it was
        recorded (a departure, a role, a joining date, a withdrawal). ``advice``: as :class:`MemberMergedError`'s."""
        if self.merged_into is not None and self.merged_on is not None:
            raise MemberMergedError(self.merged_into, self.merged_on, field=field, which=which, advice=advice)

    def check_enrolled_once(self, grant_id: UUID, through: Sequence[MemberMerges] = ()) -> None:
        """409 ``enrol_once`` when the person takes part in the grant's project already: through this record, or one of
        ``through`` (the records merged into it; tester 187 F2), naming it. A withdrawal does not free the place."""
        if grant_id in self.participations:
            raise AlreadyEnrolledError(self.participations[grant_id].enrolled_on)
        for record in through:
            if grant_id in record.participations:
                raise EnrolledThroughMergedRecordError(record.id, record.participations[grant_id].enrolled_on)

    @staticmethod
    def active_membership_through(osv_id: UUID, through: Sequence[MemberMerges]) -> Membership | None:
        """The active membership of the OSV ``osv_id`` held by one of ``through`` (records merged into a member), if any."""
        return next((m for record in through for m in record.memberships.values() if m.active and m.osv_id == osv_id), None)

    def holds_entry(self, holder: UUID | None) -> bool:
        """Whether a document-index entry leading to ``holder`` is this record's own: led to it, or, once merged, to the
        member it was merged into (its document leads there since, :meth:`merge_into`)."""
        return holder is not None and holder in (self.id, self.merged_into)

    def merge_into(
        self, survivor: Member, merged_on: date, through: Sequence[MemberMerges] = (), osv_now: Mapping[UUID, UUID] | None = None
    ) -> list[Membership]:
        """This record and ``survivor`` are one person recorded twice: this one is merged into ``survivor``; the stays of
        this record merged into one of the person's (the same stay recorded twice), in the order recorded.

        422 ``another_member`` for the same record. 409 ``member_not_merged`` for either merged into another already; 409
        ``no_merged_records`` for a duplicate with records merged into it (merge the other way); 409 ``not_erased`` for
        either erased or being erased; 409 ``same_nationality`` or ``same_sex`` when the two differ (correct the wrong one
        first); 409 ``enrol_once`` for a project both take part in. ``through``: the records merged into ``survivor``
        before, whose memberships and projects the person holds too (tester 187 F2).

        A stay of this record that overlaps one of the person's in the same OSV (``survivor``'s or one of ``through``'s)
        is the same stay recorded twice: merged into it when it is active and holds the plain member role
        (:meth:`_same_stays`); 409 ``stays_apart`` when it has a departure recorded, or overlaps two of theirs, or two of
        this record's overlap one of theirs; 409 ``no_board_role`` when it holds a board role. ``osv_now``: the OSV each
        OSV id's records belong to now, registry's merges of OSVs followed (an id it lacks is its own): two records of
        one organisation are one OSV here (tester 317 F1).

        Records ``MembershipMerged`` on this record for each stay merged (public), then ``MemberMerged``, once per OSV
        either was a member of (in the order they were joined), and ``DuplicateMergedIn`` on ``survivor``.
        """
        if survivor.id == self.id:
            raise MergeWithItselfError
        self.check_not_merged("duplicate_id", f"the duplicate {self.id}")
        survivor.check_not_merged()
        if self.merged_from:
            raise MergeRefusedError(
                f"records were merged into the duplicate {self.id}: merge member {survivor.id} into it instead", "no_merged_records"
            )
        for record, field in ((self, "duplicate_id"), (survivor, "member_id")):
            if record.erased_on is not None or record.erasure_begun_on is not None:
                raise MergeRefusedError(
                    f"member {record.id}'s personal data is erased: nothing tells it is the same person, and it is merged with no one",
                    "not_erased", field,
                )
        for term in ("nationality", "sex"):
            if getattr(self, term) != getattr(survivor, term):
                raise MergeRefusedError(
                    f"the two records give the person a different {term}: correct the wrong one first "
                    "(POST /members/{id}/correction), then merge",
                    f"same_{term}",
                )
        same = self._same_stays(survivor, through, osv_now or {})
        for record in (survivor, *through):
            shared = sorted(str(grant) for grant in self.participations if grant in record.participations)
            if shared:
                which = "both records take" if record is survivor else f"the duplicate and member {record.id}, merged into {survivor.id}, take"
                raise MergeRefusedError(f"{which} part in the project of grant {shared[0]}: a project enrols a person once", "enrol_once")
        for mine, (holder, theirs) in same:
            self.trigger_event(  # type: ignore[attr-defined]
                self.MembershipMerged, membership_id=mine.membership_id, into_member_id=holder, into_membership_id=theirs.membership_id,
                osv_id=mine.osv_id, joined_on=mine.joined_on, nationality=self.nationality, sex=self.sex, age_band=mine.age_band,
                merged_on=merged_on,
            )
        osv_ids = dict.fromkeys(m.osv_id for m in sorted(
            [*self.memberships.values(), *survivor.memberships.values()], key=lambda m: m.joined_on
        ))
        for osv_id in osv_ids:
            self.trigger_event(self.MemberMerged, into_member_id=survivor.id, osv_id=osv_id, merged_on=merged_on)  # type: ignore[attr-defined]
        survivor.trigger_event(survivor.DuplicateMergedIn, duplicate_id=self.id, merged_on=merged_on)
        return [mine for mine, _ in same]

    def _same_stays(
        self, survivor: Member, through: Sequence[MemberMerges], osv_now: Mapping[UUID, UUID]
    ) -> list[tuple[Membership, tuple[UUID, Membership]]]:
        """Each stay of this record that overlaps one of the person's in its OSV, with that stay and the record it is
        recorded on: the same stay recorded twice, to be merged into it. The person's stays are ``survivor``'s and
        ``through``'s, less those merged into another already (they are the stay they went into). Stays in two records of
        one organisation (an OSV merged into another, ``osv_now``) are in one OSV.

        Refused rather than guessed, 409 on ``duplicate_id``: ``stays_apart`` when this record's stay has a departure
        recorded (it was counted in ``members_left``, and a stay that ended is not the one that goes on), overlaps two of
        the person's stays, or shares one with another of this record's stays; ``no_board_role`` when it holds a board
        role (:func:`_board_role_held`). The person's stay may have ended: the stay merged into it ends with it."""
        held = [
            (record.id, m) for record in (survivor, *through) for m in record.memberships.values() if m.merged_into is None
        ]
        def osv(m: Membership) -> UUID:
            return osv_now.get(m.osv_id, m.osv_id)

        same = []
        for mine in self.memberships.values():
            theirs = [(holder, m) for holder, m in held if osv(m) == osv(mine) and _overlap(mine, m)]
            if not theirs:
                continue
            holder, stay = theirs[0]
            if len(theirs) > 1:
                raise MergeRefusedError(
                    _overlaps_several(mine, "the duplicate", [m for _, m in theirs], f"member {survivor.id} (and records merged into it)"),
                    "stays_apart",
                )
            mine_too = [m for m in self.memberships.values() if m is not mine and osv(m) == osv(mine) and _overlap(m, stay)]
            if mine_too:
                raise MergeRefusedError(_overlaps_several(stay, f"member {holder}", [mine, *mine_too], "the duplicate"), "stays_apart")
            if mine.left_on is not None:
                raise MergeRefusedError(_stays_overlap(mine, stay, survivor.id), "stays_apart")
            if mine.role.on_board:
                raise MergeRefusedError(_board_role_held(self.id, mine, holder, stay), "no_board_role")
            same.append((mine, (holder, stay)))
        return same

def _stays_overlap(mine: Membership, theirs: Membership, survivor_id: UUID) -> str:
    """``stays_apart``'s message: the duplicate's stay ``mine``, which has a departure recorded, and the survivor's
    ``theirs``, in one OSV, overlap.

    Most often both are one stay recorded twice (the person registered again in the same OSV under another document): a
    duplicate's active stay is merged into the survivor's, but not one whose departure was recorded, counted in
    ``members_left`` for good; and no further departure gets past it, so the message says plainly not to record one. It
    told staff to record the end of the one that ended, and they recorded a departure that never happened (tester 232
    F2). Only a person who truly left and joined again has a departure to record: the earlier stay's, on or before the
    later one's joining day, which the message names; a stay that joined before an earlier one's departure was typed
    with a wrong day.
    """

    def told(membership: Membership, whose: str) -> str:
        until = "active" if membership.left_on is None else f"left on {membership.left_on.isoformat()}"
        return f"membership {membership.membership_id} of {whose} (joined on {membership.joined_on}, {until})"

    said = (
        f"{told(mine, 'the duplicate')} and {told(theirs, f'member {survivor_id}')} "
        "are in the same OSV at the same time. When they are the same stay recorded twice, the two records cannot be "
        "merged: the duplicate's stay has a departure recorded, counted among those who left (members_left) for good, "
        "and only an active stay is merged into the person's other one; leave both as they are, and do not record a "
        "departure to get past this (a departure is counted among those who left, stays recorded for good, and the "
        "merge would still be refused)"
    )
    earlier, later = sorted((mine, theirs), key=lambda m: m.joined_on)
    if earlier.joined_on == later.joined_on:
        return f"{said}: joined the same day, they are one stay recorded twice"
    if earlier.left_on is None:
        return (
            f"{said}. Only if the person truly left the OSV and joined it again is a departure to be recorded: "
            f"membership {earlier.membership_id}'s, dated on or before {later.joined_on} (the later stay's joining "
            "day); then merge"
        )
    return (
        f"{said}. When they are two stays, a day was typed wrong: the later stay joined on {later.joined_on}, before "
        f"the earlier one's departure on {earlier.left_on}; correct the joining day typed wrong, then merge"
    )


def _overlaps_several(one: Membership, ones: str, others: Sequence[Membership], theirs: str) -> str:
    """``stays_apart``'s message when the stay ``one`` of ``ones`` (a record, named) overlaps several stays of ``theirs``
    in its OSV: which one it duplicates is a guess, so nothing is merged."""
    named = ", ".join(
        f"{m.membership_id} (joined on {m.joined_on}, {'active' if m.left_on is None else f'left on {m.left_on}'})" for m in others
    )
    return (
        f"membership {one.membership_id} of {ones} (joined on {one.joined_on}) is in the same OSV at the same time as "
        f"{len(others)} stays of {theirs}: {named}. Which one it duplicates cannot be told, so the records are not merged: "
        "correct the joining day typed wrong first (POST /members/{id}/memberships/{membership_id}/joining-date-correction), "
        "then merge; do not record a departure to get past this (it is counted among those who left, for good)"
    )


def _board_role_held(duplicate_id: UUID, mine: Membership, holder: UUID, theirs: Membership) -> str:
    """``no_board_role``'s message: the duplicate's stay ``mine``, the same as ``theirs`` (recorded on ``holder``), holds a
    board role. The board's history (who presided, from when) is what the municipal registry (RUOS) records: a stay
    merged away would take a term with it, so its role change is recorded first, where it is, on its day."""
    return (
        f"membership {mine.membership_id} of the duplicate, the same stay as membership {theirs.membership_id} of member "
        f"{holder} (in the same OSV at the same time), holds the role {mine.role.value}: the board's history is the RUOS's, "
        "and a stay merged into another takes no board role with it. Record its role change to member first (POST "
        f"/members/{duplicate_id}/memberships/{mine.membership_id}/role), and, when the person holds that role, the same "
        f"role on membership {theirs.membership_id} from that day (POST /members/{holder}/memberships/"
        f"{theirs.membership_id}/role); then merge"
    )


def _overlap(one: Membership, other: Membership) -> bool:
    """Whether two stays share a day past the first one's start (a stay begun the day the other ended is apart)."""
    return one.joined_on < (other.left_on or date.max) and other.joined_on < (one.left_on or date.max)
