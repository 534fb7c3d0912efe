"""A member's stays in OSVs and their part in funded projects, as a :class:`~services.engagement.domain.members.Member`
holds them: plain values, never stored on their own (the member's events carry their fields; a member is never
snapshotted). Apart from ``members.py`` so that the aggregate's module holds the aggregate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from services.engagement.domain.memberrules import AgeBand, DepartureReason, Role


@dataclass
class RoleHeld:
    role: Role
    since: date


@dataclass
class Membership:
    """One stay of a person in one OSV: rejoining later is a new membership."""

    membership_id: UUID
    osv_id: UUID
    joined_on: date
    age_band: AgeBand
    roles: list[RoleHeld]
    left_on: date | None = None
    reason: DepartureReason | None = None

    @property
    def role(self) -> Role:
        return self.roles[-1].role

    @property
    def active(self) -> bool:
        return self.left_on is None

    @property
    def status(self) -> str:
        return "active" if self.active else "left"


@dataclass
class Participation:
    """A member taking part, as an agent of change, in the project a grant funds."""

    grant_id: UUID
    osv_id: UUID
    age_band: AgeBand
    enrolled_on: date
    withdrew_on: date | None = None
