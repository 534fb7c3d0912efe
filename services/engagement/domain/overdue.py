"""Who is overdue for a follow-up meeting: the OSVs the programme has not met for too long. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from uuid import UUID

from shared.errors import BelowOneError


@dataclass(frozen=True)
class FollowUpStanding:
    """Where one active OSV stands: when it was mapped and when the programme last met it."""

    osv_id: UUID
    district: str
    zone: str
    mapped_on: date
    last_meeting_on: date | None

    @property
    def counted_from(self) -> date:
        return self.last_meeting_on or self.mapped_on

    def days_without_meeting(self, today: date) -> int:
        return (today - self.counted_from).days


def overdue_for_follow_up(standings: Iterable[FollowUpStanding], today: date, days: int) -> list[FollowUpStanding]:
    """OSVs with no meeting in the last ``days`` days (counting from their mapping if never met), most overdue first."""
    if days < 1:
        raise BelowOneError("days", days)
    overdue = [s for s in standings if s.days_without_meeting(today) > days]
    return sorted(overdue, key=lambda s: (-s.days_without_meeting(today), str(s.osv_id)))
