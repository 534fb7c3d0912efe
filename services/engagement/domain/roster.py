"""Engagement's domain: each OSV's roster, the counts of identity documents the municipal registry asks for.

Pure. An :class:`OSVRoster` keeps an OSV's active memberships by role and
document type; every membership change updates it in the same save, and each
update records the full current count (never who holds what).

An OSV has one president at a time: a membership seated as president while
another holds the role is refused (409 ``one_president``, naming the holder's
member id); the holder's new role, or departure, is recorded first. Nor may a
president's term begin within another's, past or present (409 ``one_president``,
naming that term's dates: :func:`check_term_apart`): the board's history is what
the municipal registry (RUOS) records. A holder is named as a :class:`Holder`:
the person, and the merged record their membership is recorded on, if any. The roster knows which memberships were
ever seated as president (:attr:`OSVRoster.presidents`); their terms are the
memberships' roles (:func:`terms_of`), read by the application.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.engagement.domain.memberrules import Role
from services.engagement.domain.members import Member, Membership
from shared.documents import DocumentType
from shared.errors import ConflictError


@dataclass(frozen=True)
class Holder:
    """Who holds, or held, a president's membership, by ids only: ``member_id`` the person (the member a merged record
    went into), ``membership_id`` the membership, ``recorded_on`` the record merged into that member which the membership
    is recorded on (None: the member's own), where its role change or departure is sent. A 409 named the merged record
    as "this OSV's president", and staff following its id landed on a record closed to new facts (tester 239 F4)."""

    member_id: UUID
    membership_id: UUID
    recorded_on: UUID | None = None

    @classmethod
    def of(cls, record: Member, membership_id: UUID) -> Holder:
        """The holder of ``record``'s membership ``membership_id``: the member ``record`` was merged into, if it was."""
        if record.merged_into is None:
            return cls(record.id, membership_id)
        return cls(record.merged_into, membership_id, record.id)

    @property
    def recorded_with(self) -> UUID:
        """The member id a change to the membership is sent to: the record it is recorded on."""
        return self.recorded_on or self.member_id

    @property
    def named(self) -> str:
        """``member <id>``, with the merged record the membership is recorded on when it is."""
        if self.recorded_on is None:
            return f"member {self.member_id}"
        return (
            f"member {self.member_id} (through membership {self.membership_id}, recorded on member {self.recorded_on}, "
            "a record of the same person merged into theirs)"
        )


class PresidentSeatTakenError(ConflictError):
    """The OSV has a president already: its holder is named by ids, never by name. ``holder``: the person's member id;
    ``membership_id``, ``recorded_on``: as :class:`Holder`'s, the membership a new role or departure is recorded on."""

    def __init__(self, holder: Holder) -> None:
        on = f"/members/{holder.recorded_with}/memberships/{holder.membership_id}"
        super().__init__(
            f"{holder.named} is this OSV's president: an OSV has one president at a time; record their new role "
            f"(POST {on}/role) or departure (POST {on}/departure) first, then the new president",
            field="role",
            rule="one_president",
        )
        self.holder = holder.member_id
        self.membership_id = holder.membership_id
        self.recorded_on = holder.recorded_on


class PresidentTermsOverlapError(ConflictError):
    """A president's term would begin within another's in the same OSV: that term is named by its dates and its holder
    (:class:`Holder`: the person's member id, and the merged record the membership is recorded on, if any), never by
    name. ``field`` is the date given (``changed_on``, ``joined_on``); ``holder``, the person's member id."""

    def __init__(self, field: str, began_on: date, holder: Holder, other: Term) -> None:
        until = f"until {other.ended_on}" if other.ended_on is not None else "and holds it still"
        super().__init__(
            f"{holder.named} was this OSV's president from {other.began_on} {until}: an OSV has one president at "
            f"a time, and a president's term from {began_on} would overlap theirs; a new president's term begins on "
            "or after the day the one before it ended (the day that president's role changed or they left)",
            field=field,
            rule="one_president",
        )
        self.holder = holder.member_id
        self.recorded_on = holder.recorded_on
        until_day = other.ended_on.isoformat() if other.ended_on is not None else None
        self.extensions = {"overlapping_term": {"from": other.began_on.isoformat(), "until": until_day}}


@dataclass(frozen=True)
class Term:
    """Days a membership held a role: from ``began_on`` until ``ended_on``, the day the role changed or the member left
    (not counted: a new president may begin that day), or None while it is held."""

    began_on: date
    ended_on: date | None = None

    def overlaps(self, other: Term) -> bool:
        """Whether the two share a day (a term that ended the day it began shares none)."""
        if self.began_on == self.ended_on or other.began_on == other.ended_on:
            return False
        return self.began_on < (other.ended_on or date.max) and other.began_on < (self.ended_on or date.max)


def terms_of(membership: Membership, role: Role = Role.PRESIDENT) -> list[Term]:
    """The membership's terms in ``role``, in order: each from the day it took the role until its next role or its
    departure."""
    held = membership.roles
    return [
        Term(each.since, held[index + 1].since if index + 1 < len(held) else membership.left_on)
        for index, each in enumerate(held)
        if each.role is role
    ]


def check_term_apart(field: str, term: Term, others: Iterable[tuple[Holder, Term]]) -> None:
    """409 ``one_president`` on ``field`` when a president's ``term`` overlaps one of the ``others`` (each with its
    :class:`Holder`): the one of them that ended last is named, the day on or after which the new term may begin."""
    overlapping = [(holder, other) for holder, other in others if term.overlaps(other)]
    if overlapping:
        holder, other = max(overlapping, key=lambda found: found[1].ended_on or date.max)
        raise PresidentTermsOverlapError(field, term.began_on, holder, other)


@dataclass(frozen=True)
class Seat:
    member_id: UUID
    role: Role
    document_type: DocumentType


DOCUMENT_TYPES = tuple(DocumentType)
"""Every document type, in the order of :class:`DocumentType`, held once: iterating the enum class runs its ``__iter__``
generator, a lookup by name for each member, twice for each count a registration records (2.2 µs a count, 0.7 from the tuple)."""


def tally(seats: dict[UUID, Seat], *, board_only: bool = False) -> dict[str, int]:
    """Active memberships by document type, in the order of :class:`DocumentType`."""
    counted = [s.document_type for s in seats.values() if s.role.on_board or not board_only]
    return {t.value: counted.count(t) for t in DOCUMENT_TYPES if t in counted}


def _in_order(counts: dict[DocumentType, int]) -> dict[str, int]:
    """Counts as :func:`tally` gives them: by document type in the order of :class:`DocumentType`, none of zero."""
    return {t.value: counts[t] for t in DOCUMENT_TYPES if counts.get(t, 0) > 0}


def _recount(counts: dict[DocumentType, int], before: Seat | None, after: Seat | None, *, board_only: bool) -> dict[DocumentType, int]:
    """``counts`` with one membership's seat changed from ``before`` to ``after`` (None: not seated)."""
    changed = dict(counts)
    for seat, step in ((before, -1), (after, 1)):
        if seat is not None and (seat.role.on_board or not board_only):
            changed[seat.document_type] = changed.get(seat.document_type, 0) + step
    return changed


@functools.lru_cache(maxsize=4096)
def _roster_id(osv_id: UUID) -> UUID:
    """:meth:`OSVRoster.create_id`, remembered for the OSVs used lately: a registration read the roster by it, and a new
    roster's ``Opened`` made it again (the library asks by keyword, which a cache on ``create_id`` itself keeps apart)."""
    return uuid5(NAMESPACE_URL, f"/engagement/osv-roster/{osv_id}")


class OSVRoster(Aggregate):
    """An OSV's active memberships, by role and document type.

    Every membership change updates it in the same save, and each update
    records the full current count: the municipal registry keeps the latest.
    """

    FLAT_COPIED = ("seats", "board_counts", "member_counts", "presidents")
    """Hold only values that never change: copied for a command as they are (:func:`shared.kept.copy_kept`)."""

    @staticmethod
    def create_id(osv_id: UUID) -> UUID:
        """The roster's id, a name-based UUID of the OSV's (:func:`_roster_id`): the same in every process."""
        return _roster_id(osv_id)

    @event("Opened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.seats: dict[UUID, Seat] = {}
        self.counted_on: date | None = None
        self.board_counts: dict[DocumentType, int] = {}
        self.member_counts: dict[DocumentType, int] = {}
        """:func:`tally` of the seats, kept as each seat changes: a change costs the same with 10 members or 1,000."""
        self.presidents: dict[UUID, UUID] = {}
        """Every membership ever seated as president here (current or past), with its member's id, in the order first
        seated: whose terms a new president's is checked against (:func:`check_term_apart`). Worked out from the
        ``DocumentsCounted`` events as they are replayed: a roster recorded before it was kept knows its past
        presidents too."""

    def check_seat(self, membership_id: UUID, role: Role) -> None:
        """Whether a membership may sit in ``role``: 409 ``one_president`` when it is president and another active
        membership of the OSV holds that role (an OSV has one president at a time), named by the record it is recorded
        on: the roster knows no merges (:meth:`~services.engagement.merging.Merging.check_seat` names the person)."""
        if role is not Role.PRESIDENT:
            return
        for seated, seat in self.seats.items():
            if seated != membership_id and seat.role is Role.PRESIDENT:
                raise PresidentSeatTakenError(Holder(seat.member_id, seated))

    def presidents_besides(self, membership_id: UUID) -> dict[UUID, UUID]:
        """:attr:`presidents` but ``membership_id``: membership id to member id, whose terms a president's start is
        checked against. Empty in most OSVs' first years; one a term at most."""
        return {seated: member_id for seated, member_id in self.presidents.items() if seated != membership_id}

    def seats_member(self, member_id: UUID) -> bool:
        """Whether the person ``member_id`` holds an active membership of this OSV."""
        return any(seat.member_id == member_id for seat in self.seats.values())

    def seat(self, membership: Membership, member_id: UUID, document_type: DocumentType, counted_on: date) -> None:
        """Count a membership that joined or changed role (:meth:`check_seat` first: one president at a time)."""
        self.check_seat(membership.membership_id, membership.role)
        self._count(membership.membership_id, member_id, membership.role, document_type, counted_on)

    def unseat(self, membership: Membership, member_id: UUID, document_type: DocumentType, counted_on: date) -> None:
        """Stop counting a membership that ended."""
        self._count(membership.membership_id, member_id, None, document_type, counted_on)

    def _count(self, membership_id: UUID, member_id: UUID, role: Role | None, document_type: DocumentType, counted_on: date) -> None:
        before = self.seats.get(membership_id)
        after = Seat(member_id, role, document_type) if role is not None else None
        self._counted(
            osv_id=self.osv_id,
            membership_id=membership_id,
            member_id=member_id,
            role=role,
            document_type=document_type,
            counted_on=counted_on,
            board=_in_order(_recount(self.board_counts, before, after, board_only=True)),
            members=_in_order(_recount(self.member_counts, before, after, board_only=False)),
        )

    @event("DocumentsCounted")
    def _counted(
        self,
        osv_id: UUID,
        membership_id: UUID,
        member_id: UUID,
        role: Role | None,
        document_type: DocumentType,
        counted_on: date,
        board: dict[str, int],
        members: dict[str, int],
    ) -> None:
        """``role`` is the membership's role now, or None when it ended; the counts follow from the seats."""
        before = self.seats.get(membership_id)
        after = None if role is None else Seat(member_id, Role(role), DocumentType(document_type))
        if after is None:
            self.seats.pop(membership_id, None)
        else:
            self.seats[membership_id] = after  # a role changed keeps its place: the order members joined in
            if after.role is Role.PRESIDENT:
                self.presidents.setdefault(membership_id, member_id)
        self.board_counts = _recount(self.board_counts, before, after, board_only=True)
        self.member_counts = _recount(self.member_counts, before, after, board_only=False)
        self.counted_on = counted_on

    @property
    def board(self) -> dict[str, int]:
        return _in_order(self.board_counts)

    @property
    def members(self) -> dict[str, int]:
        return _in_order(self.member_counts)
