"""A follow-up meeting recorded by mistake, withdrawn. Pure: no I/O.

A meeting put on the wrong OSV, given the wrong day, typed twice and kept with ``distinct_from``, or never held stayed
for good: it counted in reporting's ``follow_up_meetings``, kept its actions pending and hid the "no follow-up for N
days" alert. Activities and grants had a withdrawal; meetings now have one too
(:meth:`~services.engagement.domain.followup.FollowUp.withdraw_meeting`). The meeting stays in the OSV's follow-up,
marked withdrawn, with why (a code, published) and staff's words on it (a note, sealed with the meeting's text and
never published); its actions not done are withdrawn with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from shared.errors import ConflictError


class MeetingWithdrawalReason(StrEnum):
    """Why a follow-up meeting was withdrawn: it was recorded by mistake, as a grant is withdrawn (funding's codes)."""

    ENTERED_IN_ERROR = "entered_in_error"
    """Recorded by mistake: no such meeting was held."""
    DUPLICATE = "duplicate"
    """The same meeting typed in twice: the other record stands."""
    WRONG_OSV = "wrong_osv"
    """Recorded on another OSV than the one met: record it again on the right one."""
    WRONG_DATE = "wrong_date"
    """Recorded with another day than it was held on: record it again with its day."""


@dataclass(frozen=True)
class Withdrawal:
    """When and why a meeting was withdrawn; ``note``: staff's words on the mistake (sealed with the meeting's text), or None."""

    reason: MeetingWithdrawalReason
    withdrawn_on: date
    note: str | None = None


class MeetingWithdrawnError(ConflictError):
    """409 ``meeting_not_withdrawn``: the meeting was withdrawn as recorded by mistake, and is not withdrawn again."""

    def __init__(self, withdrawal: Withdrawal) -> None:
        super().__init__(
            f"this meeting was already withdrawn ({withdrawal.reason.value}) on {withdrawal.withdrawn_on.isoformat()}",
            field="meeting_id",
            rule="meeting_not_withdrawn",
        )


class ActionOfWithdrawnMeetingError(ConflictError):
    """409 ``meeting_not_withdrawn`` on ``action_id``: an action agreed at a meeting withdrawn since was withdrawn with it,
    and is no longer pending: it is not completed."""

    def __init__(self, held_on: date, withdrawal: Withdrawal) -> None:
        super().__init__(
            f"the meeting of {held_on.isoformat()} that agreed this action item was withdrawn ({withdrawal.reason.value}) on "
            f"{withdrawal.withdrawn_on.isoformat()}: the action was withdrawn with it and is no longer pending. If it was "
            "agreed at another meeting, record it there",
            field="action_id",
            rule="meeting_not_withdrawn",
        )
