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
    """One stay of a person in one OSV: rejoining later is a new membership.

    A stay recorded twice (the person registered again in the same OSV under another document) is one stay once the two
    records are merged: the duplicate's is *merged into* the survivor's (``merged_into``, its membership id; ``merged_on``,
    the merge's day, :meth:`~.merges.MemberMerges.merge_into`). It is then neither active nor left: it never ended, it
    was the same stay, which goes on (and ends) as the one it went into."""

    membership_id: UUID
    osv_id: UUID
    joined_on: date
    age_band: AgeBand
    roles: list[RoleHeld]
    left_on: date | None = None
    reason: DepartureReason | None = None
    merged_into: UUID | None = None
    """The membership this one was merged into (the person's same stay, recorded on ``merged_into_member``), or None."""
    merged_into_member: UUID | None = None
    """The member record ``merged_into`` is recorded on: the survivor, or a record merged into it before."""
    merged_on: date | None = None

    @property
    def role(self) -> Role:
        return self.roles[-1].role

    @property
    def active(self) -> bool:
        return self.left_on is None and self.merged_into is None

    @property
    def status(self) -> str:
        """``active``, ``left``, or ``merged`` (into another stay of the person: see the class)."""
        if self.merged_into is not None:
            return "merged"
        return "active" if self.left_on is None else "left"


@dataclass
class Participation:
    """A member taking part, as an agent of change, in the project a grant funds."""

    grant_id: UUID
    osv_id: UUID
    age_band: AgeBand
    enrolled_on: date
    withdrew_on: date | None = None
