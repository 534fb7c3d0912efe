"""Engagement's domain: each OSV's roster, the counts of identity documents the municipal registry asks for.

Pure. An :class:`OSVRoster` keeps an OSV's active memberships by role and
document type; every membership change updates it in the same save, and each
update records the full current count (never who holds what).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from services.engagement.domain.members import Membership, Role
from shared.documents import DocumentType


@dataclass(frozen=True)
class Seat:
    member_id: UUID
    role: Role
    document_type: DocumentType


def tally(seats: dict[UUID, Seat], *, board_only: bool = False) -> dict[str, int]:
    """Active memberships by document type, in the order of :class:`DocumentType`."""
    counted = [s.document_type for s in seats.values() if s.role.on_board or not board_only]
    return {t.value: counted.count(t) for t in DocumentType if t in counted}


class OSVRoster(Aggregate):
    """An OSV's active memberships, by role and document type.

    Every membership change updates it in the same save, and each update
    records the full current count: the municipal registry keeps the latest.
    """

    @staticmethod
    def create_id(osv_id: UUID) -> UUID:
        return uuid5(NAMESPACE_URL, f"/engagement/osv-roster/{osv_id}")

    @event("Opened")
    def __init__(self, osv_id: UUID) -> None:
        self.osv_id = osv_id
        self.seats: dict[UUID, Seat] = {}
        self.counted_on: date | None = None

    def seat(self, membership: Membership, member_id: UUID, document_type: DocumentType, counted_on: date) -> None:
        """Count a membership that joined or changed role."""
        seats = {**self.seats, membership.membership_id: Seat(member_id, membership.role, document_type)}
        self._count(seats, membership.membership_id, member_id, membership.role, document_type, counted_on)

    def unseat(self, membership: Membership, member_id: UUID, document_type: DocumentType, counted_on: date) -> None:
        """Stop counting a membership that ended."""
        seats = {k: v for k, v in self.seats.items() if k != membership.membership_id}
        self._count(seats, membership.membership_id, member_id, None, document_type, counted_on)

    def _count(
        self,
        seats: dict[UUID, Seat],
        membership_id: UUID,
        member_id: UUID,
        role: Role | None,
        document_type: DocumentType,
        counted_on: date,
    ) -> None:
        self._counted(
            osv_id=self.osv_id,
            membership_id=membership_id,
            member_id=member_id,
            role=role,
            document_type=document_type,
            counted_on=counted_on,
            board=tally(seats, board_only=True),
            members=tally(seats),
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
        if role is None:
            self.seats.pop(membership_id, None)
        else:
            self.seats[membership_id] = Seat(member_id, Role(role), DocumentType(document_type))
        self.counted_on = counted_on

    @property
    def board(self) -> dict[str, int]:
        return tally(self.seats, board_only=True)

    @property
    def members(self) -> dict[str, int]:
        return tally(self.seats)
